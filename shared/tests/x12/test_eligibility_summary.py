"""summarize_eligibility on small hand-written 271s: plan dates from EB-level DTPs, answers that name nobody."""

from __future__ import annotations

from datetime import date

from claimflow_x12 import parse
from claimflow_x12.guides.eligibility_270_271 import EligibilityResponse271, MemberEligibility, summarize_eligibility

_ISA = "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*CLAIMFLOW      *240104*1016*^*00501*000000402*0*P*:~"
_SOURCE = "HL*1**20*1~NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01~"
_RECEIVER = "HL*2*1*21*1~NM1*1P*2*SUNRISE FAMILY MEDICINE*****XX*1234567893~"
_SUBSCRIBER = "HL*3*2*22*0~TRN*2*TRACE0001*9877281234~NM1*IL*1*RIVERA*MARIA*L***MI*W123456789~"


def _summaries(body: str) -> list[MemberEligibility]:
    """Wrap 2000A.. segments in a 271 envelope (with a correct SE count), parse it cleanly and summarize it."""
    segments = ["ST*271*0001*005010X279A1", "BHT*0022*11*ELIG1*20240104*1016", *body.strip("~").split("~")]
    text = "~".join(
        [
            _ISA.rstrip("~"),
            "GS*HB*ACMEHEALTH*CLAIMFLOW*20240104*1016*402*X*005010X279A1",
            *segments,
            f"SE*{len(segments) + 1}*0001",
            "GE*1*402",
            "IEA*1*000000402",
        ]
    )
    result = parse(text + "~")
    assert result.errors == []
    (transaction,) = result.transactions
    assert isinstance(transaction, EligibilityResponse271)
    return list(summarize_eligibility(transaction))


def test_plan_begin_and_end_come_from_the_active_coverage_eb_when_the_member_loop_has_none() -> None:
    (maria,) = _summaries(
        _SOURCE + _RECEIVER + _SUBSCRIBER + "EB*1*IND*30*PR*ACME GOLD PPO~DTP*346*D8*20240201~DTP*347*D8*20250131~"
    )
    assert (maria.active, maria.plan_description) == (True, "ACME GOLD PPO")
    assert (maria.plan_start, maria.plan_end) == (date(2024, 2, 1), date(2025, 1, 31))


def test_a_dependent_reads_its_plan_range_from_dtp_291_in_2110d() -> None:
    dependent = "HL*4*3*23*0~NM1*03*1*RIVERA*LUCAS~DMG*D8*20150607*M~"
    dependent += "EB*1*DEP*30*PR*ACME GOLD PPO~DTP*291*RD8*20240101-20241231~"
    subscriber = _SUBSCRIBER.replace("HL*3*2*22*0", "HL*3*2*22*1") + "EB*1*IND*30*PR*ACME GOLD PPO~"
    maria, lucas = _summaries(_SOURCE + _RECEIVER + subscriber + dependent)
    assert (maria.plan_start, maria.plan_end) == (None, None)
    assert (lucas.is_dependent, lucas.first_name) == (True, "LUCAS")
    assert (lucas.plan_start, lucas.plan_end) == (date(2024, 1, 1), date(2024, 12, 31))


def test_member_level_dates_win_and_only_the_missing_end_is_taken_from_the_eb() -> None:
    (maria,) = _summaries(
        _SOURCE
        + _RECEIVER
        + _SUBSCRIBER
        + "DTP*346*D8*20240101~EB*1*IND*30*PR*ACME GOLD PPO~DTP*291*RD8*20230101-20241231~"
    )
    assert (maria.plan_start, maria.plan_end) == (date(2024, 1, 1), date(2024, 12, 31))


def test_dtp_292_on_a_deductible_does_not_override_the_coverage_ebs_plan_dates() -> None:
    (maria,) = _summaries(
        _SOURCE
        + _RECEIVER
        + _SUBSCRIBER
        + "EB*C*IND*30*PR**23*1500.00*****Y~DTP*292*RD8*20240401-20250331~"
        + "EB*1*IND*30*PR*ACME GOLD PPO~DTP*291*RD8*20240101-20241231~"
    )
    assert (maria.plan_start, maria.plan_end) == (date(2024, 1, 1), date(2024, 12, 31))


def test_dtp_292_benefit_period_is_used_when_nothing_else_dates_the_plan() -> None:
    (maria,) = _summaries(
        _SOURCE + _RECEIVER + _SUBSCRIBER + "EB*1*IND*30*PR*ACME GOLD PPO~EB*C*IND*30*PR**23*1500.00*****Y~"
        "DTP*292*RD8*20240401-20250331~"
    )
    assert (maria.plan_start, maria.plan_end) == (date(2024, 4, 1), date(2025, 3, 31))


def test_an_inactive_member_gets_the_plan_end_from_the_inactive_eb() -> None:
    (maria,) = _summaries(_SOURCE + _RECEIVER + _SUBSCRIBER + "EB*6*IND*30~DTP*347*D8*20231231~")
    assert (maria.active, maria.plan_start, maria.plan_end) == (False, None, date(2023, 12, 31))


def test_source_level_aaa_without_any_receiver_yields_a_summary_with_the_errors() -> None:
    (unanswered,) = _summaries("HL*1**20*0~AAA*Y**42*R~NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01~AAA*N**79*N~")
    assert unanswered.request_errors == ["42", "79"]
    assert (unanswered.member_id, unanswered.last_name, unanswered.active) == (None, None, False)
    assert unanswered.benefits == []


def test_receiver_level_aaa_without_a_subscriber_carries_source_and_receiver_errors() -> None:
    receiver = "HL*2*1*21*0~NM1*1P*2*SUNRISE FAMILY MEDICINE*****XX*1234567893~AAA*N**43*C~"
    (unanswered,) = _summaries(_SOURCE + "AAA*Y**42*R~" + receiver)
    assert unanswered.request_errors == ["42", "43"]
    assert (unanswered.member_id, unanswered.is_dependent, unanswered.active) == (None, False, False)


def test_source_errors_with_subscribers_stay_on_the_subscribers_only() -> None:
    (maria,) = _summaries(_SOURCE + "AAA*Y**42*R~" + _RECEIVER + _SUBSCRIBER)
    assert (maria.member_id, maria.request_errors) == ("W123456789", ["42"])


def test_a_271_without_subscribers_or_errors_yields_nothing() -> None:
    assert _summaries(_SOURCE.replace("HL*1**20*1", "HL*1**20*0")) == []
