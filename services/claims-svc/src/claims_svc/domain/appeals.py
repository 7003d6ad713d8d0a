"""Appeals of denied claims: the letter's content per root cause, what to enclose, and how appeals fare.

The letter is built here as plain blocks of text (no layout, no PDF): the claim facts a payer needs to find
the claim, the denial codes with their meanings, an argument written for the root cause, and the enclosures
that argument relies on. A biller edits the bracketed parts before sending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from claims_svc.domain.adjustment_codes import RootCause
from claims_svc.domain.claim import ClaimLine
from claims_svc.domain.denials import DenialReason, Remark


class AppealOutcome(StrEnum):
    """The payer's decision on an appeal."""

    OVERTURNED = "overturned"
    PARTIALLY_OVERTURNED = "partially_overturned"
    UPHELD = "upheld"


COMMON_ATTACHMENTS = (
    "Copy of the claim as submitted",
    "Remittance advice (835/EOB) showing the denial",
)

ARGUMENTS: dict[RootCause, str] = {
    RootCause.ELIGIBILITY: (
        "Our records show that the patient was covered by your plan on the date of service: the enclosed copy of "
        "the insurance card and the eligibility response we received for that date confirm active coverage. "
        "We ask you to verify the member's coverage and reprocess the claim."
    ),
    RootCause.CODING: (
        "The procedure and diagnosis codes billed are supported by the enclosed documentation of the visit and "
        "follow the CPT and ICD-10-CM coding guidelines in force on the date of service. [Explain how the record "
        "supports each denied code and modifier.] We ask you to review the codes against the record and "
        "reprocess the claim."
    ),
    RootCause.AUTHORIZATION: (
        "[The service was authorized under authorization number ____, enclosed.] [Or: the service was urgent and "
        "could not wait for authorization, as the enclosed records show; we notified you on ____.] We ask you to "
        "apply the authorization and reprocess the claim."
    ),
    RootCause.TIMELY_FILING: (
        "This claim was first submitted within your filing limit. The enclosed clearinghouse acceptance report "
        "shows the date the original claim was accepted for delivery to you, which is within the limit counted "
        "from the date of service. We ask you to accept the claim as timely filed and process it."
    ),
    RootCause.DUPLICATE: (
        "This claim is not a duplicate: it reports a separate service [performed at a different time, session or "
        "site], as the enclosed records of both services show. We ask you to process it as a distinct service."
    ),
    RootCause.MEDICAL_NECESSITY: (
        "The service was medically necessary for this patient's condition. The enclosed medical records document "
        "[the symptoms, findings, prior treatment and clinical reasoning], and the treating provider's letter of "
        "medical necessity explains why the service was required. The service meets [your coverage policy / the "
        "applicable LCD or NCD / accepted clinical guidelines]. We ask you to overturn the denial and pay the "
        "claim."
    ),
    RootCause.NON_COVERED: (
        "We ask you to reconsider: the patient's plan covers this service under [benefit section ____ of the "
        "plan documents, enclosed], and the enclosed records show the coverage criteria were met."
    ),
    RootCause.BUNDLING: (
        "The denied service was distinct and separately identifiable from the other procedure billed the same day "
        "[different session, anatomic site or incision], as the enclosed procedure notes show; the NCCI edit for "
        "this pair allows separate payment with the modifier reported. We ask you to pay the service separately."
    ),
    RootCause.COORDINATION_OF_BENEFITS: (
        "Your plan is the patient's [primary payer / responsible payer] for this date of service: [the patient "
        "has no other coverage / the other plan ended on ____ / the primary payer's adjudication is enclosed]. "
        "We ask you to update the coordination of benefits and reprocess the claim."
    ),
    RootCause.PROVIDER_ENROLLMENT: (
        "The rendering provider was enrolled with and credentialed by your plan on the date of service, effective "
        "[____], as the enclosed approval shows, and the NPI on the claim is the one on file with you. We ask you "
        "to correct your provider record and reprocess the claim."
    ),
    RootCause.OTHER: (
        "We believe the claim was denied in error. [Explain why the claim should be paid, with reference to the "
        "enclosed documents.] We ask you to review the denial and reprocess the claim."
    ),
}

