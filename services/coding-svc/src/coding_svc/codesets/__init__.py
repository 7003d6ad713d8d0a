"""Versioned code sets: ICD-10-CM, CPT/HCPCS, modifiers, place of service, NCCI PTP and MUE.

Importing this package loads nothing; see LOADING.md for how each code set is loaded and swapped.
"""

from coding_svc.codesets.icd10cm import (
    IcdCode,
    IcdCodeSet,
    TabularNotes,
    format_icd,
    load_icd10cm_codes_file,
    load_icd10cm_order_file,
    load_icd10cm_tabular,
    normalize_icd,
)
from coding_svc.codesets.mce import AgeRange, MceEdits, Sex, extract_mce_edits
from coding_svc.codesets.ncci import MueLimit, MueTable, PtpEdit, PtpTable, load_mue_file, load_ptp_files
from coding_svc.codesets.procedures import (
    GlobalPeriod,
    ProcedureCode,
    ProcedureCodeSet,
    load_cpt_file,
    load_global_periods,
    load_hcpcs_file,
)
from coding_svc.codesets.reference import ModifierSet, PlaceOfServiceSet, load_modifiers, load_places_of_service
from coding_svc.codesets.registry import CodeSetRegistry, CodeSets
from coding_svc.codesets.search import IcdSearchIndex, SearchHit
from coding_svc.codesets.versioning import CodeSetNotInForce, EffectivePeriod, fiscal_year_period, quarter_period

__all__ = [
    "AgeRange",
    "CodeSetNotInForce",
    "CodeSetRegistry",
    "CodeSets",
    "EffectivePeriod",
    "GlobalPeriod",
    "IcdCode",
    "IcdCodeSet",
    "IcdSearchIndex",
    "MceEdits",
    "ModifierSet",
    "MueLimit",
    "MueTable",
    "PlaceOfServiceSet",
    "ProcedureCode",
    "ProcedureCodeSet",
    "PtpEdit",
    "PtpTable",
    "SearchHit",
    "Sex",
    "TabularNotes",
    "extract_mce_edits",
    "fiscal_year_period",
    "format_icd",
    "load_cpt_file",
    "load_global_periods",
    "load_hcpcs_file",
    "load_icd10cm_codes_file",
    "load_icd10cm_order_file",
    "load_icd10cm_tabular",
    "load_modifiers",
    "load_mue_file",
    "load_places_of_service",
    "load_ptp_files",
    "normalize_icd",
    "quarter_period",
]
