"""CMS-1500 boxes from the domain claim, and the PDF that prints them."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from claims_svc.adapters.cms1500_pdf import cms1500_pdf
from claims_svc.domain.claim import Address, BillingProvider, ClaimLine, Payer, Person, ProfessionalClaim
from claims_svc.domain.cms1500 import cms1500_forms

HOME = Address("12 Elm St", "Springfield", "IL", "627011234")


def line(n: int) -> ClaimLine:
    """Line 1: 99213-25 pointing at A and C; the others: 36415 pointing at B; charges 100 + n."""
    if n == 1:
        return ClaimLine(n, "99213", Decimal("101.00"), Decimal(1), ("25",), (1, 3))
    return ClaimLine(n, "36415", Decimal("100.00") + n, Decimal(1), (), (2,))


def claim(lines: int = 2, **overrides: object) -> ProfessionalClaim:
    fields: dict[str, object] = {
        "patient_control_number": "CF0000000000000042",
        "payer": Payer("60054", "Sandbox Commercial PPO"),
        "billing": BillingProvider("Practice One", "1234567893", "123456789", HOME),
        "rendering_npi": "1245319599",
        "member_id": "W123456789",
        "patient": Person("Lucas", "Rivera", date(2015, 6, 1), "M", HOME),
        "subscriber": Person("Maria", "Rivera", date(1984, 3, 9), "F", HOME),
        "relationship_to_subscriber": "19",
        "group_number": "GRP60054A",
        "date_of_service": date(2026, 11, 2),
        "place_of_service": "11",
        "diagnoses": ("J20.9", "R05.9", "Z00.00"),
        "lines": tuple(line(n) for n in range(1, lines + 1)),
    }
    fields.update(overrides)
    return ProfessionalClaim(**fields)  # type: ignore[arg-type]


def test_boxes_carry_patient_insured_diagnoses_and_lines() -> None:
    (form,) = cms1500_forms(claim())
    assert form.box("1a") == "W123456789"
    assert form.box("2") == "RIVERA, LUCAS"
    assert form.box("3") == "06 01 2015 M"
    assert form.box("4") == "RIVERA, MARIA"
    assert form.box("6") == "Child"
    assert form.box("11") == "GRP60054A"
    assert form.box("21") == "A. J20.9  B. R05.9  C. Z00.00"
    assert form.box("26") == "CF0000000000000042"
    assert form.box("28") == "203.00"
    assert form.box("33a") == "1234567893"
    assert form.box("22") == "", "an original claim has no resubmission code"
    first, second = form.rows
    assert (first.date_from, first.procedure, first.pointers, first.charge, first.units) == (
        "11 02 26",
        "99213 25",
        "AC",
        "101.00",
        "1",
    )
    assert (second.procedure, second.pointers, second.rendering_npi) == ("36415", "B", "1245319599")


def test_a_replacement_names_the_original_and_long_claims_continue_on_more_forms() -> None:
    forms = cms1500_forms(claim(lines=8, frequency_code="7", payer_claim_number="PAY123"))
    assert [f.page for f in forms] == [1, 2]
    assert [len(f.rows) for f in forms] == [6, 2]
    assert forms[0].box("22") == "7 PAY123"
    assert forms[1].box("28") == f"{Decimal('107.00') + Decimal('108.00'):.2f}", "box 28 totals the page's lines"


def test_the_pdf_prints_every_box_and_row() -> None:
    pdf = cms1500_pdf(cms1500_forms(claim(lines=8)), datetime(2026, 11, 23, tzinfo=UTC))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    text = reader.pages[0].extract_text()
    for expected in ("HEALTH INSURANCE CLAIM FORM", "RIVERA, LUCAS", "W123456789", "A. J20.9", "99213 25",
                     "CF0000000000000042", "PAGE 1 OF 2", "28. TOTAL CHARGE"):  # fmt: skip
        assert expected in text, expected
