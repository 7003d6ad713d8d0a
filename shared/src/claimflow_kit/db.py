"""Async database access: engines tuned per dialect and the unit of work that owns the transaction."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit import sqlite_driver
from claimflow_kit.bulk import write_staged_rows
from claimflow_kit.sqlite_driver import OneHopConnection

logger = logging.getLogger(__name__)

TRANSIENT_SQLSTATES = frozenset({"55000", "57P01", "57P02", "57P03", "53300", "40001", "40P01"})
"""Not accepting connections, shutdowns, too many connections, serialization failure, deadlock."""


def is_transient(exc: BaseException) -> bool:
    """True when a database error says "not now" (outage, restart, contention), not "never"."""
    if isinstance(exc, OperationalError | InterfaceError | ConnectionError | OSError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        return sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08")
    return False


# Data exceptions a value sent by the client causes (SQLSTATE class 22): "never with this value", a client error.
_REJECTED_VALUE_REASONS = {
    "22000": "a number is out of range",  # asyncpg: a query argument it cannot encode (beyond 64 bits)
    "22003": "a number is out of range",
    "22001": "a text value is longer than its field allows",
    "22021": "a text value contains a character that cannot be stored (such as NUL)",
    "22P05": "a text value contains a character that cannot be stored (such as NUL)",
}


def rejected_value_reason(exc: BaseException) -> str | None:
    """Why the database refused a value of the statement (NUL character, number out of range), or None."""
    if isinstance(exc, DBAPIError):
        return _REJECTED_VALUE_REASONS.get(str(getattr(exc.orig, "sqlstate", "") or ""))
    return None


def is_sqlite(url: str) -> bool:
    """True for SQLite URLs."""
    return make_url(url).get_backend_name() == "sqlite"


PING_IDLE_AFTER_SECONDS = 1.0
"""A pooled PostgreSQL connection idle longer than this is checked before it is handed out (see ``create_engine``)."""

_RETURNED_AT = "claimflow.returned_at"


def create_engine(url: str, *, pool_size: int = 10, ping_idle_after: float = PING_IDLE_AFTER_SECONDS) -> AsyncEngine:
    """Create an async engine. SQLite gets WAL, a busy timeout and write-intent (IMMEDIATE) transactions.

    SQLite's default deferred transactions fail at once with "database is locked" when a reader tries to
    upgrade to a writer while another process writes; ``BEGIN IMMEDIATE`` takes the write lock up front so
    the busy timeout applies and the API and worker processes of one service can share the file.

    Connections are ``sqlite_driver.OneHopConnection``: aiosqlite that goes to its thread only for what may wait
    for a lock (a ``BEGIN IMMEDIATE`` that finds the write lock taken waits there, up to the 30 s busy timeout).
    SQLite's automatic checkpoint is off: it runs inside the COMMIT that crosses 1,000 WAL pages, copying them into
    the database file and syncing it while that transaction's caller (and every transaction queued behind it)
    waits. ``Database`` checkpoints in a thread of its own instead (``WalCheckpointer``).

    A PostgreSQL connection that sat in the pool longer than ``ping_idle_after`` seconds is pinged before it is
    handed out; a dead one (the server restarted) is replaced. SQLAlchemy's ``pool_pre_ping`` pinged at every
    checkout, and asyncpg's ping is three round trips (BEGIN, an empty query, ROLLBACK): for a transaction of one
    or two statements that was most of its time on the wire. A connection back in the pool for less than that is
    only asked whether the server closed it (asyncpg notices a closed socket by itself; no round trip). A
    connection the server drops at the very moment it is handed out still fails on its first statement, as a
    disconnect: transient for every caller (a 503, a consumer retry), and SQLAlchemy then renews the whole pool.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        path = database or ":memory:"

        async def connect() -> OneHopConnection:
            connection = sqlite_driver.connect(path, timeout=30.0)
            await connection  # starts its thread and opens the file there
            return connection

        engine = create_async_engine(url, async_creator=connect, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute("PRAGMA journal_size_limit=67108864")  # a log grown by bulk work shrinks back to 64 MiB
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # hide_parameters: bound values (names, birth dates...) never appear in error messages or logs
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True)
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _note_return(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) < ping_idle_after:
            if proxy.driver_connection.is_closed():  # the server closed it (a restart, a terminated backend)
                raise DisconnectionError("pooled connection was closed by the server")
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards it and connects anew (up to three times)
            raise DisconnectionError(f"pooled connection is dead: {type(exc).__name__}") from exc

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # A server that is down refuses the connection: asyncpg raises a bare OSError (ConnectionRefusedError,
        # TimeoutError), which SQLAlchemy passes through unwrapped, so the APIs answered 500 instead of 503.
        # As the DB-API's OperationalError it becomes a DBAPIError like every other outage.
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except OSError as exc:
            raise dialect.loaded_dbapi.OperationalError(f"cannot connect to the database server: {exc}", exc) from exc

    return engine


