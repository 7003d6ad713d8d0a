"""Accounts receivable, patient statements and the KPIs billing companies watch, from ledger balances.

Nothing here does I/O: the service reads sums of ledger entries (never counters kept on the side) and hands them
to these functions, so every figure can be recomputed from the journal.

**Aging is by date of service**: a claim's age is ``as_of`` minus its first date of service. That is the clock
timely-filing limits and payer follow-up run on, and it keeps submission delays visible as older AR instead of
restarting the clock when a claim finally goes out (aging by submission or posting date would hide them).
Buckets are 0-30, 31-60, 61-90, 91-120 and 120+ days, both ends inclusive (30 days old is still 0-30).

**The patient's share is billed to a guarantor**: the account of whoever is responsible for the patient (a parent for
a child, the patient for themselves). One guarantor's account holds the claims of every patient they answer for;
statements, balances and patient payments are per guarantor.

**Patient payments are taken on account** (the guarantor pays the balance, not a line): when balances are reported,
each guarantor's payments are applied to their oldest open patient responsibility first, so a statement and the
patient column of the aging agree with the patient AR the ledger holds. What is left after that is the guarantor's
credit (negative), reported on its own rather than in an age bucket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

ZERO = Decimal("0.00")
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")
_BUCKET_LIMITS = (30, 60, 90, 120)  # the oldest age (days) each bucket but the last holds
DAYS_IN_AR_LOOKBACK = 90


def bucket_of(age_days: int) -> str:
    """The aging bucket of a receivable ``age_days`` old (a service dated after ``as_of`` counts as current)."""
    for label, limit in zip(BUCKETS, _BUCKET_LIMITS, strict=False):
        if age_days <= limit:
            return label
    return BUCKETS[-1]


def empty_buckets() -> dict[str, Decimal]:
    """Every bucket at zero, in order."""
    return dict.fromkeys(BUCKETS, ZERO)


def with_total(buckets: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The buckets followed by their total."""
    return {**buckets, "total": sum(buckets.values(), ZERO)}


# --- applying patient payments -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatientItem:
    """A claim's patient AR as posted from the 835 (deductible, coinsurance, copay...), before payments."""

    guarantor_id: str
    claim_id: str
    service_date: date
    amount: Decimal
    patient_id: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """Patient payments applied to claims, oldest date of service first."""

    applied: dict[str, Decimal]  # claim id -> payments (and claim credits) applied; balance = amount - applied
    unapplied: dict[str, Decimal]  # guarantor id -> left on account after applying (negative: a credit)

    def balance(self, item: PatientItem) -> Decimal:
        """What the guarantor still owes on the item's claim."""
        return item.amount - self.applied.get(item.claim_id, ZERO)


def allocate_patient_payments(items: Iterable[PatientItem], on_account: Mapping[str, Decimal]) -> Allocation:
    """Apply each guarantor's money on account (negative = paid) to their oldest positive claim balances, whichever
    of their patients the claim is for.

    A claim whose patient AR went negative (a reversal after the guarantor paid) gives its credit to the pool too,
    so one guarantor never shows a balance due on one claim and a credit on another.
    """
    by_guarantor: dict[str, list[PatientItem]] = defaultdict(list)
    for item in items:
        by_guarantor[item.guarantor_id].append(item)
    applied: dict[str, Decimal] = {}
    unapplied: dict[str, Decimal] = {}
    for guarantor_id in sorted(set(by_guarantor) | set(on_account)):
        claims = sorted(by_guarantor.get(guarantor_id, []), key=lambda i: (i.service_date, i.claim_id))
        pool = on_account.get(guarantor_id, ZERO)
        for item in claims:
            if item.amount < 0:
                applied[item.claim_id] = item.amount
                pool += item.amount
        for item in claims:
            if item.amount > 0 and pool < 0:
                used = min(item.amount, -pool)
                applied[item.claim_id] = used
                pool += used
        if pool:
            unapplied[guarantor_id] = pool
    return Allocation(applied, unapplied)


