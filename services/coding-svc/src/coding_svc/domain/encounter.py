"""The encounter as the coding edits see it: who, when, where, the diagnoses in order and the service lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from coding_svc.codesets.mce import Sex

MAX_DIAGNOSES = 12  # 837P HI segment: ABK principal + up to 11 ABF
MAX_MODIFIERS = 4  # SV101-3..6
MAX_POINTERS = 4  # SV107-1..4

__all__ = ["MAX_DIAGNOSES", "MAX_MODIFIERS", "MAX_POINTERS", "Encounter", "ProcedureLine", "Sex", "age_on"]


def age_on(birth_date: date, day: date) -> int:
    """Age in completed years on ``day`` (the age the MCE age edits use)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)


@dataclass(frozen=True, slots=True)
class ProcedureLine:
    """One service line: CPT/HCPCS code, up to 4 modifiers, units and pointers (1-12) into the diagnoses."""

    procedure_code: str
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    diagnosis_pointers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Encounter:
    """One date of service for one patient, coded: the input of the edit engine.

    ``diagnoses`` are in claim order (the first is first-listed), dotted or dotless.
    ``patient_age`` is in completed years on the date of service (see ``age_on``).
    """

    date_of_service: date
    place_of_service: str
    patient_sex: Sex
    patient_age: int
    diagnoses: tuple[str, ...]
    lines: tuple[ProcedureLine, ...]
