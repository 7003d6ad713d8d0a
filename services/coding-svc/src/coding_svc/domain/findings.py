"""What an edit reports: a stable code, a severity, a message a coder understands and a suggested fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """Errors stop an encounter from being billed; warnings are shown to the coder."""

    ERROR = "error"
    WARNING = "warning"


class EditCode(StrEnum):
    """Stable identifiers of the coding edits (stored on work items and sent in events: never rename)."""

    DX_MISSING = "DX_MISSING"
    ICD_INVALID = "ICD_INVALID"
    ICD_HEADER_CODE = "ICD_HEADER_CODE"
    ICD_MISSING_7TH_CHAR = "ICD_MISSING_7TH_CHAR"
    ICD_EXCLUDES1 = "ICD_EXCLUDES1"
    ICD_MANIFESTATION_FIRST = "ICD_MANIFESTATION_FIRST"
    ICD_SEX_CONFLICT = "ICD_SEX_CONFLICT"
    ICD_AGE_CONFLICT = "ICD_AGE_CONFLICT"
    ICD_EXTERNAL_CAUSE_FIRST = "ICD_EXTERNAL_CAUSE_FIRST"
    PROC_MISSING = "PROC_MISSING"
    PROC_INVALID = "PROC_INVALID"
    PROC_DELETED = "PROC_DELETED"
    MODIFIER_INVALID = "MODIFIER_INVALID"
    EM_WITHOUT_25 = "EM_WITHOUT_25"
    NCCI_PTP = "NCCI_PTP"
    MUE_EXCEEDED = "MUE_EXCEEDED"
    DX_POINTER_MISSING = "DX_POINTER_MISSING"
    DX_POINTER_OUT_OF_RANGE = "DX_POINTER_OUT_OF_RANGE"
    POS_INVALID = "POS_INVALID"
    POS_TELEHEALTH_MISMATCH = "POS_TELEHEALTH_MISMATCH"
    CODE_SET_CARRIED_FORWARD = "CODE_SET_CARRIED_FORWARD"


@dataclass(frozen=True, slots=True)
class Finding:
    """One edit that fired.

    ``line_number`` (1-based service line) and ``diagnosis_position`` (1-based, claim order) say where;
    ``codes`` lists the codes involved, so a UI can highlight them.
    """

    code: EditCode
    severity: Severity
    message: str
    suggested_fix: str
    line_number: int | None = None
    diagnosis_position: int | None = None
    codes: tuple[str, ...] = ()

    @property
    def blocking(self) -> bool:
        """True when the finding must be fixed before billing."""
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (for work items and API responses)."""
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "message": self.message,
            "suggested_fix": self.suggested_fix,
            "line_number": self.line_number,
            "diagnosis_position": self.diagnosis_position,
            "codes": list(self.codes),
        }


def has_blocking(findings: list[Finding]) -> bool:
    """True when any finding must be fixed before billing."""
    return any(f.severity is Severity.ERROR for f in findings)
