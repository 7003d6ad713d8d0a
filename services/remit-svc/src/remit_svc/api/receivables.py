"""HTTP routes of remit-svc for accounts: deposits and reconciliation, patient payments, balances and statements,
AR aging and KPIs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlmodel import col

from claimflow_kit.app import ContextDep, ServiceContext, SessionDep
from claimflow_kit.audit import AuditAction, audit, audit_many
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claimflow_kit.tables import utcnow
from remit_svc.adapters.repositories import DepositRepository
from remit_svc.adapters.statement_pdf import statement_pdf
from remit_svc.adapters.tables import Deposit, PatientPayment
from remit_svc.domain.receivables import (
    BUCKETS,
    DAYS_IN_AR_LOOKBACK,
    AgingGroup,
    GroupBy,
    GuarantorBalance,
    Period,
    Ratio,
    Statement,
)
from remit_svc.domain.reconciliation import DepositFact, DepositMatch, EraFact
from remit_svc.service.posting import guarantor_balance
from remit_svc.service.receivables import (
    PAYMENT,
    REFUND,
    DepositRecord,
    PatientAccounts,
    PatientMoney,
    ar_aging,
    guarantor_of_patient,
    guarantor_statement,
    known_guarantor,
    kpis,
    pay_to_of,
    reconciliation,
    record_deposit,
    statements_due,
    today,
)

router = APIRouter(prefix="/v1", tags=["accounts"])

READERS = (Role.BILLER, Role.OPS)
POSTERS = (Role.BILLER,)

Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Trimmed = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


# --- deposits and reconciliation ---------------------------------------------------------------------------


class DepositIn(BaseModel):
    """A bank deposit: the EFT trace (or check) number and amount the bank reports."""

    trace_number: Annotated[Trimmed, Field(max_length=50, description="The ERA's TRN02: EFT trace or check number.")]
    amount: Amount
    deposit_date: date
    payer_id: Annotated[str | None, Field(default=None, max_length=80, description="Only this payer's ERAs match.")]
    method: Literal["ACH", "CHK", "FWT", "VCC", "OTH"] = "ACH"


class DepositOut(BaseModel):
    """A recorded deposit."""

    id: str
    trace_number: str
    amount: Decimal
    deposit_date: date
    payer_id: str | None
    method: str
    created_at: datetime


class DepositRefOut(BaseModel):
    """A deposit as reconciliation shows it."""

    id: str
    trace_number: str
    amount: Decimal
    deposit_date: date
    payer_id: str | None


class RemittanceRefOut(BaseModel):
    """An ERA's payment as reconciliation shows it."""

    id: str
    trace_number: str
    payer_id: str
    payment_amount: Decimal = Field(description="BPR02.")
    payment_date: date
    status: str = Field(description="posted or held.")


class DepositMatchOut(BaseModel):
    """A deposit and the ERAs carrying its trace number."""

    deposit: DepositRefOut
    remittances: list[RemittanceRefOut]
    remittance_total: Decimal = Field(description="Σ BPR02 of the ERAs.")
    difference: Decimal = Field(description="Deposit amount - remittance total; 0 when matched.")
    reason: str | None


class ReconciliationOut(BaseModel):
    """Deposits matched to ERAs; deposits no ERA explains; ERAs whose money no deposit shows yet."""

    matched: list[DepositMatchOut]
    unreconciled_deposits: list[DepositMatchOut]
    unreconciled_remittances: list[RemittanceRefOut] = Field(description="Money reported (BPR02 ≠ 0), no deposit.")
    unreconciled_deposit_total: Decimal
    unreconciled_remittance_total: Decimal


def _era_out(era: EraFact) -> RemittanceRefOut:
    return RemittanceRefOut(
        id=era.id,
        trace_number=era.trace_number,
        payer_id=era.payer_id,
        payment_amount=era.amount,
        payment_date=era.payment_date,
        status=era.status,
    )


