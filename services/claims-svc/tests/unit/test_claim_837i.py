"""Institutional claims as 837I (005010X223A2): the claim-level UB-04 data, revenue-code lines, and a secondary
institutional claim; every file passes pyx12 and the library's own validation."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from claimflow_kit.testing import Pyx12Check
from claimflow_x12 import Claim837I, Envelope, parse, validate, write_interchange
from claimflow_x12.guides.claim_837i import iter_claims
from claims_svc.adapters.ub04_pdf import ub04_pdf
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
from claims_svc.domain.scrub import PayerRules, ScrubCode, ScrubContext, scrub
from claims_svc.domain.ub04 import ub04_forms
from claims_svc.domain.x12_837i import build_837i
from claims_svc.domain.x12_837p import Parties

HOME = Address("7 Pine Street", "Springfield", "IL", "62704")
DAVID = Person("David", "Chen", date(1949, 6, 12), "M", HOME)
PARTIES = Parties("ClaimFlow Billing", "CLAIMFLOW", "Billing Desk", "5555550100", "Clearinghouse", "PAYERSANDBOX")
HOSPITAL = BillingProvider(
    "Springfield Community Hospital", "1881697878", "376543210", Address("500 Hospital Drive", "Springfield", "IL",
    "627021234"), "282N00000X",
)  # fmt: skip
OUTPATIENT = Institutional(
    type_of_bill="131",
    admission_type_code="1",
    admission_source_code="7",
    patient_status_code="01",
    attending_npi="1497758544",
    attending_last_name="Okafor",
    attending_first_name="Chidi",
)
CLAIM = ProfessionalClaim(
    patient_control_number="CFHOSP0001",
    payer=Payer("00450", "Medicare Part A", "MA"),
    billing=HOSPITAL,
    rendering_npi="1881697878",
    member_id="1EG4TE5MK73",
    patient=DAVID,
    date_of_service=date(2026, 11, 12),
    place_of_service="22",
    diagnoses=("R07.89", "I10"),
    lines=(
        ClaimLine(1, "99284", Decimal("850.00"), revenue_code="0450"),
        ClaimLine(2, "80053", Decimal("200.00"), revenue_code="0300"),
        ClaimLine(3, "71046", Decimal("300.00"), revenue_code="0320"),
    ),
    institutional=OUTPATIENT,
)


def written(claim: ProfessionalClaim) -> str:
    created = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    envelope = Envelope(
        sender_id="CLAIMFLOW", receiver_id="PAYERSANDBOX", interchange_control_number=31, group_control_number=31,
        transaction_control_numbers=[1], created_at=created,
    )  # fmt: skip
    return write_interchange(envelope, [build_837i([claim], PARTIES, batch_id="INST1", created_at=created)])


def test_an_outpatient_hospital_claim_is_a_valid_837i(pyx12_errors: Pyx12Check) -> None:
    text = written(CLAIM)
    assert pyx12_errors(text) == []
    result = parse(text)
    assert result.errors == []
    assert validate(result) == []
    segments = text.split("~")
    assert "GS*HC*CLAIMFLOW*PAYERSANDBOX*20261120*1400*31*X*005010X223A2" in segments
    assert "CLM*CFHOSP0001*1350.00***13:A:1**A*Y*Y" in segments
    assert "DTP*434*RD8*20261112-20261112" in segments
    assert "CL1*1*7*01" in segments
    assert [s for s in segments if s.startswith("HI*")] == ["HI*ABK:R0789", "HI*ABF:I10"]
    assert "NM1*71*1*OKAFOR*CHIDI****XX*1497758544" in segments
    assert [s for s in segments if s.startswith("SV2*")] == [
        "SV2*0450*HC:99284*850.00*UN*1",
        "SV2*0300*HC:80053*200.00*UN*1",
        "SV2*0320*HC:71046*300.00*UN*1",
    ]
    assert "REF*6R*CFHOSP0001-2" in segments
    (transaction,) = result.transactions
    assert isinstance(transaction, Claim837I)
    (context,) = list(iter_claims(transaction))
    assert context.claim.claim.total_charge == Decimal("1350.00")


def test_a_secondary_institutional_claim_reports_the_primary_in_2320_and_2430(pyx12_errors: Pyx12Check) -> None:
    primary_paid = PayerAdjudication(
        payer_claim_number="MCA77",
        paid=Decimal("1080.00"),
        remaining_patient_liability=Decimal("270.00"),
        adjudication_date=date(2026, 11, 19),
        adjustments=(),
        lines=(),
    )
    secondary = replace(
        CLAIM,
        patient_control_number="CFHOSP0002",
        payer=Payer("MCAID", "Sandbox Medicaid", "MC"),
        member_id="100000000002",
        payer_sequence="secondary",
        other_coverages=(
            OtherCoverage(
                sequence="primary",
                payer=Payer("00450", "Medicare Part A", "MA"),
                member_id="1EG4TE5MK73",
                adjudication=primary_paid,
            ),
        ),
    )
    text = written(secondary)
    assert pyx12_errors(text) == []
    assert validate(parse(text)) == []
    segments = text.split("~")
    assert "SBR*S*18*******MC" in segments
    assert "AMT*D*1080.00" in segments
    assert "AMT*EAF*270.00" in segments


def test_the_scrubber_holds_an_institutional_claim_without_its_ub04_data() -> None:
    payers = {"00450": PayerRules(name="Medicare Part A", member_id_pattern=r"^[0-9A-Z]{11}$")}
    context = ScrubContext(today=date(2026, 11, 20), payers=payers, already_submitted=lambda _claim: None)
    assert [f.code for f in scrub(CLAIM, context)] == []
    broken = replace(
        CLAIM,
        lines=(*CLAIM.lines[:2], replace(CLAIM.lines[2], revenue_code=None)),
        institutional=replace(OUTPATIENT, attending_npi="1497758545"),
    )
    codes = {f.code: f for f in scrub(broken, context)}
    assert {"REVENUE_CODE_MISSING", "ATTENDING_NPI_INVALID"} <= set(codes)
    assert codes[ScrubCode.REVENUE_CODE_MISSING].line_number == 3


def test_the_ub04_names_every_form_locator_the_837i_carries() -> None:
    (form,) = ub04_forms(replace(CLAIM, frequency_code="7", payer_claim_number="MCA77"))
    assert (form.box("4"), form.box("6"), form.box("14"), form.box("15"), form.box("17")) == (
        "0131",
        "11 12 2026 - 11 12 2026",
        "1",
        "7",
        "01",
    )
    assert (form.box("60"), form.box("64"), form.box("67"), form.box("67A")) == (
        "1EG4TE5MK73",
        "MCA77",
        "R07.89",
        "I10",
    )
    assert form.box("76") == "NPI 1497758544  OKAFOR, CHIDI"
    assert [(r.revenue_code, r.hcpcs, r.charge) for r in form.rows] == [
        ("0450", "99284", "850.00"),
        ("0300", "80053", "200.00"),
        ("0320", "71046", "300.00"),
    ]
    assert form.box("47") == "1350.00"
    text = " ".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(ub04_pdf([form], datetime(2026, 11, 20, tzinfo=UTC)))).pages
    )
    for expected in ("UB-04 UNIFORM BILL", "4. TYPE OF BILL", "0131", "0450", "99284", "0001 TOTAL 1350.00"):
        assert expected in " ".join(text.split()), expected
    many = replace(CLAIM, lines=tuple(replace(CLAIM.lines[0], line_number=n) for n in range(1, 24)))
    first, second = ub04_forms(many)
    assert (len(first.rows), len(second.rows), first.pages) == (22, 1, 2)
    assert second.box("47") == "850.00", "each page totals its own lines"
