"""270 → 271 through the HTTP API: benefits for found members, AAA errors, scenario-controlled failures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claimflow_x12.guides.eligibility_270_271 import BenefitSummary, MemberEligibility
from payer_sandbox.main import create_app
from payer_sandbox.samples import PersonRequest, inquiry_270, to_x12
from payer_sandbox.scenario import PayerScenario, Scenario
from payer_sandbox.testing import SandboxClient, sandbox_fixture  # noqa: F401 (the sandbox fixture)

MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")
DAVID = PersonRequest("CHEN", "DAVID", date(1979, 11, 30), "W987654321")
JOHN = PersonRequest("SMITH", "JOHN", date(1950, 6, 15), "1EG4TE5MK73")


def benefit(
    summary: MemberEligibility, kind: str, service_type: str, in_network: bool | None, period: str, level: str = "IND"
) -> Decimal:
    """The amount (or percent) of one EB fact (EB02 ``level``: IND the member, FAM the family)."""
    found: list[BenefitSummary] = [
        b
        for b in summary.benefits
        if b.kind == kind and service_type in b.service_type_codes and b.in_network is in_network
        and b.time_period == period and b.coverage_level == level
    ]  # fmt: skip
    assert len(found) == 1, (kind, service_type, in_network, period, summary.benefits)
    value = found[0].amount if found[0].amount is not None else found[0].percent
    assert value is not None
    return value


async def test_active_ppo_member_gets_copays_coinsurance_deductible_and_out_of_pocket(
    sandbox: SandboxClient,
) -> None:
    (summary,) = await sandbox.eligibility("60054", MARIA)
    assert summary.active
    assert summary.request_errors == []
    assert summary.plan_description == "SANDBOX GOLD PPO"
    assert summary.plan_start == date(2023, 1, 1)
    assert benefit(summary, "copay", "98", True, "27") == Decimal("25.00")
    assert benefit(summary, "copay", "86", True, "27") == Decimal("250.00")
    assert benefit(summary, "coinsurance", "30", True, "27") == Decimal("0.20")
    assert benefit(summary, "coinsurance", "30", False, "27") == Decimal("0.40")
    assert benefit(summary, "deductible", "30", True, "23") == Decimal("1500.00")
    assert benefit(summary, "deductible", "30", True, "29") == Decimal("1500.00")
    assert benefit(summary, "out_of_pocket", "30", False, "23") == Decimal("12000.00")


async def test_medicare_member_has_coinsurance_without_network_or_out_of_pocket_limit(sandbox: SandboxClient) -> None:
    (summary,) = await sandbox.eligibility("MCARE", JOHN)
    assert summary.active
    assert benefit(summary, "coinsurance", "30", None, "27") == Decimal("0.20")
    assert benefit(summary, "deductible", "30", None, "23") == Decimal("257.00")
    assert not [b for b in summary.benefits if b.kind == "out_of_pocket"]
    assert [b.service_type_codes for b in summary.benefits if b.kind == "non_covered"] == [["88"], ["AL"]]


async def test_terminated_member_is_reported_inactive(sandbox: SandboxClient) -> None:
    (summary,) = await sandbox.eligibility("60054", DAVID)
    assert not summary.active
    assert summary.request_errors == []
    assert summary.plan_end == date(2024, 12, 31)


async def test_dependent_is_answered_in_the_dependent_loop(sandbox: SandboxClient) -> None:
    lucas = PersonRequest("LOPEZ", "LUCAS", date(2015, 7, 20))
    subscriber, dependent = await sandbox.eligibility("60054", MARIA, dependent=lucas, service_types=["98"])
    assert not subscriber.is_dependent
    assert not subscriber.benefits
    assert dependent.is_dependent
    assert dependent.active
    assert (dependent.first_name, dependent.last_name) == ("LUCAS", "LOPEZ")
    assert benefit(dependent, "copay", "98", True, "27") == Decimal("25.00")


@pytest.mark.parametrize(
    ("payer_id", "person", "expected"),
    [
        ("60054", PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W000000001"), "75"),
        ("60054", PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "123-BAD"), "72"),
        ("60054", PersonRequest("LOPEZ", "MARIA", date(1984, 3, 10), "W123456789"), "71"),
        ("60054", PersonRequest("LOPES", "MARIA", date(1984, 3, 9), "W123456789"), "73"),
        ("NOSUCHPAYER", MARIA, "79"),
    ],
    ids=["not-found", "bad-id-format", "birth-date-mismatch", "name-mismatch", "unknown-payer"],
)
async def test_request_errors_are_answered_with_aaa(
    sandbox: SandboxClient, payer_id: str, person: PersonRequest, expected: str
) -> None:
    summaries = await sandbox.eligibility(payer_id, person)
    if expected == "79":  # the payer level (2100A) answers alone, naming nobody
        response = await sandbox.http.post("/v1/eligibility", content=_raw_270(payer_id, person))
        assert b"AAA*N**79*C" in response.content
        assert b"NM1*IL" not in response.content
    (summary,) = summaries
    assert not summary.active
    assert summary.request_errors == [expected]
    assert summary.benefits == []


async def test_unknown_dependent_is_patient_not_found(sandbox: SandboxClient) -> None:
    ghost = PersonRequest("LOPEZ", "NOBODY", date(2016, 1, 1))
    _, dependent = await sandbox.eligibility("60054", MARIA, dependent=ghost)
    assert dependent.request_errors == ["67"]


async def test_scenario_makes_one_payer_unable_to_respond(sandbox: SandboxClient) -> None:
    response = await sandbox.http.put("/v1/scenario", json={"payers": {"60054": {"unable_to_respond": True}}})
    assert response.status_code == 200, response.text
    answer = await sandbox.http.post("/v1/eligibility", content=_raw_270("60054", MARIA))
    assert b"AAA*N**42*R" in answer.content
    (medicare,) = await sandbox.eligibility("MCARE", JOHN)
    assert medicare.active


async def test_unable_to_respond_probability_is_reproducible(sandbox: SandboxClient) -> None:
    await sandbox.http.put("/v1/scenario", json={"default": {"unable_to_respond_probability": 0.5}})
    outcomes = []
    for _ in range(20):
        answer = await sandbox.http.post("/v1/eligibility", content=_raw_270("60054", MARIA))
        outcomes.append(b"AAA*N**42" in answer.content)
    assert 0 < sum(outcomes) < 20
    # a fresh sandbox with the same seed makes the same choices
    fresh = create_app(sandbox.app.state.sandbox.settings).state.sandbox
    fresh.set_scenario(Scenario(default=PayerScenario(unable_to_respond_probability=0.5)))
    assert [b"AAA*N**42" in fresh.eligibility(_raw_270("60054", MARIA)) for _ in range(20)] == outcomes


async def test_scenario_rejects_unknown_payers_and_bad_values(sandbox: SandboxClient) -> None:
    unknown = await sandbox.http.put("/v1/scenario", json={"payers": {"NOPE": {"unable_to_respond": True}}})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "InvalidInput"
    bad = await sandbox.http.put("/v1/scenario", json={"default": {"unable_to_respond_probability": 2}})
    assert bad.status_code == 422


async def test_garbage_is_refused_with_a_clear_error(sandbox: SandboxClient) -> None:
    response = await sandbox.http.post("/v1/eligibility", content=b"hello")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidInput"


def _raw_270(payer_id: str, person: PersonRequest) -> bytes:
    return to_x12([inquiry_270(payer_id, person)])


async def test_remaining_deductible_in_the_271_moves_as_claims_adjudicate(sandbox: SandboxClient) -> None:
    from decimal import Decimal as D

    from payer_sandbox.samples import ClaimRequest, LineRequest

    request = ClaimRequest("PCNACC", "60054", MARIA, [LineRequest("71046", D("300.00"))], ["J209"], date(2025, 2, 20))
    await sandbox.submit([request])
    (before,) = await sandbox.eligibility("60054", MARIA)
    assert benefit(before, "deductible", "30", True, "29") == D("1500.00")
    await sandbox.advance(7)
    (after,) = await sandbox.eligibility("60054", MARIA)
    # 71046 allowed 30.00 x 1.40 = 42.00, all applied to the deductible
    assert benefit(after, "deductible", "30", True, "29") == D("1458.00")
    assert benefit(after, "out_of_pocket", "30", True, "29") == D("5958.00")
    accumulators = (await sandbox.http.get("/v1/population/accumulators/60054/W123456789")).json()
    assert accumulators[0] == {
        "network": "in", "deductible": "1500.00", "deductible_met": "42.00",
        "out_of_pocket_max": "6000.00", "out_of_pocket_met": "42.00",
        "family_deductible": "3000.00", "family_deductible_met": "42.00",
        "family_out_of_pocket_max": "12000.00", "family_out_of_pocket_met": "42.00",
    }  # fmt: skip


async def test_population_endpoint_lists_seeded_members_by_payer_and_status(sandbox: SandboxClient) -> None:
    response = await sandbox.http.get("/v1/population/members", params={"payer_id": "60054", "status": "inactive"})
    assert response.status_code == 200
    inactive = response.json()
    assert inactive
    assert {m["payer_id"] for m in inactive} == {"60054"}
    assert {m["status"] for m in inactive} == {"inactive"}
    assert any(m["member_id"] == "W987654321" for m in inactive)
    everyone = (await sandbox.http.get("/v1/population/members")).json()
    assert {m["payer_id"] for m in everyone} == {"MCARE", "MCAID", "60054", "HMO01"}
