"""Pytest fixtures for ClaimFlow's integration tests (loaded by the repository's root conftest.py).

Broker: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a testcontainers Kafka if a Docker engine answers,
else the embedded tansu broker. Database: ``DATABASE_URL`` (a PostgreSQL server URL) if set, else a
testcontainers PostgreSQL if Docker answers, else the local PostgreSQL at 127.0.0.1:5432 if it answers,
else SQLite. On PostgreSQL every test run creates fresh databases and drops them afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from claimflow_kit.db import Database
from claimflow_kit.embedded import EmbeddedBroker
from claimflow_kit.migrations import upgrade_async

T = TypeVar("T")

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 30.0, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns a truthy value or the deadline passes (then fail the test)."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last value: {last!r})")


async def waiting_for_a_lock(database: Database) -> bool:
    """Whether a session of ``database`` (PostgreSQL) waits for a lock: the sign that a transaction a test started
    meanwhile has reached the row or lock the test's open transaction holds."""
    async with database.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@functools.cache
def docker_available() -> bool:
    """True when a Docker engine answers its ping (then testcontainers can be used)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            with socket.socket(socket.AF_UNIX) as connection:
                connection.settimeout(1.0)
                connection.connect(host.removeprefix("unix://"))
                connection.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                return b" 200 " in connection.recv(64)
        address = host.split("://", 1)[-1]
        name, _, port = address.partition(":")
        with socket.create_connection((name, int(port or 2375)), timeout=1.0) as connection:
            connection.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in connection.recv(64)
    except (OSError, ValueError):
        return False


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


@dataclass
class BrokerHandle:
    """The broker the tests use and how to reach it."""

    bootstrap_servers: str
    kind: str  # "external", "testcontainers" or "embedded"
    embedded: EmbeddedBroker | None = None

    @property
    def idempotent_producer(self) -> bool:
        """Apache Kafka supports the idempotent producer; the embedded broker does not."""
        return self.kind != "embedded"

    def restart(self) -> None:
        """Restart the embedded broker (it forgets everything); other kinds cannot be restarted here."""
        if self.embedded is None:
            pytest.skip("only the embedded broker can be restarted by the tests")
        self.embedded.restart()

    def stop(self) -> None:
        """Stop the embedded broker."""
        if self.embedded is None:
            pytest.skip("only the embedded broker can be stopped by the tests")
        self.embedded.stop()

    def start(self) -> None:
        """Start the embedded broker again after ``stop``."""
        assert self.embedded is not None
        self.embedded.start()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    """The Kafka-protocol broker for the test session."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield BrokerHandle(external, "external")
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield BrokerHandle(container.get_bootstrap_server(), "testcontainers")
        return
    embedded = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "tansu.log")
    embedded.start()
    try:
        yield BrokerHandle(embedded.bootstrap_servers, "embedded", embedded)
    finally:
        embedded.stop()


@dataclass
class DatabaseFactory:
    """Makes fresh, empty databases: on a PostgreSQL server when one is available, else SQLite files."""

    server_url: str | None
    sqlite_dir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[str] = field(default_factory=list)

    @property
    def backend(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return "postgresql" if self.server_url else "sqlite"

    async def create(self, name: str, backend: str | None = None) -> str:
        """A fresh database URL (async driver) named after ``name``."""
        backend = backend or self.backend
        slug = "".join(c if c.isalnum() else "_" for c in name.lower())
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.sqlite_dir / f'{slug}_{uuid.uuid4().hex[:6]}.db'}"
        if self.server_url is None:
            pytest.skip("no PostgreSQL server available")
        database = f"cf_{self.run_id}_{slug}_{len(self.created)}"[:63]
        connection = await asyncpg.connect(_asyncpg_dsn(self.server_url))
        try:
            await connection.execute(f'CREATE DATABASE "{database}"')
        finally:
            await connection.close()
        self.created.append(database)
        return make_url(self.server_url).set(database=database).render_as_string(hide_password=False)

    @contextlib.asynccontextmanager
    async def migrated(self, name: str, backend: str, package: str) -> AsyncIterator[Database]:
        """A fresh database with ``package``'s migrations applied (the kit's tables come with any service's), open
        for the block."""
        url = await self.create(name, backend)
        await upgrade_async(package, url)
        database = Database(url, pool_size=2)
        try:
            yield database
        finally:
            await database.dispose()

    async def drop_all(self) -> None:
        """Drop every database this factory created."""
        if self.server_url is None or not self.created:
            return
        connection = await asyncpg.connect(_asyncpg_dsn(self.server_url))
        try:
            for database in self.created:
                await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await connection.close()


def _asyncpg_dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


def _postgres_server_url() -> tuple[str | None, Any]:
    configured = os.environ.get("DATABASE_URL")
    if configured:
        url = make_url(configured)
        if url.get_backend_name() == "postgresql":
            return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False), None
        return None, None
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="asyncpg")
        container.start()
        return container.get_connection_url(), container
    if _port_open("127.0.0.1", 5432):
        return LOCAL_POSTGRES, None
    return None, None


