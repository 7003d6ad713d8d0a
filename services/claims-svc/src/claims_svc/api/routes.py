"""HTTP routes of claims-svc: thin adapters from requests to the claim pipeline."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import ServiceLine
from claimflow_events.types import IcdCode, Modifier, Money, ProcedureCode
from claimflow_kit.app import ContextDep, ServiceContext, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.paging import AfterQuery, link_next_page, page_cursor
from claimflow_kit.tables import utcnow
from claims_svc.adapters.cms1500_pdf import cms1500_pdf
from claims_svc.adapters.fhir import claim_resource
from claims_svc.adapters.repositories import ClaimRepository
from claims_svc.adapters.tables import Claim, ClaimSubmission, FeeScheduleEntry, TimelineEntry
from claims_svc.adapters.ub04_pdf import ub04_pdf
from claims_svc.domain.claim import ProfessionalClaim
from claims_svc.domain.cms1500 import cms1500_forms
from claims_svc.domain.fees import Fee
from claims_svc.domain.ub04 import ub04_forms
from claims_svc.service.assembly import cancel_claim, combine_claims, split_claim
from claims_svc.service.pipeline import ClaimPipeline, Correction, to_domain

router = APIRouter(prefix="/v1", tags=["claims"])

READERS = (Role.BILLER, Role.EHR_INTEGRATION, Role.CODER)
PIPELINE_KEY = "claim_pipeline"


def pipeline(context: ServiceContext) -> ClaimPipeline:
    """The pipeline built at start-up."""
    return cast(ClaimPipeline, context.extras[PIPELINE_KEY])


class ClaimOut(BaseModel):
    """A claim: status, scrubber findings, control numbers and acknowledgment outcome (no demographics)."""

    id: str
    encounter_id: str
    encounter_version: int
    practice_id: str
    patient_id: str
    payer_id: str | None
    claim_kind: str
    date_of_service: date
    status: str
    patient_control_number: str | None
    frequency_code: str
    payer_claim_number: str | None
    total_charge: Decimal
    paid_amount: Decimal | None
    diagnosis_codes: list[str]
    service_lines: list[dict[str, object]]
    findings: list[dict[str, object]]
    submission_id: str | None
    interchange_control_number: str | None
    submitted_at: datetime | None
    acknowledged_at: datetime | None
    rejection: list[dict[str, object]]
    original_claim_id: str | None
    corrected_by: str | None
    corrected_lines: list[int]
    combined_encounter_ids: list[str] = Field(description="Other encounters this claim bills (combined claims).")
    combined_into: str | None = Field(description="The claim this one was combined into (status combined).")
    part: int = Field(description="0 for the claim built from the encounter; 1, 2... for claims split off it.")
    payer_sequence: str = Field(description="Which of the patient's plans this claim bills: primary, secondary...")
    prior_claim_id: str | None = Field(description="The claim of the payer that adjudicated before this one")
    prior_adjudications: list[dict[str, object]] = Field(
        description="What each earlier payer paid and adjusted (reported to this payer in 2320/2430)"
    )
    crossed_over_to: str | None = Field(description="The payer this claim's payer forwarded it to (crossover)")
    created_at: datetime
    updated_at: datetime


class SubmitIn(BaseModel):
    """Which ready claims to send now (all the tenant's ready claims when omitted)."""

    claim_ids: list[str] | None = Field(default=None, max_length=5000)


class CorrectionIn(BaseModel):
    """A replacement (frequency 7) or void (8) of an accepted claim, or a resubmission of a rejected one."""

    kind: Literal["replacement", "void", "resubmission"]
    reason: str = Field(min_length=3, max_length=500)
    diagnosis_codes: list[IcdCode] | None = Field(default=None, min_length=1, max_length=12)
    service_lines: list[ServiceLine] | None = Field(default=None, min_length=1, max_length=50)
    member_id: str | None = Field(default=None, min_length=2, max_length=80)
    line_numbers: list[int] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="A replacement of these lines only (service_lines then holds just their corrected versions). "
        "A payer that takes line-level corrections gets a new claim with only these lines (frequency 1; the lines it "
        "paid stand); any other payer gets the whole claim replaced (frequency 7) with these lines changed.",
    )


class SubmissionOut(BaseModel):
    """One 837 interchange sent (or being sent) through the tenant's connector."""

    id: str
    payer_id: str
    claim_ids: list[str]
    interchange_control_number: str
    filename: str
    receipt_id: str | None
    status: str
    error: str | None
    created_at: datetime


