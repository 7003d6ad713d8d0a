"""Double-entry posting rules: every money movement is a set of entries that sums to zero.

Accounts (signed amounts; a debit is positive):

- ``insurance_ar`` — what payers still owe on a claim line; a claim's charges open it.
- ``denied_ar`` — denied amounts moved out of insurance AR while someone works them (correct, appeal, write off).
  A denial is not written off on posting: the money is still owed until a person decides otherwise.
- ``patient_ar`` — patient responsibility (deductible, coinsurance, copay, non-covered) less patient payments.
- ``payer_cash`` / ``patient_cash`` — money received.
- ``contractual_adjustment`` — CO write-offs the contract requires (fee schedule, sequestration, multiple procedure).
- ``other_adjustment`` — OA/PI/CR write-offs that are not denials.
- ``provider_account`` — provider-level adjustments (PLB): recoupments owed, interest received, forward balances.
- ``unapplied_cash`` — money an ERA paid for claims nobody has matched yet (the unmatched work queue).
- ``charges`` — the credit side of billed charges.

Because each rule emits balanced pairs, the ledger as a whole sums to zero after any sequence of postings, and
a reversal (CLP02 22, amounts negated) undoes its original exactly when posted with the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from remit_svc.domain.era import DENIED, ZERO, CasAmount, ClaimPayment, Era
from remit_svc.domain.matching import BilledLine


class Account(StrEnum):
    """Ledger accounts."""

    CHARGES = "charges"
    INSURANCE_AR = "insurance_ar"
    DENIED_AR = "denied_ar"
    PATIENT_AR = "patient_ar"
    PAYER_CASH = "payer_cash"
    PATIENT_CASH = "patient_cash"
    CONTRACTUAL = "contractual_adjustment"
    OTHER_ADJUSTMENT = "other_adjustment"
    PROVIDER_ACCOUNT = "provider_account"
    UNAPPLIED = "unapplied_cash"


RECEIVABLES = (Account.INSURANCE_AR, Account.DENIED_AR, Account.PATIENT_AR)


class EntryKind(StrEnum):
    """Why an entry exists."""

    CHARGE = "charge"
    PAYMENT = "payment"
    CONTRACTUAL = "contractual"
    OTHER_ADJUSTMENT = "other_adjustment"
    DEDUCTIBLE = "deductible"
    COINSURANCE = "coinsurance"
    COPAY = "copay"
    PATIENT_OTHER = "patient_other"
    DENIAL = "denial"
    PROVIDER_ADJUSTMENT = "provider_adjustment"
    PATIENT_PAYMENT = "patient_payment"
    PATIENT_REFUND = "patient_refund"
    UNAPPLIED = "unapplied"
    CHARGE_REVERSAL = "charge_reversal"  # a replaced or voided claim's charges leave AR
    ADJUDICATION = "adjudication"  # the insurance AR side of a claim line's payment and adjustments
    COB_TRANSFER = "cob_transfer"  # a patient balance billed to the next payer (secondary, tertiary)
    PRIOR_PAYER = "prior_payer"  # what earlier payers settled on a secondary claim's lines (its 835 says OA-23)


# CARCs that reduce the allowed amount under the contract or the law: written off when posted, not worked.
WRITE_OFF_REASONS = frozenset({"23", "24", "42", "45", "59", "94", "131", "144", "237", "253"})
_PATIENT_KINDS = {"1": EntryKind.DEDUCTIBLE, "2": EntryKind.COINSURANCE, "3": EntryKind.COPAY}


@dataclass(frozen=True, slots=True)
class Posting:
    """One ledger entry before it is stored."""

    account: Account
    amount: Decimal
    kind: EntryKind
    line_item_control_number: str | None = None
    group_code: str | None = None
    carc: str | None = None
    memo: str | None = None


def classify_adjustment(adjustment: CasAmount) -> tuple[Account, EntryKind]:
    """Which account a CAS amount moves to (from insurance AR)."""
    if adjustment.group_code == "PR":
        return Account.PATIENT_AR, _PATIENT_KINDS.get(adjustment.carc, EntryKind.PATIENT_OTHER)
    if adjustment.carc in WRITE_OFF_REASONS:
        if adjustment.group_code == "CO":
            return Account.CONTRACTUAL, EntryKind.CONTRACTUAL
        return Account.OTHER_ADJUSTMENT, EntryKind.OTHER_ADJUSTMENT
    return Account.DENIED_AR, EntryKind.DENIAL


def charge_postings(lines: Sequence[BilledLine]) -> list[Posting]:
    """A submitted claim's charges open insurance AR, line by line."""
    postings: list[Posting] = []
    for line in lines:
        postings += [
            Posting(Account.INSURANCE_AR, line.charge, EntryKind.CHARGE, line.line_item_control_number),
            Posting(Account.CHARGES, -line.charge, EntryKind.CHARGE, line.line_item_control_number),
        ]
    return postings


