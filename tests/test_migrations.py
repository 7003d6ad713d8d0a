"""Every database's migrations build exactly the schema its models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from claimflow.services import SERVICES
from claimflow_kit.db import Database
from claimflow_kit.directory import directory_metadata
from claimflow_kit.migrations import downgrade_async, upgrade_async
from claimflow_kit.tables import kit_metadata
from claimflow_kit.testing import DatabaseFactory

pytestmark = pytest.mark.integration

SERVICE_METADATA = {
    "coding-svc": "coding_svc.adapters.tables:coding_metadata",
    "eligibility-svc": "eligibility_svc.adapters.tables:eligibility_metadata",
    "claims-svc": "claims_svc.adapters.tables:claims_metadata",
    "remit-svc": "remit_svc.adapters.tables:remit_metadata",
}


def _metadata(reference: str) -> MetaData:
    module, _, name = reference.partition(":")
    value: MetaData = getattr(__import__(module, fromlist=[name]), name)
    return value


def _differences(connection: Connection, metadatas: list[MetaData]) -> list[Any]:
    merged = MetaData()
    for metadata in metadatas:
        for table in metadata.tables.values():
            table.to_metadata(merged)
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, merged))


async def _diff(url: str, metadatas: list[MetaData]) -> list[Any]:
    database = Database(url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(_differences, metadatas)
    finally:
        await database.dispose()


async def _tables(url: str) -> set[str]:
    database = Database(url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            names: list[str] = await connection.run_sync(lambda c: inspect(c).get_table_names())
            return set(names) - {"alembic_version"}
    finally:
        await database.dispose()


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_service_migrations_match_models_and_downgrade(
    service: str, backend: str, databases: DatabaseFactory
) -> None:
    url = await databases.create(f"mig_{service}", backend)
    spec = SERVICES[service]
    await upgrade_async(spec.package, url)
    assert await _diff(url, [kit_metadata, _metadata(SERVICE_METADATA[service])]) == []
    assert {"outbox", "inbox", "audit_log", "consumer_position"} <= await _tables(url)
    await downgrade_async(spec.package, url)
    assert await _tables(url) == set()


async def test_directory_migrations_match_models(backend: str, databases: DatabaseFactory) -> None:
    url = await databases.create("mig_directory", backend)
    await upgrade_async("claimflow_kit", url, folder="directory_migrations")
    assert await _diff(url, [directory_metadata]) == []