def _out(claim: Claim) -> ClaimOut:
    return ClaimOut.model_validate(claim, from_attributes=True)


def _submission_out(submission: ClaimSubmission) -> SubmissionOut:
    return SubmissionOut.model_validate(submission, from_attributes=True)


@router.get("/claims/{claim_id}", response_model=ClaimOut)
async def get_claim(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> ClaimOut:
    """One claim (audited read)."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id)
    audit(session, principal, AuditAction.READ, "Claim", claim.id, patient_id=claim.patient_id)
    return _out(claim)


@router.get("/claims", response_model=list[ClaimOut])
async def list_claims(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    encounter_id: Annotated[str | None, Query(max_length=40)] = None,
    claim_status: Annotated[str | None, Query(alias="status", max_length=24)] = None,
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    practice_id: Annotated[str | None, Query(max_length=64)] = None,
    payer_sequence: Annotated[Literal["primary", "secondary", "tertiary"] | None, Query()] = None,
    min_age_days: Annotated[
        int | None, Query(ge=0, le=3650, description="At least this many days since the date of service.")
    ] = None,
    max_age_days: Annotated[
        int | None, Query(ge=0, le=3650, description="At most this many days since the date of service.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterQuery = None,
) -> list[ClaimOut]:
    """The tenant's claims, newest first; filter by encounter, status (held = the billing work queue), payer,
    practice, payer sequence (secondary: the claims billed to the patient's second plan) or age (days since the date
    of service, the clock of AR aging and timely filing).

    A page holds up to ``limit`` claims. When more follow, the ``Link`` header names the next page
    (``rel="next"``: the same query with an ``after`` cursor); claims created meanwhile do not shift the pages."""
    conditions = []
    today = utcnow().date()
    if min_age_days is not None:
        conditions.append(col(Claim.date_of_service) <= today - timedelta(days=min_age_days))
    if max_age_days is not None:
        conditions.append(col(Claim.date_of_service) >= today - timedelta(days=max_age_days))
    if encounter_id:
        conditions.append(col(Claim.encounter_id) == encounter_id)
    if claim_status:
        conditions.append(col(Claim.status) == claim_status)
    if payer_id:
        conditions.append(col(Claim.payer_id) == payer_id)
    if practice_id:
        conditions.append(col(Claim.practice_id) == practice_id)
    if payer_sequence:
        conditions.append(col(Claim.payer_sequence) == payer_sequence)
    claims, following = await ClaimRepository(session, principal.tenant_id).page(
        *conditions, limit=limit, after=page_cursor(after)
    )
    link_next_page(request, response, following)
    for claim in claims:
        audit(session, principal, AuditAction.READ, "Claim", claim.id, patient_id=claim.patient_id)
    return [_out(c) for c in claims]


class TimelineEntryOut(BaseModel):
    """One event of the claim's cycle, from whichever service published it."""

    occurred_at: datetime
    event_type: str
    source: str
    subject: str
    event_id: str
    summary: str | None


@router.get(
    "/fhir/Claim/{claim_id}",
    response_class=Response,
    responses={200: {"content": {"application/fhir+json": {}}, "description": "A FHIR R4 Claim"}},
)
async def get_fhir_claim(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> Response:
    """The claim as a FHIR R4 Claim resource (the ClaimFlow claim id, or its FHIR id with a dash)."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id.replace("clm-", "clm_", 1))
    audit(session, principal, AuditAction.READ, "Claim", claim.id, patient_id=claim.patient_id)
    return Response(json.dumps(claim_resource(claim)), media_type="application/fhir+json")


@router.get("/claims/{claim_id}/timeline", response_model=list[TimelineEntryOut])
async def claim_timeline(
    claim_id: str,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.BILLER, Role.CODER, Role.OPS)],
) -> list[TimelineEntryOut]:
    """Every event of the claim's encounter cycle across services, oldest first (intake, eligibility, coding,
    submission, acknowledgments, remittance)."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id)
    rows = await session.exec(
        select(TimelineEntry)
        .where(TimelineEntry.tenant_id == principal.tenant_id, TimelineEntry.correlation_id == claim.correlation_id)
        .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.event_id))
    )
    return [TimelineEntryOut.model_validate(row, from_attributes=True) for row in rows.all()]


