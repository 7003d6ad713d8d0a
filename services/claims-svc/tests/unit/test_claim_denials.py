"""Denial classification (root cause, owner, action), precedence, appeal deadlines, payment outcomes and the
automatic CARC 4 correction: pure rules, no broker or database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claims_svc.domain.adjustment_codes import CARCS, RootCause
from claims_svc.domain.claim import ClaimLine
from claims_svc.domain.denials import (
    DEFAULT_APPEAL_WINDOW_DAYS,
    FAMILIES,
    MEDICARE_REDETERMINATION_DAYS,
    PRECEDENCE,
    CasAdjustment,
    DenialClassification,
    Owner,
    PaymentResult,
    appeal_deadline,
    classify_denial,
    is_full_denial,
    modifier_auto_correction,
    payment_result,
)


def co(carc: str, amount: str = "100.00", line: str | None = None) -> CasAdjustment:
    return CasAdjustment("CO", carc, Decimal(amount), line)


def classify(*adjustments: CasAdjustment, remarks: tuple[str, ...] = ()) -> DenialClassification:
    found = classify_denial(adjustments, remarks)
    assert found is not None
    return found


# One remittance per family, as payers send them: (adjustments, remark codes) -> root cause and owner.
FAMILY_CASES: dict[str, tuple[list[CasAdjustment], tuple[str, ...], RootCause, Owner]] = {
    "eligibility: coverage terminated": ([co("27")], ("N30",), RootCause.ELIGIBILITY, Owner.FRONT_DESK),
    "eligibility: not identified": ([co("31")], (), RootCause.ELIGIBILITY, Owner.FRONT_DESK),
    "eligibility: wrong payer": ([co("109")], (), RootCause.ELIGIBILITY, Owner.FRONT_DESK),
    "coding: modifier": ([co("4")], (), RootCause.CODING, Owner.CODER),
    "coding: place of service": ([co("5")], (), RootCause.CODING, Owner.CODER),
    "coding: diagnosis vs procedure": ([co("11")], ("M76",), RootCause.CODING, Owner.CODER),
    "coding: lacks information, diagnosis remark": ([co("16")], ("M76",), RootCause.CODING, Owner.CODER),
    "authorization: absent": ([co("197")], ("M62",), RootCause.AUTHORIZATION, Owner.FRONT_DESK),
    "authorization: number invalid": ([co("15")], (), RootCause.AUTHORIZATION, Owner.FRONT_DESK),
    "timely filing": ([co("29")], (), RootCause.TIMELY_FILING, Owner.BILLER),
    "duplicate": ([co("18")], (), RootCause.DUPLICATE, Owner.BILLER),
    "medical necessity": ([co("50")], ("N115",), RootCause.MEDICAL_NECESSITY, Owner.BILLER),
    "medical necessity: diagnosis not covered": ([co("167")], (), RootCause.MEDICAL_NECESSITY, Owner.BILLER),
    "non-covered": ([co("96")], ("N425",), RootCause.NON_COVERED, Owner.BILLER),
    "non-covered: plan exclusion": ([co("204")], ("N130",), RootCause.NON_COVERED, Owner.BILLER),
    "non-covered: benefit maximum": ([co("119")], (), RootCause.NON_COVERED, Owner.BILLER),
    "non-covered: via remark": ([co("16")], ("N130",), RootCause.NON_COVERED, Owner.BILLER),
    "bundling: included": ([co("97")], ("M15",), RootCause.BUNDLING, Owner.CODER),
    "bundling: NCCI": ([co("236")], ("M80",), RootCause.BUNDLING, Owner.CODER),
    "coordination of benefits": (
        [CasAdjustment("OA", "22", Decimal(80))],
        ("MA04",),
        RootCause.COORDINATION_OF_BENEFITS,
        Owner.BILLER,
    ),
    "coordination of benefits via remark": ([co("16")], ("MA04",), RootCause.COORDINATION_OF_BENEFITS, Owner.BILLER),
    "provider enrollment: not certified": ([co("B7")], (), RootCause.PROVIDER_ENROLLMENT, Owner.BILLER),
    "provider enrollment: rendering NPI": ([co("16")], ("N290",), RootCause.PROVIDER_ENROLLMENT, Owner.BILLER),
    "provider enrollment: referring NPI": ([co("16")], ("N286",), RootCause.PROVIDER_ENROLLMENT, Owner.BILLER),
    "provider enrollment: out of network": ([co("242")], (), RootCause.PROVIDER_ENROLLMENT, Owner.BILLER),
    "other: unknown code": ([co("999")], (), RootCause.OTHER, Owner.BILLER),
    "other: lacks information, no remark": ([co("16")], (), RootCause.OTHER, Owner.BILLER),
    "other: lacks information, informational remark": ([co("16")], ("MA18",), RootCause.OTHER, Owner.BILLER),
}


@pytest.mark.parametrize("case", sorted(FAMILY_CASES))
def test_each_family_gets_its_root_cause_owner_and_family_action(case: str) -> None:
    adjustments, remarks, root_cause, owner = FAMILY_CASES[case]
    found = classify(*adjustments, remarks=remarks)
    assert (found.root_cause, found.owner) == (root_cause, owner)
    assert found.recommended_action
    assert (found.appealable, found.correctable) == (FAMILIES[root_cause].appealable, FAMILIES[root_cause].correctable)


# Near misses: codes that look like a family's but belong to another (family -> remittance, where it belongs).
NEAR_MISSES: dict[RootCause, tuple[list[CasAdjustment], tuple[str, ...], RootCause]] = {
    RootCause.ELIGIBILITY: ([co("22")], (), RootCause.COORDINATION_OF_BENEFITS),
    RootCause.CODING: ([co("16")], ("N290",), RootCause.PROVIDER_ENROLLMENT),
    RootCause.AUTHORIZATION: ([co("50")], (), RootCause.MEDICAL_NECESSITY),
    RootCause.TIMELY_FILING: ([co("18")], (), RootCause.DUPLICATE),
    RootCause.DUPLICATE: ([co("97")], (), RootCause.BUNDLING),
    RootCause.MEDICAL_NECESSITY: ([co("96")], (), RootCause.NON_COVERED),
    RootCause.NON_COVERED: ([co("50")], ("N115",), RootCause.MEDICAL_NECESSITY),
    RootCause.BUNDLING: ([co("4")], (), RootCause.CODING),
    RootCause.COORDINATION_OF_BENEFITS: ([co("27")], (), RootCause.ELIGIBILITY),
    RootCause.PROVIDER_ENROLLMENT: ([co("31")], (), RootCause.ELIGIBILITY),
    RootCause.OTHER: ([co("16")], ("M76",), RootCause.CODING),
}


@pytest.mark.parametrize("family", sorted(NEAR_MISSES))
def test_near_misses_are_not_taken_for_the_family(family: RootCause) -> None:
    adjustments, remarks, belongs_to = NEAR_MISSES[family]
    found = classify(*adjustments, remarks=remarks)
    assert found.root_cause is not family
    assert found.root_cause is belongs_to


def test_every_family_has_a_case_and_every_carc_a_meaning() -> None:
    assert {case[2] for case in FAMILY_CASES.values()} == set(RootCause) == set(FAMILIES) == set(PRECEDENCE)
    assert set(NEAR_MISSES) == set(RootCause)
    assert all(rule.meaning.endswith((".", ")")) for rule in CARCS.values())


@pytest.mark.parametrize(
    "adjustments",
    [
        [CasAdjustment("PR", "1", Decimal("40.00"))],
        [CasAdjustment("PR", "2", Decimal("12.00")), CasAdjustment("PR", "3", Decimal("25.00"))],
        [co("45", "30.00"), CasAdjustment("PR", "2", Decimal("14.00"))],
        [co("253", "1.20"), CasAdjustment("OA", "23", Decimal("60.00"))],
        [CasAdjustment("CR", "50", Decimal("-100.00"))],
    ],
    ids=["deductible", "coinsurance and copay", "fee schedule and coinsurance", "sequestration and COB", "reversal"],
)
def test_patient_share_and_agreed_write_offs_are_not_denials(adjustments: list[CasAdjustment]) -> None:
    assert classify_denial(adjustments, ()) is None


def test_patient_liability_for_a_non_covered_service_is_a_denial() -> None:
    found = classify(CasAdjustment("PR", "96", Decimal("90.00")), CasAdjustment("PR", "2", Decimal("10.00")))
    assert (found.root_cause, found.group_code, found.carc) == (RootCause.NON_COVERED, "PR", "96")
    assert [r.carc for r in found.reasons] == ["96"], "coinsurance is not a reason"


def test_the_largest_amount_decides_over_the_order_of_the_codes() -> None:
    found = classify(co("4", "30.00", "P-1"), co("50", "100.00", "P-2"), remarks=("N115",))
    assert (found.root_cause, found.carc) == (RootCause.MEDICAL_NECESSITY, "50")
    assert [(r.carc, r.root_cause) for r in found.reasons] == [
        ("50", RootCause.MEDICAL_NECESSITY),
        ("4", RootCause.CODING),
    ]


def test_amounts_of_one_code_add_up_across_lines() -> None:
    found = classify(co("97", "40.00", "P-1"), co("97", "40.00", "P-2"), co("50", "60.00", "P-3"))
    assert (found.root_cause, found.reasons[0].amount) == (RootCause.BUNDLING, Decimal("80.00"))


def test_a_tie_goes_to_what_must_be_fixed_first() -> None:
    assert classify(co("50", "50.00"), co("29", "50.00")).root_cause is RootCause.TIMELY_FILING
    assert classify(co("4", "50.00"), co("27", "50.00")).root_cause is RootCause.ELIGIBILITY
    assert classify(co("96", "50.00"), co("197", "50.00")).root_cause is RootCause.AUTHORIZATION


def test_a_code_that_defers_to_remarks_takes_the_most_urgent_remark_family() -> None:
    found = classify(co("16"), remarks=("M76", "N290"))
    assert found.root_cause is RootCause.PROVIDER_ENROLLMENT
    assert "rendering provider" in found.recommended_action
    assert [r.code for r in found.remarks] == ["M76", "N290"]
    assert found.remarks[1].meaning.startswith("Missing, incomplete or invalid rendering provider")


def test_unprocessable_and_final_decisions_have_no_appeal_rights() -> None:
    unprocessable = classify(co("16"), remarks=("MA130",))
    assert (unprocessable.root_cause, unprocessable.appealable) == (RootCause.OTHER, False)
    assert "new claim" in unprocessable.recommended_action
    final = classify(co("50"), remarks=("N211",))
    assert (final.root_cause, final.appealable) == (RootCause.MEDICAL_NECESSITY, False)
    assert classify(co("50")).appealable


def test_specific_codes_get_specific_actions() -> None:
    assert "modifier" in classify(co("4")).recommended_action
    assert "REF*G1" in classify(co("15")).recommended_action
    assert "proof of timely filing" in classify(co("29")).recommended_action
    assert "network" in classify(co("242")).recommended_action


def test_a_denial_without_adjustments_is_classified_by_its_remarks_or_as_other() -> None:
    by_remark = classify(remarks=("N30",))
    assert (by_remark.root_cause, by_remark.carc) == (RootCause.ELIGIBILITY, None)
    assert classify().root_cause is RootCause.OTHER


def test_unknown_codes_say_where_to_look_them_up() -> None:
    found = classify(co("Z99"), remarks=("N9999",))
    assert "X12 claim adjustment reason code list" in found.reasons[0].meaning
    assert "X12 remittance advice remark code list" in found.remarks[0].meaning


def test_appeal_deadline_is_the_remittance_date_plus_the_payers_window() -> None:
    assert appeal_deadline(date(2026, 11, 23), DEFAULT_APPEAL_WINDOW_DAYS) == date(2027, 5, 22)
    assert appeal_deadline(date(2026, 11, 23), MEDICARE_REDETERMINATION_DAYS) == date(2027, 3, 23)
    assert appeal_deadline(date(2027, 11, 1), 120) == date(2028, 2, 29), "leap day counts"


def test_full_and_partial_denials() -> None:
    assert is_full_denial("4", Decimal("100.00"), Decimal("40.00"))
    assert is_full_denial("1", Decimal("100.00"), Decimal("100.00"))
    assert not is_full_denial("1", Decimal("100.00"), Decimal("40.00"))


@pytest.mark.parametrize(
    ("paid", "patient", "adjustments", "expected"),
    [
        ("56.00", "44.00", [co("45", "25.00"), CasAdjustment("PR", "1", Decimal("44.00"))], PaymentResult.PAID),
        ("0.00", "100.00", [CasAdjustment("PR", "1", Decimal("100.00"))], PaymentResult.PAID),
        ("60.00", "0.00", [co("45", "15.00"), co("97", "50.00", "P-2")], PaymentResult.PARTIALLY_PAID),
        ("0.00", "0.00", [co("50", "125.00")], PaymentResult.DENIED),
        ("80.00", "0.00", [], PaymentResult.PARTIALLY_PAID),
        ("100.00", "25.00", [], PaymentResult.PAID),
    ],
    ids=["paid", "all to deductible", "a line denied", "nothing paid", "short without detail", "full without detail"],
)
def test_payment_outcome(paid: str, patient: str, adjustments: list[CasAdjustment], expected: PaymentResult) -> None:
    assert payment_result(Decimal("125.00"), Decimal(paid), Decimal(patient), adjustments) is expected


# --- automatic correction of CARC 4 -----------------------------------------------------------------------

PCN = "CF0123456789ABCDEF01"
LINES = (
    ClaimLine(1, "99213", Decimal("125.00"), diagnosis_pointers=(1,)),
    ClaimLine(2, "99401", Decimal("40.00"), modifiers=("25",), diagnosis_pointers=(1,)),
)


def auto(
    adjustments: list[CasAdjustment], place_of_service: str | None = "10", lines: tuple[ClaimLine, ...] = LINES
) -> tuple[tuple[str, ...], ...] | None:
    classification = classify(*adjustments)
    fix = modifier_auto_correction(
        classification, adjustments, patient_control_number=PCN, place_of_service=place_of_service, lines=lines
    )
    return None if fix is None else tuple(line.modifiers for line in fix.lines)


def test_carc_4_on_a_telehealth_claim_gets_95_on_the_denied_line() -> None:
    classification = classify(co("4", "125.00", f"{PCN}-1"))
    fix = modifier_auto_correction(
        classification, [co("4", "125.00", f"{PCN}-1")], patient_control_number=PCN, place_of_service="10", lines=LINES
    )
    assert fix is not None
    assert [line.modifiers for line in fix.lines] == [("95",), ("25",)], "only the denied line changes"
    assert [line.charge for line in fix.lines] == [Decimal("125.00"), Decimal("40.00")]
    assert "line(s) 1" in fix.reason
    assert "place of service 10" in fix.reason


def test_claim_level_carc_4_fixes_every_line_and_keeps_existing_modifiers_first() -> None:
    assert auto([co("4", "165.00")], "02") == (("95",), ("25", "95"))


@pytest.mark.parametrize(
    ("adjustments", "place_of_service", "lines"),
    [
        ([co("4", "125.00", f"{PCN}-1")], "11", LINES),
        ([co("4", "125.00", f"{PCN}-1")], None, LINES),
        ([co("4", "100.00", f"{PCN}-1"), co("50", "25.00", f"{PCN}-1")], "10", LINES),
        ([co("11", "125.00", f"{PCN}-1")], "10", LINES),
        ([co("4", "125.00", f"{PCN}-3")], "10", LINES),
        ([co("4", "125.00", "SOMEONE-ELSE-1")], "10", LINES),
        ([co("4", "125.00", f"{PCN}-1")], "10", (ClaimLine(1, "99213", Decimal(125), modifiers=("GT",)),)),
        ([co("4", "125.00", f"{PCN}-1")], "10", (ClaimLine(1, "99213", Decimal(125), modifiers=("93",)),)),
        (
            [co("4", "125.00", f"{PCN}-1")],
            "10",
            (ClaimLine(1, "20610", Decimal(125), modifiers=("RT", "59", "XS", "KX")),),
        ),
    ],
    ids=[
        "in the office",
        "no place of service",
        "another reason too",
        "not a modifier denial",
        "a line not on the claim",
        "another claim's line",
        "already GT",
        "already audio-only",
        "no room for a modifier",
    ],
)
def test_carc_4_is_left_to_a_person_when_the_claim_does_not_say_which_modifier(
    adjustments: list[CasAdjustment], place_of_service: str | None, lines: tuple[ClaimLine, ...]
) -> None:
    assert auto(adjustments, place_of_service, lines) is None
