"""NCCI procedure-to-procedure (PTP) edits and medically unlikely edits (MUE), as CMS publishes them quarterly.

PTP files (practitioner, ``ccipra-v<rel>-f<n>.txt`` or the same as CSV): a copyright preamble, a header row,
then tab-separated records: column 1, column 2, "*" when in existence before 1996, effective date
(YYYYMMDD), deletion date (YYYYMMDD or "*" for none), modifier indicator (0/1/9), rationale.

MUE files (``MCR_MUE_PractitionerServices_Eff_<date>.csv``): a preamble, then HCPCS/CPT code, MUE value,
MUE adjudication indicator (``"1 Line Edit"``, ``"2 Date of Service Edit: Policy"``,
``"3 Date of Service Edit: Clinical"``) and rationale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from pathlib import Path
from types import MappingProxyType

from coding_svc.codesets._files import CodeSetFileError, parse_cms_date, read_text, table_rows
from coding_svc.codesets.versioning import EffectivePeriod

_NO_DELETION = date.max.toordinal()


class ModifierIndicator(IntEnum):
    """Whether an NCCI-associated modifier lets the pair be billed together."""

    NOT_ALLOWED = 0
    ALLOWED = 1
    NOT_APPLICABLE = 9


class MueAdjudication(IntEnum):
    """MUE adjudication indicator: how units are counted against the MUE value."""

    LINE = 1
    DATE_OF_SERVICE_POLICY = 2
    DATE_OF_SERVICE_CLINICAL = 3


@dataclass(frozen=True, slots=True)
class PtpEdit:
    """One PTP record: the column 2 code is not payable with the column 1 code while the edit is in force.

    The edit is in force from ``effective`` through the day before ``deleted`` (CMS deletion date).
    """

    column1: str
    column2: str
    effective: date
    deleted: date | None
    modifier_indicator: ModifierIndicator
    rationale: str = ""

    def in_force(self, day: date) -> bool:
        """True when the edit applies to a service on ``day``."""
        return self.effective <= day and (self.deleted is None or day < self.deleted)


class PtpTable:
    """PTP edits indexed column 1 -> column 2 -> records, with dates as ordinals for quick checks."""

    __slots__ = ("_index", "_size", "period", "source")

    def __init__(self, edits: Iterable[PtpEdit], period: EffectivePeriod, source: str = "") -> None:
        index: dict[str, dict[str, tuple[tuple[int, int, int, PtpEdit], ...]]] = {}
        size = 0
        for edit in edits:
            entry = (
                edit.effective.toordinal(),
                edit.deleted.toordinal() if edit.deleted else _NO_DELETION,
                int(edit.modifier_indicator),
                edit,
            )
            row = index.setdefault(edit.column1, {})
            row[edit.column2] = (*row.get(edit.column2, ()), entry)
            size += 1
        self._index: Mapping[str, Mapping[str, tuple[tuple[int, int, int, PtpEdit], ...]]] = index
        self._size = size
        self.period = period
        self.source = source

    def __len__(self) -> int:
        return self._size

    def row(self, column1: str) -> Mapping[str, tuple[tuple[int, int, int, PtpEdit], ...]] | None:
        """Every column 2 code paired with ``column1``, with (effective, deletion, indicator, edit) entries."""
        return self._index.get(column1)

    def find(self, column1: str, column2: str, day: date) -> PtpEdit | None:
        """The edit in force on ``day`` for the pair, or None."""
        row = self._index.get(column1)
        entries = row.get(column2) if row else None
        if not entries:
            return None
        ordinal = day.toordinal()
        for effective, deleted, _indicator, edit in entries:
            if effective <= ordinal < deleted:
                return edit
        return None


@dataclass(frozen=True, slots=True)
class MueLimit:
    """Maximum units of service for a code and how they are counted."""

    code: str
    max_units: int
    adjudication: MueAdjudication
    rationale: str = ""


@dataclass(frozen=True, eq=False)
class MueTable:
    """MUE values by code for one quarter."""

    limits: Mapping[str, MueLimit]
    period: EffectivePeriod
    source: str = ""

    def __len__(self) -> int:
        return len(self.limits)

    def get(self, code: str) -> MueLimit | None:
        """The MUE for ``code``, or None when it has none."""
        return self.limits.get(code)


def parse_ptp_lines(lines: Iterable[str]) -> Iterator[PtpEdit]:
    """PTP records from a CMS PTP file (tab-delimited text or CSV), preamble skipped."""
    required = ("COLUMN 1", "COLUMN 2", "EFFECTIVE DATE", "DELETION DATE", "MODIFIER")
    for record in table_rows(lines, required, ("RATIONALE",)):
        column1, column2 = record["COLUMN 1"].upper(), record["COLUMN 2"].upper()
        effective = parse_cms_date(record["EFFECTIVE DATE"])
        indicator_text = record["MODIFIER"][:1]
        if effective is None or indicator_text not in ("0", "1", "9") or not column1 or not column2:
            raise CodeSetFileError(f"bad PTP record {column1}/{column2}")
        yield PtpEdit(
            column1,
            column2,
            effective,
            parse_cms_date(record["DELETION DATE"]),
            ModifierIndicator(int(indicator_text)),
            record["RATIONALE"],
        )


def load_ptp_files(paths: Iterable[Path], period: EffectivePeriod) -> PtpTable:
    """One quarter's PTP table from its files (CMS splits the practitioner edits into several files)."""
    path_list = list(paths)
    edits = [edit for path in path_list for edit in parse_ptp_lines(read_text(path).splitlines())]
    return PtpTable(edits, period, ", ".join(p.name for p in path_list))


def parse_mue_lines(lines: Iterable[str]) -> dict[str, MueLimit]:
    """MUE records from a CMS MUE CSV file, preamble skipped."""
    limits: dict[str, MueLimit] = {}
    for record in table_rows(lines, ("HCPCS", "MUE VALUE", "ADJUDICATION"), ("RATIONALE",)):
        code = record["HCPCS"].upper()
        indicator = record["ADJUDICATION"][:1]
        value = record["MUE VALUE"]
        if indicator not in ("1", "2", "3") or not value.isdigit():
            raise CodeSetFileError(f"bad MUE record for {code}")
        limits[code] = MueLimit(code, int(value), MueAdjudication(int(indicator)), record["RATIONALE"])
    return limits


def load_mue_file(path: Path, period: EffectivePeriod) -> MueTable:
    """One quarter's MUE table from the CMS practitioner MUE file."""
    return MueTable(MappingProxyType(parse_mue_lines(read_text(path).splitlines())), period, path.name)
