"""Appeal letters (content per root cause, the PDF read back) and overturn statistics."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from claims_svc.adapters.appeal_pdf import appeal_letter_pdf
from claims_svc.domain.adjustment_codes import RootCause
from claims_svc.domain.appeals import (
    ARGUMENTS,
    ATTACHMENTS,
    AppealFacts,
    AppealOutcome,
    AppealRecord,
    Heading,
    Items,
    Paragraph,
    appeal_letter,
    overturn_rates,
)
from claims_svc.domain.claim import ClaimLine
from claims_svc.domain.denials import CasAdjustment, classify_denial


def facts(root_cause: RootCause = RootCause.MEDICAL_NECESSITY, level: int = 1) -> AppealFacts:
    classification = classify_denial([CasAdjustment("CO", "50", Decimal("125.00"), "CF1-1")], ("N115",))
    assert classification is not None
    return AppealFacts(
        letter_date=date(2026, 12, 2),
        level=level,
        practice_name="Practice One",
        practice_npi="1234567893",
        practice_address=("100 Main Street", "Springfield, IL 627011234"),
        payer_id="60054",
        payer_name="Sandbox Commercial PPO",
        patient_name="Maria Lopez",
        patient_birth_date=date(1984, 3, 9),
        member_id="W123456789",
        patient_control_number="CF1",
        payer_claim_number="PCC-77",
        date_of_service=date(2026, 11, 16),
        total_charge=Decimal("1250.00"),
        denied_amount=Decimal("125.00"),
        denied_on=date(2026, 11, 30),
        appeal_deadline=date(2027, 5, 29),
        lines=(ClaimLine(1, "99213", Decimal("125.00"), modifiers=("25",)),),
        root_cause=root_cause,
        reasons=classification.reasons,
        remarks=classification.remarks,
    )


def text_of(blocks: tuple[Heading | Paragraph | Items, ...]) -> str:
    parts: list[str] = []
    for block in blocks:
        parts.extend(block.entries if isinstance(block, Items) else [block.text])
    return "\n".join(parts)


def test_the_letter_states_the_claim_the_codes_and_the_argument() -> None:
    letter = appeal_letter(facts())
    text = text_of(letter.blocks)
    for expected in (
        "Patient control number: CF1",
        "Payer claim number: PCC-77",
        "Date of service: 2026-11-16",
        "Billed amount: $1,250.00; denied amount: $125.00",
        "appeal due by 2027-05-29",
        "Line 1: 99213-25, $125.00",
        "CO-50 ($125.00): Non-covered: the payer does not deem the services a medical necessity.",
        "N115: This decision was based on a Local Coverage Determination (LCD).",
        "December 2, 2026",
        "Sandbox Commercial PPO (payer id 60054)",
        ARGUMENTS[RootCause.MEDICAL_NECESSITY],
    ):
        assert expected in text
    assert letter.title == "Request for reconsideration - claim CF1"
    assert "Letter of medical necessity from the treating provider" in letter.attachments
    assert letter.attachments[:2] == (
        "Copy of the claim as submitted",
        "Remittance advice (835/EOB) showing the denial",
    )
    assert appeal_letter(facts(level=2)).title == "Level 2 appeal - claim CF1"


@pytest.mark.parametrize(
    ("root_cause", "enclosure"),
    [
        (RootCause.MEDICAL_NECESSITY, "Medical records: office notes, history, test results"),
        (RootCause.TIMELY_FILING, "Proof of timely filing: clearinghouse acceptance report (999/277CA)"),
        (RootCause.ELIGIBILITY, "Copy of the insurance card (front and back)"),
        (RootCause.AUTHORIZATION, "Authorization approval or reference number with its date"),
        (RootCause.BUNDLING, "Procedure or operative notes for each service"),
        (RootCause.COORDINATION_OF_BENEFITS, "Primary payer's EOB/remittance"),
        (RootCause.PROVIDER_ENROLLMENT, "Enrollment or credentialing approval letter"),
    ],
)
def test_each_root_cause_gets_its_argument_and_enclosures(root_cause: RootCause, enclosure: str) -> None:
    letter = appeal_letter(facts(root_cause))
    assert any(a.startswith(enclosure) for a in letter.attachments)
    assert ARGUMENTS[root_cause] in text_of(letter.blocks)
    others = {r for r in RootCause if r is not root_cause and ARGUMENTS[r] != ARGUMENTS[root_cause]}
    assert not any(ARGUMENTS[r] in text_of(letter.blocks) for r in others)


def test_every_root_cause_has_an_argument_and_enclosures() -> None:
    assert set(ARGUMENTS) == set(ATTACHMENTS) == set(RootCause)
    assert all(ATTACHMENTS.values())


def test_the_pdf_letter_reads_back_with_the_claim_facts() -> None:
    letter = appeal_letter(facts(RootCause.TIMELY_FILING))
    pdf = appeal_letter_pdf(letter, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Patient control number: CF1" in text
    assert "Payer claim number: PCC-77" in text
    assert "CO-50 ($125.00)" in text
    assert "This claim was first submitted within your filing limit." in text
    assert "Proof of timely filing" in text
    assert reader.metadata is not None
    assert reader.metadata.title == letter.title


def record(payer: str, cause: str, outcome: AppealOutcome | None, denied: str, recovered: str = "0") -> AppealRecord:
    return AppealRecord(payer, cause, outcome, Decimal(denied), Decimal(recovered))


def test_overturn_rates_per_payer_and_root_cause() -> None:
    rates = overturn_rates(
        [
            record("60054", "medical_necessity", AppealOutcome.OVERTURNED, "100.00", "100.00"),
            record("60054", "medical_necessity", AppealOutcome.UPHELD, "50.00"),
            record("60054", "medical_necessity", AppealOutcome.PARTIALLY_OVERTURNED, "80.00", "30.00"),
            record("60054", "medical_necessity", None, "20.00"),
            record("60054", "timely_filing", AppealOutcome.UPHELD, "75.00"),
            record("MCARE", "medical_necessity", None, "40.00"),
        ]
    )
    assert [(r.payer_id, r.root_cause) for r in rates] == [
        ("60054", "medical_necessity"),
        ("60054", "timely_filing"),
        ("MCARE", "medical_necessity"),
    ]
    necessity, late, pending = rates
    assert (necessity.appeals, necessity.decided, necessity.overturned, necessity.partially_overturned) == (4, 3, 1, 1)
    assert necessity.upheld == 1
    assert necessity.overturn_rate == Decimal("0.6667")
    assert (necessity.denied_amount, necessity.recovered_amount) == (Decimal("250.00"), Decimal("130.00"))
    assert (late.overturn_rate, late.upheld) == (Decimal("0.0000"), 1)
    assert (pending.decided, pending.overturn_rate) == (0, None)
