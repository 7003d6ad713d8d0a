"""HTTP routes of eligibility-svc: thin adapters from requests to the service."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from sqlmodel import col

from claimflow_kit.app import ContextDep, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.errors import InvalidInput
from claimflow_kit.paging import AfterQuery, link_next_page, page_cursor
from eligibility_svc.adapters.fhir import request_from_fhir, response_to_fhir
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck
from eligibility_svc.api.schemas import (
    BatchIn,
    BatchOut,
    EligibilityCheckIn,
    EligibilityCheckOut,
    KeyFiguresOut,
)
from eligibility_svc.domain.results import EligibilityResult
from eligibility_svc.service.checks import result_from_json
from eligibility_svc.service.requests import batch_progress, check_now, status_counts, submit_batch, tenant_practices

router = APIRouter(prefix="/v1", tags=["eligibility"])

READERS = (Role.EHR_INTEGRATION, Role.BILLER, Role.CODER)
REQUESTERS = (Role.EHR_INTEGRATION, Role.BILLER)
_FINAL = {"active", "inactive", "not-found", "rejected", "unavailable", "timeout", "error"}


def key_figures(result: EligibilityResult, service_type_code: str) -> KeyFiguresOut:
    """What the front desk needs for one service type, in network."""

    def figure(kind: str, *, remaining: bool = False) -> str | None:
        value = result.figure(kind, service_type_code, remaining=remaining)
        return str(value) if value is not None else None

    return KeyFiguresOut(
        service_type_code=service_type_code,
        copay=figure("copay"),
        coinsurance_percent=figure("coinsurance"),
        deductible=figure("deductible"),
        deductible_remaining=figure("deductible", remaining=True),
        out_of_pocket=figure("out_of_pocket"),
        out_of_pocket_remaining=figure("out_of_pocket", remaining=True),
    )


def check_out(
    check: CoverageCheck, *, cached: bool = False, result: EligibilityResult | None = None
) -> EligibilityCheckOut:
    """The API document of a check (benefits and key figures from the stored result).

    ``result`` is the parsed answer when the caller has it (a check just made), saving its rebuild from JSON.
    """
    stored: dict[str, Any] = dict(check.result or {})
    service_types = check.service_types.split(",")
    figures = None
    if check.status == "active":
        figures = key_figures(result or result_from_json(stored), service_types[0])
    error = (
        {"code": check.error_code, "message": check.error_message}
        if check.error_code and check.status in ("timeout", "error")
        else None
    )
    # One validation of the whole document: the stored benefits and problems are plain JSON objects.
    return EligibilityCheckOut.model_validate(
        {
            "id": check.id,
            "encounter_id": check.encounter_id,
            "patient_id": check.patient_id,
            "payer_id": check.payer_id,
            "date_of_service": check.date_of_service,
            "service_type_codes": service_types,
            "origin": check.origin,
            "status": check.status,
            "cached": cached,
            "batch_id": check.batch_id,
            "created_at": check.created_at,
            "completed_at": check.completed_at,
            "attempts": check.attempts,
            "plan_name": stored.get("plan_name"),
            "coverage_start": stored.get("coverage_start"),
            "coverage_end": stored.get("coverage_end"),
            "key_figures": figures,
            "benefits": stored.get("benefits", []),
            "problems": stored.get("problems", []),
            "error": error,
        }
    )


@router.post(
    "/eligibility-checks",
    response_model=EligibilityCheckOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "A recent answer for the same member, payer, service types and date (cache)."},
        504: {"description": "The payer gave no usable answer within the deadline (retried meanwhile)."},
    },
)
async def post_check(
    body: EligibilityCheckIn,
    response: Response,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*REQUESTERS)],
    refresh: Annotated[bool, Query(description="Ask the payer even if a recent answer exists")] = False,
) -> EligibilityCheckOut:
    """Check coverage now: 270 through the tenant's connector, 271 parsed into what the front desk needs.
    The read is audited once, in the transaction that stores the answer (or, for a cached one, records the read)."""
    answer = await check_now(context, principal, body, refresh=refresh)
    if answer.cached:
        response.status_code = status.HTTP_200_OK
    return check_out(answer.check, cached=answer.cached, result=answer.result)


@router.get("/eligibility-checks/{check_id}", response_model=EligibilityCheckOut)
async def get_check(
    check_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> EligibilityCheckOut:
    """One coverage check with its parsed answer (audited read)."""
    check = await CoverageCheckRepository(session, principal.tenant_id).get(check_id)
    audit(session, principal, AuditAction.READ, "EligibilityCheck", check.id, patient_id=check.patient_id)
    return check_out(check)


@router.get(
    "/eligibility-checks/{check_id}/x12-271",
    response_class=Response,
    responses={200: {"content": {"application/edi-x12": {}}, "description": "The payer's 271, as received"}},
)
async def get_raw_271(
    check_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> Response:
    """The raw 271 kept for audit (biller only; audited read)."""
    check = await CoverageCheckRepository(session, principal.tenant_id).get(check_id)
    audit(session, principal, AuditAction.READ, "EligibilityCheck.raw_271", check.id, patient_id=check.patient_id)
    return Response(content=check.raw_271 or "", media_type="application/edi-x12")


@router.get("/eligibility-checks", response_model=list[EligibilityCheckOut])
async def list_checks(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    encounter_id: Annotated[str | None, Query(max_length=40)] = None,
    patient_id: Annotated[str | None, Query(max_length=40, description="History of one patient")] = None,
    check_status: Annotated[
        str | None,
        Query(alias="status", max_length=16, description="e.g. needs-inquiry: pre-checks waiting for the front desk"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterQuery = None,
) -> list[EligibilityCheckOut]:
    """The tenant's coverage checks, newest first; filter by encounter, patient (history) or status. A page holds
    up to ``limit``; the ``Link`` header names the next page (``rel="next"``)."""
    conditions = []
    if encounter_id:
        conditions.append(col(CoverageCheck.encounter_id) == encounter_id)
    if patient_id:
        conditions.append(col(CoverageCheck.patient_id) == patient_id)
    if check_status:
        conditions.append(col(CoverageCheck.status) == check_status)
    checks, following = await CoverageCheckRepository(session, principal.tenant_id).page(
        *conditions, limit=limit, after=page_cursor(after)
    )
    link_next_page(request, response, following)
    for check in checks:
        audit(session, principal, AuditAction.READ, "EligibilityCheck", check.id, patient_id=check.patient_id)
    return [check_out(c) for c in checks]


@router.post(
    "/fhir/CoverageEligibilityRequest",
    status_code=status.HTTP_200_OK,
    responses={200: {"description": "A FHIR R4 CoverageEligibilityResponse", "content": {"application/fhir+json": {}}}},
)
async def post_fhir_request(
    body: Annotated[dict[str, Any], Body(description="FHIR R4 CoverageEligibilityRequest with contained resources")],
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*REQUESTERS)],
    refresh: Annotated[bool, Query(description="Ask the payer even if a recent answer exists")] = False,
) -> Response:
    """Real-time eligibility for EHRs speaking FHIR R4: CoverageEligibilityRequest in, ...Response out."""
    practices = await tenant_practices(context, principal.tenant_id)

    def practice_for_npi(npi: str) -> str:
        matching = [p.id for p in practices if p.npi == npi]
        if matching:
            return matching[0]
        if len(practices) == 1:
            return practices[0].id
        raise InvalidInput(f"no practice of this tenant has NPI {npi}; send the practice's NPI as the provider")

    request, request_id = request_from_fhir(body, practice_for_npi)
    answer = await check_now(context, principal, request, refresh=refresh)
    async with context.database.transaction() as session:
        audit(
            session,
            principal,
            AuditAction.READ,
            "EligibilityCheck",
            answer.check.id,
            patient_id=answer.check.patient_id,
        )
    document = response_to_fhir(check_out(answer.check, cached=answer.cached, result=answer.result), request_id)
    return Response(json.dumps(document), media_type="application/fhir+json")


@router.post("/eligibility-batches", response_model=BatchOut, status_code=status.HTTP_202_ACCEPTED)
async def post_batch(
    body: BatchIn, context: ContextDep, principal: Annotated[Principal, require_roles(*REQUESTERS)]
) -> BatchOut:
    """Check a day's schedule as one job; poll the batch for progress and results."""
    batch = await submit_batch(context, principal, body)
    return BatchOut(
        id=batch.id,
        practice_id=batch.practice_id,
        total=batch.total,
        completed=0,
        by_status={"pending": batch.total},
        done=False,
        created_at=batch.created_at,
    )


@router.get("/eligibility-batches/{batch_id}", response_model=BatchOut)
async def get_batch(
    batch_id: str,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    include_checks: Annotated[bool, Query(description="List the checks (results so far)")] = False,
) -> BatchOut:
    """Progress of a batch: how many are answered, by status, and optionally the results."""
    batch, checks = await batch_progress(context, principal.tenant_id, batch_id)
    completed = sum(1 for c in checks if c.status in _FINAL)
    if include_checks:
        async with context.database.transaction() as session:
            for check in checks:
                audit(session, principal, AuditAction.READ, "EligibilityCheck", check.id, patient_id=check.patient_id)
    return BatchOut(
        id=batch.id,
        practice_id=batch.practice_id,
        total=batch.total,
        completed=completed,
        by_status=status_counts(checks),
        done=completed == batch.total,
        created_at=batch.created_at,
        checks=[check_out(c) for c in checks] if include_checks else [],
    )