ATTACHMENTS: dict[RootCause, tuple[str, ...]] = {
    RootCause.ELIGIBILITY: (
        "Copy of the insurance card (front and back)",
        "Eligibility response (271) or payer portal printout for the date of service",
    ),
    RootCause.CODING: (
        "Visit note or procedure report for the date of service",
        "Coding rationale with the CPT/ICD-10-CM guideline references",
    ),
    RootCause.AUTHORIZATION: (
        "Authorization approval or reference number with its date",
        "Medical records showing the urgency of the service",
    ),
    RootCause.TIMELY_FILING: (
        "Proof of timely filing: clearinghouse acceptance report (999/277CA) of the first submission",
        "Record of the original submission date and any payer correspondence",
    ),
    RootCause.DUPLICATE: (
        "Medical records of both services showing they were distinct",
        "Remittance of the original claim",
    ),
    RootCause.MEDICAL_NECESSITY: (
        "Medical records: office notes, history, test results",
        "Letter of medical necessity from the treating provider",
        "Coverage policy or clinical guideline references",
    ),
    RootCause.NON_COVERED: (
        "Plan benefit document or summary of benefits (relevant section)",
        "Medical records showing the coverage criteria were met",
    ),
    RootCause.BUNDLING: (
        "Procedure or operative notes for each service",
        "NCCI policy reference for the code pair and modifier",
    ),
    RootCause.COORDINATION_OF_BENEFITS: (
        "Patient's coordination-of-benefits questionnaire",
        "Primary payer's EOB/remittance or proof that other coverage ended",
    ),
    RootCause.PROVIDER_ENROLLMENT: (
        "Enrollment or credentialing approval letter with its effective date",
        "NPPES record of the provider's NPI and taxonomy",
    ),
    RootCause.OTHER: ("Medical records of the date of service",),
}


@dataclass(frozen=True)
class Heading:
    """A section title."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph (newlines start new lines)."""

    text: str


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    entries: tuple[str, ...]


Block = Heading | Paragraph | Items


@dataclass(frozen=True)
class AppealFacts:
    """Everything the letter states about the claim, the denial and who writes to whom."""

    letter_date: date
    level: int
    practice_name: str
    practice_npi: str
    practice_address: tuple[str, ...]
    payer_id: str
    payer_name: str
    patient_name: str
    patient_birth_date: date | None
    member_id: str | None
    patient_control_number: str
    payer_claim_number: str | None
    date_of_service: date
    total_charge: Decimal
    denied_amount: Decimal
    denied_on: date
    appeal_deadline: date
    lines: tuple[ClaimLine, ...]
    root_cause: RootCause
    reasons: tuple[DenialReason, ...]
    remarks: tuple[Remark, ...]


@dataclass(frozen=True)
class AppealLetter:
    """The letter's title, its blocks in order, and the enclosures to send with it."""

    title: str
    blocks: tuple[Block, ...]
    attachments: tuple[str, ...]


def attachments_for(root_cause: RootCause) -> tuple[str, ...]:
    """What to enclose with an appeal of this kind of denial (the claim and remittance always)."""
    return (*COMMON_ATTACHMENTS, *ATTACHMENTS[root_cause])


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def _line(line: ClaimLine) -> str:
    modifiers = f"-{'-'.join(line.modifiers)}" if line.modifiers else ""
    charge = _money(line.charge) if line.charge is not None else "no charge"
    units = f", {line.units.normalize():f} unit(s)" if line.units != 1 else ""
    return f"Line {line.line_number}: {line.procedure_code}{modifiers}{units}, {charge}"


