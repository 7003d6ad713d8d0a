"""HTTP routes of remit-svc: 835 intake, ERAs, the unmatched work queue, claim ledgers, open claims."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, cast

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import col, select

from claimflow_kit.app import ContextDep, ServiceContext, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.errors import InvalidInput, NotFound
from claimflow_kit.paging import AfterQuery, link_next_page, page_cursor
from remit_svc.adapters.repositories import (
    ClaimPaymentRepository,
    LedgerRepository,
    OpenClaimRepository,
    RemittanceRepository,
)
from remit_svc.adapters.tables import ClaimPaymentRecord, OpenClaim, Remittance, RemittanceFile
from remit_svc.domain.ledger import Account
from remit_svc.service.posting import IngestReport, RemittancePoster

router = APIRouter(prefix="/v1", tags=["receivables"])

READERS = (Role.BILLER, Role.OPS)
POSTERS = (Role.BILLER,)
POSTER_KEY = "remittance_poster"
MAX_FILE_BYTES = 50 * 1024 * 1024


def poster(context: ServiceContext) -> RemittancePoster:
    """The poster built at start-up."""
    return cast(RemittancePoster, context.extras[POSTER_KEY])


class OpenClaimOut(BaseModel):
    """A submitted claim and where it stands."""

    id: str
    patient_control_number: str
    payer_id: str
    patient_id: str
    practice_id: str
    total_charge: Decimal
    submitted_at: datetime
    status: str
    acknowledgment: str | None


class EraReportOut(BaseModel):
    """What became of one ERA of an uploaded file."""

    status: str = Field(description="posted, held (unbalanced or invalid; not posted), duplicate, or unreadable.")
    remittance_id: str | None
    payer_id: str | None
    trace_number: str | None
    payment_amount: Decimal | None
    claims: int
    posted: int
    unmatched: int
    reason: str | None


class IngestOut(BaseModel):
    """What became of an uploaded 835 file."""

    file_id: str
    remittances: list[EraReportOut]


class ClaimPaymentOut(BaseModel):
    """One 835 claim payment and its state."""

    id: str
    remittance_id: str
    claim_id: str | None
    patient_control_number: str
    payer_id: str
    status_code: str
    outcome: str | None
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    denied_amount: Decimal
    payer_claim_control_number: str | None
    state: str
    unmatched_reason: str | None
    matched_by: str | None
    posted_at: datetime | None


class RemittanceOut(BaseModel):
    """An ERA: the payment, its state and its claim payments."""

    id: str
    file_id: str
    payer_id: str
    payer_name: str | None
    trace_number: str
    payment_amount: Decimal
    handling_code: str
    payment_method: str
    payment_date: date
    payee_npi: str | None
    status: str
    held_reason: str | None
    claim_count: int
    posted_claims: int
    unmatched_claims: int
    provider_adjustment_total: Decimal
    received_at: datetime
    claim_payments: list[ClaimPaymentOut] = Field(default_factory=list)


class MatchIn(BaseModel):
    """The claim a biller found for an unmatched claim payment."""

    claim_id: str = Field(min_length=1, max_length=40)


class LedgerEntryOut(BaseModel):
    """One ledger amount."""

    journal_id: str
    account: str
    kind: str
    amount: Decimal
    line_item_control_number: str | None
    group_code: str | None
    carc: str | None
    memo: str | None
    remittance_id: str | None
    effective_date: date
    posted_at: datetime


class ClaimLedgerOut(BaseModel):
    """A claim's ledger: every entry and the balance of each account."""

    claim_id: str
    balances: dict[str, Decimal]
    outstanding: Decimal = Field(description="Insurance AR + denied AR + patient AR.")
    entries: list[LedgerEntryOut]


def _claim_out(claim: OpenClaim) -> OpenClaimOut:
    return OpenClaimOut.model_validate(claim, from_attributes=True)


def _payment_out(record: ClaimPaymentRecord) -> ClaimPaymentOut:
    return ClaimPaymentOut.model_validate(record, from_attributes=True)


@router.post(
    "/remittances",
    response_model=IngestOut,
    status_code=201,
    responses={200: {"model": IngestOut, "description": "Every ERA in the file was received before (nothing posted)"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/edi-x12": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def upload_remittance(
    request: Request,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*POSTERS)],
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    """Post an 835 file: each ERA is checked (balancing, duplicates), matched and posted, or held with the reason."""
    body = await request.body()
    if not body.strip():
        raise InvalidInput("the request body is empty; send the 835 file as the body")
    if len(body) > MAX_FILE_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_FILE_BYTES} bytes; split it")
    report: IngestReport = await poster(context).ingest(principal.tenant_id, body, source="upload", filename=filename)
    out = IngestOut(file_id=report.file_id, remittances=[EraReportOut(**vars(r)) for r in report.remittances])
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if report.new else 200)


