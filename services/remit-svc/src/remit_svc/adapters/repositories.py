"""Tenant-scoped repositories of remit-svc."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from sqlalchemy import Insert, bindparam, delete, exists, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from claimflow_events import ClaimResubmitted
from claimflow_kit.repository import TenantRepository
from claimflow_kit.tables import utcnow
from remit_svc.adapters.tables import (
    ClaimPaymentRecord,
    Deposit,
    EarlyCorrection,
    GuarantorAccount,
    IssuedStatement,
    LedgerEntry,
    OpenClaim,
    PatientPayment,
    Remittance,
    StatementRun,
)
from remit_svc.domain.ledger import RECEIVABLES, Account, EntryKind
from remit_svc.domain.receivables import (
    ZERO,
    Addressee,
    Adjudication,
    ClaimActivity,
    ClaimFacts,
    ClaimReceivable,
    MailingAddress,
    PatientItem,
    PeriodMoney,
)
from remit_svc.domain.reconciliation import DepositFact, EraFact

# Statements built once and run with parameters: building one (its clauses, then its cache key) cost more than
# running it, for statements run once per claim.


@cache
def _arrival_statement() -> Select[bool, bool, bool]:
    known = select(OpenClaim.id).where(
        OpenClaim.tenant_id == bindparam("tenant_id"), OpenClaim.id == bindparam("claim_id")
    )
    payments = select(ClaimPaymentRecord.id).where(
        ClaimPaymentRecord.tenant_id == bindparam("tenant_id"),
        ClaimPaymentRecord.patient_control_number == bindparam("pcn"),
        ClaimPaymentRecord.state == "unmatched",
        col(ClaimPaymentRecord.claim_id).is_(None),
    )
    corrections = select(EarlyCorrection.id).where(
        EarlyCorrection.tenant_id == bindparam("tenant_id"), EarlyCorrection.original_claim_id == bindparam("claim_id")
    )
    return select(exists(known), exists(payments), exists(corrections))


@cache
def _note_statement(dialect: str) -> Insert:
    """Upsert of a guarantor account's addressee, unless the stored one is newer (the row's columns as parameters)."""
    table = GuarantorAccount.__table__  # type: ignore[attr-defined]
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    return insert.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.guarantor_id],
        set_={key: insert.excluded[key] for key in ("first_name", "last_name", "address", "as_of", "updated_at")},
        where=table.c.as_of <= insert.excluded.as_of,
    )


class GuarantorNote(NamedTuple):
    """What one claim-submitted says of its guarantor (see ``GuarantorAccountRepository.note``)."""

    guarantor_id: str
    first_name: str
    last_name: str
    address: dict[str, object] | None
    as_of: datetime


class ClaimArrival(NamedTuple):
    """See ``OpenClaimRepository.arrival``."""

    known: bool
    payments_waiting: bool
    corrections_waiting: bool


class OpenClaimRepository(TenantRepository[OpenClaim]):
    """Submitted claims of one tenant."""

    model = OpenClaim
    resource_name = "OpenClaim"

    async def arrival(self, claim_id: str, patient_control_number: str) -> ClaimArrival:
        """What a claim-submitted finds in one statement: whether the claim is known already (a redelivered or
        repeated event), and whether payments (an ERA read first) or corrections wait for it."""
        params = {"tenant_id": self.tenant_id, "claim_id": claim_id, "pcn": patient_control_number}
        row = (await self.session.exec(_arrival_statement(), params=params)).one()
        return ClaimArrival(*(bool(flag) for flag in row))

    async def arrivals(self, claims: Sequence[tuple[str, str]]) -> dict[str, ClaimArrival]:
        """``arrival`` of many claims at once, given as (claim id, patient control number): three statements in
        all, whatever their number."""
        ids = sorted({claim_id for claim_id, _ in claims})
        pcns = sorted({pcn for _, pcn in claims})
        known = set(
            await self.session.exec(select(OpenClaim.id).where(self._mine(OpenClaim), col(OpenClaim.id).in_(ids)))
        )
        paid = set(
            await self.session.exec(
                select(ClaimPaymentRecord.patient_control_number).where(
                    self._mine(ClaimPaymentRecord),
                    col(ClaimPaymentRecord.patient_control_number).in_(pcns),
                    ClaimPaymentRecord.state == "unmatched",
                    col(ClaimPaymentRecord.claim_id).is_(None),
                )
            )
        )
        corrected = set(
            await self.session.exec(
                select(EarlyCorrection.original_claim_id).where(
                    self._mine(EarlyCorrection), col(EarlyCorrection.original_claim_id).in_(ids)
                )
            )
        )
        return {
            claim_id: ClaimArrival(claim_id in known, pcn in paid, claim_id in corrected) for claim_id, pcn in claims
        }

    def _mine(self, model: type[OpenClaim | ClaimPaymentRecord | EarlyCorrection]) -> ColumnElement[bool]:
        return col(model.tenant_id) == self.tenant_id

    async def acknowledge(self, *claim_ids: str, answer: str) -> None:
        """Record the payer's first answer to each claim (the first decides the clean-claim rate); a later one, or
        one for a claim not known here, changes nothing. One UPDATE, no read."""
        await self.session.exec(
            update(OpenClaim)
            .where(
                col(OpenClaim.tenant_id) == self.tenant_id,
                col(OpenClaim.id).in_(claim_ids),
                col(OpenClaim.acknowledgment).is_(None),
            )
            .values(acknowledgment=answer, updated_at=utcnow())
        )


class GuarantorAccountRepository(TenantRepository[GuarantorAccount]):
    """Whom each guarantor account of one tenant is addressed to."""

    model = GuarantorAccount
    resource_name = "GuarantorAccount"

    async def addressee(self, guarantor_id: str) -> Addressee | None:
        """The account's statement addressee, or None when no claim described the guarantor."""
        account = await self.find(col(GuarantorAccount.guarantor_id) == guarantor_id)
        if account is None:
            return None
        address = account.address
        return Addressee(
            account.first_name,
            account.last_name,
            MailingAddress(
                line1=str(address["line1"]),
                line2=str(address["line2"]) if address.get("line2") else None,
                city=str(address["city"]),
                state=str(address["state"]),
                postal_code=str(address["postal_code"]),
            )
            if address
            else None,
        )

    async def note(
        self, guarantor_id: str, first_name: str, last_name: str, address: dict[str, object] | None, as_of: datetime
    ) -> None:
        """Keep what the claim submitted at ``as_of`` says of the guarantor, unless a later claim said otherwise
        (events of different claims arrive in any order; a redelivered one changes nothing). One upsert, no read."""
        await self.note_many([GuarantorNote(guarantor_id, first_name, last_name, address, as_of)])

    async def note_many(self, notes: Sequence[GuarantorNote]) -> None:
        """``note`` for many claims in one statement, with the same outcome as noting them in turn: of the notes of
        one guarantor, the last with the latest ``as_of`` is kept, if not older than the stored one."""
        latest: dict[str, GuarantorNote] = {}
        for note in notes:
            kept = latest.get(note.guarantor_id)
            if kept is None or kept.as_of <= note.as_of:
                latest[note.guarantor_id] = note
        if not latest:
            return
        dialect = (await self.session.connection()).dialect.name
        now = utcnow()
        params = [{"tenant_id": self.tenant_id, **note._asdict(), "updated_at": now} for note in latest.values()]
        await self.session.exec(_note_statement(dialect), params=params)


