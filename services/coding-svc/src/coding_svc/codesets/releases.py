"""Code-set releases a customer loads at run time: the official CMS/AMA files, applied to a registry.

A release is a file plus what it is (kind) and when it applies (effective period). ``claimflow codesets load``
parses it first (a broken file is refused before anything is stored), stores it in coding-svc's database, and
every coding-svc process applies stored releases on top of the packaged code sets, building a new immutable
registry off the request path and swapping it in: a new quarter goes live without a restart.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from pathlib import Path

from coding_svc.codesets._files import CodeSetFileError
from coding_svc.codesets.icd10cm import IcdCodeSet, load_icd10cm_codes_file, load_icd10cm_order_file
from coding_svc.codesets.mce import extract_mce_edits
from coding_svc.codesets.ncci import load_mue_file, load_ptp_files
from coding_svc.codesets.procedures import (
    ProcedureCodeSet,
    empty_procedure_code_set,
    load_cpt_file,
    load_hcpcs_file,
)
from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.versioning import EffectivePeriod, Timeline, fiscal_year_period, quarter_period


class ReleaseKind(StrEnum):
    """What a release file holds (and so which loader reads it)."""

    ICD10CM = "icd10cm"  # CMS icd10cm_order_YYYY.txt or icd10cm_codes_YYYY.txt (layout detected)
    CPT = "cpt"  # the customer's licensed AMA CPT file, or a list of code numbers
    HCPCS = "hcpcs"  # CMS alpha-numeric HCPCS file saved as CSV
    NCCI_PTP = "ncci-ptp"  # CMS practitioner PTP edit file (one of the quarter's f1..f4 files, or all merged)
    MUE = "mue"  # CMS practitioner MUE CSV


class ReleaseError(ValueError):
    """A release that cannot be loaded: wrong layout, no records, or a period that makes no sense."""

    code = "CODE_SET_RELEASE_INVALID"


@dataclass(frozen=True, slots=True)
class Release:
    """One stored code-set file and the period it is in force."""

    kind: ReleaseKind
    period: EffectivePeriod
    filename: str
    content: bytes
    label: str

    @property
    def sha256(self) -> str:
        """Content hash (the same file loaded twice for the same period is one release)."""
        return hashlib.sha256(self.content).hexdigest()


def release_period(
    kind: ReleaseKind, *, fiscal_year: int | None = None, quarter: str | None = None, effective: date | None = None
) -> tuple[EffectivePeriod, str]:
    """The effective period and label of a release from how it is usually named.

    ICD-10-CM is named by fiscal year (FY2027 = 2026-10-01..2027-09-30); NCCI, MUE, HCPCS and CPT by quarter
    (``2027Q1``); any kind may instead give an open-ended start date (in force until a later release starts).
    """
    given = sum(value is not None for value in (fiscal_year, quarter, effective))
    if given != 1:
        raise ReleaseError("give exactly one of: fiscal year, quarter (e.g. 2027Q1) or effective date")
    if fiscal_year is not None:
        if kind is not ReleaseKind.ICD10CM:
            raise ReleaseError("only ICD-10-CM releases are named by fiscal year; use a quarter or a date")
        return fiscal_year_period(fiscal_year), f"FY{fiscal_year}"
    if quarter is not None:
        text = quarter.strip().upper()
        if len(text) != 6 or text[4] != "Q" or not text[:4].isdigit() or text[5] not in "1234":
            raise ReleaseError(f"quarter must look like 2027Q1, got {quarter!r}")
        return quarter_period(int(text[:4]), int(text[5])), text
    assert effective is not None
    return EffectivePeriod(effective), f"from {effective.isoformat()}"


def apply_release(registry: CodeSetRegistry, release: Release) -> CodeSetRegistry:
    """A new registry with the release added; raises ReleaseError when the file does not parse."""
    with tempfile.TemporaryDirectory(prefix="claimflow-codeset-") as folder:
        path = Path(folder) / Path(release.filename).name
        path.write_bytes(release.content)
        try:
            return _APPLY[release.kind](registry, release, path)
        except (CodeSetFileError, ValueError, KeyError) as exc:
            raise ReleaseError(f"{release.kind.value} file {release.filename}: {exc}") from None


def empty_registry() -> CodeSetRegistry:
    """A registry with no code sets (to check a release file on its own)."""
    return CodeSetRegistry(
        icd=Timeline("ICD-10-CM"),
        procedures=Timeline("CPT/HCPCS"),
        modifiers=Timeline("modifier"),
        places_of_service=Timeline("place of service"),
        ptp=Timeline("NCCI PTP"),
        mue=Timeline("MUE"),
    )


def check_release(release: Release) -> None:
    """Parse the release on its own; raises ReleaseError naming what is wrong with the file."""
    apply_release(empty_registry(), release)


def apply_releases(registry: CodeSetRegistry, releases: Iterable[Release]) -> CodeSetRegistry:
    """Every release applied in order (later loads of the same kind and start date replace earlier ones)."""
    for release in releases:
        registry = apply_release(registry, release)
    return registry


def _nearest_icd(registry: CodeSetRegistry, day: date) -> IcdCodeSet | None:
    versions = sorted(registry.icd, key=lambda d: abs((d.period.start - day).days))
    return versions[0].value if versions else None


def _apply_icd(registry: CodeSetRegistry, release: Release, path: Path) -> CodeSetRegistry:
    fiscal_year = release.period.start.year + (1 if release.period.start.month >= 10 else 0)
    nearest = _nearest_icd(registry, release.period.start)
    notes = nearest.notes if nearest is not None else None
    first = next((line for line in release.content.decode("utf-8", "replace").splitlines() if line.strip()), "")
    loader = load_icd10cm_order_file if first[:5].isdigit() else load_icd10cm_codes_file
    loaded = loader(path, fiscal_year, notes=notes)
    billable = [c.code for c in loaded.billable_codes()]
    if not billable:
        raise ReleaseError(f"icd10cm file {release.filename} holds no billable codes")
    loaded = loaded.with_mce(extract_mce_edits(billable, fiscal_year))
    if release.period != loaded.period:
        loaded = _with_period(loaded, release.period)
    return registry.with_icd(loaded)


def _with_period(code_set: IcdCodeSet, period: EffectivePeriod) -> IcdCodeSet:
    return replace(code_set, period=period)


def _procedure_base(registry: CodeSetRegistry, release: Release) -> ProcedureCodeSet:
    """The release's codes are added to the procedure codes in force when it starts (CPT and HCPCS ship apart)."""
    current = registry.procedures.find(release.period.start)
    base = empty_procedure_code_set(release.label, release.period)
    if current is None:
        return base
    return base.merged(current.codes.values(), current.version).with_global_periods(
        {code: entry.global_period for code, entry in current.codes.items() if entry.global_period is not None}
    )