def _deposit_ref(deposit: DepositFact) -> DepositRefOut:
    return DepositRefOut(
        id=deposit.id,
        trace_number=deposit.trace_number,
        amount=deposit.amount,
        deposit_date=deposit.deposit_date,
        payer_id=deposit.payer_id,
    )


def _match_out(match: DepositMatch) -> DepositMatchOut:
    return DepositMatchOut(
        deposit=_deposit_ref(match.deposit),
        remittances=[_era_out(e) for e in match.eras],
        remittance_total=match.era_total,
        difference=match.difference,
        reason=match.reason,
    )


@router.post(
    "/deposits",
    response_model=DepositOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "This deposit (trace number, amount, date) was recorded before; unchanged."}},
)
async def create_deposit(
    body: DepositIn, response: Response, context: ContextDep, principal: Annotated[Principal, require_roles(*POSTERS)]
) -> DepositOut:
    """Record a bank deposit (EFT or check) for reconciliation; recording the same one again changes nothing."""
    deposit, created = await record_deposit(
        context,
        principal,
        DepositRecord(body.trace_number, body.amount, body.deposit_date, body.payer_id, body.method),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return DepositOut.model_validate(deposit, from_attributes=True)


@router.get("/deposits", response_model=list[DepositOut])
async def list_deposits(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    trace_number: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DepositOut]:
    """The tenant's deposits, most recently recorded first."""
    conditions = [col(Deposit.trace_number) == trace_number] if trace_number else []
    rows = await DepositRepository(session, principal.tenant_id).list(*conditions, limit=limit)
    return [DepositOut.model_validate(d, from_attributes=True) for d in rows]


@router.get("/reconciliation", response_model=ReconciliationOut)
async def get_reconciliation(
    session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> ReconciliationOut:
    """Match deposits to ERAs by trace number (several ERAs may make up one deposit) and show what is left."""
    result = await reconciliation(session, principal.tenant_id)
    return ReconciliationOut(
        matched=[_match_out(m) for m in result.matched],
        unreconciled_deposits=[_match_out(m) for m in result.unreconciled_deposits],
        unreconciled_remittances=[_era_out(e) for e in result.unreconciled_eras],
        unreconciled_deposit_total=sum((m.difference for m in result.unreconciled_deposits), Decimal("0.00")),
        unreconciled_remittance_total=sum((e.amount for e in result.unreconciled_eras), Decimal("0.00")),
    )


# --- patient payments, balances and statements --------------------------------------------------------------


class PatientMoneyIn(BaseModel):
    """A payment received from (or a refund given to) a guarantor: name the account (``guarantor_id``, as printed on
    the statement), the patient it is for (``patient_id``: their guarantor's account), or both."""

    patient_id: Annotated[Trimmed | None, Field(default=None, max_length=40)]
    guarantor_id: Annotated[Trimmed | None, Field(default=None, max_length=40)]
    amount: Amount
    method: Literal["cash", "check", "card", "ach", "other"]
    reference: Annotated[
        Trimmed | None, Field(default=None, max_length=64, description="Check number, card authorization...; unique.")
    ]
    received_on: date | None = Field(default=None, description="Defaults to today; never in the future.")

    @model_validator(mode="after")
    def _names_an_account(self) -> PatientMoneyIn:
        if self.patient_id is None and self.guarantor_id is None:
            raise ValueError("name the guarantor_id (the account on the statement) or the patient_id")
        return self


class PatientPaymentOut(BaseModel):
    """A posted patient payment or refund and the guarantor's balance after it."""

    id: str
    patient_id: str | None
    guarantor_id: str
    kind: str
    amount: Decimal
    method: str
    reference: str | None
    received_on: date
    journal_id: str
    created_at: datetime
    balance: Decimal = Field(description="The guarantor's balance now (negative: a credit).")


class PatientBalanceOut(BaseModel):
    """What a guarantor owes (patient AR), for every patient on the account."""

    patient_id: str | None = Field(description="The patient asked about (None: asked by guarantor).")
    guarantor_id: str
    balance: Decimal = Field(description="Patient AR; negative is a credit.")
    amount_due: Decimal
    credit: Decimal


class PatientResponsibilityOut(BaseModel):
    """What the payers assigned to the patient (835 CAS group PR)."""

    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    other: Decimal
    total: Decimal


class MailingAddressOut(BaseModel):
    """A US postal address."""

    line1: str
    line2: str | None
    city: str
    state: str
    postal_code: str


class MailToOut(BaseModel):
    """Whom a statement is mailed to (PHI); without an address it cannot be mailed."""

    first_name: str
    last_name: str
    address: MailingAddressOut | None


class StatementClaimOut(BaseModel):
    """One claim on a statement."""

    claim_id: str
    patient_id: str
    patient_name: str | None = Field(description="As the claim named the patient (older claims: unknown).")
    patient_control_number: str
    payer_id: str
    service_date: date
    charges: Decimal
    insurance_paid: Decimal
    adjustments: Decimal
    pending_insurance: Decimal = Field(description="Still with the payer (not yet adjudicated, or denied and worked).")
    patient_responsibility: PatientResponsibilityOut
    patient_payments: Decimal = Field(description="Patient payments applied to this claim (oldest claims first).")
    balance: Decimal


class PaymentActivityOut(BaseModel):
    """A patient payment or refund on the statement."""

    received_on: date
    kind: str
    amount: Decimal
    method: str
    reference: str | None


class StatementOut(BaseModel):
    """A guarantor's statement: the claims of every patient on the account."""

    guarantor_id: str
    mail_to: MailToOut | None = Field(
        description="The guarantor's name and address, as the newest claim on the account gave them; null when no "
        "claim described the guarantor (the EHR named one without sending who they are)."
    )
    mailable: bool = Field(description="Whether there is a postal address to mail it to.")
    patient_ids: list[str]
    statement_date: date
    claims: list[StatementClaimOut]
    payments: list[PaymentActivityOut]
    total_charges: Decimal
    total_insurance_paid: Decimal
    total_patient_payments: Decimal
    aging: dict[str, Decimal] = Field(description="Balance by days since the date of service, and its total.")
    unapplied_credit: Decimal
    balance: Decimal
    amount_due: Decimal


class GuarantorBalanceOut(BaseModel):
    """A guarantor a statement run should mail."""

    guarantor_id: str
    patient_ids: list[str]
    balance: Decimal
    claims: int
    oldest_service_date: date | None
    aging: dict[str, Decimal]


def _statement_out(statement: Statement) -> StatementOut:
    return StatementOut(
        guarantor_id=statement.guarantor_id,
        mail_to=MailToOut.model_validate(statement.mail_to, from_attributes=True) if statement.mail_to else None,
        mailable=statement.mailable,
        patient_ids=list(statement.patient_ids),
        statement_date=statement.statement_date,
        claims=[
            StatementClaimOut(
                claim_id=line.activity.claim_id,
                patient_id=line.activity.patient_id,
                patient_name=line.activity.patient_name,
                patient_control_number=line.activity.patient_control_number,
                payer_id=line.activity.payer_id,
                service_date=line.activity.service_date,
                charges=line.activity.charges,
                insurance_paid=line.activity.insurance_paid,
                adjustments=line.activity.adjustments,
                pending_insurance=line.activity.pending_insurance,
                patient_responsibility=PatientResponsibilityOut(
                    deductible=line.activity.deductible,
                    coinsurance=line.activity.coinsurance,
                    copay=line.activity.copay,
                    other=line.activity.other_patient,
                    total=line.activity.patient_responsibility,
                ),
                patient_payments=line.patient_payments,
                balance=line.balance,
            )
            for line in statement.lines
        ],
        payments=[PaymentActivityOut.model_validate(p, from_attributes=True) for p in statement.payments],
        total_charges=statement.total_charges,
        total_insurance_paid=statement.total_insurance_paid,
        total_patient_payments=statement.total_patient_payments,
        aging=statement.aging,
        unapplied_credit=statement.unapplied_credit,
        balance=statement.balance,
        amount_due=statement.amount_due,
    )


def _payment_out(payment: PatientPayment, balance: Decimal) -> PatientPaymentOut:
    return PatientPaymentOut.model_validate({**payment.model_dump(), "balance": balance})


async def _post_patient_money(
    kind: str,
    body: PatientMoneyIn,
    response: Response,
    context: ContextDep,
    principal: Principal,
    idempotency_key: str | None,
) -> PatientPaymentOut:
    result = await PatientAccounts(context).post(
        principal,
        PatientMoney(
            patient_id=body.patient_id,
            guarantor_id=body.guarantor_id,
            kind=kind,
            amount=body.amount,
            method=body.method,
            reference=body.reference,
            received_on=body.received_on or today(),
            idempotency_key=idempotency_key,
        ),
    )
    if result.replayed:
        response.status_code = status.HTTP_200_OK
    return _payment_out(result.payment, result.balance)


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=100)]
_REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "Same Idempotency-Key or reference as an earlier request: that posting, unchanged."}
}


