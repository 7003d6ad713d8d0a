"""Each scrubber rule fires on the claim that breaks it and not on the clean claim; the 837P written is valid."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from claimflow_x12 import Envelope, parse, validate, write_interchange
from claims_svc.domain.claim import (
    Address,
    BillingProvider,
    ClaimLine,
    Institutional,
    OtherCoverage,
    Payer,
    PayerAdjudication,
    Person,
    ProfessionalClaim,
)
from claims_svc.domain.scrub import PayerRules, ScrubCode, ScrubContext, ScrubFinding, SentVersion, scrub
from claims_svc.domain.x12_837p import Parties, build_837p

HOME = Address("12 Elm St", "Springfield", "IL", "627011234")
PAYERS = {"60054": PayerRules("Sandbox PPO", r"^W[0-9]{9}$", 90, frozenset({"27447"}))}
TODAY = date(2026, 11, 23)
CLEAN = ProfessionalClaim(
    patient_control_number="CF0001",
    payer=Payer("60054", "Sandbox PPO"),
    billing=BillingProvider(
        "Practice One", "1234567893", "123456789", Address("100 Main St", "Springfield", "IL", "62701")
    ),
    rendering_npi="1245319599",
    member_id="W123456789",
    patient=Person("Maria", "Lopez", date(1984, 3, 9), "F", HOME),
    date_of_service=date(2026, 11, 16),
    place_of_service="11",
    diagnoses=("J20.9", "R05.9"),
    lines=(ClaimLine(1, "99213", Decimal("125.00"), diagnosis_pointers=(1, 2)),),
)


def findings(
    claim: ProfessionalClaim, duplicate_of: str | None = None, earlier_sent: SentVersion | None = None
) -> list[ScrubFinding]:
    context = ScrubContext(
        today=TODAY,
        payers=PAYERS,
        already_submitted=lambda _c: duplicate_of,
        earlier_version_sent=lambda _c: earlier_sent,
    )
    return scrub(claim, context)


def codes(
    claim: ProfessionalClaim, duplicate_of: str | None = None, earlier_sent: SentVersion | None = None
) -> set[ScrubCode]:
    return {finding.code for finding in findings(claim, duplicate_of, earlier_sent)}


def test_the_clean_claim_passes() -> None:
    assert codes(CLEAN) == set()


HOSPITAL_VISIT = Institutional("131", "1", "01", attending_npi="1497758544", attending_last_name="Okafor")
INSTITUTIONAL = replace(
    CLEAN,
    institutional=HOSPITAL_VISIT,
    lines=(ClaimLine(1, "99284", Decimal("850.00"), revenue_code="0450"),),  # 837I lines point at no diagnosis
)
CASES: dict[ScrubCode, ProfessionalClaim] = {
    ScrubCode.PAYER_UNKNOWN: replace(CLEAN, payer=Payer("99999", "Unknown")),
    ScrubCode.MEMBER_ID_MISSING: replace(CLEAN, member_id=None),
    ScrubCode.MEMBER_ID_FORMAT: replace(CLEAN, member_id="12345"),
    ScrubCode.BILLING_NPI_INVALID: replace(CLEAN, billing=replace(CLEAN.billing, npi="1234567890")),
    ScrubCode.RENDERING_NPI_INVALID: replace(CLEAN, rendering_npi="1245319590"),
    ScrubCode.TAX_ID_INVALID: replace(CLEAN, billing=replace(CLEAN.billing, tax_id="12-345")),
    ScrubCode.BILLING_ADDRESS_MISSING: replace(CLEAN, billing=replace(CLEAN.billing, address=None)),
    ScrubCode.PATIENT_ADDRESS_MISSING: replace(CLEAN, patient=replace(CLEAN.patient, address=None)),
    ScrubCode.SUBSCRIBER_ADDRESS_MISSING: replace(
        CLEAN, subscriber=Person("Ana", "Lopez", date(1980, 1, 1), "F"), relationship_to_subscriber="19"
    ),
    ScrubCode.DIAGNOSIS_MISSING: replace(CLEAN, diagnoses=("NOT-A-CODE", "R05.9")),
    ScrubCode.DIAGNOSIS_POINTER_INVALID: replace(
        CLEAN, lines=(ClaimLine(1, "99213", Decimal("125.00"), diagnosis_pointers=(3,)),)
    ),
    ScrubCode.CHARGE_MISSING: replace(CLEAN, lines=(ClaimLine(1, "99213", None, diagnosis_pointers=(1,)),)),
    ScrubCode.TOTAL_ZERO: replace(CLEAN, lines=(ClaimLine(1, "99213", Decimal(0), diagnosis_pointers=(1,)),)),
    ScrubCode.TIMELY_FILING: replace(CLEAN, date_of_service=date(2026, 8, 1)),
    ScrubCode.PRIOR_AUTH_MISSING: replace(
        CLEAN, lines=(ClaimLine(1, "27447", Decimal("2500.00"), modifiers=("RT",), diagnosis_pointers=(1,)),)
    ),
    ScrubCode.CORRECTION_REFERENCE_MISSING: replace(CLEAN, frequency_code="7"),
    ScrubCode.OTHER_PAYER_UNKNOWN: replace(
        CLEAN, other_coverages=(OtherCoverage("secondary", Payer("99999", "Unknown"), "X1"),)
    ),
    ScrubCode.OTHER_MEMBER_ID_MISSING: replace(CLEAN, other_coverages=(OtherCoverage("secondary", CLEAN.payer, None),)),
    ScrubCode.OTHER_MEMBER_ID_FORMAT: replace(
        CLEAN, other_coverages=(OtherCoverage("secondary", CLEAN.payer, "12345"),)
    ),
    ScrubCode.REVENUE_CODE_MISSING: replace(INSTITUTIONAL, lines=(replace(INSTITUTIONAL.lines[0], revenue_code=None),)),
    ScrubCode.ATTENDING_NPI_INVALID: replace(
        INSTITUTIONAL, institutional=replace(HOSPITAL_VISIT, attending_npi="1497758545")
    ),
    ScrubCode.OTHER_PAYER_UNBALANCED: replace(
        CLEAN,
        payer_sequence="secondary",
        other_coverages=(
            OtherCoverage(
                "primary",
                CLEAN.payer,
                "W123456789",
                adjudication=PayerAdjudication(Decimal("100.00"), Decimal("0.00"), date(2026, 11, 20)),
            ),
        ),
    ),
    ScrubCode.OTHER_PAYER_REVERSED: replace(
        CLEAN,
        payer_sequence="secondary",
        other_coverages=(
            OtherCoverage(
                "primary",
                CLEAN.payer,
                "W123456789",
                adjudication=PayerAdjudication(Decimal("125.00"), Decimal("0.00"), date(2026, 11, 20), reversed=True),
            ),
        ),
    ),
}


@pytest.mark.parametrize("code", sorted(CASES), ids=str)
def test_each_rule_fires_alone_on_the_claim_that_breaks_it(code: ScrubCode) -> None:
    assert codes(CASES[code]) == {code}


def test_rules_are_fixed_by_the_suggested_correction() -> None:
    assert codes(INSTITUTIONAL) == set(), "a clean institutional claim"
    assert codes(replace(CASES[ScrubCode.PRIOR_AUTH_MISSING], prior_authorization="AUTH123")) == set()
    assert codes(replace(CASES[ScrubCode.CORRECTION_REFERENCE_MISSING], payer_claim_number="PCN1")) == set()


def test_duplicate_of_a_submitted_claim_is_held_but_a_replacement_is_not() -> None:
    assert codes(CLEAN, duplicate_of="clm_1") == {ScrubCode.DUPLICATE}
    assert codes(replace(CLEAN, frequency_code="7", payer_claim_number="P1"), duplicate_of="clm_1") == set()


def test_a_new_version_of_an_encounter_already_sent_is_held_but_a_replacement_is_not() -> None:
    same_payer = SentVersion("clm_1", "60054")
    assert codes(CLEAN, earlier_sent=same_payer) == {ScrubCode.EARLIER_VERSION_SENT}
    assert codes(replace(CLEAN, frequency_code="7", payer_claim_number="P1"), earlier_sent=same_payer) == set()
    (finding,) = findings(CLEAN, earlier_sent=same_payer)
    assert finding.fix.startswith("Send a replacement (frequency 7) of claim clm_1")


def test_a_new_version_that_changed_the_payer_says_to_void_the_claim_the_other_payer_has() -> None:
    (finding,) = findings(CLEAN, earlier_sent=SentVersion("clm_1", "MCARE"))
    assert finding.code is ScrubCode.EARLIER_VERSION_SENT
    assert "to payer MCARE, and this claim goes to payer 60054" in finding.message
    assert finding.fix.startswith("Void claim clm_1 (frequency 8)")


def test_every_rule_is_covered() -> None:
    assert set(CASES) | {ScrubCode.DUPLICATE, ScrubCode.EARLIER_VERSION_SENT} == set(ScrubCode)


PARTIES = Parties("Billing Co", "CLAIMFLOW", "Desk", "5555550100", "Clearinghouse", "PAYERSANDBOX")


@pytest.mark.parametrize(
    "claim",
    [
        CLEAN,
        replace(
            CLEAN,
            patient=Person("Lucas", "Lopez", date(2015, 7, 20), "M", HOME),
            subscriber=replace(CLEAN.patient),
            relationship_to_subscriber="19",
        ),
        replace(CLEAN, frequency_code="7", payer_claim_number="PAYER123", prior_authorization="AUTH9"),
    ],
    ids=["subscriber", "dependent", "replacement"],
)
def test_written_837p_is_valid(claim: ProfessionalClaim) -> None:
    created = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    envelope = Envelope(
        sender_id="CLAIMFLOW", receiver_id="PAYERSANDBOX", interchange_control_number=9, group_control_number=9,
        transaction_control_numbers=[1], created_at=created,
    )  # fmt: skip
    text = write_interchange(envelope, [build_837p([claim], PARTIES, batch_id="B1", created_at=created)])
    result = parse(text)
    assert result.errors == []
    assert validate(result) == []
    assert "REF*6R*CF0001-1" in text
    if claim.subscriber is not None:
        assert "PAT*19" in text
        assert "NM1*QC*1*LOPEZ*LUCAS" in text
    if claim.frequency_code == "7":
        assert "REF*F8*PAYER123" in text
        assert "REF*G1*AUTH9" in text
