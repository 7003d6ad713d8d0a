"""Intake finds the encounters a batch resends by their key, not by reading every encounter of the tenant."""

from __future__ import annotations

from datetime import date

import pytest

from claimflow_kit.identifiers import new_id
from claimflow_kit.testing import DatabaseFactory, statements_run, tenant_wide_reads
from coding_svc.adapters.repositories import EncounterRepository
from coding_svc.adapters.tables import Encounter

pytestmark = pytest.mark.integration


def _encounter(tenant_id: str, practice_id: str, ehr_id: str, version: int, *, current: bool) -> Encounter:
    return Encounter(
        id=new_id("enc"), tenant_id=tenant_id, practice_id=practice_id, ehr_encounter_id=ehr_id, version=version,
        is_current=current, content_sha256="0" * 64, patient_id="pat_1", date_of_service=date(2026, 11, 2),
        status="coded", document={},
    )  # fmt: skip


async def test_a_batchs_earlier_versions_are_looked_up_through_the_encounter_key(databases: DatabaseFactory) -> None:
    """On SQLite (the embedded default) the lookup read all of the tenant's current encounters for every batch
    posted: the key's index is (tenant, practice, EHR id, version) and the query named no practice."""
    async with databases.migrated("encounter-lookups", "sqlite", "coding_svc") as database:
        stored = [
            _encounter("ten_a", "prac_1", "E1", 1, current=False),
            _encounter("ten_a", "prac_1", "E1", 2, current=True),
            _encounter("ten_a", "prac_2", "E1", 1, current=True),
            _encounter("ten_a", "prac_1", "E2", 1, current=True),
            _encounter("ten_b", "prac_1", "E3", 1, current=True),
        ]
        async with database.transaction() as session:
            session.add_all(stored)

        with statements_run(database, "encounter") as queries:
            async with database.transaction() as session:
                found = await EncounterRepository(session, "ten_a").currents(
                    [("prac_1", "E1"), ("prac_1", "E3"), ("prac_2", "E2"), ("prac_1", "E9")]
                )

        assert {key: e.id for key, e in found.items()} == {("prac_1", "E1"): stored[1].id}
        assert queries
        assert await tenant_wide_reads(database, queries, "encounter") == []
