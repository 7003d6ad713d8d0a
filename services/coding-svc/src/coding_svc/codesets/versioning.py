"""Effective periods and date-of-service lookup of code-set versions."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

T = TypeVar("T")


class CodeSetNotInForce(LookupError):
    """No version of a code set is in force on the date of service."""

    code = "CODE_SET_NOT_IN_FORCE"

    def __init__(self, kind: str, date_of_service: date) -> None:
        super().__init__(f"No {kind} code set is loaded for date of service {date_of_service.isoformat()}.")
        self.kind = kind
        self.date_of_service = date_of_service


@dataclass(frozen=True, slots=True)
class EffectivePeriod:
    """Dates a code-set version applies to, both inclusive; ``end`` None means open-ended."""

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"effective period ends ({self.end}) before it starts ({self.start})")

    def contains(self, day: date) -> bool:
        """True when ``day`` falls inside the period."""
        return self.start <= day and (self.end is None or day <= self.end)


def fiscal_year_period(fiscal_year: int) -> EffectivePeriod:
    """The ICD-10-CM fiscal year: FY2026 is 2025-10-01 through 2026-09-30."""
    return EffectivePeriod(date(fiscal_year - 1, 10, 1), date(fiscal_year, 9, 30))


def quarter_period(year: int, quarter: int) -> EffectivePeriod:
    """A calendar quarter, the cadence of NCCI and HCPCS updates."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year, 12, 31) if quarter == 4 else date.fromordinal(date(year, 3 * quarter + 1, 1).toordinal() - 1)
    return EffectivePeriod(start, end)


@dataclass(frozen=True, slots=True)
class Dated(Generic[T]):
    """One version of a code set and the period it is in force."""

    period: EffectivePeriod
    value: T


class Timeline(Generic[T]):
    """Immutable, date-ordered versions of one kind of code set; later-starting versions win on overlap."""

    __slots__ = ("_entries", "_kind", "_starts")

    def __init__(self, kind: str, entries: Iterable[Dated[T]] = ()) -> None:
        self._kind = kind
        self._entries: tuple[Dated[T], ...] = tuple(sorted(entries, key=lambda d: d.period.start))
        self._starts = tuple(d.period.start for d in self._entries)

    @property
    def kind(self) -> str:
        """What kind of code set this timeline holds (for messages)."""
        return self._kind

    def __iter__(self) -> Iterator[Dated[T]]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def with_version(self, period: EffectivePeriod, value: T) -> Timeline[T]:
        """A new timeline with one more version; a version starting on the same day is replaced."""
        kept = [d for d in self._entries if d.period.start != period.start]
        return Timeline(self._kind, [*kept, Dated(period, value)])

    def find(self, day: date) -> T | None:
        """The version in force on ``day``, or None."""
        index = bisect.bisect_right(self._starts, day) - 1
        while index >= 0:
            entry = self._entries[index]
            if entry.period.contains(day):
                return entry.value
            index -= 1
        return None

    def at(self, day: date) -> T:
        """The version in force on ``day``; raises CodeSetNotInForce when none is."""
        found = self.find(day)
        if found is None:
            raise CodeSetNotInForce(self._kind, day)
        return found

    def at_or_latest(self, day: date) -> tuple[T, bool]:
        """The version in force on ``day``, else the newest version when ``day`` is after every loaded period.

        The second item is True when the newest version was carried forward past its end: the next release
        (e.g. the October ICD-10-CM update) has not been loaded yet. Dates before the first version or in a gap
        between versions still raise CodeSetNotInForce.
        """
        found = self.find(day)
        if found is not None:
            return found, False
        newest = max(self._entries, key=lambda d: d.period.end or date.max, default=None)
        if newest is None or newest.period.end is None or day <= newest.period.end:
            raise CodeSetNotInForce(self._kind, day)
        return newest.value, True
