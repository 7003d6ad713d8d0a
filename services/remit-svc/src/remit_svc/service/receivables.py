"""Patient payments and refunds, bank deposits, and the reports read from the ledger (AR, statements, KPIs).

Writes own their transaction so a concurrent duplicate (same Idempotency-Key, reference or deposit) is caught by the
unique constraints and answered with the row that won; reads run in the request's session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import PatientBalanceUpdated, uuid7
from claimflow_kit.app import ServiceContext
from claimflow_kit.audit import AuditAction, audit, audit_many
from claimflow_kit.auth import Principal
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import utcnow
from remit_svc.adapters.repositories import (
    DepositRepository,
    GuarantorAccountRepository,
    IssuedStatementRepository,
    OpenClaimRepository,
    PatientPaymentRepository,
    ReceivablesRepository,
    StatementRunRepository,
)
from remit_svc.adapters.statement_pdf import statement_pdf
from remit_svc.adapters.tables import Deposit, IssuedStatement, OpenClaim, PatientPayment, StatementRun
from remit_svc.domain.ledger import patient_payment_postings
from remit_svc.domain.receivables import (
    DAYS_IN_AR_LOOKBACK,
    AgingReport,
    GroupBy,
    GuarantorBalance,
    Kpis,
    MailingAddress,
    PaymentActivity,
    PayTo,
    Period,
    Statement,
    age_receivables,
    build_statement,
    compute_kpis,
    statement_run,
)
from remit_svc.domain.reconciliation import Reconciliation, reconcile
from remit_svc.service.posting import add_ledger, guarantor_balance

PAYMENT = "payment"
REFUND = "refund"


def today() -> date:
    """Today in UTC (the service's business day)."""
    return utcnow().date()


@dataclass(frozen=True)
class PatientMoney:
    """A patient payment or refund to post: on the guarantor's account, or on the account of the patient's guarantor
    when only the patient is named."""

    patient_id: str | None
    guarantor_id: str | None
    kind: str  # payment / refund
    amount: Decimal
    method: str
    reference: str | None
    received_on: date
    idempotency_key: str | None = None


@dataclass(frozen=True)
class PatientMoneyResult:
    """The stored payment, the guarantor's balance after it, and whether it was posted by an earlier request."""

    payment: PatientPayment
    balance: Decimal
    replayed: bool


@dataclass(frozen=True)
class DepositRecord:
    """A bank deposit to record."""

    trace_number: str
    amount: Decimal
    deposit_date: date
    payer_id: str | None
    method: str


async def guarantor_of_patient(session: AsyncSession, tenant_id: str, patient_id: str) -> str:
    """The account the patient's latest claim was billed to; NotFound when the tenant has never billed the patient.

    A patient whose guarantor changed (a child come of age) has older balances on the earlier account: those stay
    there, on that guarantor's statements.
    """
    claim = await ReceivablesRepository(session, tenant_id).latest_claim_of(patient_id=patient_id)
    if claim is None:
        raise NotFound("Patient", patient_id)
    return claim.guarantor_id


async def known_guarantor(session: AsyncSession, tenant_id: str, guarantor_id: str, *, lock: bool = False) -> OpenClaim:
    """The latest claim on the guarantor's account; NotFound when the tenant has never billed it.

    ``lock`` holds that row to the end of the transaction: postings to one account take turns.
    """
    claim = await ReceivablesRepository(session, tenant_id).latest_claim_of(guarantor_id=guarantor_id, lock=lock)
    if claim is None:
        raise NotFound("Guarantor", guarantor_id)
    return claim


class PatientAccounts:
    """Posts patient payments and refunds: ledger, payment record, audit and event in one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def post(self, principal: Principal, money: PatientMoney) -> PatientMoneyResult:
        """Post ``money`` once: a repeated Idempotency-Key or reference answers with the first posting."""
        if money.received_on > today():
            raise InvalidInput(f"received_on {money.received_on} is in the future")
        for _ in range(2):
            try:
                async with self.context.database.transaction() as session:
                    return await self._post(session, principal, money)
            except IntegrityError:
                continue  # the same payment posted by a concurrent request: the next round finds it
        raise Conflict("the same patient payment is being posted concurrently; retry")

    async def _post(self, session: AsyncSession, principal: Principal, money: PatientMoney) -> PatientMoneyResult:
        tenant_id = principal.tenant_id
        account = await self._account(session, tenant_id, money)
        earlier = await self._earlier(session, tenant_id, account, money)
        if earlier is not None:
            return PatientMoneyResult(earlier, await guarantor_balance(session, tenant_id, account), True)
        # Locked: a concurrent refund waits, then sees this posting's balance before checking the credit.
        claim = await known_guarantor(session, tenant_id, account, lock=True)
        refund = money.kind == REFUND
        if refund:
            credit = -await guarantor_balance(session, tenant_id, account)
            if money.amount > credit:
                raise Conflict(
                    f"a refund of {money.amount} exceeds the account's credit of {max(credit, Decimal('0.00'))}"
                )
        journal_id = new_id("jnl")
        await add_ledger(
            session,
            patient_payment_postings(money.amount, refund=refund),
            tenant_id=tenant_id,
            journal_id=journal_id,
            effective_date=money.received_on,
            patient_id=money.patient_id,
            guarantor_id=account,
        )
        payment = PatientPayment(
            id=new_id("ppay"),
            tenant_id=tenant_id,
            patient_id=money.patient_id,
            guarantor_id=account,
            kind=money.kind,
            amount=money.amount,
            method=money.method,
            reference=money.reference,
            idempotency_key=money.idempotency_key,
            received_on=money.received_on,
            journal_id=journal_id,
            recorded_by=principal.client_id[:64],
        )
        session.add(payment)
        balance = await guarantor_balance(session, tenant_id, account)
        self.context.outbox.add(
            session,
            PatientBalanceUpdated(
                guarantor_id=payment.guarantor_id,
                patient_id=payment.patient_id,
                change=money.amount if refund else -money.amount,
                balance=balance,
                reason=f"patient {money.kind}",
                updated_at=utcnow(),
            ),
            tenant_id=tenant_id,
            correlation_id=claim.correlation_id or uuid7().hex,
        )
        audit(session, principal, AuditAction.CREATE, "PatientPayment", payment.id, patient_id=payment.patient_id)
        return PatientMoneyResult(payment, balance, False)

    @staticmethod
    async def _account(session: AsyncSession, tenant_id: str, money: PatientMoney) -> str:
        """The guarantor account ``money`` goes to; a patient named with it must have been billed to it."""
        if money.guarantor_id is None:
            if money.patient_id is None:
                raise InvalidInput("name the guarantor_id (the account on the statement) or the patient_id")
            return await guarantor_of_patient(session, tenant_id, money.patient_id)
        if money.patient_id is not None:
            billed = await OpenClaimRepository(session, tenant_id).find(
                col(OpenClaim.patient_id) == money.patient_id, col(OpenClaim.guarantor_id) == money.guarantor_id
            )
            if billed is None:
                raise InvalidInput(f"patient {money.patient_id} has no claim on account {money.guarantor_id}")
        return money.guarantor_id

    @staticmethod
    async def _earlier(
        session: AsyncSession, tenant_id: str, account: str, money: PatientMoney
    ) -> PatientPayment | None:
        """The payment an earlier request posted under the same Idempotency-Key or reference, if any."""
        repository = PatientPaymentRepository(session, tenant_id)
        earlier = None
        if money.idempotency_key:
            earlier = await repository.find(col(PatientPayment.idempotency_key) == money.idempotency_key)
        if earlier is None and money.reference:
            earlier = await repository.find(
                col(PatientPayment.kind) == money.kind, col(PatientPayment.reference) == money.reference
            )
        if earlier is None:
            return None
        if (earlier.guarantor_id, earlier.kind, earlier.amount) != (account, money.kind, money.amount):
            same_key = money.idempotency_key is not None and money.idempotency_key == earlier.idempotency_key
            used = "Idempotency-Key" if same_key else "reference"
            raise Conflict(
                f"this {used} was already used for a {earlier.kind} of {earlier.amount} ({earlier.id}); "
                "a different payment needs its own"
            )
        return earlier


async def record_deposit(context: ServiceContext, principal: Principal, record: DepositRecord) -> tuple[Deposit, bool]:
    """Record a deposit once per trace number, amount and date; returns it and whether it is new."""
    for _ in range(2):
        try:
            async with context.database.transaction() as session:
                repository = DepositRepository(session, principal.tenant_id)
                earlier = await repository.find(
                    col(Deposit.trace_number) == record.trace_number,
                    col(Deposit.amount) == record.amount,
                    col(Deposit.deposit_date) == record.deposit_date,
                )
                if earlier is not None:
                    return earlier, False
                deposit = repository.add(
                    Deposit(
                        id=new_id("dep"),
                        tenant_id=principal.tenant_id,
                        trace_number=record.trace_number,
                        amount=record.amount,
                        deposit_date=record.deposit_date,
                        payer_id=record.payer_id,
                        method=record.method,
                        recorded_by=principal.client_id[:64],
                    )
                )
                return deposit, True
        except IntegrityError:
            continue
    raise Conflict("the same deposit is being recorded concurrently; retry")


async def reconciliation(session: AsyncSession, tenant_id: str) -> Reconciliation:
    """Deposits matched to ERAs, and what is left on either side."""
    repository = ReceivablesRepository(session, tenant_id)
    return reconcile(await repository.deposit_facts(), await repository.remittance_facts())


async def ar_aging(session: AsyncSession, tenant_id: str, by: GroupBy, as_of: date | None) -> AgingReport:
    """AR aging by date of service; without ``as_of``, everything posted so far aged as of today."""
    repository = ReceivablesRepository(session, tenant_id)
    return age_receivables(
        await repository.claim_receivables(as_of),
        await repository.on_account(as_of),
        as_of=as_of or today(),
        by=by,
        tenant_id=tenant_id,
    )


async def kpis(session: AsyncSession, tenant_id: str, period: Period) -> Kpis:
    """The period's KPIs from the ledger, the claims' acknowledgments and the posted 835 claim payments."""
    if period.start > period.end:
        raise InvalidInput(f"the period starts ({period.start}) after it ends ({period.end})")
    repository = ReceivablesRepository(session, tenant_id)
    lookback = Period(period.end - timedelta(days=DAYS_IN_AR_LOOKBACK - 1), period.end)
    return compute_kpis(
        period,
        await repository.claim_facts(period.start, period.end),
        await repository.adjudications(period.start, period.end),
        await repository.period_money(period.start, period.end),
        receivables=await repository.receivables_total(period.end),
        lookback_charges=(await repository.period_money(lookback.start, lookback.end)).charges,
    )


async def pay_to_of(directory: Database, tenant_id: str) -> dict[str, PayTo]:
    """The tenant's practices as statements name them (the tenant directory), by practice id."""
    async with directory.transaction() as session:
        practices = await Directory(session).practices(tenant_id)
    return {
        practice.id: PayTo(
            practice.name,
            MailingAddress(practice.address_line1, None, practice.city, practice.state, practice.postal_code)
            if practice.address_line1 and practice.city and practice.state and practice.postal_code
            else None,
        )
        for practice in practices
    }


async def guarantor_statement(
    session: AsyncSession,
    tenant_id: str,
    guarantor_id: str,
    as_of: date | None,
    practices: Mapping[str, PayTo] | None = None,
) -> Statement:
    """The guarantor's statement (the claims of every patient on the account); without ``as_of``, everything posted
    so far, dated today. ``practices``: whom the claims' practices are (``pay_to_of``)."""
    await known_guarantor(session, tenant_id, guarantor_id)
    repository = ReceivablesRepository(session, tenant_id)
    activities, patient_ar = await repository.claim_activity(guarantor_id, as_of)
    on_account = (await repository.on_account(as_of, guarantor_id)).get(guarantor_id, Decimal("0.00"))
    conditions = [col(PatientPayment.guarantor_id) == guarantor_id]
    if as_of is not None:
        conditions.append(col(PatientPayment.received_on) <= as_of)
    payments = await PatientPaymentRepository(session, tenant_id).list(*conditions, limit=10_000)
    return build_statement(
        guarantor_id,
        as_of or today(),
        activities,
        patient_ar,
        on_account,
        [PaymentActivity(p.received_on, p.kind, p.amount, p.method, p.reference) for p in payments],
        await GuarantorAccountRepository(session, tenant_id).addressee(guarantor_id),
        practices,
    )


async def statements_due(
    session: AsyncSession, tenant_id: str, as_of: date | None, min_balance: Decimal
) -> list[GuarantorBalance]:
    """Guarantors owing at least ``min_balance``: who a statement run mails."""
    repository = ReceivablesRepository(session, tenant_id)
    return statement_run(
        await repository.patient_items(as_of),
        await repository.on_account(as_of),
        as_of=as_of or today(),
        min_balance=min_balance,
    )


async def issue_statements(
    context: ServiceContext, principal: Principal, statement_date: date, min_balance: Decimal
) -> tuple[StatementRun, bool]:
    """The statement run of ``statement_date``: a statement (figures and PDF) for every guarantor owing at least
    ``min_balance``, kept as issued. Once per tenant and day: asking again returns the first run (False)."""
    for _ in range(2):
        try:
            async with context.database.transaction() as session:
                runs = StatementRunRepository(session, principal.tenant_id)
                earlier = await runs.find(col(StatementRun.statement_date) == statement_date)
                if earlier is not None:
                    return earlier, False
                due = await statements_due(session, principal.tenant_id, statement_date, min_balance)
                run = runs.add(
                    StatementRun(
                        id=new_id("str"),
                        tenant_id=principal.tenant_id,
                        statement_date=statement_date,
                        min_balance=min_balance,
                        statements=len(due),
                        total_due=sum((g.balance for g in due), Decimal("0.00")),
                        created_by=principal.client_id[:64],
                    )
                )
                issued = IssuedStatementRepository(session, principal.tenant_id)
                created = utcnow()
                practices = await pay_to_of(context.directory, principal.tenant_id)
                for guarantor in due:
                    statement = await guarantor_statement(
                        session, principal.tenant_id, guarantor.guarantor_id, statement_date, practices
                    )
                    issued.add(
                        IssuedStatement(
                            id=new_id("stm"),
                            tenant_id=principal.tenant_id,
                            run_id=run.id,
                            guarantor_id=statement.guarantor_id,
                            patient_ids=list(statement.patient_ids),
                            statement_date=statement_date,
                            balance=statement.balance,
                            amount_due=statement.amount_due,
                            aging={bucket: f"{amount:.2f}" for bucket, amount in statement.aging.items()},
                            claims=len(statement.lines),
                            pdf=statement_pdf(statement, created),
                            mail_to=asdict(statement.mail_to) if statement.mail_to is not None else None,
                        )
                    )
                    await audit_many(  # one entry per patient whose claims the statement shows
                        session,
                        principal,
                        AuditAction.CREATE,
                        "PatientStatement",
                        [(statement.guarantor_id, patient) for patient in statement.patient_ids],
                        detail=f"statement run {run.id}",
                    )
                return run, True
        except IntegrityError:
            continue
    raise Conflict("a statement run for this day is being issued concurrently; retry")
