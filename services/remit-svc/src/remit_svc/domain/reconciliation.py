"""Deposit reconciliation: does the money the bank received match the money the 835s reported?

An ERA's TRN02 is the check or EFT trace number the bank shows with the deposit, and BPR02 is the amount paid.
One payment may be reported in several 835s (a payer splits a large remittance, or reports each payee/batch
separately under one EFT), so a deposit matches the ERAs with its trace number when their BPR02 sum equals the
deposit amount. A deposit that names its payer only takes that payer's ERAs (trace numbers are unique per payer,
not across payers). Notification-only ERAs (BPR02 = 0) move no money and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class DepositFact:
    """A bank deposit (EFT or check) as recorded."""

    id: str
    trace_number: str
    amount: Decimal
    deposit_date: date
    payer_id: str | None


@dataclass(frozen=True, slots=True)
class EraFact:
    """An ERA's payment: trace number (TRN02), payer, BPR02 and payment date (BPR16)."""

    id: str
    trace_number: str
    payer_id: str
    amount: Decimal
    payment_date: date
    status: str


@dataclass(frozen=True)
class DepositMatch:
    """A deposit and the ERAs carrying its trace number; ``difference`` = deposit - Σ BPR02 (0 when matched)."""

    deposit: DepositFact
    eras: list[EraFact]
    era_total: Decimal
    difference: Decimal
    reason: str | None  # why it is not reconciled


@dataclass(frozen=True)
class Reconciliation:
    """Matched deposits, deposits with no or different ERAs, and ERAs whose money no deposit accounts for."""

    matched: list[DepositMatch]
    unreconciled_deposits: list[DepositMatch]
    unreconciled_eras: list[EraFact]


def trace_key(trace_number: str) -> str:
    """Trace numbers compared without surrounding blanks or letter case (banks print them either way)."""
    return trace_number.strip().upper()


def reconcile(deposits: Sequence[DepositFact], eras: Sequence[EraFact]) -> Reconciliation:
    """Match each deposit (oldest first) to the not yet matched ERAs of its trace number (and payer, if named)."""
    by_trace: dict[str, list[EraFact]] = defaultdict(list)
    for era in sorted(eras, key=lambda e: (e.payment_date, e.id)):
        if era.amount != 0:
            by_trace[trace_key(era.trace_number)].append(era)
    taken: set[str] = set()
    matched: list[DepositMatch] = []
    unreconciled: list[DepositMatch] = []
    for deposit in sorted(deposits, key=lambda d: (d.deposit_date, d.id)):
        candidates = [
            era
            for era in by_trace.get(trace_key(deposit.trace_number), [])
            if era.id not in taken and (deposit.payer_id is None or era.payer_id == deposit.payer_id)
        ]
        total = sum((era.amount for era in candidates), ZERO)
        difference = deposit.amount - total
        if candidates and not difference:
            taken.update(era.id for era in candidates)
            matched.append(DepositMatch(deposit, candidates, total, ZERO, None))
            continue
        reason = (
            f"the ERAs with trace number {deposit.trace_number} report {total}, the deposit is {deposit.amount}"
            if candidates
            else f"no ERA has trace number {deposit.trace_number}"
            + (f" from payer {deposit.payer_id}" if deposit.payer_id else "")
        )
        unreconciled.append(DepositMatch(deposit, candidates, total, difference, reason))
    waiting = [era for eras_of_trace in by_trace.values() for era in eras_of_trace if era.id not in taken]
    return Reconciliation(matched, unreconciled, sorted(waiting, key=lambda e: (e.payment_date, e.id)))