_SQLITE_TURN_TIMEOUT = 30.0  # as long as SQLite's own busy timeout

OUTBOX_STAGED = "claimflow.outbox_staged"
"""``session.info`` key the outbox sets when a transaction stages events (``Database.outbox_written`` on commit)."""


class ChangeWatch:
    """Tells whether any connection committed to a SQLite database file since the last look.

    ``PRAGMA data_version`` on a connection of its own that never writes changes whenever another connection —
    of this process or another one — commits. Reading it takes microseconds and no lock, so an idle outbox relay
    looks here instead of running a write transaction to find nothing.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._last: int | None = None

    def changed(self) -> bool:
        """True when something was committed since the previous call (and on the first call, or on any error)."""
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self.path, timeout=0.05, isolation_level=None)
            row = self._connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            self.close()
            return True
        version = int(row[0])
        changed = version != self._last
        self._last = version
        return changed

    def close(self) -> None:
        """Close the watching connection (the next look opens it again)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._last = None


OUTBOX_CHANNEL = "claimflow_outbox"
"""PostgreSQL notification channel of a database's outbox: a transaction that staged events notifies it."""


class OutboxNotices:
    """Tells an outbox relay whether any process committed events to a PostgreSQL database since its last look.

    A connection of its own LISTENs on ``OUTBOX_CHANNEL``, which a transaction that staged events NOTIFYs as it
    commits when no relay runs in its own process (an API process; ``Database.transaction``). PostgreSQL delivers
    a notice only on commit. An idle relay then needs no claim transaction to find nothing. The notices do not wake
    the relay: it still looks at its poll interval, so under load events of many commits still go out in one
    batch. While the connection is down (the server restarting), ``changed`` answers True at every look, and
    the connection is opened again in the background.
    """

    _RETRY_SECONDS = 1.0

    def __init__(self, url: str) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: Any = None
        self._changed = True  # nothing heard before the first LISTEN: the first look is a full one
        self._task = asyncio.get_running_loop().create_task(self._listen())

    @property
    def listening(self) -> bool:
        """Whether notices are being received now."""
        return self._connection is not None and not self._connection.is_closed()

    def changed(self) -> bool:
        """True when events were committed since the previous call, or could have been without a notice (not
        listening now, or at some time since the previous call)."""
        if not self.listening:
            self._changed = True
            return True
        changed, self._changed = self._changed, False
        return changed

    async def _listen(self) -> None:
        while True:
            if not self.listening:
                connection = None
                try:
                    connection = await asyncio.wait_for(asyncpg.connect(self._dsn), timeout=5.0)
                    await connection.add_listener(OUTBOX_CHANNEL, self._heard)
                    self._connection, connection = connection, None
                    self._changed = True  # events may have been written while nobody listened
                except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    logger.warning("outbox notices unavailable: %s", type(exc).__name__)
                finally:
                    if connection is not None:  # cancelled (or failed) between connecting and listening
                        connection.terminate()
            await asyncio.sleep(self._RETRY_SECONDS)

    def _heard(self, *_: object) -> None:
        self._changed = True

    def close(self) -> None:
        """Stop listening."""
        self._task.cancel()
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None


