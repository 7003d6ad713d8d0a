"""A tenant's rows looked up by a list of ids on SQLite: an index on the tenant alone against one on tenant and id.

Run: ``uv run python bench/db/bench_tenant_lookups.py [--rows 10000 100000 300000] [--ids 20]``.

The table is remit-svc's ``open_claim`` as its migrations make it, filled with ``--rows`` claims of one tenant (the
worst case, and a billing company's large practice is not far from it). The statements are the ones a run of
events costs the remit worker: which claims of a list are known (a run of claim-submitted) and the UPDATE that
records their acknowledgment (a run of claim-accepted), each for ``--ids`` random claims. Side by side on the same
file:

- ``tenant index`` — the indexes as they were before session 17: ``(tenant_id)`` and ``(tenant_id, guarantor_id)``.
  SQLite keeps no statistics unless asked (``ANALYZE``), so it takes ``tenant_id = ?`` to match about ten rows
  and prefers such an index to looking up twenty ids, then reads every claim of the tenant;
- ``tenant and id`` — the index the migration put in its place, ``(tenant_id, id)``.

Reported per statement: the median wall time of 50 runs (SQLite runs in this process).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from claimflow_kit.migrations import upgrade

TENANT = "tenant-one"


def fill(path: Path, rows: int) -> None:
    """Migrate a fresh remit-svc database and add ``rows`` open claims of one tenant."""
    upgrade("remit_svc", f"sqlite+aiosqlite:///{path}")
    connection = sqlite3.connect(path)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(open_claim)")]
    values = {
        "tenant_id": TENANT, "payer_id": "60054", "patient_id": "pat", "guarantor_id": "pat", "total_charge": "125.00",
        "submitted_at": "2026-11-20 12:00:00.000000", "created_at": "2026-11-20 12:00:00.000000", "practice_id": "p",
        "correlation_id": "c", "lines": "[]", "status": "open", "updated_at": "2026-11-20 12:00:00.000000",
    }  # fmt: skip
    names = [c for c in columns if c in values or c in ("id", "patient_control_number")]
    sql = f"INSERT INTO open_claim ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608 - its columns
    with connection:
        connection.executemany(sql, ([_value(c, n, values) for c in names] for n in range(rows)))
    connection.close()


def _value(column: str, n: int, values: dict[str, str]) -> str:
    if column == "id":
        return f"clm_{n:09d}"
    return f"PCN{n:09d}" if column == "patient_control_number" else values[column]


def timed(connection: sqlite3.Connection, sql: str, ids: list[str]) -> tuple[float, str]:
    """Median milliseconds of ``sql`` over 50 random lists of ids, and SQLite's plan for it."""
    plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", [TENANT, *ids]))
    samples = []
    for _ in range(50):
        chosen = random.sample(ids, len(ids))
        started = time.perf_counter()
        connection.execute(sql, [TENANT, *chosen]).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    connection.rollback()
    return statistics.median(samples), plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    parser.add_argument("--ids", type=int, default=20)
    args = parser.parse_args()
    marks = ", ".join("?" * args.ids)
    statements = {
        "known claims (SELECT)": f"SELECT id FROM open_claim WHERE tenant_id = ? AND id IN ({marks})",  # noqa: S608
        "acknowledgments (UPDATE)": (
            "UPDATE open_claim SET acknowledgment = 'accepted' "  # noqa: S608 - placeholders only
            f"WHERE tenant_id = ? AND id IN ({marks}) AND acknowledgment IS NULL"
        ),
    }
    print("| claims of the tenant | statement | tenant index | tenant and id | ratio |")
    print("|---|---|---|---|---|")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "remit-svc.db"
            fill(path, rows)
            connection = sqlite3.connect(path)
            pool = [f"clm_{n:09d}" for n in random.sample(range(rows), args.ids)]
            results = {}
            for layout in ("tenant and id", "tenant index"):
                if layout == "tenant index":  # back to the indexes before the migration
                    connection.execute("CREATE INDEX ix_open_claim_tenant_id ON open_claim (tenant_id)")
                    connection.execute("DROP INDEX ix_open_claim_tenant")
                    connection.commit()
                for name, sql in statements.items():
                    results[(layout, name)] = timed(connection, sql, pool)
            connection.close()
        for name in statements:
            old, old_plan = results[("tenant index", name)]
            new, new_plan = results[("tenant and id", name)]
            print(f"| {rows:,} | {name} | {old:.2f} ms | {new:.3f} ms | {old / new:.0f}x |")
            print(f"|  | plans | {old_plan} | {new_plan} | |")


if __name__ == "__main__":
    main()
