"""The PostgreSQL server itself crashed mid-workload (``pg_ctl stop -m immediate``) and started again.

The shared local server is never stopped: this module's stack (chaos.py: own broker, sandbox, worker processes)
runs on a private server the module starts (``private_postgres.py``), so every service database — and the directory
of API keys — goes down at once. While the server is down every API answers 503 ``DatabaseUnavailable`` (the
encounter refused is posted again once it is back, as an EHR integration retries), every ``/readyz`` answers 503,
and the worker processes meet the outage in their relays and consumers. The server then starts on the same port and
data directory (crash recovery), the rest of the workload is posted, and chaos.py's invariants must hold:
lost = 0 and duplicated = 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func
from sqlmodel import select

from claimflow.services import SERVICES
from claimflow_kit.directory import Role
from claimflow_kit.testing import DatabaseFactory, eventually
from claims_svc.adapters.tables import Claim

from .chaos import ChaosStack, FaultReport, chaos_stack, check_invariants, new_workload
from .private_postgres import PrivatePostgres, private_postgres, unavailable_reason

pytestmark = pytest.mark.integration

RELAY_MARKERS = ("outbox relay",)
CONSUMER_MARKERS = ("dependency down", "could not record consumer positions")
"""What a worker process logs when its database does not answer: its outbox relay, and its consumers (handling an
event, or recording their positions)."""


@pytest_asyncio.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PrivatePostgres]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    log_dir = tmp_path_factory.mktemp("private-postgres")
    async with private_postgres(log_copy=log_dir / "postgres.log") as started:
        yield started


@pytest_asyncio.fixture(scope="module")
async def chaos(server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ChaosStack]:
    databases = DatabaseFactory(server.url, tmp_path_factory.mktemp("sqlite"))
    async with chaos_stack(databases, tmp_path_factory.mktemp("chaos"), seed=17) as stack:
        yield stack
        for report in stack.reports:
            print(report.line())


async def claims_built(chaos: ChaosStack, tenant: str) -> int:
    """How many claims claims-svc has built for ``tenant``."""
    async with chaos.database("claims-svc").transaction() as session:
        return (await session.exec(select(func.count()).select_from(Claim).where(Claim.tenant_id == tenant))).one()


def outage_lines(chaos: ChaosStack) -> dict[str, tuple[int, int]]:
    """Per worker process, how many of its log lines say its relay, and its consumers, met the database down."""
    counts = {}
    for service, worker in chaos.workers.items():
        lines = worker.log_text().splitlines()
        counts[service] = (
            sum(1 for line in lines if any(m in line for m in RELAY_MARKERS)),
            sum(1 for line in lines if any(m in line for m in CONSUMER_MARKERS)),
        )
    return counts


async def test_the_postgresql_server_crashed_and_restarted_mid_workload_loses_nothing(
    chaos: ChaosStack, server: PrivatePostgres
) -> None:
    workload = await new_workload(chaos, 16, seed=808)
    tenant = workload.tenant.id
    report = FaultReport("PostgreSQL server crash/restart")
    await workload.post(chaos, 8)

    async def busy() -> bool:  # claims-svc is building the tenant's claims: the crash cuts the pipeline mid-way
        return await claims_built(chaos, tenant) > 0

    await eventually(busy, within=60)
    logged_before = outage_lines(chaos)
    down_at = time.monotonic()
    await asyncio.to_thread(server.stop, "immediate")
    report.faults.append("PostgreSQL server stopped (immediate: a crash)")
    try:
        coding = chaos.stack.client("coding-svc")
        headers = workload.tenant.headers(Role.EHR_INTEGRATION)
        refused = await coding.post("/v1/encounters", json=workload.documents[workload.posted], headers=headers)
        assert refused.status_code == 503, refused.text  # not stored: posted again below, once the server is back
        assert refused.json()["error"] == "DatabaseUnavailable"

        async def every_service_not_ready() -> bool:
            for service in SERVICES:
                ready = await chaos.stack.client(service).get("/readyz")
                body: dict[str, Any] = ready.json()
                if ready.status_code != 503 or not body["checks"]["database"].startswith("unavailable"):
                    return False
            return True

        await eventually(every_service_not_ready, within=60, interval=0.5)

        async def workers_met_the_outage() -> bool:  # each worker's relay and consumers, not just one of them
            now = outage_lines(chaos)
            return all(now[s][i] > logged_before[s][i] for s in chaos.workers for i in (0, 1))

        await eventually(workers_met_the_outage, within=60, interval=0.5)
    finally:
        await asyncio.to_thread(server.start)  # same port and data directory: crash recovery
        report.extra["server down ms"] = round((time.monotonic() - down_at) * 1000)
    report.faults.append("PostgreSQL server started again")
    assert "automatic recovery in progress" in server.log_text(), "the restart recovered from a crash"
    await workload.post(chaos)  # the refused encounter and the rest of the day

    async def every_service_ready() -> bool:
        return all([(await chaos.stack.client(s).get("/readyz")).status_code == 200 for s in SERVICES])

    await eventually(every_service_ready, within=60, interval=0.5)
    await check_invariants(chaos, workload, report, within=120)
