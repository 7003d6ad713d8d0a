"""eligibility-svc overhead on a real-time check, with a payer that answers instantly.

Run: ``uv run python bench/eligibility/bench_checks.py [--rate 100] [--seconds 20]``.

Two processes are started: an "instant payer" (uvicorn, returns a stored 271 for every 270) and the
eligibility-svc API (uvicorn, SQLite, cache off, so every request builds a 270, allocates control numbers,
calls the payer, parses the 271, stores the check with its raw 271 and stages eligibility-checked).
The load generator runs in this process, open loop at ``--rate`` requests/s, then closed loop for
throughput. Side by side, the same load is sent straight to the instant payer: the floor of one HTTP
exchange on this machine. ClaimFlow's overhead is the difference; the ratio is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_271 = ROOT / "shared" / "tests" / "x12" / "samples" / "271_benefits_and_errors.x12"
Sender = Callable[[], Awaitable[bool]]
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
MARIA = {"first_name": "Maria", "last_name": "Rivera", "birth_date": "1980-03-15", "member_id": "W123456789"}

INSTANT_PAYER = """
import sys
from pathlib import Path
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
import uvicorn

answer = Path(sys.argv[2]).read_bytes()

async def eligibility(request):
    await request.body()
    return Response(answer, media_type="application/edi-x12")

