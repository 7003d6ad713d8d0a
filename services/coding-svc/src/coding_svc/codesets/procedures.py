"""CPT and HCPCS Level II procedure codes, with the global surgical period from the physician fee schedule.

CPT is licensed by the AMA: ClaimFlow ships CPT code *numbers* only; a customer loads its licensed CPT file
(``load_cpt_file``), whose descriptions stay in the customer's deployment. HCPCS Level II descriptions are
public domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from coding_svc.codesets._files import CodeSetFileError, parse_cms_date, read_text, table_rows
from coding_svc.codesets.versioning import EffectivePeriod

_CPT = re.compile(r"^[0-9]{4}[0-9FTU]$")
_HCPCS = re.compile(r"^[A-V][0-9]{4}$")


class ProcedureKind(StrEnum):
    """Which code system a procedure code belongs to."""

    CPT = "CPT"
    HCPCS = "HCPCS"


class GlobalPeriod(StrEnum):
    """MPFS global surgery indicator (GLOB DAYS column)."""

    DAYS_0 = "000"
    DAYS_10 = "010"
    DAYS_90 = "090"
    MATERNITY = "MMM"
    NOT_APPLICABLE = "XXX"
    CARRIER_DETERMINED = "YYY"
    ADD_ON = "ZZZ"

    @property
    def is_minor(self) -> bool:
        """0- and 10-day globals: minor procedures, whose same-day E/M needs modifier 25."""
        return self in (GlobalPeriod.DAYS_0, GlobalPeriod.DAYS_10)

    @property
    def is_major(self) -> bool:
        """90-day globals: major surgery, whose same-day decision-for-surgery E/M needs modifier 57."""
        return self is GlobalPeriod.DAYS_90


def procedure_kind(code: str) -> ProcedureKind | None:
    """CPT (5 digits, or 4 digits + F/T/U) or HCPCS Level II (letter + 4 digits); None for anything else."""
    if _CPT.match(code):
        return ProcedureKind.CPT
    if _HCPCS.match(code):
        return ProcedureKind.HCPCS
    return None


@dataclass(frozen=True, slots=True)
class ProcedureCode:
    """One CPT or HCPCS code; ``terminated`` is the last date of service it may be billed."""

    code: str
    kind: ProcedureKind
    description: str = ""
    added: date | None = None
    terminated: date | None = None
    global_period: GlobalPeriod | None = None

    def in_force(self, day: date) -> bool:
        """True when the code may be billed for a service on ``day``."""
        return (self.added is None or self.added <= day) and (self.terminated is None or day <= self.terminated)


@dataclass(frozen=True, eq=False)
class ProcedureCodeSet:
    """CPT and HCPCS codes of one release (immutable snapshot)."""

    version: str
    period: EffectivePeriod
    codes: Mapping[str, ProcedureCode]
    source: str = ""
    sources: tuple[str, ...] = field(default=())

    def get(self, code: str) -> ProcedureCode | None:
        """The code, or None when this release does not know it."""
        return self.codes.get(code.strip().upper())

    def merged(self, other: Iterable[ProcedureCode], source: str) -> ProcedureCodeSet:
        """A new snapshot with ``other`` added (or replacing codes with the same number)."""
        codes = dict(self.codes)
        for entry in other:
            previous = codes.get(entry.code)
            if previous is not None and entry.global_period is None:
                entry = replace(entry, global_period=previous.global_period)
            codes[entry.code] = entry
        return replace(self, codes=MappingProxyType(codes), sources=(*self.sources, source))

    def with_global_periods(self, periods: Mapping[str, GlobalPeriod]) -> ProcedureCodeSet:
        """A new snapshot with the fee-schedule global periods applied to the codes it knows."""
        codes = {
            code: replace(entry, global_period=periods.get(code, entry.global_period))
            for code, entry in self.codes.items()
        }
        return replace(self, codes=MappingProxyType(codes), sources=(*self.sources, "global periods"))


def empty_procedure_code_set(version: str, period: EffectivePeriod) -> ProcedureCodeSet:
    """A release with no codes, to merge files into."""
    return ProcedureCodeSet(version=version, period=period, codes=MappingProxyType({}))


# --- CPT -------------------------------------------------------------------------------------------------------


def parse_cpt_lines(lines: Iterable[str]) -> list[ProcedureCode]:
    """A licensed CPT text file: one code per line, optionally followed by a tab/space and its description.

    This reads the AMA data-file layout (``LONGULT.txt``-style ``code<TAB>descriptor``) as well as a bare list
    of code numbers; lines that do not start with a CPT code (titles, copyright notices) are skipped.
    """
    parsed: list[ProcedureCode] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        code, _, description = line.replace("\t", " ", 1).partition(" ")
        if procedure_kind(code) is not ProcedureKind.CPT:
            continue
        parsed.append(ProcedureCode(code, ProcedureKind.CPT, description.strip()))
    return parsed


def load_cpt_file(path: Path) -> list[ProcedureCode]:
    """CPT codes from a customer-supplied (licensed) CPT file or a code-number list."""
    return parse_cpt_lines(read_text(path).splitlines())


def parse_deleted_codes(lines: Iterable[str]) -> dict[str, date]:
    """A deleted-codes list (CSV/tab with columns CODE and DELETION DATE): code -> last billable date."""
    deleted: dict[str, date] = {}
    for record in table_rows(lines, ("CODE", "DELETION DATE")):
        day = parse_cms_date(record["DELETION DATE"])
        if day is not None:
            deleted[record["CODE"].upper()] = day
    return deleted


# --- HCPCS Level II --------------------------------------------------------------------------------------------


def parse_hcpcs_lines(lines: Iterable[str]) -> tuple[list[ProcedureCode], dict[str, str]]:
    """The CMS alpha-numeric HCPCS file (``HCPC<YYYY>_<MON>_ANWEB`` saved as CSV): procedures and modifiers.

    Uses columns HCPC, SEQNUM, RECID, LONG DESCRIPTION, ADD DT, TERM DT. RECID 3 starts a procedure and 4
    continues its long description; 7 starts a modifier and 8 continues it.
    """
    descriptions: dict[str, list[str]] = {}
    dates: dict[str, tuple[date | None, date | None]] = {}
    modifiers: dict[str, list[str]] = {}
    for record in table_rows(lines, ("HCPC", "SEQNUM", "RECID", "LONG DESCRIPTION"), ("ADD DT", "TERM DT")):
        code = record["HCPC"].upper()
        recid = record["RECID"]
        text = record["LONG DESCRIPTION"]
        if recid in ("3", "4"):
            if procedure_kind(code) is None:
                raise CodeSetFileError(f"not a HCPCS code: {code!r}")
            descriptions.setdefault(code, []).append(text)
            if recid == "3":
                dates[code] = (
                    parse_cms_date(record["ADD DT"]),
                    parse_cms_date(record["TERM DT"]),
                )
        elif recid in ("7", "8"):
            modifiers.setdefault(code.strip()[-2:], []).append(text)
    procedures = [
        ProcedureCode(
            code,
            procedure_kind(code) or ProcedureKind.HCPCS,
            " ".join(parts).strip(),
            added=dates.get(code, (None, None))[0],
            terminated=dates.get(code, (None, None))[1],
        )
        for code, parts in descriptions.items()
    ]
    return procedures, {code: " ".join(parts).strip() for code, parts in modifiers.items()}


def load_hcpcs_file(path: Path) -> tuple[list[ProcedureCode], dict[str, str]]:
    """HCPCS Level II procedures and modifiers from the CMS alpha-numeric HCPCS file (CSV)."""
    return parse_hcpcs_lines(read_text(path).splitlines())


# --- Physician fee schedule global periods ---------------------------------------------------------------------


def parse_global_periods(lines: Iterable[str]) -> dict[str, GlobalPeriod]:
    """Global surgery days from the MPFS RVU file (``PPRRVU``, CSV): columns HCPCS, MOD, GLOB DAYS.

    Rows with a modifier (26, TC, 53) describe components and are skipped.
    """
    periods: dict[str, GlobalPeriod] = {}
    for record in table_rows(lines, ("HCPCS", "GLOB"), ("MOD",)):
        if record["MOD"]:
            continue
        value = record["GLOB"].strip().upper()
        try:
            periods[record["HCPCS"].upper()] = GlobalPeriod(value)
        except ValueError as error:
            raise CodeSetFileError(f"unknown global days value {value!r}") from error
    return periods


def load_global_periods(path: Path) -> dict[str, GlobalPeriod]:
    """Global surgery days per code from an MPFS RVU CSV file."""
    return parse_global_periods(read_text(path).splitlines())