@pytest_asyncio.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    """Factory of fresh databases for the session's tests."""
    server_url, container = _postgres_server_url()
    factory = DatabaseFactory(server_url, tmp_path_factory.mktemp("sqlite"))
    try:
        yield factory
    finally:
        await factory.drop_all()
        if container is not None:
            container.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a contract test once per supported database backend."""
    return str(request.param)


# --- an independent X12 validator for tests (pyx12, a dev dependency) ------------------------------------


Pyx12Check = Callable[[str], list[str]]


def _error_strings(report: dict[str, object]) -> list[str]:
    """Flatten pyx12's JSON error report into "SEG: message" strings."""
    found: list[str] = []

    def walk(node: object, segment: str = "") -> None:
        if isinstance(node, dict):
            segment = str(node.get("seg_id", segment))
            if "err_str" in node:
                found.append(f"{segment}: {node['err_str']}")
            for value in node.values():
                walk(value, segment)
        elif isinstance(node, list):
            for item in node:
                walk(item, segment)

    walk(report)
    return found


@pytest.fixture(scope="session")
def pyx12_errors(tmp_path_factory: pytest.TempPathFactory) -> Pyx12Check:
    """Validate X12 text with pyx12 against its implementation-guide maps; return its error messages."""
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    directory = tmp_path_factory.mktemp("pyx12")
    counter = iter(range(1_000_000))

    def check(text: str) -> list[str]:
        path = directory / f"doc{next(counter)}.x12"
        path.write_text(text)
        ack, report = io.StringIO(), io.StringIO()
        valid = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), ack, None, None, report)
        errors = _error_strings(json.loads(report.getvalue())) if report.getvalue() else []
        if not valid and not errors:
            errors = ["pyx12 rejected the document without a message"]
        return errors

    return check


@contextlib.contextmanager
def statements_run(database: Database, *tables: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements (SQL, parameters) ``database`` runs while the block runs that name one of ``tables`` after
    FROM (SELECTs and DELETEs; not executemany)."""
    names = "|".join(tables)
    naming = re.compile(rf"\s*(SELECT\b.*|DELETE )\bFROM ({names})\b", re.DOTALL | re.IGNORECASE)
    seen: list[tuple[str, Any]] = []

    def note(_c: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not many and naming.match(statement):
            seen.append((statement, parameters))

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def query_plans(database: Database, statements: list[tuple[str, Any]], *settings: str) -> list[list[str]]:
    """Each statement's plan, a line per step (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN), after running
    ``settings`` (PostgreSQL ``SET`` statements) on the same connection; nothing is committed."""
    explain = "EXPLAIN QUERY PLAN " if database.dialect == "sqlite" else "EXPLAIN "
    plans = []
    async with database.engine.connect() as connection:
        for setting in settings:
            await connection.exec_driver_sql(setting)
        for sql, parameters in statements:
            plans.append([str(row[-1]) for row in (await connection.exec_driver_sql(explain + sql, parameters)).all()])
        await connection.rollback()
    return plans


async def whole_table_reads(database: Database, statements: list[tuple[str, Any]], *tables: str) -> list[Any]:
    """The statements whose plan reads one of ``tables`` whole, each with its plan. SQLite plans from the fixed
    statistics of ``claimflow_kit.sqlite_statistics``; on PostgreSQL sequential scans are turned off, so a plan
    keeps one only where no index applies."""
    names = "|".join(tables)
    if database.dialect == "sqlite":
        settings, whole = [], re.compile(rf"^SCAN ({names})\b")
    else:
        settings, whole = ["SET enable_seqscan = off"], re.compile(rf"Seq Scan on ({names})\b")
    plans = await query_plans(database, statements, *settings)
    return [(sql, plan) for (sql, _), plan in zip(statements, plans, strict=True) if any(map(whole.search, plan))]


async def tenant_wide_reads(database: Database, statements: list[tuple[str, Any]], *tables: str) -> list[Any]:
    """The statements whose plan reads every row of a tenant in one of ``tables`` (SQLite: an index searched on
    ``tenant_id`` alone), each with its plan. SQLite's plans come from the fixed statistics of
    ``claimflow_kit.sqlite_statistics``, so they are the ones production gets; PostgreSQL plans from what a test's
    few rows look like, so this asks SQLite only."""
    if database.dialect != "sqlite":
        raise ValueError("tenant_wide_reads reads SQLite plans")
    names = "|".join(tables)
    tenant_only = re.compile(rf"^SEARCH ({names}) USING (COVERING )?INDEX \S+ \(tenant_id=\?\)$")
    plans = await query_plans(database, statements)
    return [(sql, plan) for (sql, _), plan in zip(statements, plans, strict=True) if any(map(tenant_only.search, plan))]
