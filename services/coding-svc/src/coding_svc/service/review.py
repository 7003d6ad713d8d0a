"""Auto-coding and the coder work queue: claim, correct, query the physician, resolve.

Every code change is kept with who, when and why (``coding_change``) and audited; resolving publishes
encounter-coded exactly once, in the same transaction as the state change.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import CodingReviewRequired
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal
from claimflow_kit.context import correlation_id_var
from claimflow_kit.directory import Role
from claimflow_kit.errors import Conflict, InvalidInput, PermissionDenied
from claimflow_kit.identifiers import new_id
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import utcnow
from coding_svc.adapters.repositories import (
    CodingChangeRepository,
    EncounterRepository,
    PhysicianQueryRepository,
    WorkItemRepository,
)
from coding_svc.adapters.tables import CodingChange, Encounter, PhysicianQuery, WorkItem
from coding_svc.api.schemas import EncounterIn, ServiceLineIn
from coding_svc.service.common import EncounterStatus, encounter_correlation_id, publish_coded
from coding_svc.service.edits import EditEngine, Finding, Severity, as_event, blocking

AUTO_CODER = "auto"


class WorkItemStatus:
    """Where a work item is."""

    OPEN = "open"
    CLAIMED = "claimed"
    AWAITING_PHYSICIAN = "awaiting-physician"
    RESOLVED = "resolved"
    SUPERSEDED = "superseded"


def _edit_codes(findings: list[Finding]) -> str:
    return "," + ",".join(sorted({f.code.value for f in findings})) + ","


async def code_or_queue(
    session: AsyncSession,
    outbox: Outbox,
    principal: Principal,
    encounter: Encounter,
    document: EncounterIn,
    findings: list[Finding],
) -> WorkItem | None:
    """Code a clean encounter at once; queue one with errors for a coder (returns its work item)."""
    if not blocking(findings):
        encounter.status = EncounterStatus.CODED
        publish_coded(session, outbox, principal.tenant_id, encounter, document, AUTO_CODER)
        return None
    encounter.status = EncounterStatus.REVIEW_REQUIRED
    item = WorkItemRepository(session, principal.tenant_id).add(
        WorkItem(
            id=new_id("wq"),
            tenant_id=principal.tenant_id,
            practice_id=encounter.practice_id,
            encounter_id=encounter.id,
            patient_id=encounter.patient_id,
            status=WorkItemStatus.OPEN,
            findings=[f.as_dict() for f in findings],
            edit_codes=_edit_codes(findings),
        )
    )
    outbox.add(
        session,
        CodingReviewRequired(
            encounter_id=encounter.id,
            encounter_version=encounter.version,
            practice_id=encounter.practice_id,
            findings=tuple(as_event(f) for f in findings),
        ),
        tenant_id=principal.tenant_id,
        correlation_id=encounter_correlation_id(principal.tenant_id, encounter.practice_id, encounter.ehr_encounter_id),
        causation_id=correlation_id_var.get(),
    )
    return item


async def supersede_work_item(session: AsyncSession, tenant_id: str, encounter_id: str) -> None:
    """Close the open work item of an encounter version that a newer version replaced."""
    item = await WorkItemRepository(session, tenant_id).find(col(WorkItem.encounter_id) == encounter_id)
    if item is not None and item.status != WorkItemStatus.RESOLVED:
        item.status = WorkItemStatus.SUPERSEDED
        item.updated_at = utcnow()
        session.add(item)


async def _item_for_coder(session: AsyncSession, principal: Principal, item_id: str) -> WorkItem:
    item = await WorkItemRepository(session, principal.tenant_id).get(item_id)
    if item.status in (WorkItemStatus.RESOLVED, WorkItemStatus.SUPERSEDED):
        raise Conflict(f"work item is {item.status}")
    return item


def _require_assignee(item: WorkItem, principal: Principal) -> None:
    if item.assigned_to != principal.client_id and principal.role is not Role.ADMIN:
        raise PermissionDenied("claim the work item before changing it")


async def claim(session: AsyncSession, principal: Principal, item_id: str) -> WorkItem:
    """Assign an open item to the calling coder."""
    item = await _item_for_coder(session, principal, item_id)
    if item.assigned_to not in (None, principal.client_id):
        raise Conflict("work item is already claimed by another coder")
    item.assigned_to = principal.client_id
    if item.status == WorkItemStatus.OPEN:
        item.status = WorkItemStatus.CLAIMED
    item.updated_at = utcnow()
    session.add(item)
    audit(session, principal, AuditAction.UPDATE, "WorkItem", item.id, patient_id=item.patient_id, detail="claimed")
    return item


async def correct_codes(
    session: AsyncSession,
    principal: Principal,
    item_id: str,
    diagnoses: list[str],
    lines: list[ServiceLineIn],
    reason: str,
    edits: EditEngine,
) -> WorkItem:
    """Replace the encounter's codes (kept in the change history) and re-run the edits."""
    item = await _item_for_coder(session, principal, item_id)
    _require_assignee(item, principal)
    encounter = await EncounterRepository(session, principal.tenant_id).get(item.encounter_id)
    before = EncounterIn.model_validate(encounter.document)
    changed = before.model_copy(update={"diagnoses": diagnoses, "lines": lines})
    try:  # the new codes must make a valid encounter (pointers, revenue codes of an institutional one...)
        after = EncounterIn.model_validate(changed.model_dump(mode="json"))
    except ValidationError as exc:
        problems = "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        raise InvalidInput(f"the corrected codes do not make a valid encounter: {problems}") from None
    encounter.document = after.model_dump(mode="json")
    encounter.updated_at = utcnow()
    session.add(encounter)
    CodingChangeRepository(session, principal.tenant_id).add(
        CodingChange(
            id=new_id("chg"),
            tenant_id=principal.tenant_id,
            encounter_id=encounter.id,
            changed_by=principal.client_id,
            reason=reason,
            before={"diagnoses": before.diagnoses, "lines": [line.model_dump(mode="json") for line in before.lines]},
            after={"diagnoses": after.diagnoses, "lines": [line.model_dump(mode="json") for line in after.lines]},
        )
    )
    findings = edits.evaluate(after)
    item.findings = [f.as_dict() for f in findings]
    item.edit_codes = _edit_codes(findings)
    item.updated_at = utcnow()
    session.add(item)
    audit(
        session,
        principal,
        AuditAction.UPDATE,
        "Encounter",
        encounter.id,
        patient_id=encounter.patient_id,
        detail=f"codes corrected: {reason}"[:512],
    )
    return item


