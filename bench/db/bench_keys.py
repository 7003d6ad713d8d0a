"""Inserting rows keyed by random (version 4) against time-ordered (version 7) UUIDs, side by side.

Run: ``uv run python bench/db/bench_keys.py [--rows 100000 1000000] [--postgres URL]``.

The table is a consumer's inbox as the kit defines it: primary key (consumer, event id), one row per event a consumer
handled, written in the transaction of the event's effects. Each side fills a fresh table with ``--rows`` rows of
its kind of id, then times 2,000 transactions of 10 new rows each (a consumer's batch), as a worker writes them:
SQLite in WAL mode with the services' pragmas, and PostgreSQL when ``--postgres`` names a server.
Reported per new row: CPU (SQLite runs in this process), wall time (PostgreSQL's work is in its server) and the
write-ahead log it wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from claimflow_events import uuid7

CONSUMERS = ("claims-svc.claim-timeline", "claims-svc.claim-builder", "claims-svc.claim-adjudication")
BATCHES = 2_000
BATCH_ROWS = 10
STAMP = "2026-11-24 10:00:00.000000"
STAMP_AT = datetime(2026, 11, 24, 10, 0, 0)
CREATE = (
    "CREATE TABLE inbox (consumer VARCHAR(128) NOT NULL, event_id VARCHAR(36) NOT NULL, "
    "event_type VARCHAR(128) NOT NULL, processed_at {stamp} NOT NULL, PRIMARY KEY (consumer, event_id))"
)


@dataclass(frozen=True)
class Measured:
    """One side's cost per new row."""

    database: str
    ids: str
    rows: int
    cpu_us: float
    wall_us: float
    wal_bytes: float


def _rows(make_id: Callable[[], uuid.UUID], count: int) -> list[tuple[str, str, str, str]]:
    return [(CONSUMERS[i % 3], str(make_id()), "claimflow.payment-posted", STAMP) for i in range(count)]


def sqlite_side(directory: Path, make_id: Callable[[], uuid.UUID], label: str, rows: int) -> Measured:
    path = directory / f"inbox-{label}-{rows}.db"
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(CREATE.format(stamp="DATETIME"))
    insert = "INSERT INTO inbox VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
    for start in range(0, rows, 10_000):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, _rows(make_id, min(10_000, rows - start)))
        connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    batches = [_rows(make_id, BATCH_ROWS) for _ in range(BATCHES)]
    cpu, wall = time.process_time(), time.perf_counter()
    for batch in batches:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, batch)
        connection.execute("COMMIT")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    wal = os.path.getsize(f"{path}-wal")
    connection.close()
    new = BATCHES * BATCH_ROWS
    return Measured("SQLite", label, rows, cpu / new * 1e6, wall / new * 1e6, wal / new)


async def postgres_side(url: str, make_id: Callable[[], uuid.UUID], label: str, rows: int) -> Measured:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP TABLE IF EXISTS bench_keys_inbox")
        await connection.execute(CREATE.format(stamp="TIMESTAMP").replace("inbox", "bench_keys_inbox", 1))
        insert = "INSERT INTO bench_keys_inbox VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        for start in range(0, rows, 50_000):
            await connection.copy_records_to_table(
                "bench_keys_inbox",
                records=[(c, e, t, STAMP_AT) for c, e, t, _ in _rows(make_id, min(50_000, rows - start))],
            )
        await connection.execute("CHECKPOINT")
        batches = [[(c, e, t, STAMP_AT) for c, e, t, _ in _rows(make_id, BATCH_ROWS)] for _ in range(BATCHES)]
        lsn_before = await connection.fetchval("SELECT pg_current_wal_lsn()")
        wall = time.perf_counter()
        for batch in batches:
            async with connection.transaction():
                await connection.executemany(insert, batch)
        wall = time.perf_counter() - wall
        wal = await connection.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)", lsn_before)
        await connection.execute("DROP TABLE bench_keys_inbox")
    finally:
        await connection.close()
    new = BATCHES * BATCH_ROWS
    return Measured("PostgreSQL", label, rows, float("nan"), wall / new * 1e6, float(wal) / new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", help="also on this server, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    sides: list[tuple[str, Callable[[], uuid.UUID]]] = [("random (v4)", uuid.uuid4), ("time-ordered (v7)", uuid7)]
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="claimflow-bench-keys-") as directory:
        for rows in arguments.rows:
            for label, make_id in sides:
                results.append(sqlite_side(Path(directory), make_id, label, rows))
                if arguments.postgres:
                    results.append(asyncio.run(postgres_side(arguments.postgres, make_id, label, rows)))
    print(f"{BATCHES} transactions of {BATCH_ROWS} new rows into an inbox already holding N rows")
    print("| database | N | ids | CPU µs per row | wall µs per row | WAL bytes per row | vs random |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for result in results:
        random_side = next(
            r for r in results if r.database == result.database and r.rows == result.rows and r.ids.startswith("random")
        )
        measure = "cpu_us" if result.database == "SQLite" else "wall_us"
        ratio = getattr(result, measure) / getattr(random_side, measure)
        cpu = "—" if result.cpu_us != result.cpu_us else f"{result.cpu_us:.1f}"
        print(
            f"| {result.database} | {result.rows:,} | {result.ids} | {cpu} | {result.wall_us:.1f} | "
            f"{result.wal_bytes:,.0f} | {ratio:.2f}x |"
        )


if __name__ == "__main__":
    main()
