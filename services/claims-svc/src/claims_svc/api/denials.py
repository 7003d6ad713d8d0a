"""HTTP routes of the denial work queue and appeals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from claimflow_events.types import Money
from claimflow_kit.app import ContextDep, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.repository import MAX_OFFSET
from claims_svc.adapters.repositories import AppealRepository, DenialRepository
from claims_svc.adapters.tables import Appeal, DenialWorkItem
from claims_svc.api.routes import pipeline
from claims_svc.domain.adjustment_codes import RootCause
from claims_svc.domain.appeals import AppealOutcome
from claims_svc.domain.denials import Owner
from claims_svc.service import appeals, denials
from claims_svc.service.denials import DenialOutcome, DenialStatus

router = APIRouter(prefix="/v1", tags=["denials"])

QUEUE_ROLES = (Role.BILLER, Role.CODER)


class AppealOut(BaseModel):
    """An appeal: its packet, when and how it was sent, and the payer's decision."""

    id: str
    denial_id: str
    claim_id: str
    payer_id: str
    root_cause: str
    level: int
    status: str
    denied_amount: Decimal
    attachments: list[str]
    letter_url: str
    created_by: str
    created_at: datetime
    submitted_on: date | None
    submission_method: str | None
    outcome: str | None
    recovered_amount: Decimal | None
    decided_on: date | None


class DenialOut(BaseModel):
    """A denial work item: the claim, the codes and what they mean, who works it, what to do, by when."""

    id: str
    claim_id: str
    era_id: str
    practice_id: str
    patient_id: str
    payer_id: str
    patient_control_number: str
    payer_claim_number: str | None
    claim_status_code: str
    total_charge: Decimal
    denied_amount: Decimal
    denied_at: datetime
    root_cause: str
    carc: str | None
    group_code: str | None
    owner: str
    recommended_action: str
    appealable: bool
    correctable: bool
    appeal_deadline: date
    overdue: bool
    reasons: list[dict[str, object]]
    remarks: list[dict[str, object]]
    status: str
    assignee: str | None
    outcome: str | None
    outcome_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    corrected_claim_id: str | None
    created_at: datetime
    updated_at: datetime


class DenialDetailOut(DenialOut):
    """A denial work item with its appeals."""

    appeals: list[AppealOut]


class AssignmentIn(BaseModel):
    """Who works the denial."""

    assignee: str = Field(min_length=1, max_length=100)


class OutcomeIn(BaseModel):
    """What was done about the denial; a correction may name the new claim."""

    outcome: Literal["corrected_resubmitted", "appealed", "written_off", "patient_billed", "no_action"]
    note: str | None = Field(default=None, max_length=1000)
    corrected_claim_id: str | None = Field(default=None, max_length=40)


class AppealSubmissionIn(BaseModel):
    """When and how the appeal packet went to the payer."""

    sent_on: date
    method: Literal["portal", "fax", "mail", "electronic"]


class AppealDecisionIn(BaseModel):
    """The payer's decision; ``amount`` is what it pays on appeal (all of the denied amount when overturned and
    omitted, required when partially overturned)."""

    outcome: Literal["overturned", "upheld", "partially_overturned"]
    amount: Money | None = Field(default=None, ge=0)


class OverturnRateOut(BaseModel):
    """How appeals to one payer for one root cause fared."""

    payer_id: str
    root_cause: str
    appeals: int
    decided: int
    overturned: int
    partially_overturned: int
    upheld: int
    overturn_rate: Decimal | None = Field(description="(overturned + partially overturned) / decided")
    denied_amount: Decimal
    recovered_amount: Decimal


def _today() -> date:
    return datetime.now(UTC).date()


def _denial_out(item: DenialWorkItem) -> DenialOut:
    return DenialOut.model_validate({**item.model_dump(), "overdue": denials.is_overdue(item, _today())})


def _appeal_out(appeal: Appeal) -> AppealOut:
    return AppealOut.model_validate(
        {**appeal.model_dump(exclude={"letter_pdf"}), "letter_url": f"/v1/appeals/{appeal.id}/letter.pdf"}
    )