class WalCheckpointer:
    """Copies a SQLite database's write-ahead log into the database file from a short-lived thread of its own.

    A PASSIVE checkpoint neither waits for nor blocks readers and writers, so requests keep committing while the
    pages are copied. What it cannot avoid is its two syncs (log, then database file): while the disk flushes,
    the commits appending to the log stall too — 15 to 25 ms on these machines, whatever the size of the copy. One
    runs at most every ``interval`` seconds (10 by default) after a commit, so that stall is rare: with SQLite's
    automatic checkpoint every 1,000 pages it hit a real-time eligibility check about once a second (p99 16 → 8
    ms at 100 checks/s, bench/eligibility). The price: WAL with ``synchronous=NORMAL`` makes commits durable at
    checkpoints, so a power loss (not a process crash) can take back the last ``interval`` seconds of commits.
    The embedded SQLite mode is for single machines and demos; production runs on PostgreSQL.
    """

    def __init__(self, path: str, *, interval: float = 10.0) -> None:
        self.path = path
        self.interval = interval
        self._last = time.monotonic()
        self._running: threading.Thread | None = None

    def committed(self) -> None:
        """Note a commit; start a checkpoint when the last one is ``interval`` old and none is running."""
        now = time.monotonic()
        if now - self._last < self.interval or (self._running is not None and self._running.is_alive()):
            return
        self._last = now
        self._running = threading.Thread(target=self._checkpoint, name="sqlite-wal-checkpoint", daemon=True)
        self._running.start()

    def _checkpoint(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=0)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:  # the next commit after ``interval`` tries again
            logger.warning("SQLite checkpoint of %s failed: %s", Path(self.path).name, exc)

    def wait(self) -> None:
        """Wait for a running checkpoint to finish."""
        if self._running is not None:
            self._running.join()


async def hold_lock(session: AsyncSession, name: str) -> None:
    """Hold the lock ``name`` until the session's transaction ends: transactions taking it run one at a time.

    PostgreSQL: a transaction-level advisory lock on the name's 64-bit hash; take it before any row lock, or two
    transactions can each wait for the other. SQLite: nothing to do, every transaction here starts with ``BEGIN
    IMMEDIATE`` and so runs alone.
    """
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    await connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name})


class Database:
    """One service database: engine, session factory and the transaction scope used by handlers."""

    def __init__(self, url: str, *, pool_size: int = 10, ping_idle_after: float = PING_IDLE_AFTER_SECONDS) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, ping_idle_after=ping_idle_after)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time and every transaction here starts with BEGIN IMMEDIATE. Queueing them
        # in-process avoids SQLite's busy handler, which sleeps in growing steps (up to 100 ms) while it waits.
        self._sqlite_turn: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None
        path = make_url(url).database if self.dialect == "sqlite" else None
        self._checkpointer = WalCheckpointer(path) if path and path != ":memory:" else None
        self._path = path
        # Set when a transaction of this process that staged outbox events commits: the relay publishes at once.
        self.outbox_written = asyncio.Event()
        # The tasks inside a transaction of this database: a task that opens a second one while in the first is a
        # bug on SQLite (the second waits for the first: one writer), so it is refused on every database.
        self._in_transaction: set[asyncio.Task[Any]] = set()
        # Whether an outbox relay runs on this database in this process (a worker): then its commits wake it here,
        # and no other process needs to be told (PostgreSQL NOTIFY costs a statement and a lock at commit).
        self.relay_running = False

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def change_watch(self) -> ChangeWatch | OutboxNotices | None:
        """A watch on commits to this database by any process (SQLite files, PostgreSQL notices); None where there
        is none. Called from a running event loop."""
        if self.dialect == "postgresql":
            return OutboxNotices(self.url)
        return ChangeWatch(self._path) if self._path and self._path != ":memory:" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any exception. A task may hold one
        transaction of a database at a time (RuntimeError): pass the open session down instead."""
        task = asyncio.current_task()
        if task in self._in_transaction:
            raise RuntimeError("this task already has a transaction of this database open: use its session")
        if task is None:
            raise RuntimeError("Database.transaction runs in a task")
        self._in_transaction.add(task)
        try:
            if self._sqlite_turn is None:
                async with self.sessions() as session, session.begin():
                    yield session
                    await write_staged_rows(session)
                    if session.info.get(OUTBOX_STAGED) and not self.relay_running:  # heard by the workers' relays
                        await (await session.connection()).exec_driver_sql(f"NOTIFY {OUTBOX_CHANNEL}")
                if session.info.get(OUTBOX_STAGED):
                    self.outbox_written.set()
                return
            async with asyncio.timeout(_SQLITE_TURN_TIMEOUT):
                await self._sqlite_turn.acquire()
            try:
                async with self.sessions() as session, session.begin():
                    yield session
                    await write_staged_rows(session)
            finally:
                self._sqlite_turn.release()
            if session.info.get(OUTBOX_STAGED):
                self.outbox_written.set()
            if self._checkpointer is not None:
                self._checkpointer.committed()
        finally:
            self._in_transaction.discard(task)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection (after a running checkpoint)."""
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.wait)
        await self.engine.dispose()