def appeal_letter(facts: AppealFacts) -> AppealLetter:
    """The appeal letter for one denied claim."""
    attachments = attachments_for(facts.root_cause)
    level = "Request for reconsideration" if facts.level == 1 else f"Level {facts.level} appeal"
    title = f"{level} - claim {facts.patient_control_number}"
    birth = facts.patient_birth_date.isoformat() if facts.patient_birth_date else "on file"
    claim_facts = (
        f"Patient: {facts.patient_name} (born {birth}), member id {facts.member_id or 'on file'}",
        f"Patient control number: {facts.patient_control_number}",
        f"Payer claim number: {facts.payer_claim_number or 'not assigned'}",
        f"Date of service: {facts.date_of_service.isoformat()}",
        f"Billed amount: {_money(facts.total_charge)}; denied amount: {_money(facts.denied_amount)}",
        f"Denial date: {facts.denied_on.isoformat()}; appeal due by {facts.appeal_deadline.isoformat()}",
        f"Billing provider: {facts.practice_name}, NPI {facts.practice_npi}",
    )
    codes = tuple(f"{r.group_code}-{r.carc} ({_money(r.amount)}): {r.meaning}" for r in facts.reasons) or (
        "The remittance gave no adjustment reason code.",
    )
    blocks: list[Block] = [
        Paragraph("\n".join((facts.practice_name, *facts.practice_address, f"NPI {facts.practice_npi}"))),
        Paragraph(facts.letter_date.strftime("%B %d, %Y").replace(" 0", " ")),
        Paragraph(f"{facts.payer_name} (payer id {facts.payer_id})\nAppeals Department"),
        Heading(title),
        Paragraph(
            f"We request {'reconsideration' if facts.level == 1 else 'a further review'} of the denial of the claim "
            "below and ask that it be reprocessed for payment."
        ),
        Heading("Claim"),
        Items(claim_facts),
        Heading("Services"),
        Items(tuple(_line(line) for line in facts.lines)),
        Heading("Denial reasons"),
        Items(codes),
    ]
    if facts.remarks:
        blocks += [Heading("Remark codes"), Items(tuple(f"{r.code}: {r.meaning}" for r in facts.remarks))]
    blocks += [
        Heading("Why the claim should be paid"),
        Paragraph(ARGUMENTS[facts.root_cause]),
        Heading("Enclosures"),
        Items(attachments),
        Paragraph(
            f"Please send your decision to {facts.practice_name}. Thank you for your review.\n\nSincerely,\n\n"
            f"Billing office, on behalf of {facts.practice_name}"
        ),
    ]
    return AppealLetter(title=title, blocks=tuple(blocks), attachments=attachments)


@dataclass(frozen=True)
class AppealRecord:
    """What the overturn statistics need of one appeal."""

    payer_id: str
    root_cause: str
    outcome: str | None  # None while the payer has not decided
    denied_amount: Decimal
    recovered_amount: Decimal


@dataclass(frozen=True)
class OverturnRate:
    """How appeals to one payer for one root cause fared."""

    payer_id: str
    root_cause: str
    appeals: int
    decided: int
    overturned: int
    partially_overturned: int
    upheld: int
    overturn_rate: Decimal | None  # (overturned + partially overturned) / decided; None before any decision
    denied_amount: Decimal
    recovered_amount: Decimal


def overturn_rates(appeals: Iterable[AppealRecord]) -> list[OverturnRate]:
    """Overturn statistics per payer and root cause, sorted by payer then root cause."""
    groups: dict[tuple[str, str], list[AppealRecord]] = {}
    for appeal in appeals:
        groups.setdefault((appeal.payer_id, appeal.root_cause), []).append(appeal)
    rates = []
    for (payer_id, root_cause), records in sorted(groups.items()):
        outcomes = [r.outcome for r in records]
        decided = sum(1 for outcome in outcomes if outcome is not None)
        overturned = outcomes.count(AppealOutcome.OVERTURNED)
        partially = outcomes.count(AppealOutcome.PARTIALLY_OVERTURNED)
        rate = (Decimal(overturned + partially) / decided).quantize(Decimal("0.0001")) if decided else None
        rates.append(
            OverturnRate(
                payer_id=payer_id,
                root_cause=root_cause,
                appeals=len(records),
                decided=decided,
                overturned=overturned,
                partially_overturned=partially,
                upheld=outcomes.count(AppealOutcome.UPHELD),
                overturn_rate=rate,
                denied_amount=sum((r.denied_amount for r in records), Decimal(0)),
                recovered_amount=sum((r.recovered_amount for r in records), Decimal(0)),
            )
        )
    return rates