async def _paper_claim(
    session: AsyncSession, context: ServiceContext, principal: Principal, claim_id: str, form: str
) -> tuple[Claim, ProfessionalClaim]:
    """The stored claim and its domain form for a paper rendering (audited read: the form names the patient)."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id)
    institutional = claim.claim_kind == "institutional"
    if institutional != (form == "ub04"):
        right = "UB-04" if institutional else "CMS-1500"
        raise Conflict(f"claim {claim.id} is {claim.claim_kind}: its paper form is the {right}")
    practice = await pipeline(context).practice(principal.tenant_id, claim.practice_id)
    audit(session, principal, AuditAction.READ, f"Claim.{form}", claim.id, patient_id=claim.patient_id)
    return claim, to_domain(claim, practice, pipeline(context).config.payers)


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


@router.get(
    "/claims/{claim_id}/cms1500.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The claim on CMS-1500 forms"}},
)
async def get_claim_cms1500(
    claim_id: str,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> Response:
    """A professional claim as CMS-1500 (02/12) paper forms, six service lines per form (409 for an institutional
    claim: its form is the UB-04)."""
    claim, domain = await _paper_claim(session, context, principal, claim_id, "cms1500")
    return _pdf(cms1500_pdf(cms1500_forms(domain), utcnow()), f"cms1500-{claim.patient_control_number or claim.id}.pdf")


@router.get(
    "/claims/{claim_id}/ub04.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The claim on UB-04 forms"}},
)
async def get_claim_ub04(
    claim_id: str,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> Response:
    """An institutional claim as UB-04 (CMS-1450) paper forms, 22 revenue lines per page (409 for a professional
    claim: its form is the CMS-1500)."""
    claim, domain = await _paper_claim(session, context, principal, claim_id, "ub04")
    return _pdf(ub04_pdf(ub04_forms(domain), utcnow()), f"ub04-{claim.patient_control_number or claim.id}.pdf")


@router.get(
    "/claims/{claim_id}/x12",
    response_class=Response,
    responses={200: {"content": {"application/edi-x12": {}}, "description": "The 837 interchange that carried it"}},
)
async def get_claim_x12(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> Response:
    """The 837 interchange the claim was sent in (audited read: it names the patient)."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id)
    if claim.submission_id is None:
        raise Conflict(f"claim {claim_id} has not been submitted yet (status {claim.status})")
    submission = await session.get(ClaimSubmission, claim.submission_id)
    if submission is None or submission.tenant_id != principal.tenant_id:
        raise NotFound("ClaimSubmission", claim.submission_id)
    audit(session, principal, AuditAction.READ, "Claim.x12", claim.id, patient_id=claim.patient_id)
    return Response(submission.x12, media_type="application/edi-x12")