# --- AR aging ----------------------------------------------------------------------------------------------


class GroupBy(StrEnum):
    """What AR aging is reported per."""

    TENANT = "tenant"
    PRACTICE = "practice"
    PROVIDER = "provider"  # the rendering provider's NPI
    PAYER = "payer"


@dataclass(frozen=True, slots=True)
class ClaimReceivable:
    """What one claim still has outstanding on the ledger, by who owes it, with the keys AR is grouped by."""

    claim_id: str
    patient_id: str
    guarantor_id: str
    payer_id: str
    practice_id: str
    provider_npi: str | None
    service_date: date
    insurance: Decimal  # insurance_ar: billed, not yet adjudicated
    denied: Decimal  # denied_ar: denied, being worked
    patient: Decimal  # patient_ar posted on the claim (payments on account not yet applied)

    def key(self, by: GroupBy, tenant_id: str) -> str:
        """The group this claim is reported in."""
        if by is GroupBy.PRACTICE:
            return self.practice_id or "unassigned"
        if by is GroupBy.PROVIDER:
            return self.provider_npi or "unassigned"
        if by is GroupBy.PAYER:
            return self.payer_id
        return tenant_id


@dataclass(frozen=True)
class AgingGroup:
    """Outstanding AR of one group by age bucket: insurance (incl. denied), denied alone, patient, and all."""

    key: str
    claims: int
    insurance: dict[str, Decimal]
    denied: dict[str, Decimal]
    patient: dict[str, Decimal]
    total: dict[str, Decimal]


@dataclass(frozen=True)
class AgingReport:
    """AR aging as of a date; ``receivables`` is the ledger balance = the grand total + unapplied patient money."""

    as_of: date
    by: GroupBy
    groups: list[AgingGroup]
    totals: AgingGroup
    unapplied_patient_credit: Decimal
    receivables: Decimal


@dataclass
class _Accumulator:
    claims: set[str] = field(default_factory=set)
    insurance: dict[str, Decimal] = field(default_factory=empty_buckets)
    denied: dict[str, Decimal] = field(default_factory=empty_buckets)
    patient: dict[str, Decimal] = field(default_factory=empty_buckets)

    def add(self, claim_id: str, bucket: str, insurance: Decimal, denied: Decimal, patient: Decimal) -> None:
        self.claims.add(claim_id)
        self.insurance[bucket] += insurance + denied
        self.denied[bucket] += denied
        self.patient[bucket] += patient

    def group(self, key: str) -> AgingGroup:
        total = {b: self.insurance[b] + self.patient[b] for b in BUCKETS}
        return AgingGroup(
            key,
            len(self.claims),
            with_total(self.insurance),
            with_total(self.denied),
            with_total(self.patient),
            with_total(total),
        )


def age_receivables(
    claims: Sequence[ClaimReceivable],
    on_account: Mapping[str, Decimal],
    *,
    as_of: date,
    by: GroupBy,
    tenant_id: str,
) -> AgingReport:
    """Age every claim's outstanding balance (insurance + denied + patient after payments) by date of service."""
    allocation = allocate_patient_payments(
        (PatientItem(c.guarantor_id, c.claim_id, c.service_date, c.patient, c.patient_id) for c in claims), on_account
    )
    groups: dict[str, _Accumulator] = defaultdict(_Accumulator)
    everything = _Accumulator()
    for claim in claims:
        patient = claim.patient - allocation.applied.get(claim.claim_id, ZERO)
        if not (claim.insurance or claim.denied or patient):
            continue
        bucket = bucket_of((as_of - claim.service_date).days)
        for accumulator in (groups[claim.key(by, tenant_id)], everything):
            accumulator.add(claim.claim_id, bucket, claim.insurance, claim.denied, patient)
    totals = everything.group("all")
    credit = sum(allocation.unapplied.values(), ZERO)
    return AgingReport(
        as_of=as_of,
        by=by,
        groups=[groups[key].group(key) for key in sorted(groups)],
        totals=totals,
        unapplied_patient_credit=credit,
        receivables=totals.total["total"] + credit,
    )


