"""Interpreting a 271 into figures a front desk acts on, and AAA rejections into actionable messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from claimflow_x12 import parse
from claimflow_x12.guides.eligibility_270_271 import EligibilityResponse271, summarize_eligibility
from eligibility_svc.domain.results import CoverageStatus, request_problem, result_from_271

SAMPLE = Path(__file__).parents[4] / "shared" / "tests" / "x12" / "samples" / "271_benefits_and_errors.x12"


def members() -> list[object]:
    result = parse(SAMPLE.read_bytes())
    transaction = result.interchanges[0].groups[0].transactions[0]
    assert isinstance(transaction, EligibilityResponse271)
    return list(summarize_eligibility(transaction))


def test_active_ppo_member_figures_per_service_type_and_network() -> None:
    maria = next(m for m in members() if getattr(m, "member_id", None) == "W123456789")
    result = result_from_271(maria)  # type: ignore[arg-type]
    assert result.status is CoverageStatus.ACTIVE
    assert result.plan_name == "ACME GOLD PPO"
    assert result.coverage_start == date(2024, 1, 1)
    assert result.figure("copay", "98") == Decimal("25.00")
    assert result.figure("copay", "98", in_network=False) == Decimal("50.00")
    assert result.figure("copay", "UC") == Decimal("75.00")
    assert result.figure("coinsurance", "98") == Decimal("20.0")  # plan-wide (30) applies to office visits
    assert result.figure("coinsurance", "98", in_network=False) == Decimal("40.0")
    assert result.figure("deductible", "98") == Decimal("1500.00")
    assert result.figure("deductible", "98", remaining=True) == Decimal("850.00")
    assert result.figure("out_of_pocket", "30", remaining=True) == Decimal("5100.00")
    assert any(b.kind == "non_covered" and b.service_type_code == "AL" for b in result.benefits)
    limitation = next(b for b in result.benefits if b.kind == "limitation")
    assert limitation.notes == ("20 VISITS PER CALENDAR YEAR",)


def test_aaa_rejection_becomes_an_actionable_message() -> None:
    rejected = next(m for m in members() if getattr(m, "member_id", None) == "BAD00000")
    result = result_from_271(rejected)  # type: ignore[arg-type]
    assert result.status is CoverageStatus.NOT_FOUND
    assert [(p.code, p.retry) for p in result.problems] == [("72", False)]
    assert "check the card" in result.problems[0].message
    assert result.benefits == []


def test_unable_to_respond_now_is_retryable() -> None:
    assert request_problem("42").retry
    assert not request_problem("75").retry
    assert "AAA 99" in request_problem("99").message