@router.post("/claims/{claim_id}/scrub", response_model=ClaimOut)
async def scrub_claim(
    claim_id: str, context: ContextDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> ClaimOut:
    """Run the scrubber again on a held claim (after its practice or payer data was fixed)."""
    return _out(await pipeline(context).rescrub(principal.tenant_id, claim_id))


class CombineIn(BaseModel):
    """Claims not yet sent, of one patient, payer, practice and providers, to bill as one claim."""

    claim_ids: list[str] = Field(min_length=2, max_length=20)


@router.post("/claim-combinations", response_model=ClaimOut, status_code=status.HTTP_201_CREATED)
async def combine_claims_route(
    body: CombineIn, session: SessionDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> ClaimOut:
    """Combine claims into the one with the earliest date of service: it takes the others' diagnoses (merged,
    pointers renumbered) and lines (each keeping its own date) and is scrubbed again; the others become
    ``combined`` (``combined_into`` names it). 400 with the reason when they cannot be one claim."""
    return _out(await combine_claims(session, principal, body.claim_ids))


class SplitIn(BaseModel):
    """Which lines of the claim go to a new claim."""

    line_numbers: list[int] = Field(min_length=1, max_length=49)


@router.post("/claims/{claim_id}/split", response_model=ClaimOut, status_code=status.HTTP_201_CREATED)
async def split_claim_route(
    claim_id: str, body: SplitIn, session: SessionDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> ClaimOut:
    """Move some lines of a claim not yet sent to a new claim of the same encounter (returned); each keeps the
    diagnoses its lines point at, and both are scrubbed again."""
    return _out(await split_claim(session, principal, claim_id, body.line_numbers))


class CancellationIn(BaseModel):
    """Why the claim is not to be sent."""

    reason: str = Field(min_length=1, max_length=300)


@router.post("/claims/{claim_id}/cancellation", response_model=ClaimOut)
async def cancel_claim_route(
    claim_id: str,
    body: CancellationIn,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> ClaimOut:
    """Withdraw a claim not yet sent (draft, held or ready): it becomes ``cancelled`` and is never sent; the reason
    is kept. 409 for a claim on its way or sent (void one the payer took in with a correction of kind ``void``)."""
    return _out(await cancel_claim(session, principal, claim_id, body.reason))


@router.post("/claims/{claim_id}/corrections", response_model=ClaimOut, status_code=status.HTTP_201_CREATED)
async def correct_claim(
    claim_id: str, body: CorrectionIn, context: ContextDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> ClaimOut:
    """Start a corrected claim (it is scrubbed, then submitted like any other); the original links to it."""
    if body.kind == "void" and (body.diagnosis_codes or body.service_lines or body.member_id):
        raise InvalidInput("a void repeats the original claim; send changes with a replacement")
    corrected = await pipeline(context).correct(
        principal.tenant_id,
        claim_id,
        Correction(
            kind=body.kind,
            reason=body.reason,
            diagnosis_codes=list(body.diagnosis_codes) if body.diagnosis_codes else None,
            service_lines=[line.model_dump(mode="json") for line in body.service_lines] if body.service_lines else None,
            member_id=body.member_id,
            line_numbers=list(body.line_numbers) if body.line_numbers else None,
        ),
    )
    return _out(corrected)


class FeeIn(BaseModel):
    """One fee schedule entry; ``payer_id`` omitted means every payer, ``modifier`` omitted means any."""

    procedure_code: ProcedureCode
    amount: Money
    effective_from: date
    effective_to: date | None = None
    payer_id: str | None = Field(default=None, max_length=80)
    modifier: Modifier | None = None


class FeeScheduleIn(BaseModel):
    """Entries to add or update."""

    entries: list[FeeIn] = Field(min_length=1, max_length=10000)


class FeeOut(BaseModel):
    """A stored entry."""

    procedure_code: str
    amount: Decimal
    effective_from: date
    effective_to: date | None
    payer_id: str | None
    modifier: str | None


def _fees_out(rows: list[FeeScheduleEntry]) -> list[FeeOut]:
    return [
        FeeOut(
            procedure_code=r.procedure_code,
            amount=r.amount,
            effective_from=r.effective_from,
            effective_to=r.effective_to,
            payer_id=None if r.payer_key == "*" else r.payer_key,
            modifier=r.modifier or None,
        )
        for r in rows
    ]


@router.get("/practices/{practice_id}/fee-schedule", response_model=list[FeeOut])
async def get_fee_schedule(
    practice_id: str, context: ContextDep, principal: Annotated[Principal, require_roles(Role.BILLER)]
) -> list[FeeOut]:
    """The practice's charges per procedure (used when an encounter comes without charges)."""
    return _fees_out(await pipeline(context).fee_schedule(principal.tenant_id, practice_id))


@router.put("/practices/{practice_id}/fee-schedule", response_model=list[FeeOut])
async def put_fee_schedule(
    practice_id: str,
    body: FeeScheduleIn,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> list[FeeOut]:
    """Add or update entries (effective-dated, optionally per payer and modifier)."""
    for entry in body.entries:
        if entry.effective_to is not None and entry.effective_to < entry.effective_from:
            raise InvalidInput(f"{entry.procedure_code}: effective_to is before effective_from")
    fees = [
        Fee(e.payer_id or "*", e.procedure_code, e.modifier or "", e.amount, e.effective_from, e.effective_to)
        for e in body.entries
    ]
    return _fees_out(await pipeline(context).set_fees(principal.tenant_id, practice_id, fees))


@router.post(
    "/claim-submissions",
    response_model=list[SubmissionOut],
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "Same Idempotency-Key as an earlier request: its submissions, unchanged."}},
)
async def submit_claims(
    body: SubmitIn,
    response: Response,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=100)] = None,
) -> list[SubmissionOut]:
    """Send ready claims now, one 837 per payer; repeat the request with the same Idempotency-Key safely."""
    submissions, replayed = await pipeline(context).submit(
        principal.tenant_id, claim_ids=body.claim_ids, idempotency_key=idempotency_key
    )
    if replayed:
        response.status_code = status.HTTP_200_OK
    return [_submission_out(s) for s in submissions]
