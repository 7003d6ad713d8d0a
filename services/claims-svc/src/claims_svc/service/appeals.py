"""Appeals: generate the packet for a denial, record when it was sent and what the payer decided."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal
from claimflow_kit.directory import Practice
from claimflow_kit.errors import Conflict, InvalidInput
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import utcnow
from claims_svc.adapters.appeal_pdf import appeal_letter_pdf
from claims_svc.adapters.repositories import AppealRepository, ClaimRepository, DenialRepository
from claims_svc.adapters.tables import Appeal, DenialWorkItem
from claims_svc.domain.adjustment_codes import RootCause
from claims_svc.domain.appeals import (
    AppealFacts,
    AppealOutcome,
    AppealRecord,
    OverturnRate,
    appeal_letter,
    overturn_rates,
)
from claims_svc.domain.denials import DenialReason, Remark
from claims_svc.service.denials import DenialOutcome, DenialStatus, claim_lines, record_outcome, reopen


class AppealStatus(StrEnum):
    """Where an appeal is."""

    DRAFTED = "drafted"  # packet generated, not yet sent
    SUBMITTED = "submitted"
    DECIDED = "decided"


def _reasons(item: DenialWorkItem) -> tuple[DenialReason, ...]:
    return tuple(
        DenialReason(
            group_code=str(r["group_code"]),
            carc=str(r["carc"]),
            amount=Decimal(str(r["amount"])),
            meaning=str(r["meaning"]),
            root_cause=RootCause(str(r["root_cause"])),
        )
        for r in item.reasons
    )


def _patient(parties: dict[str, Any]) -> tuple[str, date | None, str | None]:
    patient = parties.get("patient") or {}
    name = " ".join(p for p in (patient.get("first_name"), patient.get("last_name")) if p) or "on file"
    birth = patient.get("birth_date")
    return name, date.fromisoformat(birth) if birth else None, parties.get("member_id")


async def appeals_of(session: AsyncSession, tenant_id: str, denial_id: str) -> list[Appeal]:
    """A denial's appeals, oldest first."""
    rows = await session.exec(
        AppealRepository(session, tenant_id)
        .scoped()
        .where(col(Appeal.denial_id) == denial_id)
        .order_by(col(Appeal.level))
    )
    return list(rows.all())


async def create_appeal(
    session: AsyncSession, principal: Principal, denial_id: str, *, practice: Practice, payer_name: str
) -> Appeal:
    """Generate the appeal packet (letter PDF and enclosure list) for an open denial; one appeal at a time."""
    item = await DenialRepository(session, principal.tenant_id).get(denial_id)
    if item.status != DenialStatus.OPEN:
        raise Conflict(f"denial {denial_id} was resolved ({item.outcome}); only open denials are appealed")
    earlier = await appeals_of(session, principal.tenant_id, item.id)
    pending = next((a for a in earlier if a.status != AppealStatus.DECIDED), None)
    if pending is not None:
        raise Conflict(f"appeal {pending.id} of this denial is still {pending.status}")
    level = len(earlier) + 1
    claim = await ClaimRepository(session, principal.tenant_id).get(item.claim_id)
    patient_name, birth_date, member_id = _patient(dict(claim.parties or {}))
    now = utcnow()
    state_zip = " ".join(p for p in (practice.state, practice.postal_code) if p)
    city_line = ", ".join(p for p in (practice.city, state_zip) if p)
    address = tuple(line for line in (practice.address_line1, city_line) if line)
    letter = appeal_letter(
        AppealFacts(
            letter_date=now.date(),
            level=level,
            practice_name=practice.name,
            practice_npi=claim.billing_npi or practice.npi,
            practice_address=address,
            payer_id=item.payer_id,
            payer_name=payer_name,
            patient_name=patient_name,
            patient_birth_date=birth_date,
            member_id=member_id,
            patient_control_number=item.patient_control_number,
            payer_claim_number=item.payer_claim_number or claim.payer_claim_number,
            date_of_service=claim.date_of_service,
            total_charge=item.total_charge,
            denied_amount=item.denied_amount,
            denied_on=item.denied_at.astimezone(UTC).date(),
            appeal_deadline=item.appeal_deadline,
            lines=tuple(claim_lines(claim)),
            root_cause=RootCause(item.root_cause),
            reasons=_reasons(item),
            remarks=tuple(Remark(str(r["code"]), str(r["meaning"])) for r in item.remarks),
        )
    )
    appeal = AppealRepository(session, principal.tenant_id).add(
        Appeal(
            id=new_id("apl"),
            tenant_id=principal.tenant_id,
            denial_id=item.id,
            claim_id=item.claim_id,
            patient_id=item.patient_id,
            payer_id=item.payer_id,
            root_cause=item.root_cause,
            level=level,
            status=AppealStatus.DRAFTED,
            denied_amount=item.denied_amount,
            attachments=list(letter.attachments),
            letter_pdf=appeal_letter_pdf(letter, now),
            created_by=principal.client_id,
            created_at=now,
            updated_at=now,
        )
    )
    audit(session, principal, AuditAction.CREATE, "Appeal", appeal.id, patient_id=appeal.patient_id)
    return appeal