EARLY_CORRECTION_DAYS = 90  # far longer than any catch-up after an outage


class EarlyCorrectionRepository:
    """Corrections of one tenant read before the claim they correct."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def keep(self, event: ClaimResubmitted) -> None:
        """Keep a correction until its original claim arrives. One of a claim that was never submitted (a held claim
        sent again as new) waits for nothing: corrections kept longer than ``EARLY_CORRECTION_DAYS`` are dropped."""
        await self.session.exec(
            delete(EarlyCorrection).where(
                col(EarlyCorrection.tenant_id) == self.tenant_id,
                col(EarlyCorrection.created_at) < utcnow() - timedelta(days=EARLY_CORRECTION_DAYS),
            )
        )
        self.session.add(
            EarlyCorrection(
                tenant_id=self.tenant_id,
                original_claim_id=event.original_claim_id,
                claim_id=event.claim_id,
                event=event.model_dump(mode="json"),
            )
        )

    async def take(self, original_claim_id: str) -> list[ClaimResubmitted]:
        """The corrections that waited for ``original_claim_id``, oldest first; they are removed."""
        rows = (
            await self.session.exec(
                select(EarlyCorrection)
                .where(
                    EarlyCorrection.tenant_id == self.tenant_id,
                    EarlyCorrection.original_claim_id == original_claim_id,
                )
                .order_by(col(EarlyCorrection.id))
                .with_for_update()  # the mailbox round's settling takes them too: one of the two applies each
            )
        ).all()
        for row in rows:
            await self.session.delete(row)
        return [ClaimResubmitted.model_validate(row.event) for row in rows]


class RemittanceRepository(TenantRepository[Remittance]):
    """ERAs of one tenant."""

    model = Remittance
    resource_name = "Remittance"


class ClaimPaymentRepository(TenantRepository[ClaimPaymentRecord]):
    """835 claim payments of one tenant."""

    model = ClaimPaymentRecord
    resource_name = "ClaimPayment"


class LedgerRepository:
    """Ledger entries of one tenant (rows have no string id, so this is not a TenantRepository)."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def for_claim(self, claim_id: str) -> Sequence[LedgerEntry]:
        """A claim's entries in posting order."""
        rows = await self.session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.tenant_id == self.tenant_id, LedgerEntry.claim_id == claim_id)
            .order_by(col(LedgerEntry.id))
        )
        return rows.all()


