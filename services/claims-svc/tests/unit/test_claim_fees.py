"""Which fee schedule entry prices a line: payer-specific over default, modifier over none, in force on the date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from claims_svc.domain.fees import Fee, charge_for

FEES = [
    Fee("*", "99213", "", Decimal("100.00"), date(2026, 1, 1)),
    Fee("*", "99213", "", Decimal("90.00"), date(2025, 1, 1), date(2025, 12, 31)),
    Fee("60054", "99213", "", Decimal("110.00"), date(2026, 1, 1)),
    Fee("*", "20610", "", Decimal("150.00"), date(2026, 1, 1)),
    Fee("*", "20610", "50", Decimal("225.00"), date(2026, 1, 1)),
]


def charge(
    payer: str = "MCARE",
    code: str = "99213",
    modifiers: tuple[str, ...] = (),
    day: date = date(2026, 11, 2),
    units: str = "1",
) -> Decimal | None:
    return charge_for(FEES, payer_id=payer, procedure_code=code, modifiers=modifiers, day=day, units=Decimal(units))


def test_default_payer_specific_and_dated_entries() -> None:
    assert charge() == Decimal("100.00")
    assert charge(payer="60054") == Decimal("110.00")
    assert charge(day=date(2025, 6, 1)) == Decimal("90.00")
    assert charge(day=date(2024, 6, 1)) is None


def test_modifier_specific_entry_and_units() -> None:
    assert charge(code="20610") == Decimal("150.00")
    assert charge(code="20610", modifiers=("50",)) == Decimal("225.00")
    assert charge(code="20610", units="2") == Decimal("300.00")
    assert charge(code="99999") is None
