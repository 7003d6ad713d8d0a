"""The patient statement as a PDF (US Letter, Helvetica), laid out by the kit's text PDF writer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from claimflow_kit.pdf import PdfDocument, TextFlow
from remit_svc.domain.receivables import BUCKETS, Statement, StatementLine


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _claim_lines(line: StatementLine, *, name_patient: bool) -> list[str]:
    activity = line.activity
    patient = f"Patient {activity.patient_name or activity.patient_id} - " if name_patient else ""
    return [
        f"{patient}Date of service {activity.service_date.isoformat()} - claim {activity.patient_control_number}"
        f" - billed to payer {activity.payer_id}",
        f"Charges {_money(activity.charges)}; insurance paid {_money(activity.insurance_paid)}; "
        f"adjustments {_money(activity.adjustments)}; awaiting insurance {_money(activity.pending_insurance)}",
        f"Your responsibility {_money(activity.patient_responsibility)}: deductible {_money(activity.deductible)}, "
        f"coinsurance {_money(activity.coinsurance)}, copay {_money(activity.copay)}"
        + (f", other {_money(activity.other_patient)}" if activity.other_patient else ""),
        f"Your payments applied {_money(line.patient_payments)}; balance {_money(line.balance)}",
    ]


def statement_pdf(statement: Statement, created: datetime) -> bytes:
    """Render the statement: header, one block per date of service, payments, aging and the amount due."""
    document = PdfDocument(title=f"Patient statement {statement.statement_date.isoformat()}", created=created)
    flow = TextFlow(document, margin=54.0, size=10.0)
    flow.paragraph("Patient statement", size=16, bold=True)
    addressee = statement.mail_to
    if addressee is not None:
        block = addressee.address.lines() if addressee.address is not None else ("(no mailing address on file)",)
        flow.paragraph("\n".join((addressee.name, *block)))
        flow.space(0.5)
    for practice in statement.pay_to:
        address = practice.address.lines() if practice.address is not None else ()
        flow.paragraph("\n".join((f"Pay to: {practice.name}", *address)))
    flow.paragraph(f"Statement date: {statement.statement_date.isoformat()}")
    flow.paragraph(f"Account (guarantor): {statement.guarantor_id}")
    flow.paragraph(f"Amount due: {_money(statement.amount_due)}", bold=True)
    flow.heading("Services")
    if not statement.lines:
        flow.paragraph("No services on this account.")
    for line in statement.lines:
        flow.space(0.5)
        flow.items(_claim_lines(line, name_patient=len(statement.patient_ids) > 1))
    flow.heading("Payments and refunds")
    if not statement.payments:
        flow.paragraph("No patient payments received.")
    flow.items(
        f"{p.received_on.isoformat()} {p.kind} {_money(p.amount)} by {p.method}"
        + (f" (reference {p.reference})" if p.reference else "")
        for p in statement.payments
    )
    flow.heading("Balance by age (days since the date of service)")
    flow.paragraph("   ".join(f"{bucket}: {_money(statement.aging[bucket])}" for bucket in BUCKETS))
    if statement.unapplied_credit < 0:
        flow.paragraph(f"Credit on account: {_money(-statement.unapplied_credit)}")
    flow.space()
    flow.paragraph(f"Balance due: {_money(statement.amount_due)}", size=12, bold=True)
    return document.to_bytes()