class DepositRepository(TenantRepository[Deposit]):
    """Bank deposits of one tenant."""

    model = Deposit
    resource_name = "Deposit"


class PatientPaymentRepository(TenantRepository[PatientPayment]):
    """Patient payments and refunds of one tenant."""

    model = PatientPayment
    resource_name = "PatientPayment"


_CHUNK = 500
_RECEIVABLES = [a.value for a in RECEIVABLES]


def _cents(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(ZERO)


class ReceivablesRepository:
    """The ledger sums of one tenant that AR aging, statements and KPIs are computed from.

    ``through`` limits a query to entries effective on or before that day (a charge is effective on its date of
    service, an 835 on its payment date, a patient payment on the day it was received); None reads everything.
    """

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _ledger(self, through: date | None) -> list[ColumnElement[bool]]:
        conditions = [col(LedgerEntry.tenant_id) == self.tenant_id]
        if through is not None:
            conditions.append(col(LedgerEntry.effective_date) <= through)
        return conditions

    async def claims(self, claim_ids: Iterable[str]) -> dict[str, OpenClaim]:
        """The tenant's claims with these ids."""
        unique = sorted(set(claim_ids))
        found: dict[str, OpenClaim] = {}
        for start in range(0, len(unique), _CHUNK):
            rows = await self.session.exec(
                select(OpenClaim).where(
                    OpenClaim.tenant_id == self.tenant_id, col(OpenClaim.id).in_(unique[start : start + _CHUNK])
                )
            )
            found.update({c.id: c for c in rows.all()})
        return found

    async def latest_claim_of(
        self, *, patient_id: str | None = None, guarantor_id: str | None = None, lock: bool = False
    ) -> OpenClaim | None:
        """The most recently submitted claim of the patient or of the guarantor's account (None: the tenant never
        billed them).

        ``lock`` holds the row until the transaction ends: postings to one guarantor's account lock its latest claim
        and take turns.
        """
        if (patient_id is None) == (guarantor_id is None):
            raise ValueError("name the patient or the guarantor")
        match = OpenClaim.patient_id == patient_id if patient_id is not None else OpenClaim.guarantor_id == guarantor_id
        query = (
            select(OpenClaim)
            .where(OpenClaim.tenant_id == self.tenant_id, match)
            .order_by(col(OpenClaim.submitted_at).desc(), col(OpenClaim.id).desc())
            .limit(1)
        )
        rows = await self.session.exec(query.with_for_update() if lock else query)
        return rows.first()

    async def claim_receivables(self, through: date | None) -> list[ClaimReceivable]:
        """Every claim with money outstanding in insurance, denied or patient AR."""
        rows = await self.session.exec(
            select(LedgerEntry.claim_id, LedgerEntry.account, func.sum(LedgerEntry.amount))
            .where(
                *self._ledger(through),
                col(LedgerEntry.claim_id).is_not(None),
                col(LedgerEntry.account).in_(_RECEIVABLES),
            )
            .group_by(col(LedgerEntry.claim_id), col(LedgerEntry.account))
        )
        sums: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for claim_id, account, total in rows.all():
            if claim_id is not None and _cents(total):
                sums[claim_id][account] = _cents(total)
        claims = await self.claims(sums)
        return [
            ClaimReceivable(
                claim_id=claim.id,
                patient_id=claim.patient_id,
                guarantor_id=claim.guarantor_id,
                payer_id=claim.payer_id,
                practice_id=claim.practice_id,
                provider_npi=claim.rendering_provider_npi,
                service_date=service_date_of(claim),
                insurance=sums[claim.id].get(Account.INSURANCE_AR.value, ZERO),
                denied=sums[claim.id].get(Account.DENIED_AR.value, ZERO),
                patient=sums[claim.id].get(Account.PATIENT_AR.value, ZERO),
            )
            for claim in claims.values()
        ]

    async def patient_items(self, through: date | None) -> list[PatientItem]:
        """Patient AR posted on claims (from 835 patient responsibility), per claim."""
        conditions = [
            *self._ledger(through),
            col(LedgerEntry.account) == Account.PATIENT_AR.value,
            col(LedgerEntry.claim_id).is_not(None),
        ]
        rows = await self.session.exec(
            select(LedgerEntry.claim_id, func.sum(LedgerEntry.amount))
            .where(*conditions)
            .group_by(col(LedgerEntry.claim_id))
        )
        sums = {claim_id: _cents(total) for claim_id, total in rows.all() if claim_id is not None and _cents(total)}
        claims = await self.claims(sums)
        return [
            PatientItem(claim.guarantor_id, claim.id, service_date_of(claim), sums[claim.id], claim.patient_id)
            for claim in claims.values()
        ]

    async def on_account(self, through: date | None, guarantor_id: str | None = None) -> dict[str, Decimal]:
        """Per guarantor, patient AR not posted on a claim: payments (negative) and refunds taken on account."""
        conditions = [
            *self._ledger(through),
            col(LedgerEntry.account) == Account.PATIENT_AR.value,
            col(LedgerEntry.claim_id).is_(None),
            col(LedgerEntry.guarantor_id).is_not(None),
        ]
        if guarantor_id is not None:
            conditions.append(col(LedgerEntry.guarantor_id) == guarantor_id)
        rows = await self.session.exec(
            select(LedgerEntry.guarantor_id, func.sum(LedgerEntry.amount))
            .where(*conditions)
            .group_by(col(LedgerEntry.guarantor_id))
        )
        return {account: _cents(total) for account, total in rows.all() if account is not None and _cents(total)}

    async def claim_activity(
        self, guarantor_id: str, through: date | None
    ) -> tuple[list[ClaimActivity], dict[str, Decimal]]:
        """Each claim on the guarantor's account summed by what the money was, and each claim's patient AR."""
        rows = await self.session.exec(
            select(LedgerEntry.claim_id, LedgerEntry.account, LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(
                *self._ledger(through),
                col(LedgerEntry.guarantor_id) == guarantor_id,
                col(LedgerEntry.claim_id).is_not(None),
            )
            .group_by(col(LedgerEntry.claim_id), col(LedgerEntry.account), col(LedgerEntry.kind))
        )
        sums: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(dict)
        for claim_id, account, kind, total in rows.all():
            if claim_id is not None:
                sums[claim_id][(account, kind)] = _cents(total)
        claims = await self.claims(sums)
        activities: list[ClaimActivity] = []
        patient_ar: dict[str, Decimal] = {}
        for claim in claims.values():
            money = sums[claim.id]
            patient_ar[claim.id] = _sum(money, Account.PATIENT_AR)
            activities.append(
                ClaimActivity(
                    claim_id=claim.id,
                    patient_id=claim.patient_id,
                    patient_control_number=claim.patient_control_number,
                    payer_id=claim.payer_id,
                    service_date=service_date_of(claim),
                    charges=-_sum(money, Account.CHARGES),
                    insurance_paid=_sum(money, Account.PAYER_CASH, EntryKind.PAYMENT),
                    adjustments=_sum(money, Account.CONTRACTUAL) + _sum(money, Account.OTHER_ADJUSTMENT),
                    deductible=_sum(money, Account.PATIENT_AR, EntryKind.DEDUCTIBLE),
                    coinsurance=_sum(money, Account.PATIENT_AR, EntryKind.COINSURANCE),
                    copay=_sum(money, Account.PATIENT_AR, EntryKind.COPAY),
                    other_patient=_sum(money, Account.PATIENT_AR, EntryKind.PATIENT_OTHER),
                    pending_insurance=_sum(money, Account.INSURANCE_AR) + _sum(money, Account.DENIED_AR),
                    patient_name=claim.patient_name,
                    practice_id=claim.practice_id,
                )
            )
        return activities, patient_ar

    async def receivables_total(self, through: date) -> Decimal:
        """The ledger balance of insurance, denied and patient AR on ``through``."""
        total = (
            await self.session.exec(
                select(func.sum(LedgerEntry.amount)).where(
                    *self._ledger(through), col(LedgerEntry.account).in_(_RECEIVABLES)
                )
            )
        ).one()
        return _cents(total)

    async def period_money(self, start: date, end: date) -> PeriodMoney:
        """Charges, contractual adjustments and payments effective in ``start``..``end``."""
        rows = await self.session.exec(
            select(LedgerEntry.account, LedgerEntry.kind, func.sum(LedgerEntry.amount))
            .where(
                col(LedgerEntry.tenant_id) == self.tenant_id,
                col(LedgerEntry.effective_date) >= start,
                col(LedgerEntry.effective_date) <= end,
                col(LedgerEntry.account).in_(
                    [
                        Account.CHARGES.value,
                        Account.CONTRACTUAL.value,
                        Account.PAYER_CASH.value,
                        Account.PATIENT_CASH.value,
                    ]
                ),
            )
            .group_by(col(LedgerEntry.account), col(LedgerEntry.kind))
        )
        sums = {(account, kind): _cents(total) for account, kind, total in rows.all()}
        return PeriodMoney(
            charges=-_sum(sums, Account.CHARGES, EntryKind.CHARGE),
            contractual=_sum(sums, Account.CONTRACTUAL),
            payer_payments=_sum(sums, Account.PAYER_CASH, EntryKind.PAYMENT),
            patient_payments=_sum(sums, Account.PATIENT_CASH),
        )

    async def claim_facts(self, start: date, end: date) -> list[ClaimFacts]:
        """Claims submitted in ``start``..``end`` or first paid then, with their first payment date."""
        first_paid = (
            select(LedgerEntry.claim_id, func.min(LedgerEntry.effective_date))
            .where(
                col(LedgerEntry.tenant_id) == self.tenant_id,
                col(LedgerEntry.account) == Account.PAYER_CASH.value,
                col(LedgerEntry.kind) == EntryKind.PAYMENT.value,
                col(LedgerEntry.amount) > 0,
                col(LedgerEntry.claim_id).is_not(None),
            )
            .group_by(col(LedgerEntry.claim_id))
        )
        paid_on = {claim_id: day for claim_id, day in (await self.session.exec(first_paid)).all() if claim_id}
        submitted = await self.session.exec(
            select(OpenClaim).where(
                OpenClaim.tenant_id == self.tenant_id,
                col(OpenClaim.submitted_at) >= datetime.combine(start, time.min, UTC),
                col(OpenClaim.submitted_at) < datetime.combine(end + timedelta(days=1), time.min, UTC),
            )
        )
        claims = {c.id: c for c in submitted.all()}
        claims.update(await self.claims(c for c, day in paid_on.items() if start <= _day(day) <= end))
        return [
            ClaimFacts(
                claim_id=claim.id,
                service_date=service_date_of(claim),
                submitted_on=claim.submitted_at.astimezone(UTC).date(),
                acknowledgment=claim.acknowledgment,
                first_paid_on=_day(paid_on[claim.id]) if claim.id in paid_on else None,
            )
            for claim in claims.values()
        ]

    async def adjudications(self, start: date, end: date) -> list[Adjudication]:
        """Claim payments posted from ERAs paid in ``start``..``end``, with the CARCs each moved to denied AR."""
        rows = await self.session.exec(
            select(
                ClaimPaymentRecord.claim_id,
                ClaimPaymentRecord.remittance_id,
                ClaimPaymentRecord.outcome,
                col(Remittance.payment_date),
            )
            .join(Remittance, col(Remittance.id) == col(ClaimPaymentRecord.remittance_id))
            .where(
                col(ClaimPaymentRecord.tenant_id) == self.tenant_id,
                col(Remittance.tenant_id) == self.tenant_id,
                col(ClaimPaymentRecord.state) == "posted",
                col(Remittance.payment_date) >= start,
                col(Remittance.payment_date) <= end,
            )
        )
        payments = [(c, r, o, d) for c, r, o, d in rows.all() if c is not None and o is not None]
        denial_rows = await self.session.exec(
            select(LedgerEntry.claim_id, LedgerEntry.remittance_id, LedgerEntry.carc)
            .where(
                col(LedgerEntry.tenant_id) == self.tenant_id,
                col(LedgerEntry.account) == Account.DENIED_AR.value,
                col(LedgerEntry.kind) == EntryKind.DENIAL.value,
                col(LedgerEntry.amount) > 0,
                col(LedgerEntry.effective_date) >= start,
                col(LedgerEntry.effective_date) <= end,
            )
            .distinct()
        )
        carcs: dict[tuple[str, str], set[str]] = defaultdict(set)
        for claim_id, remittance_id, carc in denial_rows.all():
            if claim_id and remittance_id and carc:
                carcs[(claim_id, remittance_id)].add(carc)
        return [
            Adjudication(claim_id, outcome, paid_on, tuple(sorted(carcs.get((claim_id, remittance_id), ()))))
            for claim_id, remittance_id, outcome, paid_on in payments
        ]

    async def remittance_facts(self) -> list[EraFact]:
        """Every ERA's payment (posted or held)."""
        rows = await self.session.exec(select(Remittance).where(Remittance.tenant_id == self.tenant_id))
        return [
            EraFact(r.id, r.trace_number, r.payer_id, r.payment_amount, r.payment_date, r.status) for r in rows.all()
        ]

    async def deposit_facts(self) -> list[DepositFact]:
        """Every recorded deposit."""
        rows = await self.session.exec(select(Deposit).where(Deposit.tenant_id == self.tenant_id))
        return [DepositFact(d.id, d.trace_number, d.amount, d.deposit_date, d.payer_id) for d in rows.all()]


def _sum(money: dict[tuple[str, str], Decimal], account: Account, *kinds: EntryKind) -> Decimal:
    """The total of ``account`` (of ``kinds`` only, when given) in sums keyed by (account, kind)."""
    return sum((v for (a, k), v in money.items() if a == account.value and (not kinds or k in kinds)), ZERO)


def service_date_of(claim: OpenClaim) -> date:
    """The claim's first date of service (claims indexed before it was recorded age from submission)."""
    return claim.service_date or claim.submitted_at.astimezone(UTC).date()


def _day(value: date | datetime | str) -> date:
    """A date as read back from an aggregate (SQLite returns MIN(date) as text)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class StatementRunRepository(TenantRepository[StatementRun]):
    """Statement runs of one tenant."""

    model = StatementRun
    resource_name = "StatementRun"


class IssuedStatementRepository(TenantRepository[IssuedStatement]):
    """Statements issued to one tenant's guarantors."""

    model = IssuedStatement
    resource_name = "Statement"
