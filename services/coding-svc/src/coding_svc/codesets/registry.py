"""The code sets in force on a date of service, and the registry that holds every loaded version.

The registry is immutable: loading a new quarter builds a new registry (``with_ptp`` etc.) which the service
swaps in with one reference assignment, so requests in flight keep the snapshot they started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from coding_svc.codesets.icd10cm import IcdCodeSet
from coding_svc.codesets.ncci import MueTable, PtpTable
from coding_svc.codesets.procedures import ProcedureCodeSet
from coding_svc.codesets.reference import ModifierSet, PlaceOfServiceSet
from coding_svc.codesets.versioning import Dated, EffectivePeriod, Timeline

T = TypeVar("T")

_OPEN = EffectivePeriod(date.min)


@dataclass(frozen=True, eq=False, slots=True)
class CodeSets:
    """Every code set the edits need, as in force on one date of service."""

    icd: IcdCodeSet
    procedures: ProcedureCodeSet
    modifiers: ModifierSet
    places_of_service: PlaceOfServiceSet
    ptp: PtpTable
    mue: MueTable
    carried_forward: tuple[str, ...] = ()

    def describe(self) -> dict[str, str]:
        """Which version of each code set this is (for audit trails on findings)."""
        return {
            "icd10cm": self.icd.version,
            "procedures": self.procedures.version,
            "ptp": self.ptp.source,
            "mue": self.mue.source,
        }


class CodeSetRegistry:
    """All loaded versions of each code set; ``at(date_of_service)`` picks the ones in force."""

    __slots__ = ("_cache", "icd", "modifiers", "mue", "places_of_service", "procedures", "ptp")

    def __init__(
        self,
        *,
        icd: Timeline[IcdCodeSet],
        procedures: Timeline[ProcedureCodeSet],
        modifiers: Timeline[ModifierSet],
        places_of_service: Timeline[PlaceOfServiceSet],
        ptp: Timeline[PtpTable],
        mue: Timeline[MueTable],
    ) -> None:
        self.icd = icd
        self.procedures = procedures
        self.modifiers = modifiers
        self.places_of_service = places_of_service
        self.ptp = ptp
        self.mue = mue
        self._cache: dict[date, CodeSets] = {}

    @classmethod
    def of(
        cls,
        *,
        icd: list[IcdCodeSet],
        procedures: list[ProcedureCodeSet],
        modifiers: ModifierSet,
        places_of_service: PlaceOfServiceSet,
        ptp: list[PtpTable],
        mue: list[MueTable],
    ) -> CodeSetRegistry:
        """A registry from loaded code sets, each placed by its own effective period."""
        return cls(
            icd=_timeline("ICD-10-CM", [(s.period, s) for s in icd]),
            procedures=_timeline("CPT/HCPCS", [(s.period, s) for s in procedures]),
            modifiers=_timeline("modifier", [(_OPEN, modifiers)]),
            places_of_service=_timeline("place of service", [(_OPEN, places_of_service)]),
            ptp=_timeline("NCCI PTP", [(t.period, t) for t in ptp]),
            mue=_timeline("MUE", [(t.period, t) for t in mue]),
        )

    def at(self, date_of_service: date) -> CodeSets:
        """The code sets in force on the date of service; raises CodeSetNotInForce when one is missing.

        A date after the newest loaded version of a code set uses that version and names the code set in
        ``carried_forward`` (the edits then warn that the next release has not been loaded).
        """
        cached = self._cache.get(date_of_service)
        if cached is not None:
            return cached
        icd, icd_stale = self.icd.at_or_latest(date_of_service)
        procedures, procedures_stale = self.procedures.at_or_latest(date_of_service)
        ptp, ptp_stale = self.ptp.at_or_latest(date_of_service)
        mue, mue_stale = self.mue.at_or_latest(date_of_service)
        stale = (
            (self.icd, icd_stale),
            (self.procedures, procedures_stale),
            (self.ptp, ptp_stale),
            (self.mue, mue_stale),
        )
        found = CodeSets(
            icd=icd,
            procedures=procedures,
            modifiers=self.modifiers.at(date_of_service),
            places_of_service=self.places_of_service.at(date_of_service),
            ptp=ptp,
            mue=mue,
            carried_forward=tuple(timeline.kind for timeline, carried in stale if carried),
        )
        if len(self._cache) < 4096:
            self._cache[date_of_service] = found
        return found

    def _replace(
        self,
        *,
        icd: Timeline[IcdCodeSet] | None = None,
        procedures: Timeline[ProcedureCodeSet] | None = None,
        ptp: Timeline[PtpTable] | None = None,
        mue: Timeline[MueTable] | None = None,
    ) -> CodeSetRegistry:
        return CodeSetRegistry(
            icd=icd if icd is not None else self.icd,
            procedures=procedures if procedures is not None else self.procedures,
            modifiers=self.modifiers,
            places_of_service=self.places_of_service,
            ptp=ptp if ptp is not None else self.ptp,
            mue=mue if mue is not None else self.mue,
        )

    def with_icd(self, code_set: IcdCodeSet) -> CodeSetRegistry:
        """A new registry with one more (or a replaced) ICD-10-CM year."""
        return self._replace(icd=self.icd.with_version(code_set.period, code_set))

    def with_procedures(self, code_set: ProcedureCodeSet) -> CodeSetRegistry:
        """A new registry with one more (or a replaced) CPT/HCPCS release."""
        return self._replace(procedures=self.procedures.with_version(code_set.period, code_set))

    def with_ptp(self, table: PtpTable) -> CodeSetRegistry:
        """A new registry with one more (or a replaced) NCCI PTP quarter."""
        return self._replace(ptp=self.ptp.with_version(table.period, table))

    def with_mue(self, table: MueTable) -> CodeSetRegistry:
        """A new registry with one more (or a replaced) MUE quarter."""
        return self._replace(mue=self.mue.with_version(table.period, table))


def _timeline(kind: str, versions: list[tuple[EffectivePeriod, T]]) -> Timeline[T]:
    return Timeline(kind, [Dated(period, value) for period, value in versions])