async def open_query(session: AsyncSession, principal: Principal, item_id: str, question: str) -> PhysicianQuery:
    """Ask the physician about the documentation; the item waits for the answer."""
    item = await _item_for_coder(session, principal, item_id)
    _require_assignee(item, principal)
    item.status = WorkItemStatus.AWAITING_PHYSICIAN
    item.updated_at = utcnow()
    session.add(item)
    query = PhysicianQueryRepository(session, principal.tenant_id).add(
        PhysicianQuery(
            id=new_id("pq"),
            tenant_id=principal.tenant_id,
            work_item_id=item.id,
            question=question,
            status="open",
            asked_by=principal.client_id,
        )
    )
    audit(session, principal, AuditAction.CREATE, "PhysicianQuery", query.id, patient_id=item.patient_id)
    return query


async def answer_query(session: AsyncSession, principal: Principal, query_id: str, answer: str) -> PhysicianQuery:
    """Record the physician's answer; the item goes back to its coder when no question is left open."""
    queries = PhysicianQueryRepository(session, principal.tenant_id)
    query = await queries.get(query_id)
    if query.status != "open":
        raise Conflict("the query was already answered")
    query.status = "answered"
    query.answer = answer
    query.answered_by = principal.client_id
    query.answered_at = utcnow()
    session.add(query)
    item = await WorkItemRepository(session, principal.tenant_id).get(query.work_item_id)
    still_open = await queries.find(
        col(PhysicianQuery.work_item_id) == item.id,
        col(PhysicianQuery.status) == "open",
        col(PhysicianQuery.id) != query.id,
    )
    if still_open is None and item.status == WorkItemStatus.AWAITING_PHYSICIAN:
        item.status = WorkItemStatus.CLAIMED
        item.updated_at = utcnow()
        session.add(item)
    audit(session, principal, AuditAction.UPDATE, "PhysicianQuery", query.id, patient_id=item.patient_id)
    return query


async def resolve(
    session: AsyncSession, outbox: Outbox, principal: Principal, item_id: str, edits: EditEngine
) -> WorkItem:
    """Finish the review: no error may remain and no question may be open; publishes encounter-coded."""
    item = await _item_for_coder(session, principal, item_id)
    _require_assignee(item, principal)
    if item.status == WorkItemStatus.AWAITING_PHYSICIAN:
        raise Conflict("a physician query is still open")
    encounter = await EncounterRepository(session, principal.tenant_id).get(item.encounter_id)
    document = EncounterIn.model_validate(encounter.document)
    findings = edits.evaluate(document)
    if blocking(findings):
        errors = [f.as_dict() for f in findings if f.severity is Severity.ERROR]
        raise Conflict("edits still report errors; correct the codes first", extra={"findings": errors})
    item.status = WorkItemStatus.RESOLVED
    item.resolved_by = principal.client_id
    item.resolved_at = item.updated_at = utcnow()
    session.add(item)
    encounter.status = EncounterStatus.CODED
    encounter.updated_at = utcnow()
    session.add(encounter)
    publish_coded(session, outbox, principal.tenant_id, encounter, document, principal.client_id)
    audit(
        session,
        principal,
        AuditAction.UPDATE,
        "Encounter",
        encounter.id,
        patient_id=encounter.patient_id,
        detail="coding resolved",
    )
    return item
