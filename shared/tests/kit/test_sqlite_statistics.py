"""The SQLite databases plan from fixed statistics, pinned by every migration run."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, make_url

from claimflow_kit.migrations import upgrade_async
from claimflow_kit.sqlite_statistics import index_estimate, pin_statistics, planned_statistics
from claimflow_kit.testing import DatabaseFactory

SERVICES = ["coding_svc", "eligibility_svc", "claims_svc", "remit_svc"]


def test_a_tenant_keeps_a_tenth_of_a_table_and_other_columns_keep_sqlites_own_guesses() -> None:
    assert index_estimate(["tenant_id", "id"], unique=False) == "1000000 100000 10"
    assert index_estimate(["tenant_id", "patient_control_number"], unique=True) == "1000000 100000 1"
    assert index_estimate(["tenant_id", "status", "appeal_deadline"], unique=False) == "1000000 100000 10000 10"
    assert index_estimate(["patient_id"], unique=False) == "1000000 10"
    assert index_estimate(["consumer", "event_id"], unique=True) == "1000000 10 1"
    assert index_estimate(["a", "b", "c", "d", "e", "f", "g"], unique=False) == "1000000 10 9 8 7 6 5 5"


def _stat1(path: str) -> set[tuple[str, str, str]]:
    with sqlite3.connect(path) as connection:
        return set(connection.execute("SELECT tbl, idx, stat FROM sqlite_stat1"))


def _indexes(path: str) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return set(connection.execute("SELECT tbl_name, name FROM sqlite_schema WHERE type = 'index'"))


@pytest.mark.parametrize("package", SERVICES)
async def test_every_index_of_a_migrated_database_has_its_estimate_and_a_second_run_changes_nothing(
    databases: DatabaseFactory, package: str
) -> None:
    url = await databases.create(f"stats-{package}", "sqlite")
    path = str(make_url(url).database)
    await upgrade_async(package, url)
    pinned = _stat1(path)

    assert {(table, index) for table, index, _ in pinned} == _indexes(path)
    assert ("claim", "ix_claim_tenant", "1000000 100000 10") in pinned or package != "claims_svc"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            assert planned_statistics(connection) == pinned
            assert pin_statistics(connection) is False, "nothing to write: no write lock taken at every start"
            connection.exec_driver_sql("CREATE INDEX ix_outbox_added ON outbox (tenant_id, topic)")
            assert pin_statistics(connection) is True
    finally:
        engine.dispose()
    assert ("outbox", "ix_outbox_added", "1000000 100000 10") in _stat1(path)


async def test_the_plans_follow_the_pinned_estimates(databases: DatabaseFactory) -> None:
    """Without them SQLite takes an equality on tenant_id for 10 rows and reads a tenant's claims in id order
    rather than look up the few claims asked for by number (and sort those)."""
    url = await databases.create("stats-plans", "sqlite")
    await upgrade_async("claims_svc", url)
    query = (
        "EXPLAIN QUERY PLAN SELECT id FROM claim WHERE tenant_id = ? AND patient_control_number IN (?, ?) ORDER BY id"
    )
    path = str(make_url(url).database)
    with sqlite3.connect(path) as connection:
        pinned = [row[-1] for row in connection.execute(query, ("t", "a", "b"))]
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM sqlite_stat1")
    with sqlite3.connect(path) as connection:
        guessed = [row[-1] for row in connection.execute(query, ("t", "a", "b"))]

    assert pinned[0].startswith("SEARCH claim USING INDEX ix_claim_patient_control_number"), pinned
    assert guessed == ["SEARCH claim USING INDEX ix_claim_tenant (tenant_id=?)"], guessed
