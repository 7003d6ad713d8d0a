"""Pytest fixtures that run ClaimFlow's services in-process against the real broker and databases.

Each service gets a fresh database (PostgreSQL when available, else SQLite), the shared tenant
directory, and its real worker (consumers + outbox relay) running as asyncio tasks; APIs are called
through httpx against the real ASGI apps.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest_asyncio
from fastapi import FastAPI

from claimflow.sandbox_config import connector_settings
from claimflow.services import SERVICES
from claimflow_kit.config import ServiceSettings
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory, Role
from claimflow_kit.embedded import EmbeddedBroker
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.testing import BrokerHandle, DatabaseFactory
from claimflow_kit.worker import Worker

OPS_TOKEN = "ops-token-of-the-test-installation"  # noqa: S105 - a fixed token of in-process test services
"""The installation-level ops token every test service accepts on its /ops endpoints."""
OPS_HEADERS = {"Authorization": f"Bearer {OPS_TOKEN}"}

FAST_SETTINGS: dict[str, Any] = {
    "outbox_poll_interval_seconds": 0.05,
    "broker_check_interval_seconds": 1.0,
    "consumer_retry_backoff_seconds": 0.01,
    "outbox_lease_seconds": 2.0,
    "lag_report_interval_seconds": 0.5,
    "kafka_request_timeout_ms": 5000,
    "log_json": True,
    "ops_token": OPS_TOKEN,
}
SERVICE_FAST_SETTINGS: dict[str, dict[str, Any]] = {
    "coding-svc": {"codeset_refresh_seconds": 0.2},
    "claims-svc": {"claims_batch_window_seconds": None, "claims_pipeline_idle_seconds": 0.1},
    "remit-svc": {"remit_poll_seconds": 0.2},
    "eligibility-svc": {
        "eligibility_deadline_seconds": 3.0,
        "eligibility_first_backoff_seconds": 0.05,
        "eligibility_max_backoff_seconds": 0.4,
    },
}


@contextlib.asynccontextmanager
async def served(app: FastAPI, *, lifespan: Literal["on", "off"] = "on") -> AsyncIterator[str]:
    """Serve ``app`` over real HTTP (uvicorn on a free port, in this event loop); yields its base URL.

    ``lifespan="off"`` serves an app whose lifespan already runs elsewhere (a test stack's in-process app)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="served-app")
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the app stopped during start-up")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class LiveServer:
    """An app served by ``served`` between ``start()`` and ``stop()`` (for fixtures that cannot hold a context)."""

    def __init__(self, app: FastAPI, *, lifespan: Literal["on", "off"] = "on") -> None:
        self.app = app
        self.lifespan = lifespan
        self.url = ""
        self._running = contextlib.AsyncExitStack()

    async def start(self) -> str:
        """Start serving; returns the base URL."""
        self.url = await self._running.enter_async_context(served(self.app, lifespan=self.lifespan))
        return self.url

    async def stop(self) -> None:
        """Stop serving."""
        await self._running.aclose()


class SandboxServer(LiveServer):
    """The payer-sandbox served over real HTTP (uvicorn on a free port) for the session's services."""

    def __init__(self, seed: int = 1) -> None:
        from payer_sandbox.config import SandboxSettings
        from payer_sandbox.main import create_app as sandbox_app

        super().__init__(sandbox_app(SandboxSettings(seed=seed)))
        self.seed = seed


@dataclass
class TenantFixture:
    """A tenant created for a test, with a practice and one API key per role."""

    id: str
    practice_id: str
    keys: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        """Authorization header of this tenant's key for ``role``."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


def encounter_body(tenant: TenantFixture, **overrides: Any) -> dict[str, Any]:
    """An EHR encounter document for ``tenant``'s practice."""
    body: dict[str, Any] = {
        "practice_id": tenant.practice_id,
        "ehr_encounter_id": f"ehr-{uuid.uuid4().hex[:10]}",
        "patient": {
            "ehr_patient_id": "P-1",
            "first_name": "Maria",
            "last_name": "Lopez",
            "birth_date": "1984-03-09",
            "sex": "F",
            "member_id": "W123456789",
        },
        "payer_id": "60054",
        "date_of_service": "2026-11-02",
        "place_of_service": "11",
        "rendering_provider_npi": "1234567893",
        "billing_provider_npi": "1234567893",
        "diagnoses": ["J20.9", "R05.9"],
        "lines": [{"procedure_code": "99213", "units": "1", "diagnosis_pointers": [1, 2], "charge": "125.00"}],
    }
    body.update(overrides)
    return body


async def json_list(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """GET a list endpoint and return its items (asserting 200)."""
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def page_ids(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[list[str]]:
    """The ids of each page of a paged list, following Link rel="next" from ``url`` until a page names none."""
    pages: list[list[str]] = []
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append([item["id"] for item in response.json()])
        next_url = response.links.get("next", {}).get("url")
        assert len(pages) < 50, "the pages never end"
    return pages


@dataclass
class Stack:
    """The services of one test session: settings, apps, HTTP clients and workers."""

    broker: BrokerHandle
    directory_url: str
    settings: dict[str, ServiceSettings]
    apps: dict[str, FastAPI] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    workers: dict[str, Worker] = field(default_factory=dict)
    sandbox_url: str | None = None
    worker_tasks: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = field(default_factory=dict)
    _lifespans: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    def client(self, service: str) -> httpx.AsyncClient:
        """HTTP client of a service's API."""
        return self.clients[service]

    def database(self, service: str) -> Database:
        """A new handle on a service's database (dispose it after use)."""
        return Database(self.settings[service].database_url, pool_size=2)

    async def create_tenant(self, label: str = "t") -> TenantFixture:
        """A fresh tenant with a practice and keys for every role."""
        tenant_id = f"{label}-{uuid.uuid4().hex[:8]}"
        directory = Database(self.directory_url, pool_size=1)
        try:
            async with directory.transaction() as session:
                book = Directory(session)
                await book.create_tenant(tenant_id, f"Billing company {tenant_id}")
                practice = await book.add_practice(
                    tenant_id,
                    "Practice One",
                    "1234567893",
                    "123456789",
                    address=("100 Main Street", "Springfield", "IL", "627011234"),
                    taxonomy_code="207Q00000X",
                )
                keys = {role: (await book.issue_key(tenant_id, role, role.value)).token for role in Role}
        finally:
            await directory.dispose()
        return TenantFixture(tenant_id, practice.id, keys)

    async def start_worker(self, service: str) -> Worker:
        """Start a service's worker (consumers + relay) as a background task."""
        spec = SERVICES[service]
        settings = self.settings[service]
        worker = Worker(settings, spec.subscriptions(settings), migrations_package=spec.package)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop), name=f"worker-{service}")
        self.workers[service] = worker
        self.worker_tasks[service] = (task, stop)
        await worker.started.wait()
        return worker

    async def stop_worker(self, service: str) -> None:
        """Stop a service's worker and wait for it to finish."""
        task, stop = self.worker_tasks.pop(service)
        self.workers.pop(service, None)
        stop.set()
        await task

    async def open(self) -> None:
        """Start every app (lifespan) and its HTTP client."""
        for name, spec in SERVICES.items():
            app = spec.create_app(self.settings[name])
            await self._lifespans.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            await self._lifespans.enter_async_context(client)
            self.apps[name] = app
            self.clients[name] = client

    async def close(self) -> None:
        """Stop workers and apps."""
        for service in list(self.worker_tasks):
            await self.stop_worker(service)
        await self._lifespans.aclose()


async def build_stack(
    broker: BrokerHandle, databases: DatabaseFactory, backend: str | None = None, *, sandbox_url: str | None = None
) -> Stack:
    """Create databases, migrate them and configure every service against ``broker`` (and the payer-sandbox)."""
    directory_url = await databases.create("directory", backend)
    await upgrade_async("claimflow_kit", directory_url, folder="directory_migrations")
    settings: dict[str, ServiceSettings] = {}
    for name, spec in SERVICES.items():
        url = await databases.create(name, backend)
        await upgrade_async(spec.package, url)
        settings[name] = spec.settings(
            database_url=url,
            directory_url=directory_url,
            kafka_bootstrap_servers=broker.bootstrap_servers,
            kafka_idempotent_producer=broker.idempotent_producer,
            **FAST_SETTINGS,
            **SERVICE_FAST_SETTINGS.get(name, {}),
            **(connector_settings(name, sandbox_url) if sandbox_url else {}),
        )
    return Stack(broker, directory_url, settings, sandbox_url=sandbox_url)


@contextlib.asynccontextmanager
async def running_stack(broker: BrokerHandle, databases: DatabaseFactory, *, seed: int = 1) -> AsyncIterator[Stack]:
    """Every service with its worker running on ``broker``, and a payer-sandbox (population ``seed``) of its own."""
    sandbox = SandboxServer(seed=seed)
    built = await build_stack(broker, databases, sandbox_url=await sandbox.start())
    await built.open()
    for name in SERVICES:
        await built.start_worker(name)
    try:
        yield built
    finally:
        await built.close()
        await sandbox.stop()


@contextlib.asynccontextmanager
async def isolated_stack(databases: DatabaseFactory, log_dir: Path, *, seed: int) -> AsyncIterator[Stack]:
    """A running stack on an embedded broker of its own: on the session's broker its workers would share consumer
    groups with the session stack's, and each would get only part of the other's events."""
    embedded = EmbeddedBroker(log_path=log_dir / "tansu.log")
    embedded.start()
    try:
        async with running_stack(
            BrokerHandle(embedded.bootstrap_servers, "embedded", embedded), databases, seed=seed
        ) as built:
            yield built
    finally:
        embedded.stop()


@pytest_asyncio.fixture(scope="session")
async def stack(broker: BrokerHandle, databases: DatabaseFactory) -> AsyncIterator[Stack]:
    """Every service with its worker running, and the payer-sandbox, shared by the session's cross-service tests."""
    async with running_stack(broker, databases) as built:
        yield built
