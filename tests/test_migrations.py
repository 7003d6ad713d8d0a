"""Every database's migrations build exactly the schema its models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
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


async def _execute(url: str, *statements: str) -> list[list[Any]]:
    database = Database(url, pool_size=1)
    try:
        async with database.engine.begin() as connection:
            results = [await connection.exec_driver_sql(sql) for sql in statements]
            return [list(map(tuple, r.fetchall())) if r.returns_rows else [] for r in results]
    finally:
        await database.dispose()


async def test_remit_rows_from_before_guarantors_are_billed_to_the_patient(
    backend: str, databases: DatabaseFactory
) -> None:
    """0006: existing claims, ledger entries and statements were the patient's own account; they stay that way."""
    url = await databases.create("mig_guarantors", backend)
    await upgrade_async("remit_svc", url, revision="0005_statement_runs")
    now = "2026-11-20 12:00:00+00:00"
    pdf = "'\\x25504446'::bytea" if backend == "postgresql" else "X'25504446'"
    await _execute(
        url,
        "INSERT INTO open_claim (id, tenant_id, patient_control_number, payer_id, patient_id, total_charge, "
        "submitted_at, created_at, practice_id, correlation_id, lines, status, updated_at) VALUES ('clm_1', 't', "
        f"'CF1', '60054', 'pat_1', 100, '{now}', '{now}', 'prc', '', '[]', 'open', '{now}')",
        "INSERT INTO ledger_entry (tenant_id, journal_id, account, kind, amount, claim_id, patient_id, "
        f"effective_date, posted_at) VALUES ('t', 'jnl_1', 'patient_ar', 'coinsurance', 20, 'clm_1', 'pat_1', "
        f"'2026-11-20', '{now}')",
        "INSERT INTO issued_statement (id, tenant_id, run_id, guarantor_id, patient_id, statement_date, balance, "
        "amount_due, aging, claims, pdf, created_at) VALUES ('stm_1', 't', 'str_1', 'pat_1', 'pat_1', '2026-11-21', "
        f"20, 20, '{{}}', 1, {pdf}, '{now}')",
    )
    await upgrade_async("remit_svc", url)
    claims, ledger, statements = await _execute(
        url,
        "SELECT guarantor_id FROM open_claim",
        "SELECT guarantor_id FROM ledger_entry",
        "SELECT patient_ids FROM issued_statement",
    )
    assert (claims, ledger) == ([("pat_1",)], [("pat_1",)])
    (patients,) = statements[0]
    assert (patients if isinstance(patients, list) else json.loads(patients)) == ["pat_1"]
    await downgrade_async("remit_svc", url, revision="0005_statement_runs")
    assert await _execute(url, "SELECT patient_id FROM issued_statement") == [[("pat_1",)]]