@router.post("/patient-payments", response_model=PatientPaymentOut, status_code=201, responses=_REPLAYED)
async def post_patient_payment(
    body: PatientMoneyIn,
    response: Response,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*POSTERS)],
    idempotency_key: IdempotencyKey = None,
) -> PatientPaymentOut:
    """Post a patient payment on account (applied to the oldest balance first) and publish the new balance."""
    return await _post_patient_money(PAYMENT, body, response, context, principal, idempotency_key)


@router.post("/patient-refunds", response_model=PatientPaymentOut, status_code=201, responses=_REPLAYED)
async def post_patient_refund(
    body: PatientMoneyIn,
    response: Response,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*POSTERS)],
    idempotency_key: IdempotencyKey = None,
) -> PatientPaymentOut:
    """Refund a patient's credit (never more than the credit) and publish the new balance."""
    return await _post_patient_money(REFUND, body, response, context, principal, idempotency_key)


async def _balance(
    session: SessionDep, principal: Principal, guarantor_id: str, patient_id: str | None
) -> PatientBalanceOut:
    balance = await guarantor_balance(session, principal.tenant_id, guarantor_id)
    audit(session, principal, AuditAction.READ, "PatientBalance", guarantor_id, patient_id=patient_id)
    zero = Decimal("0.00")
    return PatientBalanceOut(
        patient_id=patient_id,
        guarantor_id=guarantor_id,
        balance=balance,
        amount_due=max(balance, zero),
        credit=max(-balance, zero),
    )