@router.get("/remittances", response_model=list[RemittanceOut])
async def list_remittances(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    status: Annotated[str | None, Query(pattern="^(posted|held)$")] = None,
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    trace_number: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterQuery = None,
) -> list[RemittanceOut]:
    """The tenant's ERAs, newest first. A page holds up to ``limit``; the ``Link`` header names the next page
    (``rel="next"``)."""
    conditions = []
    if status:
        conditions.append(col(Remittance.status) == status)
    if payer_id:
        conditions.append(col(Remittance.payer_id) == payer_id)
    if trace_number:
        conditions.append(col(Remittance.trace_number) == trace_number)
    rows, following = await RemittanceRepository(session, principal.tenant_id).page(
        *conditions, limit=limit, after=page_cursor(after)
    )
    link_next_page(request, response, following)
    return [RemittanceOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/remittances/{remittance_id}", response_model=RemittanceOut)
async def get_remittance(
    remittance_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> RemittanceOut:
    """One ERA with its claim payments (audited read)."""
    remittance = await RemittanceRepository(session, principal.tenant_id).get(remittance_id)
    payments = await ClaimPaymentRepository(session, principal.tenant_id).list(
        col(ClaimPaymentRecord.remittance_id) == remittance.id, limit=100_000
    )
    audit(session, principal, AuditAction.READ, "Remittance", remittance.id)
    out = RemittanceOut.model_validate(remittance, from_attributes=True)
    out.claim_payments = sorted((_payment_out(p) for p in payments), key=lambda p: p.id)
    return out


@router.get(
    "/remittances/{remittance_id}/x12",
    response_class=Response,
    responses={
        200: {"content": {"application/edi-x12": {}}, "description": "The 835 file the ERA came in, as received"}
    },
)
async def get_remittance_x12(
    remittance_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> Response:
    """The file as the payer sent it (audited)."""
    remittance = await RemittanceRepository(session, principal.tenant_id).get(remittance_id)
    file = (
        await session.exec(
            select(RemittanceFile).where(
                RemittanceFile.tenant_id == principal.tenant_id, RemittanceFile.id == remittance.file_id
            )
        )
    ).first()
    if file is None:
        raise NotFound("RemittanceFile", remittance.file_id)
    audit(session, principal, AuditAction.READ, "RemittanceFile", file.id)
    return Response(file.content, media_type="application/edi-x12")


@router.get("/unmatched-payments", response_model=list[ClaimPaymentOut])
async def list_unmatched(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClaimPaymentOut]:
    """The unmatched-ERA work queue: claim payments no submitted claim (or no billed line) could take."""
    conditions = [col(ClaimPaymentRecord.state) == "unmatched"]
    if payer_id:
        conditions.append(col(ClaimPaymentRecord.payer_id) == payer_id)
    rows = await ClaimPaymentRepository(session, principal.tenant_id).list(*conditions, limit=limit)
    return [_payment_out(r) for r in rows]


@router.post("/unmatched-payments/{payment_id}/match", response_model=ClaimPaymentOut)
async def match_unmatched(
    payment_id: str, body: MatchIn, context: ContextDep, principal: Annotated[Principal, require_roles(*POSTERS)]
) -> ClaimPaymentOut:
    """Post an unmatched claim payment to the claim a biller identified (its lines must still fit the claim)."""
    record = await poster(context).match_manually(principal.tenant_id, payment_id, body.claim_id, principal.client_id)
    return _payment_out(record)


@router.get("/claims/{claim_id}/ledger", response_model=ClaimLedgerOut)
async def claim_ledger(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> ClaimLedgerOut:
    """Every ledger entry of a claim with its balances (audited read)."""
    claim = await OpenClaimRepository(session, principal.tenant_id).get(claim_id)
    entries = await LedgerRepository(session, principal.tenant_id).for_claim(claim.id)
    balances: dict[str, Decimal] = {}
    for entry in entries:
        balances[entry.account] = balances.get(entry.account, Decimal("0")) + entry.amount
    audit(session, principal, AuditAction.READ, "ClaimLedger", claim.id, patient_id=claim.patient_id)
    receivable = (Account.INSURANCE_AR.value, Account.DENIED_AR.value, Account.PATIENT_AR.value)
    return ClaimLedgerOut(
        claim_id=claim.id,
        balances=balances,
        outstanding=sum((balances.get(a, Decimal("0")) for a in receivable), Decimal("0")),
        entries=[LedgerEntryOut.model_validate(e, from_attributes=True) for e in entries],
    )


@router.get("/open-claims/{claim_id}", response_model=OpenClaimOut)
async def get_open_claim(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> OpenClaimOut:
    """One submitted claim and its standing (audited read)."""
    claim = await OpenClaimRepository(session, principal.tenant_id).get(claim_id)
    audit(session, principal, AuditAction.READ, "OpenClaim", claim.id, patient_id=claim.patient_id)
    return _claim_out(claim)


@router.get("/open-claims", response_model=list[OpenClaimOut])
async def list_open_claims(
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    status: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterQuery = None,
) -> list[OpenClaimOut]:
    """The tenant's submitted claims, newest first. A page holds up to ``limit``; the ``Link`` header names the next
    page (``rel="next"``)."""
    conditions = [col(OpenClaim.status) == status] if status else []
    claims, following = await OpenClaimRepository(session, principal.tenant_id).page(
        *conditions, limit=limit, after=page_cursor(after)
    )
    link_next_page(request, response, following)
    for claim in claims:
        audit(session, principal, AuditAction.READ, "OpenClaim", claim.id, patient_id=claim.patient_id)
    return [_claim_out(c) for c in claims]
