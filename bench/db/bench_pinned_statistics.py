"""Two lookups of the hot path on SQLite, with the planner statistics the migrations pin and without them.

Run: ``uv run python bench/db/bench_pinned_statistics.py [--rows 10000 100000] [--keys 50]``.

Each table is filled with ``--rows`` rows of one tenant (a billing company's large practice is not far from it):

- claims-svc ``claim``: the claims a 277CA answers, looked up by patient control number (``--keys`` of them) among
  the tenant's claims still waiting for an answer, in id order (``claims_svc.service.pipeline.waiting_for_answer``);
- coding-svc ``encounter``: the current versions of a posted batch's encounters (``--keys`` EHR ids), as intake
  looked them up before this change (by EHR id only) and as it does now (by practice and EHR id).

Side by side on the same file: ``pinned`` plans from ``claimflow_kit.sqlite_statistics`` (what every migration
run now writes); ``guessed`` has ``sqlite_stat1`` emptied, so SQLite plans from its built-in guesses, as before.
Reported per statement: the median wall time of 30 runs (SQLite in this process) and the plan.
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


def fill(path: Path, package: str, table: str, rows: int, fixed: dict[str, object]) -> None:
    """Migrate a fresh database of ``package`` and add ``rows`` rows of one tenant to ``table``: every text column
    ``<column><n>`` (so unique keys stay unique) unless ``fixed`` names its value."""
    upgrade(package, f"sqlite+aiosqlite:///{path}")
    connection = sqlite3.connect(path)
    columns = [(row[1], str(row[2]).upper()) for row in connection.execute(f"PRAGMA table_info({table})")]

    def value(name: str, kind: str, n: int) -> object:
        if name in fixed:
            chosen = fixed[name]
            return chosen(n) if callable(chosen) else chosen
        if kind.startswith(("INT", "BIG", "BOOL", "NUMERIC", "FLOAT")):
            return n
        if kind in ("JSON", "BLOB"):
            return "[]"
        return f"{name}{n:09d}"

    names = [name for name, _ in columns]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
    with connection:
        connection.executemany(sql, ([value(name, kind, n) for name, kind in columns] for n in range(rows)))
    connection.close()


def timed(connection: sqlite3.Connection, sql: str, parameters: list[list[object]]) -> tuple[float, str]:
    """Median milliseconds of ``sql`` over the parameter lists, and SQLite's plan for it."""
    plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters[0]))
    samples = []
    for values in parameters:
        start = time.perf_counter()
        connection.execute(sql, values).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), plan


def guessed(path: Path) -> Path:
    """A copy of the database without its pinned statistics."""
    copy = path.with_name(f"guessed-{path.name}")
    copy.write_bytes(path.read_bytes())
    with sqlite3.connect(copy) as connection:
        connection.execute("DELETE FROM sqlite_stat1")
    return copy


def run(rows: int, keys: int, folder: Path) -> list[tuple[str, str, float, str]]:
    rng = random.Random(rows)
    results = []
    claims = folder / f"claims-{rows}.db"
    fill(claims, "claims_svc", "claim", rows, {
        "tenant_id": TENANT, "status": lambda n: "submitted" if n % 10 == 0 else "paid", "prior_claim_id": None,
        "correction": 0, "part": 0, "payer_sequence": "primary", "encounter_version": 1,
    })  # fmt: skip
    marks = ",".join("?" * keys)
    ack = (
        f"SELECT * FROM claim WHERE tenant_id = ? AND patient_control_number IN ({marks}) "  # noqa: S608
        "AND status IN ('submitted', 'submitting') ORDER BY id"
    )
    ack_parameters: list[list[object]] = [
        [TENANT, *(f"patient_control_number{rng.randrange(rows):09d}" for _ in range(keys))] for _ in range(30)
    ]
    encounters = folder / f"encounters-{rows}.db"
    fill(encounters, "coding_svc", "encounter", rows, {
        "tenant_id": TENANT, "practice_id": "prac-1", "version": 1, "is_current": 1, "status": "coded",
    })  # fmt: skip
    by_ehr_id = f"SELECT * FROM encounter WHERE tenant_id = ? AND ehr_encounter_id IN ({marks}) AND is_current IS 1"  # noqa: S608
    by_key = (
        "SELECT * FROM encounter WHERE tenant_id = ? AND practice_id IN (?) "  # noqa: S608
        f"AND ehr_encounter_id IN ({marks}) AND is_current IS 1"
    )
    ehr_ids = [[f"ehr_encounter_id{rng.randrange(rows):09d}" for _ in range(keys)] for _ in range(30)]
    by_practice: list[list[object]] = [[TENANT, "prac-1", *ids] for ids in ehr_ids]
    statements: list[tuple[str, Path, str, list[list[object]]]] = [
        ("277CA claims by number", claims, ack, ack_parameters),
        ("batch encounters by EHR id (before)", encounters, by_ehr_id, [[TENANT, *ids] for ids in ehr_ids]),
        ("batch encounters by practice and EHR id (now)", encounters, by_key, by_practice),
    ]
    for name, path, sql, parameters in statements:
        for label, variant in (("pinned", path), ("guessed", guessed(path))):
            connection = sqlite3.connect(variant)
            try:
                ms, plan = timed(connection, sql, parameters)
            finally:
                connection.close()
            results.append((name, label, ms, plan))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keys", type=int, default=50)
    args = parser.parse_args()
    print(f"SQLite {sqlite3.sqlite_version}, {args.keys} keys per lookup, median of 30")
    print("| tenant's rows | lookup | statistics | median | plan |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            for name, label, ms, plan in run(rows, args.keys, Path(folder)):
                print(f"| {rows:,} | {name} | {label} | {ms:.3f} ms | {plan} |")


if __name__ == "__main__":
    main()
