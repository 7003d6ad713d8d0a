"""The aiosqlite connection the SQLite engines use: a statement that cannot wait runs where it is awaited.

aiosqlite runs every call on the connection's own thread; each call is a hop there and back (a queue, a thread
wake-up, a future, the event loop woken through its self-pipe, and the awaiting coroutine chain resumed).
SQLAlchemy's adapter makes a hop for each step of a statement: open a cursor, execute, fetch the rows, close the
cursor — four for a SELECT, three for a write — and one more for the commit.

What the thread buys is that the event loop goes on while a statement waits for SQLite's write lock (the busy
timeout), which only ``BEGIN IMMEDIATE`` does here: every transaction of ``db.create_engine`` starts with it, and
once a connection holds the write lock, nothing it runs waits for another connection (in WAL mode readers never
block the writer, and ``COMMIT`` takes no further lock). So:

- ``BEGIN IMMEDIATE`` is tried at once with no busy timeout; only when the write lock is taken does it hop, to wait
  for the lock on the thread;
- inside a transaction begun so, statements and the commit run at once on the event loop's thread, and so does
  every rollback (it waits for no lock; the pool resets each connection it takes back with one);
- anything else (the pragmas at connect, a statement outside a write transaction) makes one hop, with the cursor
  doing all of a statement's steps there and handing SQLAlchemy the finished result (description, rows, row
  count, last row id). On the thread the busy timeout applies; on the event loop's thread it is 0.

A result is always fetched whole, also when SQLAlchemy is asked to stream it. The SQL run, the errors raised and
the transaction handling are sqlite3's own; only where they run changes. The connection is opened with
``check_same_thread=False``: it is used by one thread at a time, as every call is awaited before the next.
The price is that a long statement inside a transaction holds the event loop while it runs (sqlite3 drops the GIL
while SQLite works, so on the thread the loop went on); statements here take microseconds to a few milliseconds.
"""

from __future__ import annotations

import re
import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

_WRITE_LOCKING = re.compile(r"\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\b", re.IGNORECASE)

_Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None
_Outcome = tuple[_Description, int, int | None, list[Any]]


def _execute_and_collect(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    """Execute on the connection's thread and collect everything the caller will ask for."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor:
    """The cursor interface SQLAlchemy's aiosqlite adapter uses, with each statement run in one hop."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._rows.clear()

    async def _execute(self, sql: str, parameters: Any, *, many: bool) -> OneHopCursor:
        connection = self._connection
        if connection.holds_write_lock:
            outcome = _execute_and_collect(connection.sqlite, sql, parameters, many)
        elif _WRITE_LOCKING.match(sql):
            outcome = await connection.begin_writing(sql, parameters)
        else:
            outcome = await connection.run_on_thread(_execute_and_collect, sql, parameters, many)
        self.description, self.rowcount, self.lastrowid, rows = outcome
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneHopCursor:
        """Run one statement; its rows are fetched in the same hop."""
        return await self._execute(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneHopCursor:
        """Run one statement for each parameter set, in one hop."""
        return await self._execute(sql, parameters, many=True)

    async def fetchall(self) -> list[Any]:
        """The rows not taken yet."""
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """The next ``size`` rows (``arraysize`` when not given)."""
        count = min(self.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchone(self) -> Any | None:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    async def close(self) -> None:
        """Nothing left open: the sqlite3 cursor was closed in the hop that used it."""
        self._rows.clear()


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make at most one hop per statement, and none inside a write
    transaction (see the module's docstring)."""

    _writing = False
    _busy_timeout_ms = 0

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection (opened on the thread, used from either side: one caller at a time)."""
        return self._conn

    @property
    def holds_write_lock(self) -> bool:
        """Inside a transaction begun with ``BEGIN IMMEDIATE`` (or ``EXCLUSIVE``): nothing run now can wait."""
        if self._writing and not self._conn.in_transaction:
            self._writing = False  # ended by a statement (COMMIT, ROLLBACK) run as SQL
        return self._writing

    async def begin_writing(self, sql: str, parameters: Any) -> _Outcome:
        """``BEGIN IMMEDIATE``: at once when the write lock is free, else on the thread, waiting for it as long as
        the busy timeout allows."""
        try:
            outcome = _execute_and_collect(self._conn, sql, parameters, False)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            outcome = await self.run_on_thread(_execute_and_collect, sql, parameters, False)
        self._writing = self._conn.in_transaction
        return outcome

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        """A cursor (no hop: it is opened with each statement)."""
        return OneHopCursor(self)

    async def commit(self) -> None:
        """Commit; in WAL mode that takes no lock the connection does not hold, so it runs at once."""
        if self.holds_write_lock:
            self._writing = False
            self._conn.commit()
        else:
            await super().commit()

    async def rollback(self) -> None:
        """Roll back, at once: a rollback waits for no lock, and with no transaction open (the pool resets every
        connection it takes back this way) it does nothing."""
        self._writing = False
        self._conn.rollback()

    async def run_on_thread(self, function: Any, *arguments: Any) -> Any:
        """``function(sqlite3 connection, *arguments)`` on the connection's thread, where it may wait for locks as
        long as the busy timeout allows."""
        return await self._execute(_waiting, self._busy_timeout_ms, function, self._conn, *arguments)  # type: ignore[no-untyped-call]


def _waiting(busy_timeout_ms: int, function: Any, connection: sqlite3.Connection, *arguments: Any) -> Any:
    """Run ``function`` with SQLite's busy timeout on; what runs at once on the event loop has none (it would
    block the loop while it waits)."""
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    try:
        return function(connection, *arguments)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


def connect(path: str, *, timeout: float) -> OneHopConnection:
    """An unopened connection to the database file at ``path`` (await it to open), its thread a daemon.

    ``timeout``: how long a statement run on the thread waits for another connection's lock (the busy timeout)."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(path, timeout=0, check_same_thread=False)

    connection = OneHopConnection(connector, 64)
    connection._busy_timeout_ms = round(timeout * 1000)
    connection._thread.daemon = True
    return connection
