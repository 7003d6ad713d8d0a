"""The claims pipeline's round queries on a large claims table, without and with the status index, side by side.

Run: ``uv run python bench/claims/bench_rounds.py [--claims 300000]``.

claims-svc's API process runs its rounds all day: drafts to scrub, ready claims past the batch window, tenants with
claims waiting for a 277CA. Each asks by claim status, and the claims table only grows (a claim stays once paid).
This fills a SQLite database migrated to revision 0015 (before the status index) with ``--claims`` claims — 97 % paid,
the rest ready, submitted or accepted, with service lines and parties of realistic size — and times each round's
query there, then migrates it to head (``ix_claim_status``) and times them again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import literal_column
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import col, select

from claimflow_kit.migrations import upgrade_async
from claims_svc.adapters.tables import Claim
from claims_svc.service.pipeline import ClaimStatus

BEFORE = "0015_claim_lookups"
STATUSES = [ClaimStatus.PAID] * 97 + [ClaimStatus.READY, ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED]


def round_queries() -> dict[str, str]:
    """The rounds' queries as the pipeline builds them (scrub_drafts, auto_submit, poll_acknowledgments)."""
    statements: dict[str, ClauseElement] = {
        "drafts to scrub": select(Claim)
        .where(Claim.status == ClaimStatus.DRAFT)
        .order_by(col(Claim.created_at))
        .limit(200),
        "ready past the window": select(Claim.tenant_id).where(
            Claim.status == ClaimStatus.READY, col(Claim.updated_at) <= literal_column("'2026-12-01 00:00:00.000000'")
        ),
        "waiting for a 277CA": select(Claim.tenant_id).where(Claim.status == ClaimStatus.SUBMITTED),
    }
    return {
        name: str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        for name, statement in statements.items()
    }


def fill(path: Path, claims: int) -> None:
    lines = json.dumps(
        [
            {
                "line_number": n,
                "procedure_code": "99213",
                "charge": "120.00",
                "units": 1,
                "modifiers": [],
                "pointers": [1],
            }
            for n in range(1, 4)
        ]
    )
    parties = json.dumps(
        {
            "patient": {"first_name": "Avery", "last_name": "Sandoval", "birth_date": "1970-01-01"},
            "subscriber": {"member_id": "W123456789", "address": {"line1": "100 Main St", "city": "Springfield"}},
        }
    )
    columns = (
        "id, tenant_id, encounter_id, encounter_version, practice_id, patient_id, payer_id, claim_kind, "
        "date_of_service, status, total_charge, diagnosis_codes, service_lines, correlation_id, created_at, "
        "patient_control_number, parties, findings, rejection, updated_at, corrected_lines, prior_adjudications, "
        "combined_encounter_ids, frequency_code, correction, payer_sequence, part"
    )
    random.seed(15)
    with sqlite3.connect(path) as connection:
        connection.executemany(
            f"INSERT INTO claim ({columns}) VALUES ({', '.join('?' * 27)})",  # noqa: S608 - fixed column list
            (
                (
                    f"clm_{i:032x}",
                    f"tenant-{i % 3}",
                    f"enc_{i:032x}",
                    1,
                    "prac_1",
                    f"pat_{i}",
                    "60054",
                    "professional",
                    "2026-01-02",
                    random.choice(STATUSES),
                    "360.00",
                    '["I10"]',
                    lines,
                    f"cor_{i}",
                    f"2026-01-02 00:{i // 60 % 60:02d}:{i % 60:02d}.000000",
                    f"CF{i:018X}",
                    parties,
                    "[]",
                    "[]",
                    "2026-01-03 00:00:00.000000",
                    "[]",
                    "[]",
                    "[]",
                    "1",
                    0,
                    "primary",
                    0,
                )
                for i in range(claims)
            ),
        )


def timed(path: Path, queries: dict[str, str], repeat: int = 7) -> dict[str, tuple[float, str]]:
    """Median milliseconds per query, and its plan."""
    with sqlite3.connect(path) as connection:
        measured = {}
        for name, sql in queries.items():
            plan = " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                connection.execute(sql).fetchall()
                runs.append((time.perf_counter() - started) * 1000)
            measured[name] = (statistics.median(runs), plan)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300_000)
    arguments = parser.parse_args()
    queries = round_queries()
    with tempfile.TemporaryDirectory(prefix="claimflow-bench-rounds-") as directory:
        path = Path(directory) / "claims.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(upgrade_async("claims_svc", url, revision=BEFORE))
        fill(path, arguments.claims)
        before = timed(path, queries)
        asyncio.run(upgrade_async("claims_svc", url))
        after = timed(path, queries)
        size = path.stat().st_size / 2**20
    print(f"{arguments.claims:,} claims ({size:,.0f} MiB), SQLite, median of 7 runs per query")
    print("| round's query | without the status index | with it | ratio | plan with it |")
    print("|---|---:|---:|---:|---|")
    for name in queries:
        (slow, _), (fast, plan) = before[name], after[name]
        print(f"| {name} | {slow:.1f} ms | {fast:.2f} ms | {slow / max(fast, 0.001):,.0f}x | {plan} |")


if __name__ == "__main__":
    main()
