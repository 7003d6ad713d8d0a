"""eligibility-svc overhead on a real-time check, with a payer that answers instantly.

Run: ``uv run python bench/eligibility/bench_checks.py [--rate 100] [--seconds 20]``.

Two processes are started: an "instant payer" (uvicorn, returns a stored 271 for every 270) and the
eligibility-svc API (uvicorn, SQLite, cache off, so every request builds a 270, allocates control numbers,
calls the payer, parses the 271, stores the check with its raw 271 and stages eligibility-checked).
The load generator runs in this process, open loop at ``--rate`` requests/s, then closed loop for
throughput. Side by side, the same load is sent straight to the instant payer: the floor of one HTTP
exchange on this machine. ClaimFlow's overhead is the difference; the ratio is reported.

The load generator shares the cores with the servers, so it is kept cheap: a minimal HTTP/1.1 keep-alive client
(pre-built request bytes, ``Content-Length`` answers) instead of a general-purpose client. The open loop is
honest about queueing: every request has a scheduled send time and its latency is measured from that time, so a
late send (a busy load generator or event loop) counts against the result instead of hiding it. The CPU time each
process used per request during the open loop is read from ``/proc`` (Linux) and reported next to the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    """Latencies of one open-loop run, CPU used per request meanwhile, and the throughput of one closed-loop run."""

    name: str
    latencies_ms: list[float]
    errors: int
    throughput: float
    server_cpu_ms: float | None
    payer_cpu_ms: float
    client_cpu_ms: float

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in ms."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def row(self) -> str:
        """A Markdown table row."""
        return (
            f"| {self.name} | {len(self.latencies_ms)} | {self.percentile(50):.2f} | {self.percentile(99):.2f} | "
            f"{statistics.fmean(self.latencies_ms):.2f} | {self.errors} | {self.throughput:.0f} | "
            f"{'-' if self.server_cpu_ms is None else f'{self.server_cpu_ms:.2f}'} | {self.payer_cpu_ms:.2f} | "
            f"{self.client_cpu_ms:.2f} |"
        )


class _ClosedBeforeAnswer(Exception):
    """The connection was closed before any byte of the answer arrived (safe to send again)."""


class KeepAliveClient:
    """A minimal HTTP/1.1 client for the load generator: reuses connections, reads ``Content-Length`` bodies.

    General-purpose clients spend about a millisecond of CPU per request on URL, header and cookie models; on a
    2-core machine that time is taken from the servers being measured.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one pre-built request; return the status and body (connection errors raise OSError).

        A kept-alive connection the server has closed meanwhile (idle timeout) is replaced once, as any client does.
        """
        while self.idle:
            reader, writer = self.idle.pop()
            try:
                return await self._exchange(reader, writer, request)
            except _ClosedBeforeAnswer:
                continue
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            return await self._exchange(reader, writer, request)
        except _ClosedBeforeAnswer as exc:
            raise OSError("the server closed a new connection without answering") from exc

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[int, bytes]:
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            writer.close()
            if not exc.partial:
                raise _ClosedBeforeAnswer from exc
            raise OSError(f"answer cut short: {exc!r}") from exc
        except OSError:
            writer.close()
            raise _ClosedBeforeAnswer from None
        try:
            status = int(head[9:12])
            length = 0
            keep_alive = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep_alive = False
                elif name == b"transfer-encoding":
                    raise OSError("chunked answers are not supported by the benchmark client")
            body = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            writer.close()
            raise OSError(f"exchange failed: {exc!r}") from exc
        if keep_alive:
            self.idle.append((reader, writer))
        else:
            writer.close()
        return status, body

    def close(self) -> None:
        """Close the idle connections."""
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def post(path: str, port: int, body: bytes, content_type: str, headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The bytes of a POST request with a body."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_http(port: int, within: float = 60.0) -> None:
    """Poll until something accepts connections on the port."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
        else:
            writer.close()
            return
    raise RuntimeError(f"nothing listens on port {port}")


