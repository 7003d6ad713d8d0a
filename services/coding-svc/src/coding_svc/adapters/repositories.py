"""Tenant-scoped repositories of coding-svc."""

from __future__ import annotations

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
