"""An institutional (837I, UB-04) claim end to end through the HTTP API: 999, 277CA, 835 with revenue-code lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from claimflow_x12.guides.ack_999 import Acknowledgment999
from claimflow_x12.guides.remittance_835 import iter_claim_payments
from payer_sandbox.samples import (
    ClaimRequest,
    LineRequest,
    PersonRequest,
    StatusQuery,
    claim_837i,
    status_request_276,
    to_x12,
)
from payer_sandbox.testing import SandboxClient, sandbox_fixture  # noqa: F401 (the sandbox fixture)

DOS = date(2025, 2, 24)
MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")


def er_visit(pcn: str) -> ClaimRequest:
    """A hospital outpatient emergency visit (type of bill 131): ER level 4, lab, chest X-ray, drugs."""
    lines = [
        LineRequest("99284", Decimal("900.00"), revenue_code="0450"),
        LineRequest("85025", Decimal("60.00"), revenue_code="0300"),
        LineRequest("71046", Decimal("250.00"), revenue_code="0320"),
        LineRequest("", Decimal("300.00"), revenue_code="0250"),  # pharmacy: revenue code only
    ]
    return ClaimRequest(pcn, "60054", MARIA, lines, ["J209"], DOS, place_of_service="13")


async def test_institutional_claim_is_acknowledged_and_paid_per_revenue_line(sandbox: SandboxClient) -> None:
    receipt = await sandbox.submit_bytes(to_x12([claim_837i([er_visit("PCNER1")])]), "er.837i")
    assert (receipt["acknowledgment"], receipt["claims_accepted"], receipt["claims_rejected"]) == ("A", 1, 0)
    (ack,) = await sandbox.transactions("999")
    assert isinstance(ack, Acknowledgment999)
    assert ack.group_trailer.acknowledgment_code.value == "A"
    acknowledged = (await sandbox.acknowledged())["PCNER1"]
    assert [(s.category_code, s.status_code) for s in acknowledged.claim.statuses] == [("A2", "20")]
    number = acknowledged.claim.payer_claim_control_number
    assert number

    await sandbox.advance(7)
    (era,) = await sandbox.remittances()
    (payment,) = iter_claim_payments(era)
    clp = payment.claim
    assert (clp.patient_control_number, clp.status.value, clp.payer_claim_control_number) == ("PCNER1", "1", number)
    assert (clp.facility_type_code, clp.frequency_code) == ("13", "1")  # the type of bill comes back
    billed = [
        (s.service.procedure_qualifier, s.service.procedure_code, s.service.revenue_code) for s in payment.service_lines
    ]
    assert billed == [("HC", "99284", "0450"), ("HC", "85025", "0300"), ("HC", "71046", "0320"), ("NU", "0250", None)]
    # allowed: 120.00, 8.00 and 30.00 x 1.40 on the fee schedule; the unlisted drugs at 60 % of the charge
    assert [line.allowed_amount for line in payment.service_lines] == [
        Decimal("168.00"),
        Decimal("11.20"),
        Decimal("42.00"),
        Decimal("180.00"),
    ]
    copays = [
        a.amount
        for line in payment.service_lines
        for cas in line.adjustments
        for a in cas.adjustments
        if (cas.group_code.value, a.reason_code) == ("PR", "3")
    ]
    assert sum(copays, Decimal(0)) == Decimal("250.00")  # one ER copay for the visit, spread over its lines
    assert (clp.total_charge, clp.paid_amount, clp.patient_responsibility) == (
        Decimal("1510.00"),
        Decimal("151.20"),
        Decimal("250.00"),
    )
    for line in payment.service_lines:
        assert line.service.line_charge - line.adjustment_total == line.service.paid_amount
    assert clp.total_charge - payment.adjustment_total == clp.paid_amount
    assert era.financial_information.total_payment == clp.paid_amount

    (status,) = await sandbox.claim_status(
        status_request_276(
            "60054", MARIA, [StatusQuery("ER1", Decimal("1510.00"), DOS, patient_control_number="PCNER1")]
        )
    )
    assert [r.value for r in status.claim.references if r.qualifier == "BLT"] == ["131"]
    assert [(s.category_code, s.paid_amount) for s in status.claim.statuses] == [("F1", Decimal("151.20"))]
    assert [line.service.revenue_code for line in status.claim.service_lines] == ["0450", "0300", "0320", None]


async def test_professional_er_visit_charges_one_copay_however_many_lines(sandbox: SandboxClient) -> None:
    lines = [LineRequest("99285", Decimal("400.00")), LineRequest("71046", Decimal("120.00"))]
    await sandbox.submit([ClaimRequest("PCNER2", "60054", MARIA, lines, ["J209"], DOS, place_of_service="23")])
    await sandbox.advance(7)
    (era,) = await sandbox.remittances()
    (payment,) = iter_claim_payments(era)
    # 99285 allowed 245.00 takes the whole 250.00 copay but 5.00, which the X-ray (allowed 42.00) pays
    assert [line.service.paid_amount for line in payment.service_lines] == [Decimal("0.00"), Decimal("37.00")]
    assert payment.claim.patient_responsibility == Decimal("250.00")
