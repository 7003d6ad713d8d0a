"""Matching 835 service payments to the lines that were billed.

A claim payment is found by its patient control number (CLP01 = the 837's CLM01). Its lines are matched to the
billed lines in three passes, each taking only lines not already taken:

1. REF*6R, the line item control number the 837 sent, when the payer returns it;
2. procedure code + date of service + charge, ignoring modifiers — payers drop or restate modifiers, and when they
   adjudicate a different code than billed, SVC06 carries the billed one, which is what is compared;
3. procedure code + charge, for payers that return no line date.

A line none of the passes places is unmatched; the whole claim payment then waits in the unmatched work queue
rather than posting money against the wrong line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from remit_svc.domain.era import ClaimPayment, LinePayment


@dataclass(frozen=True, slots=True)
class BilledLine:
    """A line as the 837 billed it (from claim-submitted)."""

    line_item_control_number: str
    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    service_date: date


@dataclass(frozen=True, slots=True)
class LineMatch:
    """Where each service payment goes: ``assigned[i]`` is the billed line of payment line ``i``."""

    assigned: tuple[str | None, ...]
    unmatched_reasons: tuple[str, ...]
    by_fallback: int  # lines placed without REF*6R

    @property
    def complete(self) -> bool:
        """Every service payment found its billed line."""
        return not self.unmatched_reasons


def _billed_code(line: LinePayment) -> str:
    return line.billed_procedure_code or line.procedure_code


def _absolute(value: Decimal) -> Decimal:
    return -value if value < 0 else value  # a reversal restates the charge negated


def match_lines(payment: ClaimPayment, billed: Sequence[BilledLine]) -> LineMatch:
    """Place every service payment of ``payment`` on one of the ``billed`` lines."""
    assigned: list[str | None] = [None] * len(payment.lines)
    free = {line.line_item_control_number: line for line in billed}

    def place(test: Callable[[LinePayment, BilledLine], bool]) -> int:
        placed = 0
        for index, line in enumerate(payment.lines):
            if assigned[index] is not None:
                continue
            candidates = [b for b in free.values() if test(line, b)]
            if len(candidates) >= 1:
                chosen = candidates[0]
                assigned[index] = chosen.line_item_control_number
                del free[chosen.line_item_control_number]
                placed += 1
        return placed

    place(lambda line, b: line.line_item_control_number == b.line_item_control_number)
    by_fallback = place(
        lambda line, b: (
            line.service_date is not None
            and _billed_code(line) == b.procedure_code
            and line.service_date == b.service_date
            and _absolute(line.charge) == b.charge
        )
    )
    by_fallback += place(lambda line, b: _billed_code(line) == b.procedure_code and _absolute(line.charge) == b.charge)
    reasons = tuple(
        f"line {index + 1} ({line.procedure_code}{''.join(':' + m for m in line.modifiers)}, "
        f"{line.service_date or 'no date'}, charge {line.charge}) matches no billed line"
        for index, line in enumerate(payment.lines)
        if assigned[index] is None
    )
    return LineMatch(tuple(assigned), reasons, by_fallback)