# --- KPIs --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ratio:
    """A KPI with the numbers it is made of; ``value`` is None when there is nothing to divide by."""

    numerator: Decimal
    denominator: Decimal
    value: Decimal | None


def ratio(numerator: Decimal | int, denominator: Decimal | int, places: str = "0.0001") -> Ratio:
    """``numerator / denominator`` rounded half-up to ``places``."""
    top, bottom = Decimal(numerator), Decimal(denominator)
    value = (top / bottom).quantize(Decimal(places), ROUND_HALF_UP) if bottom else None
    return Ratio(top, bottom, value)


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period, both days included."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What the claim KPIs need to know about one submitted claim."""

    claim_id: str
    service_date: date
    submitted_on: date
    acknowledgment: str | None  # the first answer: accepted / rejected
    first_paid_on: date | None  # the payment date (BPR16) of the first payer payment posted to the claim


@dataclass(frozen=True, slots=True)
class Adjudication:
    """One posted 835 claim payment: its outcome, the payment date, and the CARCs it moved to denied AR."""

    claim_id: str
    outcome: str
    paid_on: date
    denial_carcs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PeriodMoney:
    """Ledger sums of a period: gross charges (by date of service), contractual write-offs, money received."""

    charges: Decimal
    contractual: Decimal
    payer_payments: Decimal
    patient_payments: Decimal  # payments less refunds


@dataclass(frozen=True)
class DenialReason:
    """Claims with a denied outcome citing one CARC, over the claims adjudicated."""

    carc: str
    rate: Ratio


@dataclass(frozen=True)
class Kpis:
    """The period's KPIs, each with its numerator and denominator."""

    period: Period
    clean_claim_rate: Ratio
    denial_rate: Ratio
    denial_rate_by_carc: list[DenialReason]
    days_in_ar: Ratio
    net_collection_rate: Ratio
    days_to_submission: Ratio
    days_to_first_payment: Ratio


UNSPECIFIED = "unspecified"


