"""CPU per transaction of the SQLite driver the services use, against stock aiosqlite and plain sync sqlite3.

Run: ``uv run python bench/db/bench_sqlite_driver.py [--transactions 3000]``.

One transaction is what a handler does: read a row by key, insert three rows through the ORM, commit. Each side
runs the same transactions, in the same process, on a fresh WAL database file with the same pragmas and
``BEGIN IMMEDIATE``, one after another:

- ``claimflow`` — ``Database`` as the services build it (``sqlite_driver``: no hop inside a write transaction);
- ``one hop per statement`` — the same driver made to hop for every statement and the commit (as before
  2026-11-24);
- ``stock aiosqlite`` — SQLAlchemy's own ``sqlite+aiosqlite`` adapter (a hop per cursor step);
- ``sync sqlite3`` — SQLAlchemy's sync engine on the event loop's thread, no asyncio at all (the ceiling).

CPU is the process's user + system time (``time.process_time`` covers every thread), so the hops' thread
switches and wake-ups are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Field, Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit import sqlite_driver
from claimflow_kit.db import Database

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA wal_autocheckpoint=0",
)


class BenchRow(SQLModel, table=True):
    """A row like the services' tables: a text key, a tenant, a few columns."""

    __tablename__ = "bench_row"

    id: str = Field(primary_key=True)
    tenant_id: str = Field(index=True)
    state: str
    amount: int
    note: str


def _rows(key: str) -> list[BenchRow]:
    return [BenchRow(id=f"{key}-{n}", tenant_id="t1", state="draft", amount=100 * n, note="x" * 200) for n in range(3)]


class _HopAlways(sqlite_driver.OneHopConnection):
    """The driver as it was: a hop for every statement and for the commit."""

    @property
    def holds_write_lock(self) -> bool:
        return False

    async def begin_writing(self, sql: str, parameters: Any) -> Any:
        return await self.run_on_thread(sqlite_driver._execute_and_collect, sql, parameters, False)

    async def run_on_thread(self, function: Any, *arguments: Any) -> Any:
        return await self._execute(function, self._conn, *arguments)  # type: ignore[no-untyped-call]

    async def rollback(self) -> None:
        await aiosqlite.Connection.rollback(self)


def _setup(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def _timed(
    transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]], transactions: int, keys: list[str]
) -> float:
    """CPU seconds for ``transactions`` handler-sized transactions, each opened by ``transaction()``."""
    started = time.process_time()
    for index in range(transactions):
        async with transaction() as session:
            await session.get(BenchRow, f"{keys[index - 1]}-0")
            session.add_all(_rows(keys[index]))
    return time.process_time() - started


async def _async_side(engine: AsyncEngine, transactions: int, keys: list[str]) -> float:
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        async with sessions() as session, session.begin():
            yield session

    spent = await _timed(transaction, transactions, keys)
    await engine.dispose()
    return spent


async def claimflow(path: Path, transactions: int, keys: list[str]) -> float:
    """The services' ``Database``."""
    database = Database(f"sqlite+aiosqlite:///{path}")
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    spent = await _timed(database.transaction, transactions, keys)
    await database.dispose()
    return spent


async def hop_always(path: Path, transactions: int, keys: list[str]) -> float:
    """The driver hopping for every statement."""

    async def connect() -> sqlite_driver.OneHopConnection:
        connection = _HopAlways(lambda: sqlite3.connect(str(path), timeout=30.0, check_same_thread=False), 64)
        connection._busy_timeout_ms = 30_000
        connection._thread.daemon = True
        await connection
        return connection

    engine = create_async_engine(f"sqlite+aiosqlite:///{path}", async_creator=connect)
    _setup(engine.sync_engine)
    return await _async_side(engine, transactions, keys)


async def stock(path: Path, transactions: int, keys: list[str]) -> float:
    """SQLAlchemy's own aiosqlite adapter."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    _setup(engine.sync_engine)
    return await _async_side(engine, transactions, keys)


async def sync(path: Path, transactions: int, keys: list[str]) -> float:
    """SQLAlchemy's sync engine (pysqlite), called from the event loop's thread."""
    engine = create_sync_engine(f"sqlite:///{path}")
    _setup(engine)
    SQLModel.metadata.create_all(engine)
    sessions = sessionmaker(engine, class_=Session, expire_on_commit=False)
    started = time.process_time()
    for index in range(transactions):
        with sessions() as session, session.begin():
            session.get(BenchRow, f"{keys[index - 1]}-0")
            session.add_all(_rows(keys[index]))
    spent = time.process_time() - started
    engine.dispose()
    return spent


SIDES: dict[str, Callable[[Path, int, list[str]], Any]] = {
    "claimflow": claimflow,
    "one hop per statement": hop_always,
    "stock aiosqlite": stock,
    "sync sqlite3 (ceiling)": sync,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3, help="each side runs this many times, interleaved")
    parser.add_argument("--only", choices=list(SIDES), help="run one side (to profile it)")
    arguments = parser.parse_args()
    sides = {arguments.only: SIDES[arguments.only]} if arguments.only else SIDES
    keys = [uuid.uuid4().hex for _ in range(arguments.transactions)]
    spent: dict[str, list[float]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(prefix="claimflow-bench-sqlite-") as directory:
        for round_ in range(arguments.rounds):
            for name, side in sides.items():
                path = Path(directory) / f"{round_}-{len(spent[name])}-{uuid.uuid4().hex[:6]}.db"
                result = side(path, arguments.transactions, keys)
                seconds = asyncio.run(result) if asyncio.iscoroutine(result) else result
                spent[name].append(seconds)
    baseline = statistics.median(next(iter(spent.values())))
    print(f"{arguments.transactions} transactions (get + 3 ORM inserts + commit), median of {arguments.rounds} rounds")
    print("| driver | CPU µs per transaction | transactions per CPU-second | vs claimflow |")
    print("|---|---|---|---|")
    for name, runs in spent.items():
        median = statistics.median(runs)
        print(
            f"| {name} | {1e6 * median / arguments.transactions:.0f} | {arguments.transactions / median:,.0f} "
            f"| {median / baseline:.2f} x |"
        )


if __name__ == "__main__":
    main()
