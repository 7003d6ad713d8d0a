"""Tenant-scoped repositories of coding-svc."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col

from claimflow_kit.repository import TenantRepository
from coding_svc.adapters.tables import CodingChange, Encounter, PhysicianQuery, WorkItem


class EncounterRepository(TenantRepository[Encounter]):
    """Encounters of one tenant."""

    model = Encounter
    resource_name = "Encounter"

    async def current(self, practice_id: str, ehr_encounter_id: str) -> Encounter | None:
        """The latest version of an EHR encounter, if it was received before."""
        return await self.find(
            col(Encounter.practice_id) == practice_id,
            col(Encounter.ehr_encounter_id) == ehr_encounter_id,
            col(Encounter.is_current).is_(True),
        )

    async def currents(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Encounter]:
        """The latest versions of the EHR encounters ``(practice_id, ehr_encounter_id)`` received before, by key."""
        wanted = set(keys)
        found: dict[tuple[str, str], Encounter] = {}
        practices = sorted({practice_id for practice_id, _ in wanted})  # a batch's few: the unique key's prefix
        ehr_ids = sorted({ehr_id for _, ehr_id in wanted})
        for start in range(0, len(ehr_ids), 500):
            rows = await self.session.exec(
                self.scoped().where(
                    col(Encounter.practice_id).in_(practices),
                    col(Encounter.ehr_encounter_id).in_(ehr_ids[start : start + 500]),
                    col(Encounter.is_current).is_(True),
                )
            )
            found.update({key: e for e in rows.all() if (key := (e.practice_id, e.ehr_encounter_id)) in wanted})
        return found


class WorkItemRepository(TenantRepository[WorkItem]):
    """Coder work-queue items of one tenant."""

    model = WorkItem
    resource_name = "WorkItem"


class PhysicianQueryRepository(TenantRepository[PhysicianQuery]):
    """Physician queries of one tenant."""

    model = PhysicianQuery
    resource_name = "PhysicianQuery"


class CodingChangeRepository(TenantRepository[CodingChange]):
    """Code change history of one tenant."""

    model = CodingChange
    resource_name = "CodingChange"
