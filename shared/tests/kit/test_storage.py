"""Writes on the hot path: audit entries and single-row inserts without the ORM, SQLite's log copied back in."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from claimflow_kit.audit import AuditAction, audit, audit_many
from claimflow_kit.auth import Principal
from claimflow_kit.bulk import insert_at_commit, insert_rows
from claimflow_kit.context import correlation_id_var
from claimflow_kit.db import Database, WalCheckpointer, is_transient
from claimflow_kit.directory import Directory, PracticeCache, Role
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.tables import AuditLogEntry, distinct_values
from claimflow_kit.testing import DatabaseFactory, eventually

pytestmark = pytest.mark.integration

NOTES = Table(
    "test_note",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("text", String(200), nullable=True),
    Index("ix_test_note_tenant", "tenant_id"),
)


@pytest.fixture
async def database(databases: DatabaseFactory, backend: str) -> AsyncIterator[Database]:
    async with databases.migrated("storage", backend, "coding_svc") as database:
        async with database.engine.begin() as connection:
            await connection.run_sync(NOTES.metadata.create_all)
        yield database


async def test_audit_many_records_what_audit_records(database: Database) -> None:
    biller = Principal(tenant_id="t-audit", role=Role.BILLER, client_id="key-1")
    token = correlation_id_var.set("corr-1")
    try:
        async with database.transaction() as session:
            audit(session, biller, AuditAction.READ, "Claim", "c-1", patient_id="p-1", detail="one by one")
        async with database.transaction() as session:
            await audit_many(
                session, biller, AuditAction.READ, "Claim", [("c-2", "p-2"), ("c-3", None)], detail="one by one"
            )
    finally:
        correlation_id_var.reset(token)
    async with database.transaction() as session:
        entries = (await session.exec(select(AuditLogEntry).where(col(AuditLogEntry.tenant_id) == "t-audit"))).all()
    written = sorted(
        (e.resource_id, e.patient_id, e.actor, e.actor_role, e.action, e.resource_type, e.correlation_id, e.detail)
        for e in entries
    )
    assert written == [
        ("c-1", "p-1", "key-1", "biller", "read", "Claim", "corr-1", "one by one"),
        ("c-2", "p-2", "key-1", "biller", "read", "Claim", "corr-1", "one by one"),
        ("c-3", None, "key-1", "biller", "read", "Claim", "corr-1", "one by one"),
    ]
    assert all(e.occurred_at.tzinfo is not None for e in entries)


async def test_single_row_inserts_with_different_columns_each_store_their_own(database: Database) -> None:
    for _ in range(2):  # the second round uses the INSERTs compiled by the first
        async with database.transaction() as session:
            await insert_rows(session, NOTES, [{"tenant_id": "t-1", "text": "with text"}])
            await insert_rows(session, NOTES, [{"tenant_id": "t-2"}])
            await insert_rows(session, NOTES, [{"text": "order of keys", "tenant_id": "t-3"}])
    async with database.transaction() as session:
        connection = await session.connection()
        rows = (await connection.execute(text("SELECT tenant_id, text FROM test_note ORDER BY id"))).all()
    assert [tuple(row) for row in rows] == [("t-1", "with text"), ("t-2", None), ("t-3", "order of keys")] * 2


async def test_distinct_values_probes_the_index_once_per_value_instead_of_reading_it_all(database: Database) -> None:
    async with database.transaction() as session:
        assert list((await session.exec(distinct_values(NOTES.c.tenant_id))).all()) == []
        await insert_rows(session, NOTES, [{"tenant_id": f"t-{i % 3}", "text": None} for i in range(300)])
        found = list((await session.exec(distinct_values(NOTES.c.tenant_id))).all())
        assert found == ["t-0", "t-1", "t-2"]
        if database.dialect == "sqlite":  # its planner needs no statistics to pick the index, so the plan is stable
            connection = await session.connection()
            sql = str(distinct_values(NOTES.c.tenant_id).compile(dialect=connection.dialect))
            plan = [str(row[-1]) for row in (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()]
            assert not [step for step in plan if step.startswith("SCAN test_note")], plan
            assert any("USING COVERING INDEX ix_test_note_tenant" in step for step in plan), plan


async def test_rows_staged_for_the_commit_are_written_in_order_with_it_and_not_without_it(database: Database) -> None:
    async def notes() -> list[tuple[str, str | None]]:
        async with database.transaction() as session:
            connection = await session.connection()
            rows = await connection.execute(text("SELECT tenant_id, text FROM test_note ORDER BY id"))
            return [(row[0], row[1]) for row in rows]

    async with database.transaction() as session:
        insert_at_commit(session, NOTES, {"tenant_id": "t-1", "text": "first"})
        await insert_rows(session, NOTES, [{"tenant_id": "t-0", "text": "written at once"}])
        insert_at_commit(session, NOTES, {"tenant_id": "t-2", "text": None})
        insert_at_commit(session, NOTES, {"tenant_id": "t-3"})  # other keys: a statement of its own, still in order
        insert_at_commit(session, NOTES, {"tenant_id": "t-4", "text": "last"})
        connection = await session.connection()
        seen = (await connection.execute(text("SELECT count(*) FROM test_note"))).scalar_one()
    assert seen == 1  # staged rows are not there before the commit
    assert await notes() == [
        ("t-0", "written at once"),
        ("t-1", "first"),
        ("t-2", None),
        ("t-3", None),
        ("t-4", "last"),
    ]

    async def failing() -> None:
        async with database.transaction() as session:
            insert_at_commit(session, NOTES, {"tenant_id": "t-5", "text": "rolled back"})
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with database.transaction() as session:  # a session of the pool after the failure stages nothing old
        insert_at_commit(session, NOTES, {"tenant_id": "t-6", "text": "next"})
    assert [tenant for tenant, _ in await notes()] == ["t-0", "t-1", "t-2", "t-3", "t-4", "t-6"]


async def test_a_task_that_opens_a_second_transaction_inside_its_first_is_told_at_once(database: Database) -> None:
    """On SQLite the second would wait for the first (one writer) for the whole busy timeout, then fail: a route
    that took the request's session and then asked a service method for a transaction of its own hung so. It is
    refused on PostgreSQL too, where it would work, so that the test suites find it on either database."""
    async with database.transaction() as session:
        await insert_rows(session, NOTES, [{"tenant_id": "t-outer"}])
        with pytest.raises(RuntimeError, match="already has a transaction"):
            async with asyncio.timeout(2), database.transaction():
                pass

        async def other_task() -> None:  # another task waits its turn, and then has its own
            async with database.transaction() as own:
                await insert_rows(own, NOTES, [{"tenant_id": "t-other"}])

        waiting = asyncio.create_task(other_task())
    await asyncio.wait_for(waiting, 10)
    async with database.transaction() as session:  # the task may open one again once the first is closed
        connection = await session.connection()
        stored = (await connection.execute(text("SELECT tenant_id FROM test_note ORDER BY id"))).scalars().all()
    assert stored == ["t-outer", "t-other"]


async def test_sqlite_commits_reach_the_database_file_through_the_checkpointer(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create("checkpoint", "sqlite")
    path = make_url(url).database
    assert path is not None
    database = Database(url, pool_size=1)
    try:
        async with database.transaction() as session:
            connection = await session.connection()
            assert (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
            await connection.run_sync(NOTES.metadata.create_all)
        async with database.transaction() as session:
            await insert_rows(session, NOTES, [{"tenant_id": "t-1", "text": f"note {n}"} for n in range(500)])
        checkpointer = WalCheckpointer(path, interval=0)
        checkpointer.committed()
        checkpointer.wait()
        # The database file alone (as a file-level backup would copy it, without the -wal file) has every row.
        copy = tmp_path / "copy.db"
        shutil.copyfile(path, copy)
        with closing(sqlite3.connect(copy)) as alone:
            assert alone.execute("SELECT count(*) FROM test_note").fetchone() == (500,)
    finally:
        await database.dispose()


async def test_sqlite_statements_return_rows_counts_and_errors_as_through_sqlalchemys_own_driver(
    databases: DatabaseFactory,
) -> None:
    url = await databases.create("one-hop", "sqlite")
    database = Database(url, pool_size=1)
    try:
        async with database.transaction() as session:
            connection = await session.connection()
            await connection.run_sync(NOTES.metadata.create_all)
            inserted = await connection.execute(NOTES.insert().values(tenant_id="t-1", text="first"))
            assert inserted.inserted_primary_key == (1,)
            await connection.execute(NOTES.insert(), [{"tenant_id": "t-1", "text": f"n{n}"} for n in range(5)])
        async with database.transaction() as session:
            connection = await session.connection()
            updated = await connection.execute(NOTES.update().where(NOTES.c.text.like("n%")).values(text="changed"))
            assert updated.rowcount == 5
            rows = (await connection.execute(text("SELECT id, text FROM test_note ORDER BY id"))).all()
            assert [tuple(row) for row in rows] == [(1, "first"), *[(n, "changed") for n in range(2, 7)]]
            streamed = await connection.stream(text("SELECT id FROM test_note ORDER BY id"))
            assert [row[0] async for row in streamed] == [1, 2, 3, 4, 5, 6]

        async def insert_a_duplicate() -> None:
            async with database.transaction() as session:
                await (await session.connection()).execute(NOTES.insert().values(id=1, tenant_id="t-1"))

        with pytest.raises(IntegrityError):
            await insert_a_duplicate()
        async with database.transaction() as session:  # the failed transaction left nothing behind
            count = (await (await session.connection()).execute(text("SELECT count(*) FROM test_note"))).scalar_one()
        assert count == 6
    finally:
        await database.dispose()


async def test_a_sqlite_transaction_waits_for_another_connections_write_lock_without_holding_the_event_loop(
    databases: DatabaseFactory,
) -> None:
    """Statements inside a write transaction run on the event loop's thread; only ``BEGIN IMMEDIATE`` may wait
    for the lock, and it must wait (not fail at once with "database is locked") while the loop goes on."""
    url = await databases.create("lock-wait", "sqlite")
    database = Database(url, pool_size=1)
    path = make_url(url).database
    assert path is not None
    try:
        async with database.transaction() as session:
            await (await session.connection()).run_sync(NOTES.metadata.create_all)
        with closing(sqlite3.connect(path, isolation_level=None)) as other:  # another process's writer
            other.execute("BEGIN IMMEDIATE")

            async def write() -> None:
                async with database.transaction() as session:
                    await (await session.connection()).execute(NOTES.insert().values(tenant_id="t-1", text="waited"))

            writing = asyncio.create_task(write())
            ticks = 0
            while ticks < 20:  # the loop keeps running while the write waits for the lock
                await asyncio.sleep(0.01)
                ticks += 1
            assert not writing.done(), "the write waits for the other connection's lock"
            other.execute("COMMIT")
            await asyncio.wait_for(writing, timeout=30)

            # A caller cancelled while its BEGIN waits on the thread leaves no lock behind and the pool usable:
            # SQLAlchemy closes a connection whose operation was cancelled (the close queues behind the BEGIN),
            # instead of rolling it back beside the BEGIN, where it would find no transaction yet.
            other.execute("BEGIN IMMEDIATE")
            cancelled = asyncio.create_task(write())
            for _ in range(20):
                await asyncio.sleep(0.01)
            cancelled.cancel()
            for _ in range(20):
                await asyncio.sleep(0.01)
            other.execute("ROLLBACK")
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(cancelled, timeout=30)
            other.execute("PRAGMA busy_timeout=2000")
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the cancelled caller's BEGIN kept the lock
            other.execute("ROLLBACK")
            await write()  # and the pooled connection starts a transaction of its own again
        async with database.transaction() as session:
            rows = (await (await session.connection()).execute(text("SELECT text FROM test_note"))).all()
        assert [row[0] for row in rows] == ["waited", "waited"]
    finally:
        await database.dispose()


async def test_the_practice_cache_finds_a_practice_added_after_it_read_the_tenant(
    databases: DatabaseFactory, backend: str
) -> None:
    url = await databases.create("directory", backend)
    await upgrade_async("claimflow_kit", url, folder="directory_migrations")
    directory = Database(url, pool_size=1)
    try:
        async with directory.transaction() as session:
            book = Directory(session)
            await book.create_tenant("t-cache", "Billing company")
            first = await book.add_practice("t-cache", "First Practice", "1234567893", "123456789")
            await book.create_tenant("t-other", "Another billing company")
            theirs = await book.add_practice("t-other", "Their Practice", "1245319599", "987654321")
        cache = PracticeCache(directory, ttl=3600)
        assert [p.id for p in await cache.practices("t-cache")] == [first.id]
        async with directory.transaction() as session:
            second = await Directory(session).add_practice("t-cache", "Second Practice", "1679576722", "123456780")
            stored = await session.get(type(first), first.id)
            assert stored is not None
            stored.name = "First Practice, renamed"
            session.add(stored)
        assert [p.name for p in await cache.practices("t-cache")] == ["First Practice"], "kept for the ttl"
        found = await cache.practice("t-cache", second.id)
        assert found is not None, "an id not kept is looked up again at once"
        assert found.name == "Second Practice"
        assert sorted(p.name for p in await cache.practices("t-cache")) == [
            "First Practice, renamed",
            "Second Practice",
        ]
        assert await cache.practice("t-cache", theirs.id) is None, "never another tenant's practice"
    finally:
        await directory.dispose()


async def _backend_pid(database: Database) -> int:
    async with database.transaction() as session:
        return int((await session.exec(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[call-overload]


async def _terminate(url: str, pid: int) -> None:
    """End one server process from outside the pool, as a server restart ends them all."""
    other = Database(url, pool_size=1)
    try:
        async with other.transaction() as session:
            await session.exec(text("SELECT pg_terminate_backend(:pid)"), params={"pid": pid})  # type: ignore[call-overload]
    finally:
        await other.dispose()


async def test_a_pooled_postgresql_connection_idle_past_the_limit_is_checked_and_replaced_when_dead(
    databases: DatabaseFactory,
) -> None:
    url = await databases.create("ping", "postgresql")
    database = Database(url, pool_size=1, ping_idle_after=0.0)  # every connection counts as idle: always checked
    try:
        first = await _backend_pid(database)
        await _terminate(url, first)
        assert await _backend_pid(database) != first  # the dead one was found before use and replaced
    finally:
        await database.dispose()


async def test_a_postgresql_connection_returned_moments_ago_is_not_pinged_but_replaced_once_the_server_closed_it(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No round trip for a connection just returned (its socket tells whether the server closed it)."""
    url = await databases.create("no_ping", "postgresql")
    database = Database(url, pool_size=1, ping_idle_after=3600.0)
    pings: list[DBAPIConnection] = []
    real_ping = database.engine.dialect.do_ping

    def counted_ping(connection: DBAPIConnection) -> bool:
        pings.append(connection)
        return real_ping(connection)

    monkeypatch.setattr(database.engine.dialect, "do_ping", counted_ping)
    try:
        first = await _backend_pid(database)
        assert await _backend_pid(database) == first  # the same connection again, not a new one
        await _terminate(url, first)

        async def replaced() -> bool:
            try:
                return await _backend_pid(database) != first
            except DBAPIError as exc:  # only if the server closes it while it is handed out: once, transient
                if not is_transient(exc):
                    raise
                return False

        await eventually(replaced)
        assert pings == []
    finally:
        await database.dispose()
