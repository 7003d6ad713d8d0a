"""Combining and splitting claims: the services of several encounters billed on one claim, or one encounter's
services billed on several claims.

Billers combine when a payer wants one claim per patient and provider for services on nearby days (e.g. a
procedure and its follow-up visit), or when an EHR split one visit into several encounters. The diagnoses are
merged in order without repeats (at most 12 on an 837P), each line's pointers are renumbered into the merged
list, lines are numbered again (at most 50), and a line from a later day keeps its own date of service (its
DTP*472) while the claim takes the earliest.

Billers split when some lines must go separately (a service awaiting its authorization, a line the payer wants
on its own claim): each claim keeps only the diagnoses its lines point at, renumbered, and its lines numbered
from 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from claimflow_events import ServiceLine

MAX_DIAGNOSES = 12
MAX_LINES = 50


class CannotCombine(ValueError):
    """The claims cannot be billed as one (the reason says why)."""


@dataclass(frozen=True, slots=True)
class ClaimPart:
    """What one claim brings to the combined claim."""

    claim_id: str
    date_of_service: date
    diagnoses: tuple[str, ...]
    lines: tuple[ServiceLine, ...]


@dataclass(frozen=True, slots=True)
class Combined:
    """The combined claim's date of service, diagnoses and lines."""

    date_of_service: date
    diagnoses: tuple[str, ...]
    lines: tuple[ServiceLine, ...]


def combine(parts: Sequence[ClaimPart]) -> Combined:
    """One claim's worth of diagnoses and lines from ``parts`` (in the order given)."""
    if len(parts) < 2:
        raise CannotCombine("combining needs at least two claims")
    earliest = min(part.date_of_service for part in parts)
    diagnoses: list[str] = []
    lines: list[ServiceLine] = []
    for part in parts:
        position: dict[int, int] = {}
        for number, code in enumerate(part.diagnoses, start=1):
            if code not in diagnoses:
                diagnoses.append(code)
            position[number] = diagnoses.index(code) + 1
        for line in part.lines:
            own_day = line.service_date or (
                part.date_of_service.isoformat() if part.date_of_service != earliest else None
            )
            lines.append(
                line.model_copy(
                    update={
                        "line_number": len(lines) + 1,
                        "diagnosis_pointers": tuple(position[p] for p in line.diagnosis_pointers if p in position),
                        "service_date": own_day,
                    }
                )
            )
    if len(diagnoses) > MAX_DIAGNOSES:
        raise CannotCombine(f"together the claims have {len(diagnoses)} diagnoses; one claim carries at most 12")
    if len(lines) > MAX_LINES:
        raise CannotCombine(f"together the claims have {len(lines)} lines; one claim carries at most 50")
    return Combined(earliest, tuple(diagnoses), tuple(lines))


def _own(diagnoses: Sequence[str], lines: Sequence[ServiceLine]) -> tuple[tuple[str, ...], tuple[ServiceLine, ...]]:
    """The diagnoses ``lines`` point at (in claim order) and the lines renumbered with pointers into them."""
    used = sorted({p for line in lines for p in line.diagnosis_pointers if 1 <= p <= len(diagnoses)})
    position = {old: new for new, old in enumerate(used, start=1)}
    renumbered = tuple(
        line.model_copy(
            update={
                "line_number": number,
                "diagnosis_pointers": tuple(position[p] for p in line.diagnosis_pointers if p in position),
            }
        )
        for number, line in enumerate(lines, start=1)
    )
    return tuple(diagnoses[p - 1] for p in used) or tuple(diagnoses[:1]), renumbered


def split(
    diagnoses: Sequence[str], lines: Sequence[ServiceLine], moved: Sequence[int]
) -> tuple[tuple[tuple[str, ...], tuple[ServiceLine, ...]], tuple[tuple[str, ...], tuple[ServiceLine, ...]]]:
    """(what stays, what goes to the new claim): the lines numbered ``moved`` leave, each side with its diagnoses."""
    numbers = {line.line_number for line in lines}
    unknown = sorted(set(moved) - numbers)
    if unknown:
        raise CannotCombine(f"the claim has no line {unknown[0]}")
    if not moved or set(moved) == numbers:
        raise CannotCombine("a split moves some of the claim's lines, not none or all of them")
    staying = [line for line in lines if line.line_number not in moved]
    leaving = [line for line in lines if line.line_number in moved]
    return _own(diagnoses, staying), _own(diagnoses, leaving)
