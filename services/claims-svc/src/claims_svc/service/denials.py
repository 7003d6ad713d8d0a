"""The denial work queue: remittance outcomes update claims, denials become work items, people close them.

Consumers (claim-denied, payment-posted) and the HTTP routes call these handlers with the transaction they own;
nothing here commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date
from decimal import Decimal
from enum import StrEnum

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import Adjustment, ClaimDenied, PaymentPosted
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal
from claimflow_kit.errors import Conflict, InvalidInput
from claimflow_kit.identifiers import new_id
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import utcnow
from claims_svc.adapters.repositories import ClaimRepository, DenialRepository
from claims_svc.adapters.tables import Claim, DenialWorkItem
from claims_svc.domain.claim import ClaimLine
from claims_svc.domain.denials import (
    CasAdjustment,
    DenialClassification,
    PaymentResult,
    appeal_deadline,
    classify_denial,
    is_full_denial,
    modifier_auto_correction,
    payment_result,
)
from claims_svc.domain.scrub import PayerRules
from claims_svc.service.pipeline import ClaimStatus, Correction, service_lines, start_correction

logger = logging.getLogger(__name__)

AUTOMATION = "auto"  # who resolved a work item no person touched


class DenialStatus(StrEnum):
    """Whether a denial still needs work."""

    OPEN = "open"
    RESOLVED = "resolved"


class DenialOutcome(StrEnum):
    """How a denial was closed."""

    CORRECTED_RESUBMITTED = "corrected_resubmitted"
    APPEALED = "appealed"
    WRITTEN_OFF = "written_off"
    PATIENT_BILLED = "patient_billed"
    NO_ACTION = "no_action"
    AUTO_CORRECTED = "auto_corrected"  # only the automatic correction records this
    PAID_LATER = "paid_later"  # a later remittance paid the claim (or its replacement): nothing left to work


_STATUS_OF_PAYMENT = {
    PaymentResult.PAID: ClaimStatus.PAID,
    PaymentResult.PARTIALLY_PAID: ClaimStatus.PARTIALLY_PAID,
    PaymentResult.DENIED: ClaimStatus.DENIED,
}


def cas_adjustments(adjustments: Iterable[Adjustment]) -> list[CasAdjustment]:
    """The event's adjustments as the domain reads them."""
    return [CasAdjustment(a.group_code.value, a.carc, a.amount, a.line_item_control_number) for a in adjustments]


def claim_lines(claim: Claim) -> list[ClaimLine]:
    """The stored claim's lines as the domain reads them."""
    return [
        ClaimLine(
            line_number=line.line_number,
            procedure_code=line.procedure_code,
            charge=line.charge,
            units=line.units,
            modifiers=line.modifiers,
            diagnosis_pointers=line.diagnosis_pointers,
        )
        for line in service_lines(claim)
    ]


def _work_item(
    claim: Claim, event: ClaimDenied, classification: DenialClassification, appeal_window_days: int
) -> DenialWorkItem:
    return DenialWorkItem(
        id=new_id("den"),
        tenant_id=claim.tenant_id,
        claim_id=claim.id,
        era_id=event.era_id,
        practice_id=claim.practice_id,
        patient_id=claim.patient_id,
        payer_id=event.payer_id,
        patient_control_number=event.patient_control_number,
        payer_claim_number=event.payer_claim_control_number or claim.payer_claim_number,
        claim_status_code=event.claim_status_code,
        total_charge=event.total_charge,
        denied_amount=event.denied_amount,
        denied_at=event.denied_at,
        reasons=[
            {
                "group_code": r.group_code,
                "carc": r.carc,
                "amount": f"{r.amount:.2f}",
                "meaning": r.meaning,
                "root_cause": r.root_cause.value,
            }
            for r in classification.reasons
        ],
        remarks=[{"code": r.code, "meaning": r.meaning} for r in classification.remarks],
        root_cause=classification.root_cause.value,
        carc=classification.carc,
        group_code=classification.group_code,
        owner=classification.owner.value,
        recommended_action=classification.recommended_action,
        appealable=classification.appealable,
        correctable=classification.correctable,
        appeal_deadline=appeal_deadline(event.denied_at.astimezone(UTC).date(), appeal_window_days),
        status=DenialStatus.OPEN,
        correlation_id=claim.correlation_id,
    )


