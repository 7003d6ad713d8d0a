"""GET /v1/claims's pages on a large claims table: cursor pages with and without the (tenant, created_at, id)
index, and OFFSET pages (what the other list endpoints do), side by side.

Run: ``uv run python bench/claims/bench_list_pages.py [--claims 30000 300000] [--limit 100]``.

Fills a SQLite claims database migrated to head with ``--claims`` claims of three tenants (bench_rounds' rows:
service lines and parties of realistic size), then times, through the repository the endpoint uses and one
transaction per page as a request has:

- the first page (``limit`` claims, newest first);
- page 20, reached by its cursor (``after``), and the same page by ``OFFSET`` (19 times ``limit`` rows skipped);

each once with the index migration 0019 adds and once with it dropped (the plan before: the tenant's rows found
through another index, then sorted whole for every page).
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
from sqlalchemy import text

from claimflow_kit.db import Database
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.paging import PageCursor
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


async def measure(database: Database, limit: int) -> dict[str, float]:
    cursor: PageCursor | None = None
    for _ in range(PAGE - 1):  # the cursor page 20 starts from
        async with database.transaction() as session:
            _, cursor = await ClaimRepository(session, TENANT).page(limit=limit, after=cursor)

    async def first(claims: ClaimRepository) -> object:
        return await claims.page(limit=limit)

    async def by_cursor(claims: ClaimRepository) -> object:
        return await claims.page(limit=limit, after=cursor)

    async def by_offset(claims: ClaimRepository) -> object:
        return await claims.list(limit=limit, offset=(PAGE - 1) * limit)

    return {
        "first page": await median_ms(database, first),
        f"page {PAGE} by cursor": await median_ms(database, by_cursor),
        f"page {PAGE} by OFFSET": await median_ms(database, by_offset),
    }


async def run(claims: int, limit: int) -> tuple[dict[str, float], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="claimflow-bench-pages-") as directory:
        path = Path(directory) / "claims.db"
        url = f"sqlite+aiosqlite:///{path}"
        await upgrade_async("claims_svc", url)
        fill(path, claims)
        database = Database(url)
        try:
            with_index = await measure(database, limit)
            async with database.transaction() as session:
                await session.exec(text("DROP INDEX ix_claim_tenant_created"))  # type: ignore[call-overload]
            without = await measure(database, limit)
        finally:
            await database.dispose()
    return without, with_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[30_000, 300_000])
    parser.add_argument("--limit", type=int, default=100)
    arguments = parser.parse_args()
    print(f"SQLite, pages of {arguments.limit}, median of 9 reads each (one transaction per page, as a request)")
    print("| claims (of the tenant) | page | without the index | with it | ratio |")
    print("|---|---|---:|---:|---:|")
    for claims in arguments.claims:
        without, with_index = asyncio.run(run(claims, arguments.limit))
        for name in with_index:
            slow, fast = without[name], with_index[name]
            print(f"| {claims:,} ({claims // 3:,}) | {name} | {slow:.2f} ms | {fast:.2f} ms | {slow / fast:.1f}x |")


if __name__ == "__main__":
    main()
