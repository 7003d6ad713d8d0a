"""HTTP routes of patient statement runs: issue a day's statements, and each guarantor's statement history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col

from claimflow_kit.app import ContextDep, SessionDep
from claimflow_kit.audit import AuditAction, audit_many
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from remit_svc.adapters.repositories import IssuedStatementRepository, StatementRunRepository
from remit_svc.adapters.tables import IssuedStatement, StatementRun
from remit_svc.api.receivables import MailToOut
from remit_svc.service.receivables import guarantor_of_patient, issue_statements, known_guarantor, today

router = APIRouter(prefix="/v1", tags=["patient statements"])

READERS = (Role.BILLER, Role.OPS)


class StatementRunIn(BaseModel):
    """Which day's statements to issue, and the smallest balance worth a statement."""

    statement_date: date | None = Field(default=None, description="Default: today.")
    min_balance: Decimal = Field(default=Decimal("0.01"), ge=Decimal("0.01"), max_digits=12, decimal_places=2)


class IssuedStatementOut(BaseModel):
    """A statement as issued: its figures; the PDF mailed is at ``/v1/statements/{id}.pdf``."""

    id: str
    run_id: str
    guarantor_id: str
    mail_to: MailToOut | None = Field(description="Whom it was addressed to; null: nobody known (not mailable).")
    patient_ids: list[str] = Field(description="The patients whose claims it showed.")
    statement_date: date
    balance: Decimal
    amount_due: Decimal
    aging: dict[str, str]
    claims: int
    created_at: datetime


class StatementRunOut(BaseModel):
    """A statement run and the statements it issued."""

    id: str
    statement_date: date
    min_balance: Decimal
    statements: int
    total_due: Decimal
    created_by: str
    created_at: datetime
    issued: list[IssuedStatementOut] = Field(default_factory=list)
    not_mailable: list[str] = Field(
        default_factory=list,
        description="Guarantor accounts of this run whose statement has no postal address: to be completed in the "
        "EHR (or handed over) before the statements are mailed.",
    )


def _issued_out(row: IssuedStatement) -> IssuedStatementOut:
    return IssuedStatementOut.model_validate(row, from_attributes=True)


def _run_out(run: StatementRun, issued: Sequence[IssuedStatement] = ()) -> StatementRunOut:
    out = StatementRunOut.model_validate(run, from_attributes=True)
    out.issued = sorted((_issued_out(i) for i in issued), key=lambda i: (-i.amount_due, i.guarantor_id))
    out.not_mailable = sorted(i.guarantor_id for i in out.issued if i.mail_to is None or i.mail_to.address is None)
    return out


@router.post(
    "/statement-runs",
    response_model=StatementRunOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The statements of that day were issued before; the same run is returned."}},
)
async def create_statement_run(
    body: StatementRunIn,
    response: Response,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> StatementRunOut:
    """Issue the day's statements: every guarantor owing at least ``min_balance`` gets one (figures and PDF, kept
    in their history). One run per day: asking again returns it unchanged."""
    run, created = await issue_statements(context, principal, body.statement_date or today(), body.min_balance)
    if not created:
        response.status_code = status.HTTP_200_OK
    async with context.database.transaction() as session:
        issued = await IssuedStatementRepository(session, principal.tenant_id).list(
            col(IssuedStatement.run_id) == run.id, limit=100_000
        )
    return _run_out(run, issued)


@router.get("/statement-runs", response_model=list[StatementRunOut])
async def list_statement_runs(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[StatementRunOut]:
    """The tenant's statement runs, newest first (without their statements)."""
    runs = await StatementRunRepository(session, principal.tenant_id).list(limit=limit)
    return [_run_out(r) for r in runs]


@router.get("/statement-runs/{run_id}", response_model=StatementRunOut)
async def get_statement_run(
    run_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> StatementRunOut:
    """One statement run with every statement it issued (audited: it lists guarantors' balances)."""
    run = await StatementRunRepository(session, principal.tenant_id).get(run_id)
    issued = await IssuedStatementRepository(session, principal.tenant_id).list(
        col(IssuedStatement.run_id) == run.id, limit=100_000
    )
    await _audit_read(session, principal, issued)
    return _run_out(run, issued)


async def _audit_read(
    session: SessionDep, principal: Principal, issued: Sequence[IssuedStatement], detail: str | None = None
) -> None:
    """One audit entry per patient each statement read shows."""
    nobody: list[str | None] = [None]  # a statement of a credit alone shows no patient's claim
    entries = [(s.id, p) for s in issued for p in ([*s.patient_ids] or nobody)]
    await audit_many(session, principal, AuditAction.READ, "PatientStatement", entries, detail=detail)


async def _history(session: SessionDep, principal: Principal, guarantor_id: str) -> list[IssuedStatementOut]:
    issued = await IssuedStatementRepository(session, principal.tenant_id).list(
        col(IssuedStatement.guarantor_id) == guarantor_id, limit=500
    )
    await _audit_read(session, principal, issued)
    return [_issued_out(i) for i in issued]


@router.get("/guarantors/{guarantor_id}/statements", response_model=list[IssuedStatementOut])
async def guarantor_statement_history(
    guarantor_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> list[IssuedStatementOut]:
    """Every statement issued to the guarantor, newest first (audited)."""
    await known_guarantor(session, principal.tenant_id, guarantor_id)
    return await _history(session, principal, guarantor_id)


@router.get("/patients/{patient_id}/statements", response_model=list[IssuedStatementOut])
async def patient_statement_history(
    patient_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> list[IssuedStatementOut]:
    """Every statement issued to the patient's guarantor, newest first (audited)."""
    guarantor_id = await guarantor_of_patient(session, principal.tenant_id, patient_id)
    return await _history(session, principal, guarantor_id)


@router.get(
    "/statements/{statement_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement PDF exactly as issued"}},
)
async def get_issued_statement_pdf(
    statement_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> Response:
    """The PDF of an issued statement, as it was mailed (audited)."""
    statement = await IssuedStatementRepository(session, principal.tenant_id).get(statement_id)
    await _audit_read(session, principal, [statement], "pdf")
    filename = f"statement-{statement.guarantor_id}-{statement.statement_date.isoformat()}.pdf"
    return Response(
        statement.pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )
