"""Combining claims: the services of several encounters of one patient, billed together on one claim.

Billers combine when a payer wants one claim per patient and provider for services on nearby days (e.g. a
procedure and its follow-up visit), or when an EHR split one visit into several encounters. The diagnoses are
merged in order without repeats (at most 12 on an 837P), each line's pointers are renumbered into the merged
list, lines are numbered again (at most 50), and a line from a later day keeps its own date of service (its
DTP*472) while the claim takes the earliest.
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