@router.get("/guarantors/{guarantor_id}/balance", response_model=PatientBalanceOut)
async def get_guarantor_balance(
    guarantor_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> PatientBalanceOut:
    """What the guarantor owes now, for every patient on the account (audited read)."""
    await known_guarantor(session, principal.tenant_id, guarantor_id)
    return await _balance(session, principal, guarantor_id, None)


@router.get("/patients/{patient_id}/balance", response_model=PatientBalanceOut)
async def get_patient_balance(
    patient_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> PatientBalanceOut:
    """What the patient's guarantor owes now: the whole account, siblings' claims included (audited read)."""
    guarantor_id = await guarantor_of_patient(session, principal.tenant_id, patient_id)
    return await _balance(session, principal, guarantor_id, patient_id)


AsOf = Annotated[date | None, Query(description="Count entries effective on or before this day; default: all, today.")]


async def _statement(
    session: SessionDep,
    principal: Principal,
    guarantor_id: str,
    as_of: date | None,
    detail: str | None = None,
    context: ServiceContext | None = None,
) -> Statement:
    """The guarantor's statement, its reading audited once per patient it shows (with ``context``: naming the
    practices to pay, as the PDF does)."""
    practices = await pay_to_of(context.directory, principal.tenant_id) if context is not None else None
    statement = await guarantor_statement(session, principal.tenant_id, guarantor_id, as_of, practices)
    await audit_many(
        session,
        principal,
        AuditAction.READ,
        "PatientStatement",
        [(guarantor_id, patient) for patient in statement.patient_ids] or [(guarantor_id, None)],
        detail=detail,
    )
    return statement


def _pdf_response(statement: Statement) -> Response:
    filename = f"statement-{statement.statement_date.isoformat()}.pdf"
    return Response(
        statement_pdf(statement, utcnow()),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The statement as a printable PDF"}
}


@router.get("/guarantors/{guarantor_id}/statement", response_model=StatementOut)
async def get_guarantor_statement(
    guarantor_id: str,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    as_of: AsOf = None,
) -> StatementOut:
    """The guarantor's statement: every patient's claims by date of service, payments, aged balance, amount due
    (audited)."""
    return _statement_out(await _statement(session, principal, guarantor_id, as_of))


@router.get("/guarantors/{guarantor_id}/statement.pdf", response_class=Response, responses=_PDF)
async def get_guarantor_statement_pdf(
    guarantor_id: str,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    as_of: AsOf = None,
) -> Response:
    """The guarantor's statement as a PDF to mail (audited)."""
    return _pdf_response(await _statement(session, principal, guarantor_id, as_of, "pdf", context))


@router.get("/patients/{patient_id}/statement", response_model=StatementOut)
async def get_patient_statement(
    patient_id: str,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    as_of: AsOf = None,
) -> StatementOut:
    """The statement of the patient's guarantor (the whole account) (audited)."""
    guarantor_id = await guarantor_of_patient(session, principal.tenant_id, patient_id)
    return _statement_out(await _statement(session, principal, guarantor_id, as_of))


@router.get("/patients/{patient_id}/statement.pdf", response_class=Response, responses=_PDF)
async def get_patient_statement_pdf(
    patient_id: str,
    session: SessionDep,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    as_of: AsOf = None,
) -> Response:
    """The statement of the patient's guarantor as a PDF to mail (audited)."""
    guarantor_id = await guarantor_of_patient(session, principal.tenant_id, patient_id)
    return _pdf_response(await _statement(session, principal, guarantor_id, as_of, "pdf", context))


@router.get("/patient-statements", response_model=list[GuarantorBalanceOut])
async def list_patient_statements(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    min_balance: Annotated[Decimal, Query(ge=0, max_digits=12, decimal_places=2)] = Decimal("0.01"),
    as_of: AsOf = None,
) -> list[GuarantorBalanceOut]:
    """Guarantors with a balance due of at least ``min_balance``, largest first: the data of a statement run."""
    due: list[GuarantorBalance] = await statements_due(session, principal.tenant_id, as_of, min_balance)
    await audit_many(
        session,
        principal,
        AuditAction.READ,
        "PatientBalance",
        [(g.guarantor_id, patient) for g in due for patient in g.patient_ids or (None,)],
    )
    return [GuarantorBalanceOut.model_validate(g, from_attributes=True) for g in due]


# --- AR aging and KPIs -------------------------------------------------------------------------------------


class AgingGroupOut(BaseModel):
    """One group's outstanding AR by age bucket (each with its total)."""

    key: str = Field(description="The tenant id, practice id, rendering provider NPI or payer id.")
    claims: int
    total: dict[str, Decimal] = Field(description="Insurance + patient.")
    insurance: dict[str, Decimal] = Field(description="Insurance AR including denied AR.")
    denied: dict[str, Decimal] = Field(description="Denied AR (part of insurance).")
    patient: dict[str, Decimal] = Field(description="Patient AR after patient payments are applied.")


class AgingOut(BaseModel):
    """AR aging by date of service."""

    as_of: date
    by: GroupBy
    aged_by: Literal["date_of_service"] = "date_of_service"
    buckets: list[str]
    groups: list[AgingGroupOut]
    totals: AgingGroupOut
    unapplied_patient_credit: Decimal = Field(description="Patient payments beyond every balance (negative).")
    receivables: Decimal = Field(description="Ledger balance of insurance + denied + patient AR = total + credit.")


def _group_out(group: AgingGroup) -> AgingGroupOut:
    return AgingGroupOut.model_validate(group, from_attributes=True)


@router.get("/ar/aging", response_model=AgingOut)
async def get_ar_aging(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    by: GroupBy = GroupBy.TENANT,
    as_of: AsOf = None,
) -> AgingOut:
    """Outstanding AR per tenant, practice, rendering provider or payer, in 0-30/31-60/61-90/91-120/120+ day buckets
    of age since the date of service, computed from the ledger."""
    report = await ar_aging(session, principal.tenant_id, by, as_of)
    return AgingOut(
        as_of=report.as_of,
        by=report.by,
        buckets=list(BUCKETS),
        groups=[_group_out(g) for g in report.groups],
        totals=_group_out(report.totals),
        unapplied_patient_credit=report.unapplied_patient_credit,
        receivables=report.receivables,
    )


class RatioOut(BaseModel):
    """A KPI: value = numerator / denominator (null when the denominator is 0)."""

    value: Decimal | None
    numerator: Decimal
    denominator: Decimal
    definition: str


class DenialReasonOut(RatioOut):
    """The denial rate of one CARC."""

    carc: str


class PeriodOut(BaseModel):
    """The reporting period, both days included."""

    start: date
    end: date


class KpisOut(BaseModel):
    """The period's KPIs, each with its numerator and denominator."""

    period: PeriodOut
    clean_claim_rate: RatioOut
    denial_rate: RatioOut
    denial_rate_by_carc: list[DenialReasonOut]
    days_in_ar: RatioOut
    net_collection_rate: RatioOut
    days_to_submission: RatioOut
    days_to_first_payment: RatioOut


def _ratio(value: Ratio, definition: str) -> RatioOut:
    return RatioOut(value=value.value, numerator=value.numerator, denominator=value.denominator, definition=definition)


@router.get("/kpis", response_model=KpisOut)
async def get_kpis(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    start: Annotated[date | None, Query(alias="from", description="First day; default 89 days before `to`.")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day; default today.")] = None,
) -> KpisOut:
    """Clean-claim rate, denial rate (overall and by CARC), days in AR, net collection rate and the average days
    from date of service to submission and to first payment, each with its numerator and denominator."""
    last = end or today()
    first = start or last - timedelta(days=DAYS_IN_AR_LOOKBACK - 1)
    result = await kpis(session, principal.tenant_id, Period(first, last))
    return KpisOut(
        period=PeriodOut(start=first, end=last),
        clean_claim_rate=_ratio(
            result.clean_claim_rate,
            "claims submitted in the period accepted on their first acknowledgment / those acknowledged",
        ),
        denial_rate=_ratio(
            result.denial_rate, "claims with a denied outcome / claims adjudicated (835 payment date in the period)"
        ),
        denial_rate_by_carc=[
            DenialReasonOut(
                carc=reason.carc,
                value=reason.rate.value,
                numerator=reason.rate.numerator,
                denominator=reason.rate.denominator,
                definition=f"denied claims citing CARC {reason.carc} / claims adjudicated",
            )
            for reason in result.denial_rate_by_carc
        ],
        days_in_ar=_ratio(
            result.days_in_ar,
            "AR (insurance + denied + patient) at the end of the period / average daily charges of its last 90 days",
        ),
        net_collection_rate=_ratio(
            result.net_collection_rate,
            "payer and patient payments / (charges - contractual adjustments), all in the period",
        ),
        days_to_submission=_ratio(
            result.days_to_submission, "Σ days from date of service to submission / claims submitted in the period"
        ),
        days_to_first_payment=_ratio(
            result.days_to_first_payment,
            "Σ days from date of service to the first payer payment (BPR16) / claims first paid in the period",
        ),
    )
