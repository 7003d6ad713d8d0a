"""Charges from a practice's fee schedule when the EHR sent none: the most specific entry in force wins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Fee:
    """One fee schedule entry: payer ``*`` and modifier ``""`` match anything."""

    payer_key: str
    procedure_code: str
    modifier: str
    amount: Decimal
    effective_from: date
    effective_to: date | None = None

    def in_force(self, day: date) -> bool:
        """True when the entry applies on ``day``."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def charge_for(
    fees: Iterable[Fee], *, payer_id: str, procedure_code: str, modifiers: tuple[str, ...], day: date, units: Decimal
) -> Decimal | None:
    """The line charge (fee x units): a payer-specific entry beats ``*``, a matching modifier beats none."""
    best: tuple[tuple[int, int, date], Fee] | None = None
    for fee in fees:
        if fee.procedure_code != procedure_code or not fee.in_force(day):
            continue
        if fee.payer_key not in ("*", payer_id) or (fee.modifier and fee.modifier not in modifiers):
            continue
        rank = (int(fee.payer_key == payer_id), int(bool(fee.modifier)), fee.effective_from)
        if best is None or rank > best[0]:
            best = (rank, fee)
    if best is None:
        return None
    return (best[1].amount * units).quantize(Decimal("0.01"))
