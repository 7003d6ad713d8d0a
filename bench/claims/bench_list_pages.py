"""GET /v1/claims's pages on a large claims table: cursor pages by time-ordered id (through the tenant and id
index), against the list as it was (newest first by created_at, which no index gives in order) and OFFSET pages.

Run: ``uv run python bench/claims/bench_list_pages.py [--claims 30000 300000] [--limit 100]``.

Fills a SQLite claims database migrated to head with ``--claims`` claims of three tenants (bench_rounds' rows:
service lines and parties of realistic size), then times, through the repository the endpoint uses and one
transaction per page as a request has, side by side on the same file:

- the first page (``limit`` claims, newest first): by cursor (``page``), and by creation time (``list``, what the
  endpoint ran before: it sorts all of the tenant's claims for every page);
- page 20: by its cursor (``after``), and by ``OFFSET`` in creation-time order (19 times ``limit`` rows skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench_rounds import fill  # the rows of bench/claims/bench_rounds.py (this script's folder is on sys.path)

from claimflow_kit.db import Database
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.repository import PageCursor
from claims_svc.adapters.repositories import ClaimRepository

TENANT = "tenant-1"
PAGE = 20


async def median_ms(database: Database, read: Callable[[ClaimRepository], Awaitable[object]], runs: int = 9) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        async with database.transaction() as session:
            await read(ClaimRepository(session, TENANT))
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def measure(database: Database, limit: int) -> dict[str, tuple[float, float]]:
    """Per page: (milliseconds the old way, milliseconds by cursor)."""
    cursor: PageCursor | None = None
    for _ in range(PAGE - 1):  # the cursor page 20 starts from
        async with database.transaction() as session:
            _, cursor = await ClaimRepository(session, TENANT).page(limit=limit, after=cursor)

    async def first_by_time(claims: ClaimRepository) -> object:
        return await claims.list(limit=limit)

    async def first_by_cursor(claims: ClaimRepository) -> object:
        return await claims.page(limit=limit)

    async def deep_by_offset(claims: ClaimRepository) -> object:
        return await claims.list(limit=limit, offset=(PAGE - 1) * limit)

    async def deep_by_cursor(claims: ClaimRepository) -> object:
        return await claims.page(limit=limit, after=cursor)

    return {
        "first page": (await median_ms(database, first_by_time), await median_ms(database, first_by_cursor)),
        f"page {PAGE}": (await median_ms(database, deep_by_offset), await median_ms(database, deep_by_cursor)),
    }


async def run(claims: int, limit: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="claimflow-bench-pages-") as directory:
        path = Path(directory) / "claims.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async("claims_svc", url)
        fill(path, claims)
        database = Database(url)
        try:
            return await measure(database, limit)
        finally:
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--limit", type=int, default=100)
    arguments = parser.parse_args()
    print(f"SQLite, pages of {arguments.limit}, median of 9 reads each (one transaction per page, as a request)")
    print("| claims (of the tenant) | page | before: by created_at (page 20: OFFSET) | by cursor | ratio |")
    print("|---|---|---:|---:|---:|")
    for claims in arguments.claims:
        for name, (old, new) in asyncio.run(run(claims, arguments.limit)).items():
            print(f"| {claims:,} ({claims // 3:,}) | {name} | {old:.2f} ms | {new:.2f} ms | {old / new:.1f}x |")


if __name__ == "__main__":
    main()