app = Starlette(routes=[Route("/v1/eligibility", eligibility, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass
class Measured:
    """Latencies of one open-loop run and the throughput of one closed-loop run."""

    name: str
    latencies_ms: list[float]
    errors: int
    throughput: float

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in ms."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def row(self) -> str:
        """A Markdown table row."""
        return (
            f"| {self.name} | {len(self.latencies_ms)} | {self.percentile(50):.2f} | {self.percentile(99):.2f} | "
            f"{statistics.fmean(self.latencies_ms):.2f} | {self.errors} | {self.throughput:.0f} |"
        )


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_http(url: str, within: float = 60.0) -> None:
    """Poll until the URL answers (any status)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.get(url, timeout=1)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def open_loop(send: Sender, rate: float, seconds: float) -> tuple[list[float], int]:
    """Start a request every 1/rate s regardless of answers; return latencies (ms) and errors."""
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        started = time.perf_counter()
        ok = await send()
        if ok:
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            errors += 1

    tasks = []
    start = time.perf_counter()
    for index in range(int(rate * seconds)):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, errors


async def closed_loop(send: Sender, concurrency: int, seconds: float) -> float:
    """Requests per second with ``concurrency`` requests always in flight."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            if await send():
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def create_tenant(directory_url: str) -> tuple[str, str]:
    """A tenant with a practice and an EHR key in the benchmark's directory."""
    from claimflow_kit.db import Database
    from claimflow_kit.directory import Directory, Role
    from claimflow_kit.migrations import upgrade_async

    await upgrade_async("claimflow_kit", directory_url, folder="directory_migrations")
    database = Database(directory_url, pool_size=1)
    try:
        async with database.transaction() as session:
            book = Directory(session)
            await book.create_tenant("bench", "Benchmark billing")
            practice = await book.add_practice("bench", "Bench Clinic", "1234567893", "123456789")
            key = await book.issue_key("bench", Role.EHR_INTEGRATION, "bench")
        return practice.id, key.token
    finally:
        await database.dispose()


async def databases(kind: str) -> tuple[str, str, list[str]]:
    """(eligibility URL, directory URL, PostgreSQL databases to drop afterwards)."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="claimflow-bench-elig-"))
        return f"sqlite+aiosqlite:///{folder / 'eligibility.db'}", f"sqlite+aiosqlite:///{folder / 'directory.db'}", []
    import asyncpg

    names = [f"bench_elig_{uuid.uuid4().hex[:8]}", f"bench_dir_{uuid.uuid4().hex[:8]}"]
    connection = await asyncpg.connect(LOCAL_POSTGRES)
    try:
        for name in names:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base = "postgresql+asyncpg://postgres@127.0.0.1:5432"
    return f"{base}/{names[0]}", f"{base}/{names[1]}", names


async def drop(names: list[str]) -> None:
    """Drop the benchmark's PostgreSQL databases."""
    if not names:
        return
    import asyncpg

    connection = await asyncpg.connect(LOCAL_POSTGRES)
    try:
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def main(rate: float, seconds: float, concurrency: int, database: str, processes: int) -> None:
    if database == "sqlite" and processes > 1:
        raise SystemExit("SQLite has one writer: use --database postgresql with several API processes")
    payer_port = free_port()
    api_ports = [free_port() for _ in range(processes)]
    payer = await asyncio.create_subprocess_exec(sys.executable, "-c", INSTANT_PAYER, str(payer_port), str(SAMPLE_271))
    eligibility_url, directory_url, created = await databases(database)
    practice_id, token = await create_tenant(directory_url)
    env = dict(os.environ) | {
        "CLAIMFLOW_DATABASE_URL": eligibility_url,
        "CLAIMFLOW_DIRECTORY_URL": directory_url,
        "CLAIMFLOW_AUTO_MIGRATE": "true",
        "CLAIMFLOW_ELIGIBILITY_CACHE_MINUTES": "0",
        "CLAIMFLOW_LOG_LEVEL": "WARNING",
        "CLAIMFLOW_CONNECTOR_ROUTING": json.dumps(
            {"default": {"kind": "sandbox", "base_url": f"http://127.0.0.1:{payer_port}"}}
        ),
    }
    apis = []
    for index, api_port in enumerate(api_ports):
        apis.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "claimflow", "run", "eligibility-svc", "api", "--port", str(api_port)),
                env=env | {"CLAIMFLOW_AUTO_MIGRATE": "true" if index == 0 else "false"},
                stdout=asyncio.subprocess.DEVNULL,
            )
        )
        await wait_http(f"http://127.0.0.1:{api_port}/healthz")  # the first one migrates before the others start
    turn = itertools.cycle(api_ports)
    try:
        await wait_http(f"http://127.0.0.1:{payer_port}/")
        body = {
            "practice_id": practice_id,
            "provider_npi": "1234567893",
            "payer_id": "60054",
            "ehr_patient_id": "P-1",
            "subscriber": MARIA,
            "date_of_service": "2026-11-02",
            "service_type_codes": ["98"],
        }
        x12_270 = (SAMPLE_271.parent / "270_subscriber_dependent.x12").read_bytes()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def via_claimflow() -> bool:
                response = await client.post(
                    f"http://127.0.0.1:{next(turn)}/v1/eligibility-checks",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                return response.status_code == 201 and response.json()["status"] == "active"

            async def direct() -> bool:
                response = await client.post(f"http://127.0.0.1:{payer_port}/v1/eligibility", content=x12_270)
                return response.status_code == 200

            for send in (via_claimflow, direct):  # warm up connections, caches and the code paths
                await closed_loop(send, 4, 2.0)
            results = []
            for name, send in (("direct 270 → instant payer (floor)", direct), ("ClaimFlow check", via_claimflow)):
                latencies, errors = await open_loop(send, rate, seconds)
                throughput = await closed_loop(send, concurrency, seconds / 2)
                results.append(Measured(name, latencies, errors, throughput))
    finally:
        for process in [*apis, payer]:
            process.terminate()
            await process.wait()
        await drop(created)
    floor, ours = results
    print(f"{database}, {processes} API process(es); open loop {rate:g} req/s for {seconds:g} s; "
          f"closed loop {concurrency} in flight for {seconds / 2:g} s")  # fmt: skip
    print("| path | requests | p50 ms | p99 ms | mean ms | errors | max checks/s |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    overhead_p50 = ours.percentile(50) - floor.percentile(50)
    overhead_p99 = ours.percentile(99) - floor.percentile(99)
    print(f"ClaimFlow overhead: p50 +{overhead_p50:.2f} ms, p99 +{overhead_p99:.2f} ms")
    print(f"latency ratio ClaimFlow / floor: p50 {ours.percentile(50) / floor.percentile(50):.1f}x, "
          f"p99 {ours.percentile(99) / floor.percentile(99):.1f}x; "
          f"throughput ratio {ours.throughput / floor.throughput:.2f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="API processes behind a round-robin client")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rate, arguments.seconds, arguments.concurrency, arguments.database, arguments.processes))