def _apply_cpt(registry: CodeSetRegistry, release: Release, path: Path) -> CodeSetRegistry:
    codes = load_cpt_file(path)
    if not codes:
        raise ReleaseError(f"cpt file {release.filename} holds no CPT codes")
    return registry.with_procedures(_procedure_base(registry, release).merged(codes, release.filename))


def _apply_hcpcs(registry: CodeSetRegistry, release: Release, path: Path) -> CodeSetRegistry:
    codes, _modifiers = load_hcpcs_file(path)
    if not codes:
        raise ReleaseError(f"hcpcs file {release.filename} holds no HCPCS procedure records")
    return registry.with_procedures(_procedure_base(registry, release).merged(codes, release.filename))


def _apply_ptp(registry: CodeSetRegistry, release: Release, path: Path) -> CodeSetRegistry:
    table = load_ptp_files([path], release.period)
    if len(table) == 0:
        raise ReleaseError(f"ncci-ptp file {release.filename} holds no PTP edits")
    return registry.with_ptp(table)


def _apply_mue(registry: CodeSetRegistry, release: Release, path: Path) -> CodeSetRegistry:
    table = load_mue_file(path, release.period)
    if len(table) == 0:
        raise ReleaseError(f"mue file {release.filename} holds no MUE values")
    return registry.with_mue(table)


_APPLY: dict[ReleaseKind, Callable[[CodeSetRegistry, Release, Path], CodeSetRegistry]] = {
    ReleaseKind.ICD10CM: _apply_icd,
    ReleaseKind.CPT: _apply_cpt,
    ReleaseKind.HCPCS: _apply_hcpcs,
    ReleaseKind.NCCI_PTP: _apply_ptp,
    ReleaseKind.MUE: _apply_mue,
}