@router.get("/denials", response_model=list[DenialOut])
async def list_denials(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*QUEUE_ROLES)],
    denial_status: Annotated[DenialStatus | None, Query(alias="status")] = None,
    root_cause: RootCause | None = None,
    owner: Owner | None = None,
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    overdue: bool | None = None,
    practice_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[DenialOut]:
    """The denial work queue, most urgent first (earliest appeal deadline, then the largest denied amount);
    ``overdue=true`` lists open denials past their appeal deadline."""
    conditions: list[ColumnElement[bool]] = []
    if denial_status is not None:
        conditions.append(col(DenialWorkItem.status) == denial_status)
    if root_cause is not None:
        conditions.append(col(DenialWorkItem.root_cause) == root_cause)
    if owner is not None:
        conditions.append(col(DenialWorkItem.owner) == owner)
    if payer_id:
        conditions.append(col(DenialWorkItem.payer_id) == payer_id)
    if assignee:
        conditions.append(col(DenialWorkItem.assignee) == assignee)
    if practice_id:
        conditions.append(col(DenialWorkItem.practice_id) == practice_id)
    if overdue is True:
        conditions += [col(DenialWorkItem.status) == DenialStatus.OPEN, col(DenialWorkItem.appeal_deadline) < _today()]
    elif overdue is False:
        conditions.append(col(DenialWorkItem.appeal_deadline) >= _today())
    query = (
        DenialRepository(session, principal.tenant_id)
        .scoped()
        .where(*conditions)
        .order_by(
            col(DenialWorkItem.appeal_deadline),
            col(DenialWorkItem.denied_amount).desc(),
            col(DenialWorkItem.created_at),
        )
        .limit(limit)
        .offset(offset)
    )
    items = (await session.exec(query)).all()
    for item in items:
        audit(session, principal, AuditAction.READ, "Denial", item.id, patient_id=item.patient_id)
    return [_denial_out(item) for item in items]


@router.get("/denials/{denial_id}", response_model=DenialDetailOut)
async def get_denial(
    denial_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*QUEUE_ROLES)]
) -> DenialDetailOut:
    """One denial with its appeals (audited read)."""
    item = await DenialRepository(session, principal.tenant_id).get(denial_id)
    audit(session, principal, AuditAction.READ, "Denial", item.id, patient_id=item.patient_id)
    history = await appeals.appeals_of(session, principal.tenant_id, item.id)
    return DenialDetailOut(**_denial_out(item).model_dump(), appeals=[_appeal_out(a) for a in history])


@router.post("/denials/{denial_id}/assignment", response_model=DenialOut)
async def assign_denial(
    denial_id: str,
    body: AssignmentIn,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*QUEUE_ROLES)],
) -> DenialOut:
    """Give an open denial to a person."""
    return _denial_out(await denials.assign(session, principal, denial_id, body.assignee))


@router.post("/denials/{denial_id}/outcome", response_model=DenialOut)
async def record_denial_outcome(
    denial_id: str,
    body: OutcomeIn,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*QUEUE_ROLES)],
) -> DenialOut:
    """Close an open denial with what was done about it."""
    item = await denials.record_outcome(
        session, principal, denial_id, DenialOutcome(body.outcome), body.note, body.corrected_claim_id
    )
    return _denial_out(item)


@router.post("/denials/{denial_id}/appeals", response_model=AppealOut, status_code=status.HTTP_201_CREATED)
async def create_appeal(
    denial_id: str,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> AppealOut:
    """Generate the appeal packet of an open denial: a letter (PDF) with the claim facts, the denial codes and
    an argument for its root cause, and the list of what to enclose."""
    item = await DenialRepository(session, principal.tenant_id).get(denial_id)
    claims = pipeline(context)
    practice = await claims.practice(principal.tenant_id, item.practice_id)
    rules = claims.config.payers.get(item.payer_id)
    appeal = await appeals.create_appeal(
        session, principal, denial_id, practice=practice, payer_name=rules.name if rules else item.payer_id
    )
    return _appeal_out(appeal)


@router.get(
    "/appeals/{appeal_id}/letter.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The appeal letter"}},
)
async def get_appeal_letter(
    appeal_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> Response:
    """The appeal letter as a PDF (audited read: it names the patient)."""
    appeal = await AppealRepository(session, principal.tenant_id).get(appeal_id)
    audit(session, principal, AuditAction.READ, "Appeal.letter", appeal.id, patient_id=appeal.patient_id)
    return Response(
        appeal.letter_pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="appeal-{appeal.id}.pdf"'},
    )


@router.post("/appeals/{appeal_id}/submission", response_model=AppealOut)
async def record_appeal_submission(
    appeal_id: str,
    body: AppealSubmissionIn,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> AppealOut:
    """Record that the packet was sent (the denial counts as appealed until the payer decides)."""
    return _appeal_out(await appeals.record_submission(session, principal, appeal_id, body.sent_on, body.method))


@router.post("/appeals/{appeal_id}/outcome", response_model=AppealOut)
async def record_appeal_outcome(
    appeal_id: str,
    body: AppealDecisionIn,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> AppealOut:
    """Record the payer's decision; an upheld or partly overturned appeal puts the denial back in the queue."""
    decided = await appeals.record_decision(session, principal, appeal_id, AppealOutcome(body.outcome), body.amount)
    return _appeal_out(decided)


@router.get("/appeals/overturn-rates", response_model=list[OverturnRateOut])
async def appeal_overturn_rates(
    session: SessionDep, principal: Annotated[Principal, require_roles(Role.BILLER, Role.OPS)]
) -> list[OverturnRateOut]:
    """How appeals fare per payer and root cause: counts, overturn rate, amounts denied and recovered."""
    rates = await appeals.overturn_statistics(session, principal.tenant_id)
    return [OverturnRateOut.model_validate(rate, from_attributes=True) for rate in rates]
