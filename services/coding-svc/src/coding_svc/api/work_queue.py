"""HTTP routes of the coder work queue and physician queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.sql import ColumnElement
from sqlmodel import col

from claimflow_events.types import IcdCode
from claimflow_kit.app import ContextDep, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.tables import utcnow
from coding_svc.adapters.repositories import CodingChangeRepository, PhysicianQueryRepository, WorkItemRepository
from coding_svc.adapters.tables import CodingChange, PhysicianQuery, WorkItem
from coding_svc.api.deps import EditsDep
from coding_svc.api.schemas import ServiceLineIn
from coding_svc.service import review

router = APIRouter(prefix="/v1", tags=["work queue"])

QUEUE_READERS = (Role.CODER, Role.BILLER)


class PhysicianQueryOut(BaseModel):
    """A question to the physician and its answer."""

    id: str
    work_item_id: str
    question: str
    status: str
    asked_by: str
    asked_at: datetime
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None


class CodingChangeOut(BaseModel):
    """One change of codes: who, when, why, before and after."""

    changed_by: str
    changed_at: datetime
    reason: str
    before: dict[str, object]
    after: dict[str, object]


class WorkItemOut(BaseModel):
    """A work-queue item with its findings, questions and change history."""

    id: str
    practice_id: str
    encounter_id: str
    patient_id: str
    status: str
    findings: list[dict[str, object]]
    assigned_to: str | None
    resolved_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    queries: list[PhysicianQueryOut] = []
    history: list[CodingChangeOut] = []


class CorrectionIn(BaseModel):
    """New codes for the encounter and why they changed."""

    diagnoses: list[IcdCode] = Field(min_length=1, max_length=12)
    lines: list[ServiceLineIn] = Field(min_length=1, max_length=50)
    reason: str = Field(min_length=3, max_length=1000)


class QueryIn(BaseModel):
    """A question for the physician."""

    question: str = Field(min_length=5, max_length=2000)


class AnswerIn(BaseModel):
    """The physician's answer."""

    answer: str = Field(min_length=1, max_length=4000)


async def _out(session: SessionDep, principal: Principal, item: WorkItem, *, detail: bool = True) -> WorkItemOut:
    out = WorkItemOut.model_validate(item, from_attributes=True)
    if detail:
        queries = await PhysicianQueryRepository(session, principal.tenant_id).list(
            col(PhysicianQuery.work_item_id) == item.id, limit=500
        )
        changes = await CodingChangeRepository(session, principal.tenant_id).list(
            col(CodingChange.encounter_id) == item.encounter_id, limit=500
        )
        out.queries = [PhysicianQueryOut.model_validate(q, from_attributes=True) for q in queries]
        out.history = [CodingChangeOut.model_validate(c, from_attributes=True) for c in changes]
    return out


@router.get("/work-queue", response_model=list[WorkItemOut])
async def list_work_queue(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*QUEUE_READERS)],
    practice_id: Annotated[str | None, Query(max_length=64)] = None,
    edit_code: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Z0-9_]+$")] = None,
    status: Annotated[str | None, Query(max_length=24)] = None,
    older_than_hours: Annotated[int | None, Query(ge=0, le=24 * 365)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WorkItemOut]:
    """Items to work, filtered by practice, edit code, status and age (default: not yet resolved)."""
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(col(WorkItem.status) == status)
    else:
        conditions.append(col(WorkItem.status).in_(["open", "claimed", "awaiting-physician"]))
    if practice_id:
        conditions.append(col(WorkItem.practice_id) == practice_id)
    if edit_code:
        conditions.append(col(WorkItem.edit_codes).contains(f",{edit_code},"))
    if older_than_hours is not None:
        conditions.append(col(WorkItem.created_at) <= utcnow() - timedelta(hours=older_than_hours))
    items = await WorkItemRepository(session, principal.tenant_id).list(*conditions, limit=limit)
    for item in items:
        audit(session, principal, AuditAction.READ, "WorkItem", item.id, patient_id=item.patient_id)
    return [await _out(session, principal, item, detail=False) for item in items]


@router.get("/work-queue/{item_id}", response_model=WorkItemOut)
async def get_work_item(
    item_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*QUEUE_READERS)]
) -> WorkItemOut:
    """One item with its findings, physician queries and code change history."""
    item = await WorkItemRepository(session, principal.tenant_id).get(item_id)
    audit(session, principal, AuditAction.READ, "WorkItem", item.id, patient_id=item.patient_id)
    return await _out(session, principal, item)


@router.post("/work-queue/{item_id}/claim", response_model=WorkItemOut)
async def claim_work_item(
    item_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(Role.CODER)]
) -> WorkItemOut:
    """Take an item: it is assigned to the calling coder."""
    return await _out(session, principal, await review.claim(session, principal, item_id))


@router.put("/work-queue/{item_id}/codes", response_model=WorkItemOut)
async def correct_work_item_codes(
    item_id: str,
    body: CorrectionIn,
    session: SessionDep,
    edits: EditsDep,
    principal: Annotated[Principal, require_roles(Role.CODER)],
) -> WorkItemOut:
    """Replace the encounter's diagnoses and lines (with a reason); the edits run again."""
    item = await review.correct_codes(session, principal, item_id, body.diagnoses, body.lines, body.reason, edits)
    return await _out(session, principal, item)


@router.post("/work-queue/{item_id}/queries", response_model=PhysicianQueryOut, status_code=201)
async def open_physician_query(
    item_id: str, body: QueryIn, session: SessionDep, principal: Annotated[Principal, require_roles(Role.CODER)]
) -> PhysicianQueryOut:
    """Ask the rendering physician a question about the documentation."""
    query = await review.open_query(session, principal, item_id, body.question)
    return PhysicianQueryOut.model_validate(query, from_attributes=True)


@router.post("/physician-queries/{query_id}/answer", response_model=PhysicianQueryOut)
async def answer_physician_query(
    query_id: str,
    body: AnswerIn,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION, Role.CODER)],
) -> PhysicianQueryOut:
    """Record the physician's answer (sent by the EHR, or entered by the coder)."""
    query = await review.answer_query(session, principal, query_id, body.answer)
    return PhysicianQueryOut.model_validate(query, from_attributes=True)


@router.post("/work-queue/{item_id}/resolve", response_model=WorkItemOut)
async def resolve_work_item(
    item_id: str,
    session: SessionDep,
    context: ContextDep,
    edits: EditsDep,
    principal: Annotated[Principal, require_roles(Role.CODER)],
) -> WorkItemOut:
    """Finish the review: the encounter is coded and encounter-coded is published."""
    item = await review.resolve(session, context.outbox, principal, item_id, edits)
    return await _out(session, principal, item)
