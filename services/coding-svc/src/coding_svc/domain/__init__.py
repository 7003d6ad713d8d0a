"""Pure coding rules: the encounter as the edits see it, edit findings, the edit engine and note suggestions.

No framework, database or broker imports; nothing is loaded at import time.
"""

from coding_svc.domain.edits import ALL_EDITS, EditEngine
from coding_svc.domain.encounter import Encounter, ProcedureLine, Sex, age_on
from coding_svc.domain.findings import EditCode, Finding, Severity, has_blocking
from coding_svc.domain.suggest import CodeSuggestion, NoteSuggester

__all__ = [
    "ALL_EDITS",
    "CodeSuggestion",
    "EditCode",
    "EditEngine",
    "Encounter",
    "Finding",
    "NoteSuggester",
    "ProcedureLine",
    "Severity",
    "Sex",
    "age_on",
    "has_blocking",
]