@dataclass(frozen=True, slots=True)
class Unsettled:
    """What a prior payer's claim line left open for the next payer: the patient's share and any denied amount."""

    line_item_control_number: str
    patient: Decimal = ZERO
    denied: Decimal = ZERO


def next_payer_postings(
    lines: Sequence[BilledLine], unsettled: Sequence[Unsettled | None]
) -> tuple[list[Posting], list[Posting]]:
    """A secondary (or tertiary) claim's opening journal: (its own postings, the prior claim's postings).

    The charges were booked when the first payer was billed, so they are not booked again. Each line opens
    insurance AR at its full charge, because the next payer's 835 settles the full charge: the part earlier
    payers settled comes back as OA-23 (written off against ``prior_payer`` here, so it nets to zero there) and
    the rest — the patient's share and a denied amount of the prior claim's line (a plan exclusion the next plan
    covers) — moves from the prior claim to this payer.
    """
    own: list[Posting] = []
    prior: list[Posting] = []
    for line, left in zip(lines, unsettled, strict=True):
        licn = line.line_item_control_number
        billed = left.patient + left.denied if left else ZERO
        own.append(Posting(Account.INSURANCE_AR, line.charge, EntryKind.CHARGE, licn))
        if line.charge != billed:
            own.append(Posting(Account.OTHER_ADJUSTMENT, billed - line.charge, EntryKind.PRIOR_PAYER, licn))
        if left is None:
            continue
        for account, amount in ((Account.PATIENT_AR, left.patient), (Account.DENIED_AR, left.denied)):
            if amount:
                prior.append(
                    Posting(account, -amount, EntryKind.COB_TRANSFER, left.line_item_control_number, memo=licn)
                )
    return own, prior


def cob_take_over(
    lines: Sequence[BilledLine], unsettled: Sequence[Unsettled | None]
) -> tuple[list[Posting], list[Posting]]:
    """A next-payer claim already open takes over what its prior claim left open only now (the claim it replaced
    gave it back after this one was opened): (its own postings, the prior claim's). Together with the opening of
    ``next_payer_postings`` with nothing left, the result is what that opening would have been with it."""
    own: list[Posting] = []
    prior: list[Posting] = []
    for line, left in zip(lines, unsettled, strict=True):
        if left is None:
            continue
        licn = line.line_item_control_number
        billed = left.patient + left.denied
        if billed:
            own.append(Posting(Account.OTHER_ADJUSTMENT, billed, EntryKind.PRIOR_PAYER, licn))
        for account, amount in ((Account.PATIENT_AR, left.patient), (Account.DENIED_AR, left.denied)):
            if amount:
                prior.append(
                    Posting(account, -amount, EntryKind.COB_TRANSFER, left.line_item_control_number, memo=licn)
                )
    return own, prior


@dataclass(frozen=True, slots=True)
class Transferred:
    """What a next-payer claim's line still holds of a prior claim's line (``memo``: the next payer's line)."""

    prior_line: str
    account: Account
    amount: Decimal  # > 0
    memo: str


def cob_hand_back(
    open_ar: Mapping[Account, Decimal], transferred: Sequence[Transferred]
) -> tuple[list[Posting], list[Posting]]:
    """A next-payer claim that is replaced, voided or sent again as new owes nothing, and gives the prior claim back
    what it took over (its patient share and denied amounts, up to what it still has open): (its own postings,
    the prior claim's). Its open insurance and denied AR close; what it does not give back closes against its
    prior-payer adjustment — its charge was booked with the first payer's claim, so nothing goes against charges."""
    own = [Posting(account, -amount, EntryKind.CHARGE_REVERSAL, memo="next-payer claim superseded")
           for account, amount in open_ar.items() if amount]  # fmt: skip
    available = sum(open_ar.values(), ZERO)
    prior: list[Posting] = []
    for item in transferred:
        amount = min(item.amount, available)
        if amount <= 0:
            break
        prior.append(Posting(item.account, amount, EntryKind.COB_TRANSFER, item.prior_line, memo=item.memo))
        available -= amount
    if available:
        own.append(
            Posting(Account.OTHER_ADJUSTMENT, available, EntryKind.PRIOR_PAYER, memo="next-payer claim superseded")
        )
    return own, prior


def _settle(line: str | None, moves: list[Posting]) -> list[Posting]:
    """One compound journal: the moves out of insurance AR and the single insurance AR credit they add up to."""
    total = sum((m.amount for m in moves), ZERO)
    if not moves:
        return []
    return [*moves, Posting(Account.INSURANCE_AR, -total, EntryKind.ADJUDICATION, line)] if total else moves


