"""Queries built once and run with parameters (``TenantRepository.prepared``), on SQLite and PostgreSQL: each run
takes its own values, and the tenant is always the repository's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from claimflow_kit.db import Database
from claimflow_kit.errors import NotFound
from claimflow_kit.testing import DatabaseFactory
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def database(databases: DatabaseFactory, backend: str) -> AsyncIterator[Database]:
    async with databases.migrated("eligibility-repositories", backend, "eligibility_svc") as database:
        yield database


def check(check_id: str, tenant: str, encounter: str, payer: str, *, asked: bool, at: datetime) -> CoverageCheck:
    return CoverageCheck(
        id=check_id, tenant_id=tenant, encounter_id=encounter, patient_id="p-1", payer_id=payer,
        date_of_service=date(2026, 11, 2), origin="pre-check", status="pending", created_at=at,
        inquiry={"member_id": check_id} if asked else None,
    )  # fmt: skip


async def test_prepared_queries_take_each_runs_values_and_only_the_repositorys_tenant(database: Database) -> None:
    async with database.transaction() as session:
        session.add(check("c-old", "t-1", "e-1", "60054", asked=True, at=MONDAY))
        session.add(check("c-new", "t-1", "e-2", "60054", asked=True, at=MONDAY + timedelta(days=1)))
        session.add(check("c-unasked", "t-1", "e-3", "60054", asked=False, at=MONDAY + timedelta(days=2)))
        session.add(check("c-other-payer", "t-1", "e-4", "MCARE", asked=True, at=MONDAY + timedelta(days=3)))
        session.add(check("c-other-tenant", "t-2", "e-5", "60054", asked=True, at=MONDAY + timedelta(days=4)))

    async with database.transaction() as session:
        mine, theirs = CoverageCheckRepository(session, "t-1"), CoverageCheckRepository(session, "t-2")
        for _ in range(2):  # the second round runs the statements built in the first
            assert (await mine.get("c-old")).id == "c-old"
            assert (await mine.get("c-new", for_update=True)).id == "c-new"
            with pytest.raises(NotFound):
                await mine.get("c-other-tenant")
            assert (await theirs.get("c-other-tenant")).id == "c-other-tenant"

            found = await mine.of_encounter("e-2")
            assert found is not None
            assert found.id == "c-new"
            assert await mine.of_encounter("e-5") is None, "another tenant's encounter"
            assert await theirs.of_encounter("e-2") is None

            latest = await mine.latest_inquiry("p-1", "60054")
            assert latest is not None
            assert latest.id == "c-new", "the latest with an inquiry, of that payer and tenant"
            other_payer = await mine.latest_inquiry("p-1", "MCARE")
            assert other_payer is not None
            assert other_payer.id == "c-other-payer"
            assert await mine.latest_inquiry("p-1", None) is None
            session.expunge_all()
