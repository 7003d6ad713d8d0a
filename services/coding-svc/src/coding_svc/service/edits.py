"""The seam between intake/work queue and the coding edits: the intake document in, domain findings out."""

from __future__ import annotations

from typing import Protocol

from claimflow_events import CodingFinding
from claimflow_kit.errors import InvalidInput
from coding_svc.api.schemas import EncounterIn
from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.versioning import CodeSetNotInForce
from coding_svc.domain import EditEngine as DomainEditEngine
from coding_svc.domain import Encounter, Finding, ProcedureLine, Severity, Sex, age_on, has_blocking

__all__ = ["CodeSetEdits", "EditEngine", "Finding", "Severity", "as_event", "blocking"]


class EditEngine(Protocol):
    """Anything that checks an encounter's codes."""

    def evaluate(self, document: EncounterIn) -> list[Finding]:
        """Every finding for the encounter, in a stable order."""
        ...


class CodeSetEdits:
    """Runs the domain edits against the code sets in force on the date of service.

    ``registry`` is an immutable snapshot; a new quarter is swapped in by assigning a new one.
    """

    def __init__(self, registry: CodeSetRegistry) -> None:
        self.registry = registry
        self._engine = DomainEditEngine()

    def evaluate(self, document: EncounterIn) -> list[Finding]:
        """Findings for an intake document (raises InvalidInput when no code set covers its date)."""
        encounter = Encounter(
            date_of_service=document.date_of_service,
            place_of_service=document.place_of_service,
            patient_sex=Sex(document.patient.sex),
            patient_age=age_on(document.patient.birth_date, document.date_of_service),
            diagnoses=tuple(document.diagnoses),
            lines=tuple(
                ProcedureLine(
                    procedure_code=line.procedure_code,
                    modifiers=tuple(line.modifiers),
                    units=line.units,
                    diagnosis_pointers=tuple(line.diagnosis_pointers),
                )
                for line in document.lines
            ),
        )
        try:
            return self._engine.check(encounter, self.registry)
        except CodeSetNotInForce as exc:
            raise InvalidInput(f"{exc} (load the code set for that year: see codesets/LOADING.md)") from None


def as_event(finding: Finding) -> CodingFinding:
    """The minimum-necessary form of a finding carried by coding-review-required."""
    return CodingFinding(
        code=finding.code.value,
        severity=finding.severity.value,
        message=finding.message,
        line_number=finding.line_number,
    )


def blocking(findings: list[Finding]) -> bool:
    """True when any finding must be fixed before billing."""
    return has_blocking(findings)