def claim_payment_postings(payment: ClaimPayment, assigned: Sequence[str | None]) -> list[Posting]:
    """Payments and adjustments of one claim payment; ``assigned[i]`` is the billed line of service payment ``i``.

    Each line posts its payment and adjustments to their accounts and one insurance AR credit for their sum (a
    compound entry rather than a pair per amount: the detail lives on the debit side). Money the claim level
    reports beyond its lines (CLP04 - Σ SVC03, or all of it when the payer sent no lines) and claim-level CAS post
    to the claim without a line.
    """
    postings: list[Posting] = []
    for line, control_number in zip(payment.lines, assigned, strict=True):
        moves = [Posting(Account.PAYER_CASH, line.paid, EntryKind.PAYMENT, control_number)] if line.paid else []
        moves += [_move(cas, control_number) for cas in line.adjustments]
        postings += _settle(control_number, moves)
    claim_level_paid = payment.paid - sum((line.paid for line in payment.lines), ZERO)
    moves = [Posting(Account.PAYER_CASH, claim_level_paid, EntryKind.PAYMENT, None)] if claim_level_paid else []
    moves += [_move(cas, None) for cas in payment.adjustments]
    return postings + _settle(None, moves)


def _move(cas: CasAmount, line: str | None) -> Posting:
    account, kind = classify_adjustment(cas)
    return Posting(account, cas.amount, kind, line, cas.group_code, cas.carc)


def provider_adjustment_postings(era: Era) -> list[Posting]:
    """PLB amounts move between the payer's cash and the provider's account (positive = withheld from payment)."""
    postings: list[Posting] = []
    for plb in era.provider_adjustments:
        memo = f"{plb.reason_code}:{plb.reference}" if plb.reference else plb.reason_code
        postings += [
            Posting(
                Account.PROVIDER_ACCOUNT, plb.amount, EntryKind.PROVIDER_ADJUSTMENT, carc=plb.reason_code, memo=memo
            ),
            Posting(Account.PAYER_CASH, -plb.amount, EntryKind.PROVIDER_ADJUSTMENT, carc=plb.reason_code, memo=memo),
        ]
    return postings


def unapplied_postings(amount: Decimal, *, applying: bool = False) -> list[Posting]:
    """Cash for a claim payment nobody matched yet is held as unapplied; matching it later takes it back out."""
    signed = -amount if applying else amount
    return [
        Posting(Account.PAYER_CASH, signed, EntryKind.UNAPPLIED),
        Posting(Account.UNAPPLIED, -signed, EntryKind.UNAPPLIED),
    ]


def patient_payment_postings(amount: Decimal, *, refund: bool = False) -> list[Posting]:
    """A patient pays (or is refunded): cash against patient AR."""
    signed = -amount if refund else amount
    kind = EntryKind.PATIENT_REFUND if refund else EntryKind.PATIENT_PAYMENT
    return [Posting(Account.PATIENT_CASH, signed, kind), Posting(Account.PATIENT_AR, -signed, kind)]


def totals(postings: Iterable[Posting]) -> dict[Account, Decimal]:
    """Balance of each account over ``postings``."""
    result: dict[Account, Decimal] = {}
    for posting in postings:
        result[posting.account] = result.get(posting.account, ZERO) + posting.amount
    return result


class Outcome(StrEnum):
    """What an 835 did to a claim."""

    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    PATIENT_RESPONSIBILITY = "patient_responsibility"  # paid nothing, all applied to deductible/copay...
    DENIED = "denied"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class Adjudicated:
    """The money facts of one claim payment that events and reports use."""

    outcome: Outcome
    paid: Decimal
    denied: Decimal
    patient_responsibility: Decimal
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    contractual: Decimal


def adjudicated(payment: ClaimPayment) -> Adjudicated:
    """Sum a claim payment's adjustments by what they mean and name the outcome."""
    sums: dict[EntryKind, Decimal] = {}
    for cas in payment.all_adjustments:
        _, kind = classify_adjustment(cas)
        sums[kind] = sums.get(kind, ZERO) + cas.amount
    patient = sum(
        (
            sums.get(k, ZERO)
            for k in (EntryKind.DEDUCTIBLE, EntryKind.COINSURANCE, EntryKind.COPAY, EntryKind.PATIENT_OTHER)
        ),
        ZERO,
    )
    denied = sums.get(EntryKind.DENIAL, ZERO)
    if payment.status_code == DENIED and not denied:
        denied = payment.charge - payment.paid - patient - sums.get(EntryKind.CONTRACTUAL, ZERO)
    if payment.is_reversal:
        outcome = Outcome.REVERSED
    elif payment.status_code == DENIED or (payment.paid == 0 and denied > 0):
        outcome = Outcome.DENIED
    elif denied > 0:
        outcome = Outcome.PARTIALLY_PAID
    elif payment.paid == 0:
        outcome = Outcome.PATIENT_RESPONSIBILITY
    else:
        outcome = Outcome.PAID
    return Adjudicated(
        outcome=outcome,
        paid=payment.paid,
        denied=denied,
        patient_responsibility=patient,
        deductible=sums.get(EntryKind.DEDUCTIBLE, ZERO),
        coinsurance=sums.get(EntryKind.COINSURANCE, ZERO),
        copay=sums.get(EntryKind.COPAY, ZERO),
        contractual=sums.get(EntryKind.CONTRACTUAL, ZERO),
    )