async def record_denial(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    event: ClaimDenied,
    *,
    appeal_window_days: int,
    payers: Mapping[str, PayerRules],
    causation_id: str | None = None,
) -> DenialWorkItem | None:
    """One work item per claim and remittance (a second delivery changes nothing); the claim becomes denied, or
    partially paid when the payer paid other lines. A CARC 4 telehealth-modifier denial is corrected at once."""
    denials = DenialRepository(session, tenant_id)
    if await denials.find(col(DenialWorkItem.claim_id) == event.claim_id, col(DenialWorkItem.era_id) == event.era_id):
        return None
    claim = await ClaimRepository(session, tenant_id).get(event.claim_id)
    full = is_full_denial(event.claim_status_code, event.total_charge, event.denied_amount)
    claim.status = ClaimStatus.DENIED if full else ClaimStatus.PARTIALLY_PAID
    claim.payer_claim_number = claim.payer_claim_number or event.payer_claim_control_number
    claim.updated_at = utcnow()
    session.add(claim)
    adjustments = cas_adjustments(event.adjustments)
    classification = classify_denial(adjustments, event.remark_codes)
    if classification is None:
        logger.info("claim-denied with nothing to work", extra={"claim_id": claim.id, "era_id": event.era_id})
        return None
    item = denials.add(_work_item(claim, event, classification, appeal_window_days))
    fix = modifier_auto_correction(
        classification,
        adjustments,
        patient_control_number=event.patient_control_number,
        place_of_service=claim.place_of_service,
        lines=claim_lines(claim),
    )
    if fix is None or claim.corrected_by is not None or not claim.payer_claim_number:
        return item
    modifiers = {line.line_number: line.modifiers for line in fix.lines}
    changed = [line for line in service_lines(claim) if modifiers[line.line_number] != line.modifiers]
    if not changed:
        return item
    lines = [
        line.model_copy(update={"modifiers": modifiers[line.line_number]}).model_dump(mode="json") for line in changed
    ]
    reason = f"Automatic correction of the denial on remittance {event.era_id}: {fix.reason}"
    corrected = await start_correction(
        session,
        outbox,
        tenant_id,
        claim.id,
        Correction(
            kind="replacement",
            reason=reason[:500],
            service_lines=lines,
            line_numbers=[line.line_number for line in changed],
        ),
        payers=payers,
        causation_id=causation_id,
    )
    _resolve(item, DenialOutcome.AUTO_CORRECTED, AUTOMATION, fix.reason)
    item.corrected_claim_id = corrected.id
    return item


async def record_payment(
    session: AsyncSession, tenant_id: str, event: PaymentPosted, *, claim: Claim | None = None, denials: bool = True
) -> Claim:
    """Paid, partially paid or denied by the payment's amounts and adjustments; a reversal (CLP02 22) puts the
    claim back where it was before adjudication (accepted when the payer knows its claim number).

    ``claim``: the claim, when the caller read it already. ``denials=False``: the caller knows that the claim has
    no open denial and replaced no other claim, so there is no denial the payment could settle."""
    if claim is None:
        claim = await ClaimRepository(session, tenant_id).get(event.claim_id)
    claim.updated_at = utcnow()  # before the reads below flush the claim: one UPDATE, not a second for this column
    claim.paid_amount = (claim.paid_amount or Decimal(0)) + event.paid_amount
    claim.payer_claim_number = claim.payer_claim_number or event.payer_claim_control_number
    if event.is_reversal or event.claim_status_code == "22":
        claim.status = ClaimStatus.ACCEPTED if claim.payer_claim_number else ClaimStatus.SUBMITTED
    else:
        result = payment_result(
            event.total_charge, event.paid_amount, event.patient_responsibility, cas_adjustments(event.adjustments)
        )
        claim.status = _STATUS_OF_PAYMENT[result]
        if result is not PaymentResult.DENIED and event.paid_amount > 0 and denials:
            await close_denials_paid_later(session, tenant_id, claim, event)
    session.add(claim)
    return claim