async def open_loop(send: Sender, rate: float, seconds: float) -> tuple[list[float], int]:
    """Start a request every 1/rate s regardless of answers; return latencies (ms) and errors.

    Latency runs from the request's scheduled send time, not from when the load generator got round to it.
    """
    latencies: list[float] = []
    errors = 0

    async def one(scheduled: float) -> None:
        nonlocal errors
        ok = await send()
        if ok:
            latencies.append((time.perf_counter() - scheduled) * 1000)
        else:
            errors += 1

    tasks = []
    start = time.perf_counter()
    for index in range(int(rate * seconds)):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
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


async def main(rate: float, seconds: float, concurrency: int, database: str, processes: int, log_level: str) -> None:
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
        "CLAIMFLOW_LOG_LEVEL": log_level,
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
                # below WARNING every request writes a log line: discarded, but written as in production
                stderr=asyncio.subprocess.DEVNULL if log_level in ("INFO", "DEBUG") else None,
            )
        )
        await wait_http(api_port)  # the first one migrates before the others start
    try:
        await wait_http(payer_port)
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
        check_request = {
            port: post(
                "/v1/eligibility-checks",
                port,
                json.dumps(body).encode(),
                "application/json",
                [("Authorization", f"Bearer {token}")],
            )
            for port in api_ports
        }
        payer_request = post("/v1/eligibility", payer_port, x12_270, "application/edi-x12")
        clients = [KeepAliveClient(port) for port in api_ports]
        api_clients = itertools.cycle(clients)
        payer_client = KeepAliveClient(payer_port)

        async def via_claimflow() -> bool:
            client = next(api_clients)
            try:
                status, answer = await client.exchange(check_request[client.port])
            except OSError:
                return False
            return status == 201 and json.loads(answer)["status"] == "active"

        async def direct() -> bool:
            try:
                status, _ = await payer_client.exchange(payer_request)
            except OSError:
                return False
            return status == 200

        for send in (via_claimflow, direct):  # warm up connections, caches and the code paths
            await closed_loop(send, 4, 2.0)
        # The load generator's own collector must not pause it mid-run (setup left SQLAlchemy & co. on its heap).
        gc.collect()
        gc.freeze()
        servers = {"ClaimFlow check": [api.pid for api in apis], "direct 270 → instant payer (floor)": []}
        results = []
        for name, send in (("direct 270 → instant payer (floor)", direct), ("ClaimFlow check", via_claimflow)):
            pids = [*servers[name], payer.pid, os.getpid()]
            before = [cpu_seconds(pid) for pid in pids]
            latencies, errors = await open_loop(send, rate, seconds)
            used = [
                (cpu_seconds(pid) - start) * 1000 / (rate * seconds) for pid, start in zip(pids, before, strict=True)
            ]
            throughput = await closed_loop(send, concurrency, seconds / 2)
            server_cpu = sum(used[:-2]) if servers[name] else None
            results.append(Measured(name, latencies, errors, throughput, server_cpu, used[-2], used[-1]))
        for client in [payer_client, *clients]:
            client.close()
    finally:
        for process in [*apis, payer]:
            process.terminate()
            await process.wait()
        await drop(created)
    floor, ours = results
    print(f"{database}, {processes} API process(es), log level {log_level}; open loop {rate:g} req/s for "
          f"{seconds:g} s; closed loop {concurrency} in flight for {seconds / 2:g} s")  # fmt: skip
    print(
        "| path | requests | p50 ms | p99 ms | mean ms | errors | max checks/s "
        "| API CPU ms/req | payer CPU ms/req | load generator CPU ms/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
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
    parser.add_argument(
        "--log-level",
        choices=["WARNING", "INFO"],
        default="WARNING",
        help="INFO (the services' default) logs each request",
    )
    arguments = parser.parse_args()
    try:
        import uvloop  # installed with uvicorn[standard]; a cheaper event loop for the load generator too
    except ImportError:
        run = asyncio.run
    else:
        run = uvloop.run
    run(
        main(
            arguments.rate,
            arguments.seconds,
            arguments.concurrency,
            arguments.database,
            arguments.processes,
            arguments.log_level,
        )
    )