async def record_submission(
    session: AsyncSession, principal: Principal, appeal_id: str, sent_on: date, method: str
) -> Appeal:
    """The packet went to the payer: the denial counts as appealed until the payer decides."""
    appeal = await AppealRepository(session, principal.tenant_id).get(appeal_id)
    if appeal.status != AppealStatus.DRAFTED:
        raise Conflict(f"appeal {appeal_id} is already {appeal.status}")
    if sent_on > datetime.now(UTC).date():
        raise InvalidInput("the appeal cannot have been sent in the future")
    appeal.status = AppealStatus.SUBMITTED
    appeal.submitted_on = sent_on
    appeal.submission_method = method
    appeal.submitted_by = principal.client_id
    appeal.updated_at = utcnow()
    session.add(appeal)
    item = await DenialRepository(session, principal.tenant_id).get(appeal.denial_id)
    if item.status == DenialStatus.OPEN:
        await record_outcome(
            session, principal, item.id, DenialOutcome.APPEALED, f"appeal {appeal.id} sent by {method}"
        )
    audit(session, principal, AuditAction.UPDATE, "Appeal", appeal.id, patient_id=appeal.patient_id, detail="sent")
    return appeal


async def record_decision(
    session: AsyncSession,
    principal: Principal,
    appeal_id: str,
    outcome: AppealOutcome,
    amount: Decimal | None,
) -> Appeal:
    """The payer's decision and what it pays on appeal; an upheld or partly overturned appeal puts the denial back
    in the queue for the next step (a further appeal, a write-off or the patient's bill)."""
    appeal = await AppealRepository(session, principal.tenant_id).get(appeal_id)
    if appeal.status != AppealStatus.SUBMITTED:
        raise Conflict(f"appeal {appeal_id} is {appeal.status}; only a submitted appeal gets a decision")
    recovered = _recovered(outcome, amount, appeal.denied_amount)
    appeal.status = AppealStatus.DECIDED
    appeal.outcome = outcome
    appeal.recovered_amount = recovered
    appeal.decided_on = datetime.now(UTC).date()
    appeal.decided_by = principal.client_id
    appeal.updated_at = utcnow()
    session.add(appeal)
    if outcome is not AppealOutcome.OVERTURNED:
        item = await DenialRepository(session, principal.tenant_id).get(appeal.denial_id)
        reopen(item)
        session.add(item)
    audit(
        session,
        principal,
        AuditAction.UPDATE,
        "Appeal",
        appeal.id,
        patient_id=appeal.patient_id,
        detail=f"decision {outcome.value}",
    )
    return appeal


def _recovered(outcome: AppealOutcome, amount: Decimal | None, denied: Decimal) -> Decimal:
    if outcome is AppealOutcome.UPHELD:
        if amount:
            raise InvalidInput("an upheld appeal recovers nothing")
        return Decimal("0.00")
    if outcome is AppealOutcome.OVERTURNED:
        return denied if amount is None else _within(amount, denied, allow_full=True)
    if amount is None:
        raise InvalidInput("a partially overturned appeal needs the amount the payer agreed to pay")
    return _within(amount, denied, allow_full=False)


def _within(amount: Decimal, denied: Decimal, *, allow_full: bool) -> Decimal:
    if amount <= 0 or amount > denied or (not allow_full and amount == denied):
        limit = "up to" if allow_full else "less than"
        raise InvalidInput(f"the amount must be more than 0.00 and {limit} the denied {denied:.2f}")
    return amount


async def overturn_statistics(session: AsyncSession, tenant_id: str) -> list[OverturnRate]:
    """How the tenant's appeals fared, per payer and root cause."""
    rows = await session.exec(AppealRepository(session, tenant_id).scoped())
    return overturn_rates(
        AppealRecord(
            payer_id=a.payer_id,
            root_cause=a.root_cause,
            outcome=a.outcome,
            denied_amount=a.denied_amount,
            recovered_amount=a.recovered_amount or Decimal(0),
        )
        for a in rows.all()
    )
