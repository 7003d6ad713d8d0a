"""HTTP routes of coding-svc: thin adapters from requests to the service handlers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from sqlalchemy.sql import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.app import ContextDep, ServiceContext, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.errors import InvalidInput, NotFound
from claimflow_kit.http_errors import error_document, status_for
from claimflow_kit.paging import AfterQuery, link_next_page, page_cursor
from claimflow_kit.repository import MAX_OFFSET
from coding_svc.adapters.fhir import encounter_from_bundle
from coding_svc.adapters.repositories import EncounterRepository
from coding_svc.adapters.tables import Encounter
from coding_svc.api.deps import edits
from coding_svc.api.schemas import (
    BatchErrorOut,
    EncounterBatchIn,
    EncounterBatchItemOut,
    EncounterBatchOut,
    EncounterIn,
    EncounterOut,
)
from coding_svc.service.intake import BatchOutcome, receive_encounter, receive_encounters

router = APIRouter(prefix="/v1", tags=["encounters"])


def _out(encounter: Encounter) -> EncounterOut:
    return EncounterOut.model_validate(encounter, from_attributes=True)


@router.post(
    "/encounters",
    response_model=EncounterOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The same encounter was already received; nothing changed."}},
)
async def post_encounter(
    body: EncounterIn,
    response: Response,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION)],
) -> EncounterOut:
    """Receive an encounter from an EHR (idempotent on ``ehr_encounter_id``; changes make a new version)."""
    return await _receive(body, response, session, context, principal)


@router.post(
    "/fhir/encounter-bundles",
    response_model=EncounterOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The same encounter was already received; nothing changed."}},
)
async def post_fhir_bundle(
    bundle: Annotated[
        dict[str, Any],
        Body(description="FHIR R4 Bundle: Encounter, Patient, Coverage, Condition, Procedure and/or ChargeItem."),
    ],
    response: Response,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION)],
) -> EncounterOut:
    """Receive an encounter as a FHIR R4 Bundle; the practice is found by the serviceProvider's NPI."""
    practices = await context.practices.practices(principal.tenant_id)
    document = encounter_from_bundle(bundle, {p.npi: p.id for p in practices})
    return await _receive(document, response, session, context, principal)


@router.post(
    "/encounter-batches",
    response_model=EncounterBatchOut,
    responses={422: {"description": "A document of the batch is malformed; none was received."}},
)
async def post_encounter_batch(
    body: EncounterBatchIn,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION)],
) -> EncounterBatchOut:
    """Receive up to 200 encounters at once, each as ``POST /v1/encounters`` would; one answer per encounter, in order.

    A malformed document refuses the whole batch (422, its position in ``loc``). A document that breaks a business
    rule or names an unknown practice is refused on its own, with the error a single post would get; the others are
    received. Idempotent per encounter, like the single post: a batch sent again changes nothing, unless it holds two
    different versions of one encounter (they are received again in order, as two single posts would be).
    """
    tenant_id = principal.tenant_id
    practice_ids = {
        p for p in {d.practice_id for d in body.encounters} if await context.practices.practice(tenant_id, p)
    }
    outcomes = await receive_encounters(
        session, context.outbox, principal, body.encounters, edits(context), practice_ids
    )
    results = [_batch_item(document, outcome) for document, outcome in zip(body.encounters, outcomes, strict=True)]
    return EncounterBatchOut(
        created=sum(r.outcome == "created" for r in results),
        unchanged=sum(r.outcome == "unchanged" for r in results),
        refused=sum(r.outcome == "refused" for r in results),
        results=results,
    )


def _batch_item(document: EncounterIn, outcome: BatchOutcome) -> EncounterBatchItemOut:
    if outcome.encounter is None:
        assert outcome.error is not None
        error = BatchErrorOut.model_validate({"status": status_for(outcome.error), **error_document(outcome.error)})
        return EncounterBatchItemOut(ehr_encounter_id=document.ehr_encounter_id, outcome="refused", error=error)
    encounter = outcome.encounter
    return EncounterBatchItemOut(
        ehr_encounter_id=document.ehr_encounter_id,
        outcome="created" if outcome.created else "unchanged",
        encounter_id=encounter.id,
        version=encounter.version,
        patient_id=encounter.patient_id,
        status=encounter.status,
    )


async def _receive(
    body: EncounterIn, response: Response, session: AsyncSession, context: ServiceContext, principal: Principal
) -> EncounterOut:
    if await context.practices.practice(principal.tenant_id, body.practice_id) is None:
        raise NotFound("Practice", body.practice_id)
    encounter, created = await receive_encounter(session, context.outbox, principal, body, edits(context))
    if not created:
        response.status_code = status.HTTP_200_OK
    return _out(encounter)


@router.get("/encounters/{encounter_id}", response_model=EncounterOut)
async def get_encounter(
    encounter_id: str,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION, Role.CODER, Role.BILLER)],
) -> EncounterOut:
    """One encounter (an audited read of patient data)."""
    encounter = await EncounterRepository(session, principal.tenant_id).get(encounter_id)
    audit(session, principal, AuditAction.READ, "Encounter", encounter.id, patient_id=encounter.patient_id)
    return _out(encounter)


@router.get("/encounters", response_model=list[EncounterOut])
async def list_encounters(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.EHR_INTEGRATION, Role.CODER, Role.BILLER)],
    practice_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterQuery = None,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, deprecated=True, description="Rows to skip; follow the Link header instead.")
    ] = 0,
) -> list[EncounterOut]:
    """The tenant's current encounters, newest first (each listed patient's read is audited). A page holds up to
    ``limit``; the ``Link`` header names the next page (``rel="next"``)."""
    conditions: list[ColumnElement[bool]] = [col(Encounter.is_current).is_(True)]
    if practice_id:
        conditions.append(col(Encounter.practice_id) == practice_id)
    repository = EncounterRepository(session, principal.tenant_id)
    if offset:  # the earlier way of paging, kept for the clients that use it
        if after is not None:
            raise InvalidInput("page by the after cursor or by offset, not both")
        encounters = await repository.list(*conditions, limit=limit, offset=offset)
    else:
        encounters, following = await repository.page(*conditions, limit=limit, after=page_cursor(after))
        link_next_page(request, response, following)
    for encounter in encounters:
        audit(session, principal, AuditAction.READ, "Encounter", encounter.id, patient_id=encounter.patient_id)
    return [_out(e) for e in encounters]
