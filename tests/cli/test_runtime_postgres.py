"""The embedded runtime on a PostgreSQL server: one database per service, created, migrated, reused, dropped."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from claimflow.runtime import EmbeddedRuntime
from claimflow.services import SERVICES
from claimflow_kit.embedded import free_port_block
from claimflow_kit.testing import DatabaseFactory

pytestmark = pytest.mark.integration


async def _migration_heads(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    finally:
        await engine.dispose()


async def _existing(server: str, prefix: str) -> set[str]:
    dsn = make_url(server).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", f"{prefix}%")
    finally:
        await connection.close()
    return {row[0] for row in rows}


async def test_every_service_gets_its_own_migrated_database_on_the_server(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    if databases.server_url is None:
        pytest.skip("no PostgreSQL server available")
    server = databases.server_url  # any database on it: the runtime names its own
    runtime = EmbeddedRuntime(tmp_path / "stack", postgres=server)
    try:
        await asyncio.to_thread(runtime.prepare)
        prefix = (runtime.data_dir / "database-prefix").read_text().strip()
        expected = {f"{prefix}_{name.replace('-', '_')}" for name in ["directory", *SERVICES]}
        assert await _existing(server, prefix) == expected
        for name in SERVICES:
            url = runtime.database_url(name)
            assert runtime.environment(name)["CLAIMFLOW_DATABASE_URL"] == url
            assert runtime.environment(name)["CLAIMFLOW_DIRECTORY_URL"] == runtime.database_url("directory")
            assert len(await _migration_heads(url)) == 1
        await asyncio.to_thread(runtime.prepare)  # a restart finds its databases and creates nothing new
        assert await _existing(server, prefix) == expected
        assert f"PostgreSQL at {make_url(server).host}" in runtime.summary({})
    finally:
        await asyncio.to_thread(runtime.drop_databases)
    assert await _existing(server, prefix) == set()


def _left_in(data_dir: Path) -> tuple[list[Path], str, dict[str, str]]:
    """SQLite files, the database prefix and the demo credentials a run left in its data directory."""
    credentials: dict[str, str] = json.loads((data_dir / "demo-credentials.json").read_text())
    return list(data_dir.glob("*.db")), (data_dir / "database-prefix").read_text().strip(), credentials


async def test_the_main_job_runs_on_postgresql_when_given_a_server(databases: DatabaseFactory, tmp_path: Path) -> None:
    """`claimflow up --postgres URL` in smoke mode: every service ready on its PostgreSQL database, no SQLite file."""
    if databases.server_url is None:
        pytest.skip("no PostgreSQL server available")
    server = databases.server_url
    command = [sys.executable, "-m", "claimflow", "up", "--smoke", "--data-dir", str(tmp_path), "--postgres", server]
    command += ["--port-base", str(free_port_block(5)), "--broker-port", str(free_port_block(1))]
    try:
        result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=400)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"embedded: local broker + PostgreSQL at {make_url(server).host}" in result.stdout
        assert "Stopped." in result.stdout
        sqlite_files, prefix, credentials = await asyncio.to_thread(_left_in, tmp_path)
        assert sqlite_files == []
        assert len(await _existing(server, prefix)) == 1 + len(SERVICES)
        assert credentials["practice_id"]
    finally:
        await asyncio.to_thread(EmbeddedRuntime(tmp_path, postgres=server).drop_databases)
