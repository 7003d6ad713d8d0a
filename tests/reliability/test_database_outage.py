"""A service database that goes away and comes back: requests fail clearly, events wait, nothing is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from claimflow.testing import Stack, encounter_body, json_list
from claimflow_kit.directory import Role
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration


@asynccontextmanager
async def database_outage(url: str) -> AsyncIterator[None]:
    """Refuse new connections to the database and cut the open ones, until the block ends."""
    parsed = make_url(url)
    name = parsed.database
    admin = await asyncpg.connect(parsed.set(drivername="postgresql", database="postgres").render_as_string(False))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


async def test_consumer_and_api_survive_a_database_outage(stack: Stack) -> None:
    url = stack.settings["eligibility-svc"].database_url
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL to take a database away")
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    eligibility = stack.client("eligibility-svc")
    async with database_outage(url):
        posted = [
            await coding.post(
                "/v1/encounters", json=encounter_body(tenant), headers=tenant.headers(Role.EHR_INTEGRATION)
            )
            for _ in range(3)
        ]
        assert [p.status_code for p in posted] == [201, 201, 201]  # coding's own database is fine
        down = await eligibility.get("/v1/eligibility-checks", headers=tenant.headers(Role.BILLER))
        assert down.status_code == 503
        assert down.json()["error"] == "DatabaseUnavailable"
        ready = await eligibility.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("unavailable")
    ids = sorted(p.json()["id"] for p in posted)

    async def all_checked() -> list[dict[str, Any]]:
        response = await eligibility.get("/v1/eligibility-checks", headers=tenant.headers(Role.BILLER))
        if response.status_code != 200:
            return []
        checks: list[dict[str, Any]] = response.json()
        return checks if len(checks) >= 3 else []

    checks = await eventually(all_checked, within=60)
    assert sorted(c["encounter_id"] for c in checks) == ids  # each exactly once, none dead-lettered
    assert (await eligibility.get("/readyz")).status_code == 200
    assert await json_list(eligibility, "/v1/eligibility-checks", tenant.headers(Role.BILLER)) == checks