def compute_kpis(
    period: Period,
    claims: Sequence[ClaimFacts],
    adjudications: Sequence[Adjudication],
    money: PeriodMoney,
    *,
    receivables: Decimal,
    lookback_charges: Decimal,
) -> Kpis:
    """KPIs of ``period``.

    - clean-claim rate: claims submitted in the period accepted on their first answer / those with an answer;
    - denial rate: claims with a denied outcome / claims adjudicated (835 payment date in the period; reversals
      are not adjudications); by CARC: denied claims citing that CARC / claims adjudicated;
    - days in AR: AR at the period's end / average daily charges of the 90 days ending then;
    - net collection rate: payments received / (charges - contractual adjustments) of the period;
    - days to submission: Σ (submission date - date of service) / claims submitted in the period;
    - days to first payment: Σ (first payment date - date of service) / claims first paid in the period.
    """
    submitted = [c for c in claims if c.submitted_on in period]
    answered = [c for c in submitted if c.acknowledgment is not None]
    clean = ratio(sum(1 for c in answered if c.acknowledgment == "accepted"), len(answered))

    adjudicated: set[str] = set()
    denied: set[str] = set()
    by_carc: dict[str, set[str]] = defaultdict(set)
    for item in adjudications:
        if item.paid_on not in period or item.outcome == "reversed":
            continue
        adjudicated.add(item.claim_id)
        if item.outcome == "denied":
            denied.add(item.claim_id)
            for carc in item.denial_carcs or (UNSPECIFIED,):
                by_carc[carc].add(item.claim_id)
    reasons = [
        DenialReason(carc, ratio(len(ids), len(adjudicated)))
        for carc, ids in sorted(by_carc.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]

    daily_charges = lookback_charges / DAYS_IN_AR_LOOKBACK
    days_in_ar = Ratio(
        receivables,
        daily_charges.quantize(Decimal("0.0001"), ROUND_HALF_UP),
        (receivables * DAYS_IN_AR_LOOKBACK / lookback_charges).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if lookback_charges
        else None,
    )
    payments = money.payer_payments + money.patient_payments
    paid = [c for c in claims if c.first_paid_on is not None and c.first_paid_on in period]
    return Kpis(
        period=period,
        clean_claim_rate=clean,
        denial_rate=ratio(len(denied), len(adjudicated)),
        denial_rate_by_carc=reasons,
        days_in_ar=days_in_ar,
        net_collection_rate=ratio(payments, money.charges - money.contractual),
        days_to_submission=ratio(
            sum((c.submitted_on - c.service_date).days for c in submitted), len(submitted), "0.01"
        ),
        days_to_first_payment=ratio(
            sum((c.first_paid_on - c.service_date).days for c in paid if c.first_paid_on), len(paid), "0.01"
        ),
    )


# --- patient statements ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimActivity:
    """A claim's money as the patient sees it, summed from its ledger entries."""

    claim_id: str
    patient_id: str
    patient_control_number: str
    payer_id: str
    service_date: date
    charges: Decimal
    insurance_paid: Decimal
    adjustments: Decimal  # contractual and other write-offs
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    other_patient: Decimal  # PR amounts that are not deductible, coinsurance or copay (e.g. non-covered)
    pending_insurance: Decimal  # insurance AR + denied AR: still with the payer, not billed to the patient
    patient_name: str | None = None  # as the claim named the patient (claims submitted before names were carried: None)
    practice_id: str = ""

    @property
    def patient_responsibility(self) -> Decimal:
        """Everything the 835s assigned to the patient."""
        return self.deductible + self.coinsurance + self.copay + self.other_patient


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One claim on a statement: its activity, the patient payments applied to it and what is left."""

    activity: ClaimActivity
    patient_payments: Decimal
    balance: Decimal


@dataclass(frozen=True, slots=True)
class PaymentActivity:
    """A patient payment or refund as it appears on the statement."""

    received_on: date
    kind: str  # payment / refund
    amount: Decimal
    method: str
    reference: str | None


@dataclass(frozen=True, slots=True)
class MailingAddress:
    """A US postal address as a statement prints it."""

    line1: str
    line2: str | None
    city: str
    state: str
    postal_code: str

    def lines(self) -> tuple[str, ...]:
        """The address block's lines: street (and unit), then city, state and ZIP (ZIP+4 with its hyphen)."""
        code = self.postal_code if len(self.postal_code) == 5 else f"{self.postal_code[:5]}-{self.postal_code[5:]}"
        street = (self.line1,) if not self.line2 else (self.line1, self.line2)
        return (*street, f"{self.city}, {self.state} {code}")


@dataclass(frozen=True, slots=True)
class Addressee:
    """Whom a statement is mailed to; without an address it cannot be mailed (the run reports it)."""

    first_name: str
    last_name: str
    address: MailingAddress | None

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class PayTo:
    """A practice whose services a statement bills: who the guarantor pays, and where to send a check."""

    name: str
    address: MailingAddress | None


@dataclass(frozen=True)
class Statement:
    """A guarantor's statement: claims by date of service, payments, the aged balance and the amount due."""

    guarantor_id: str
    patient_ids: tuple[str, ...]  # every patient with a claim on it
    statement_date: date
    lines: list[StatementLine]
    payments: list[PaymentActivity]
    aging: dict[str, Decimal]
    balance: Decimal  # patient AR: the sum of line balances plus any unapplied credit
    unapplied_credit: Decimal
    amount_due: Decimal
    mail_to: Addressee | None = None  # None: nobody described the guarantor yet
    pay_to: tuple[PayTo, ...] = ()  # the practices of its claims, the newest service first

    @property
    def mailable(self) -> bool:
        """Whether the statement has a name and postal address to go to."""
        return self.mail_to is not None and self.mail_to.address is not None

    @property
    def total_charges(self) -> Decimal:
        """Charges of the claims on the statement."""
        return sum((line.activity.charges for line in self.lines), ZERO)

    @property
    def total_insurance_paid(self) -> Decimal:
        """What the payers paid on them."""
        return sum((line.activity.insurance_paid for line in self.lines), ZERO)

    @property
    def total_patient_payments(self) -> Decimal:
        """Patient payments less refunds."""
        return sum((p.amount if p.kind == "payment" else -p.amount for p in self.payments), ZERO)


def build_statement(
    guarantor_id: str,
    statement_date: date,
    activities: Sequence[ClaimActivity],
    patient_ar: Mapping[str, Decimal],
    on_account: Decimal,
    payments: Sequence[PaymentActivity],
    mail_to: Addressee | None = None,
    practices: Mapping[str, PayTo] | None = None,
) -> Statement:
    """The statement of one guarantor, every patient's claims on it: ``patient_ar`` is each claim's patient AR."""
    items = [
        PatientItem(guarantor_id, a.claim_id, a.service_date, patient_ar.get(a.claim_id, ZERO), a.patient_id)
        for a in activities
    ]
    allocation = allocate_patient_payments(items, {guarantor_id: on_account} if on_account else {})
    aging = empty_buckets()
    lines = []
    for item, activity in sorted(zip(items, activities, strict=True), key=lambda p: (p[1].service_date, p[1].claim_id)):
        balance = allocation.balance(item)
        lines.append(StatementLine(activity, allocation.applied.get(item.claim_id, ZERO), balance))
        if balance:
            aging[bucket_of((statement_date - activity.service_date).days)] += balance
    credit = allocation.unapplied.get(guarantor_id, ZERO)
    balance = sum((line.balance for line in lines), ZERO) + credit
    return Statement(
        guarantor_id=guarantor_id,
        patient_ids=tuple(sorted({a.patient_id for a in activities})),
        statement_date=statement_date,
        lines=lines,
        payments=sorted(payments, key=lambda p: (p.received_on, p.kind)),
        aging=with_total(aging),
        balance=balance,
        unapplied_credit=credit,
        amount_due=max(balance, ZERO),
        mail_to=mail_to,
        pay_to=tuple(
            dict.fromkeys(
                (practices or {})[line.activity.practice_id]
                for line in reversed(lines)
                if line.activity.practice_id in (practices or {})
            )
        ),
    )


@dataclass(frozen=True)
class GuarantorBalance:
    """One guarantor of a statement run: the balance due, aged, and its oldest open date of service."""

    guarantor_id: str
    patient_ids: tuple[str, ...]  # the patients of the open claims
    balance: Decimal
    claims: int
    oldest_service_date: date | None
    aging: dict[str, Decimal]


def statement_run(
    items: Sequence[PatientItem], on_account: Mapping[str, Decimal], *, as_of: date, min_balance: Decimal
) -> list[GuarantorBalance]:
    """Guarantors whose balance due is at least ``min_balance``, largest balance first."""
    allocation = allocate_patient_payments(items, on_account)
    open_items: dict[str, list[tuple[PatientItem, Decimal]]] = defaultdict(list)
    for item in items:
        balance = allocation.balance(item)
        if balance:
            open_items[item.guarantor_id].append((item, balance))
    run = []
    for guarantor_id in sorted(set(open_items) | set(allocation.unapplied)):
        aging = empty_buckets()
        for item, balance in open_items.get(guarantor_id, []):
            aging[bucket_of((as_of - item.service_date).days)] += balance
        total = sum(aging.values(), ZERO) + allocation.unapplied.get(guarantor_id, ZERO)
        if total < min_balance or total <= 0:
            continue
        dates = [item.service_date for item, _ in open_items.get(guarantor_id, [])]
        run.append(
            GuarantorBalance(
                guarantor_id,
                tuple(sorted({item.patient_id for item, _ in open_items.get(guarantor_id, [])})),
                total,
                len(dates),
                min(dates) if dates else None,
                with_total(aging),
            )
        )
    return sorted(run, key=lambda g: (-g.balance, g.guarantor_id))