async def close_denials_paid_later(session: AsyncSession, tenant_id: str, claim: Claim, event: PaymentPosted) -> None:
    """A payment on a later remittance settles the open denials of the claim and of the claims it replaced
    (a corrected claim paid, an appeal won): they leave the queue, recorded as resolved automatically."""
    claim_ids = [claim.id]
    original = claim.original_claim_id
    repository = ClaimRepository(session, tenant_id)
    while original is not None and original not in claim_ids and len(claim_ids) < 20:
        claim_ids.append(original)
        earlier = await repository.find(col(Claim.id) == original)
        original = earlier.original_claim_id if earlier is not None else None
    # The same remittance's denial is what this payment left unpaid: it stays open.
    denials = DenialRepository(session, tenant_id)
    for item in await denials.of_claims(claim_ids, status=DenialStatus.OPEN, except_era_id=event.era_id):
        note = f"paid {event.paid_amount:.2f} on remittance {event.trace_number} (claim {claim.id})"
        _resolve(item, DenialOutcome.PAID_LATER, AUTOMATION, note)
        session.add(item)


def _resolve(item: DenialWorkItem, outcome: DenialOutcome, who: str, note: str | None) -> None:
    now = utcnow()
    item.status = DenialStatus.RESOLVED
    item.outcome = outcome
    item.outcome_note = note
    item.resolved_by = who
    item.resolved_at = now
    item.updated_at = now


def reopen(item: DenialWorkItem) -> None:
    """Back in the queue (an appeal was upheld): the next step is a person's."""
    item.status = DenialStatus.OPEN
    item.outcome = None
    item.resolved_by = None
    item.resolved_at = None
    item.updated_at = utcnow()


def is_overdue(item: DenialWorkItem, today: date) -> bool:
    """Open past its appeal deadline."""
    return item.status == DenialStatus.OPEN and item.appeal_deadline < today


async def assign(session: AsyncSession, principal: Principal, denial_id: str, assignee: str) -> DenialWorkItem:
    """Give an open denial to someone."""
    item = await DenialRepository(session, principal.tenant_id).get(denial_id)
    if item.status != DenialStatus.OPEN:
        raise Conflict(f"denial {denial_id} is {item.status} ({item.outcome}); only open denials are assigned")
    item.assignee = assignee
    item.updated_at = utcnow()
    session.add(item)
    audit(session, principal, AuditAction.UPDATE, "Denial", item.id, patient_id=item.patient_id, detail="assigned")
    return item


async def record_outcome(
    session: AsyncSession,
    principal: Principal,
    denial_id: str,
    outcome: DenialOutcome,
    note: str | None,
    corrected_claim_id: str | None = None,
) -> DenialWorkItem:
    """Close an open denial with what was done; a correction names the new claim (or it is taken from the
    denied claim's ``corrected_by``)."""
    repository = DenialRepository(session, principal.tenant_id)
    item = await repository.get(denial_id)
    if item.status != DenialStatus.OPEN:
        raise Conflict(f"denial {denial_id} was already resolved ({item.outcome})")
    if outcome is DenialOutcome.AUTO_CORRECTED:
        raise InvalidInput("auto_corrected is recorded by the automatic correction only")
    if corrected_claim_id is not None and outcome is not DenialOutcome.CORRECTED_RESUBMITTED:
        raise InvalidInput("corrected_claim_id goes with the corrected_resubmitted outcome")
    if outcome is DenialOutcome.CORRECTED_RESUBMITTED:
        claims = ClaimRepository(session, principal.tenant_id)
        if corrected_claim_id is None:
            corrected_claim_id = (await claims.get(item.claim_id)).corrected_by
        else:
            corrected = await claims.find(col(Claim.id) == corrected_claim_id)
            if corrected is None or corrected.original_claim_id != item.claim_id:
                raise InvalidInput(f"claim {corrected_claim_id} is not a correction of the denied claim")
        item.corrected_claim_id = corrected_claim_id
    _resolve(item, outcome, principal.client_id, note)
    session.add(item)
    audit(
        session,
        principal,
        AuditAction.UPDATE,
        "Denial",
        item.id,
        patient_id=item.patient_id,
        detail=f"outcome {outcome.value}",
    )
    return item
