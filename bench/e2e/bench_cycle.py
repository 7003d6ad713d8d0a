"""Encounters → paid-and-posted claims per second through every service of the embedded stack, with latencies.

Run: ``uv run python bench/e2e/bench_cycle.py [--rate 20] [--seconds 30]``.

Starts the stack exactly as ``claimflow up`` does (embedded broker, every service's API and worker as its own
process, SQLite, the payer-sandbox), with the loops tuned for latency: claims leave in batches every 0.5 s,
remit-svc reads the mailboxes every 0.5 s, and the payers pay on the day they receive a claim (a clock driver
runs the sandbox's check run every second). An open-loop load posts encounters at ``--rate`` per second for
``--seconds``; every encounter is followed until its 835 payment is posted. Latencies come from the services'
own timestamps: encounter received (coding-svc) → claim submitted (claims-svc) → payment posted (remit-svc).

Side by side in the same run: the broker's raw produce + consume rate with the same message size (the ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from claimflow.demo import DayOptions, plan_day
from claimflow.runtime import EmbeddedRuntime, demo_credentials
from claimflow.sandbox_config import SANDBOX_PAYERS
from claimflow.services import SERVICES
from claimflow_kit.embedded import free_port_block

TUNING = {
    "CLAIMFLOW_CLAIMS_BATCH_WINDOW_SECONDS": "0.5",
    "CLAIMFLOW_CLAIMS_PIPELINE_IDLE_SECONDS": "0.2",
    "CLAIMFLOW_REMIT_POLL_SECONDS": "0.5",
    "CLAIMFLOW_OUTBOX_POLL_INTERVAL_SECONDS": "0.05",
}


async def raw_broker(bootstrap: str, events: int, size: int) -> float:
    """Records per second produced and consumed with plain aiokafka (no database)."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest")
    await producer.start()
    await consumer.start()
    started = time.perf_counter()
    sends = [await producer.send(topic, b"x" * size, key=str(i).encode()) for i in range(events)]
    await asyncio.gather(*sends)
    seen = 0
    while seen < events:
        batches = await consumer.getmany(timeout_ms=500, max_records=1000)
        seen += sum(len(records) for records in batches.values())
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await producer.stop()
    return events / elapsed


def _ts(value: str | datetime) -> float:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def query(runtime: EmbeddedRuntime, database: str, sql: str, **parameters: str) -> list[Any]:
    """Rows of one read-only query on one of the stack's databases (SQLite or PostgreSQL)."""
    engine = create_async_engine(runtime.database_url(database))
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql), parameters)).all())
    finally:
        await engine.dispose()


async def read_timings(runtime: EmbeddedRuntime, tenant: str) -> list[tuple[float, float | None, float | None]]:
    """(received, submitted, posted) per encounter of the run, from the services' databases."""
    received = dict(
        await query(runtime, "coding-svc", "SELECT id, created_at FROM encounter WHERE tenant_id = :t", t=tenant)
    )
    rows = await query(
        runtime,
        "claims-svc",
        # The primary claim only: a secondary or tertiary claim of the same encounter goes out after the primary's
        # payment, and counting it (as this script did before 2026-11-24) put those encounters in the tail.
        "SELECT encounter_id, id, submitted_at FROM claim WHERE tenant_id = :t AND correction = 0 "
        "AND payer_sequence = 'primary'",
        t=tenant,
    )
    posted = dict(
        await query(
            runtime,
            "remit-svc",
            "SELECT claim_id, MIN(posted_at) FROM claim_payment WHERE tenant_id = :t AND state = 'posted' "
            "GROUP BY claim_id",
            t=tenant,
        )
    )
    by_encounter = {encounter: (claim, submitted) for encounter, claim, submitted in rows}
    timings = []
    for encounter, created in received.items():
        claim, submitted = by_encounter.get(encounter, (None, None))
        timings.append(
            (
                _ts(created),
                _ts(submitted) if submitted else None,
                _ts(posted[claim]) if posted.get(claim) else None,
            )
        )
    return timings


async def posted_claims(runtime: EmbeddedRuntime) -> int:
    """Primary claims with a posted 835 payment so far."""
    rows = await query(
        runtime,
        "remit-svc",
        "SELECT COUNT(DISTINCT p.claim_id) FROM claim_payment p JOIN open_claim c ON c.id = p.claim_id "
        "WHERE p.state = 'posted' AND c.prior_claim_id IS NULL",
    )
    return int(rows[0][0])


STAGES = (
    "received → coded (coding-svc API)",
    "coded → encounter-coded published (outbox relay)",
    "published → claim drafted (claims-svc worker)",
    "drafted → in an 837 batch (scrub, batch window)",
    "in a batch → submitted (sent, sandbox's answer)",
)


async def read_stages(runtime: EmbeddedRuntime, tenant: str) -> list[list[float]]:
    """Per encounter with a submitted primary claim: the seconds spent in each of ``STAGES``."""
    coded = {
        encounter: (received, staged, sent)
        for encounter, received, staged, sent in await query(
            runtime,
            "coding-svc",
            "SELECT e.id, e.created_at, o.created_at, o.sent_at FROM encounter e JOIN outbox o "
            "ON o.message_key = e.id AND o.event_type = 'claimflow.encounter-coded' WHERE e.tenant_id = :t",
            t=tenant,
        )
    }
    claimed = await query(
        runtime,
        "claims-svc",
        "SELECT c.encounter_id, c.created_at, s.created_at, c.submitted_at FROM claim c "
        "JOIN claim_submission s ON s.id = c.submission_id WHERE c.tenant_id = :t AND c.correction = 0 "
        "AND c.payer_sequence = 'primary' AND c.submitted_at IS NOT NULL",
        t=tenant,
    )
    stages = []
    for encounter, drafted, batched, submitted in claimed:
        if encounter not in coded or coded[encounter][2] is None:
            continue
        moments = [_ts(m) for m in (*coded[encounter], drafted, batched, submitted)]
        stages.append([later - earlier for earlier, later in itertools.pairwise(moments)])
    return stages


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


_IN_FLIGHT = 100  # encounter posts under way at once (httpx's default pool size)


async def drive(
    runtime: EmbeddedRuntime, credentials: dict[str, str], rate: float, seconds: float, batch: int = 1
) -> int:
    """Post encounters at ``rate`` for ``seconds`` while the payer clock runs; wait for every payment."""
    base = {name: f"http://127.0.0.1:{port}" for name, port in runtime.ports.items()}
    # No pool or connect timeout: past saturation the posts queue for a connection, and the queue is what is measured.
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(60.0, pool=None, connect=None), limits=httpx.Limits(max_connections=_IN_FLIGHT)
    ) as client:
        sandbox = base["payer-sandbox"]
        scenario = (await client.get(f"{sandbox}/v1/scenario")).json()
        scenario["default"] = {**scenario["default"], "adjudication_days": 0, "denial_rate": 0.0}
        scenario["payers"] = {}
        await client.put(f"{sandbox}/v1/scenario", json=scenario)
        today = date.fromisoformat((await client.get(f"{sandbox}/v1/clock")).json()["today"])
        members = [
            m
            for payer in SANDBOX_PAYERS
            for m in (
                await client.get(f"{sandbox}/v1/population/members?payer_id={payer}&status=active&limit=5000")
            ).json()
            if m["person_code"] == "00"
        ]
        count = int(rate * seconds)
        options = DayOptions(encounters=count, seed=11, coding_problem_rate=0.0, eligibility_problem_rate=0.0)
        practice = credentials["practice_id"]
        encounters, _ = plan_day(members, [(practice, "1234567893")], today, options)
        headers = {"Authorization": f"Bearer {credentials['ehr-integration']}"}
        stop = asyncio.Event()

        async def clock() -> None:
            # A client of its own: when the services fall behind, the encounters' posts take every connection of
            # the shared one, and the payers' check run must not wait for them.
            async with httpx.AsyncClient(timeout=60) as payer_clock:
                while not stop.is_set():
                    # A kept-alive connection the sandbox closed as it was reused: the next tick runs anyway.
                    with contextlib.suppress(httpx.TransportError):
                        await payer_clock.post(f"{sandbox}/v1/clock/advance", json={"days": 0})
                    await asyncio.sleep(1.0)

        # Posts beyond the pool's connections wait here, not in httpx's pool: the pool rescans its whole queue of
        # requests against its connections each time one frees, and with thousands queued (past saturation) this
        # script spent its time doing that and posted nothing for a minute (seen at 150/s: the API sat idle).
        slots = asyncio.Semaphore(_IN_FLIGHT)

        # One encounter per post, or ``batch`` per post to the batch endpoint (an EHR sending its export in parts).
        path, chunks = "/v1/encounters", [[body] for body in encounters]
        if batch > 1:
            path, chunks = "/v1/encounter-batches", [encounters[i : i + batch] for i in range(0, count, batch)]

        async def post(chunk: list[dict[str, Any]]) -> httpx.Response:
            body = chunk[0] if batch == 1 else {"encounters": chunk}
            async with slots:
                for _ in range(2):
                    # A kept-alive connection the API closed as it was reused: post again (intake is idempotent on
                    # the EHR's encounter id, so one that got through answers 200).
                    with contextlib.suppress(httpx.TransportError):
                        return await client.post(f"{base['coding-svc']}{path}", json=body, headers=headers)
                return await client.post(f"{base['coding-svc']}{path}", json=body, headers=headers)

        ticker = asyncio.create_task(clock())
        started = time.monotonic()
        posts = []
        for index, chunk in enumerate(chunks):
            delay = started + index * len(chunks[0]) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            posts.append(asyncio.create_task(post(chunk)))
        answers = await asyncio.gather(*posts)
        refused = [a.text for a in answers if a.status_code not in (200, 201)]
        if batch > 1:
            refused += [str(r) for a in answers if a.status_code == 200 for r in a.json()["results"] if r["error"]]
        if refused:
            raise SystemExit(f"{len(refused)} posts refused, e.g. {refused[0][:300]}")
        # Wait for the payments; claims the payer rejects or the scrubber holds never get one, so stop once nothing
        # has moved for 15 s.
        deadline = time.monotonic() + max(120.0, seconds * 4)
        last, moved = -1, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - moved < 15.0:
            posted = await posted_claims(runtime)
            if posted >= count:
                break
            if posted != last:
                last, moved = posted, time.monotonic()
            await asyncio.sleep(1.0)
        stop.set()
        await ticker
        return count


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu(runtime: EmbeddedRuntime) -> dict[str, float]:
    """CPU seconds used so far by every process of the stack (broker included)."""
    used = {child.label: cpu_seconds(child.process.pid) for child in runtime.processes}
    if runtime.broker.pid is not None:
        used["broker (tansu)"] = cpu_seconds(runtime.broker.pid)
    return used


def tuned_runtime(prefix: str, postgres: str | None, encounters: int = 0) -> EmbeddedRuntime:
    """The stack as ``claimflow up`` runs it, with the loops tuned for latency, in a fresh data directory and on
    ports below the ephemeral range (not started yet).

    The payers' population grows with the run: a patient is seen once on a date of service, as in a practice's
    week, not a dozen times (whose claims the scrubber holds or the payer denies as duplicates).
    """
    os.environ.update(TUNING)
    # Two patient-dates per encounter: four payers, of whose subscribers ~80 % are covered, over five days.
    subscribers = min(10_000, max(20, math.ceil(encounters * 2 / (4 * 0.8 * 5))))
    os.environ["CLAIMFLOW_SANDBOX_SUBSCRIBERS_PER_PAYER"] = str(subscribers)
    return EmbeddedRuntime(
        Path(tempfile.mkdtemp(prefix=prefix)),
        port_base=free_port_block(len(SERVICES) + 2),
        broker_port=free_port_block(1),
        postgres=postgres,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="encounters per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--batch", type=int, default=1, help="encounters per post: above 1, they go to the batch endpoint (max 200)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run every service on this PostgreSQL server (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432) "
        "instead of SQLite; the run's databases are dropped afterwards",
    )
    arguments = parser.parse_args()
    runtime = tuned_runtime("claimflow-bench-e2e-", arguments.postgres, int(arguments.rate * arguments.seconds))
    try:
        runtime.prepare()
        credentials = demo_credentials(runtime)
        runtime.start()
        runtime.wait_ready(within=180.0)
        wall = time.monotonic()
        before = process_cpu(runtime)
        count = asyncio.run(drive(runtime, credentials, arguments.rate, arguments.seconds, arguments.batch))
        wall = time.monotonic() - wall
        spent = {label: used - before.get(label, 0.0) for label, used in process_cpu(runtime).items()}
        ceiling = asyncio.run(raw_broker(runtime.broker.bootstrap_servers, 20_000, 1_200))
        timings = asyncio.run(read_timings(runtime, "demo"))
        stages = asyncio.run(read_stages(runtime, "demo"))
    finally:
        runtime.stop()
        runtime.drop_databases()
    submitted = [s - r for r, s, _ in timings if s is not None]
    paid = [p - r for r, _, p in timings if p is not None]
    first = min(r for r, _, _ in timings)
    last = max(p for _, _, p in timings if p is not None)
    print(
        f"{count} encounters at {arguments.rate}/s for {arguments.seconds:.0f} s, embedded stack "
        f"({'SQLite' if arguments.postgres is None else 'PostgreSQL'}), {wall:.0f} s"
        + (f", posted {arguments.batch} per batch" if arguments.batch > 1 else "")
    )
    rows = [
        ("encounters → paid and posted, sustained", f"{len(paid) / (last - first):.1f} claims/s ({len(paid)}/{count})"),
        (
            "encounter → claim-submitted p50 / p99",
            f"{statistics.median(submitted):.2f} s / {percentile(submitted, 0.99):.2f} s",
        ),
        ("encounter → payment-posted p50 / p99", f"{statistics.median(paid):.2f} s / {percentile(paid, 0.99):.2f} s"),
        ("broker raw produce + consume, 1.2 KB (ceiling, same run)", f"{ceiling:,.0f} records/s"),
    ]
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print()
    slowest = sorted(stages, key=sum)[-max(1, len(stages) // 100) :]
    print(f"Where encounter → claim-submitted goes, per stage ({len(stages)} claims; the slowest 1 %: {len(slowest)}):")
    print("| stage | p50 | p99 | mean in the slowest 1 % |")
    print("|---|---|---|---|")
    for index, stage in enumerate(STAGES):
        spent_here = [row[index] for row in stages]
        print(
            f"| {stage} | {statistics.median(spent_here):.3f} s | {percentile(spent_here, 0.99):.3f} s "
            f"| {statistics.mean(row[index] for row in slowest):.3f} s |"
        )
    total = sum(spent.values())
    print()
    print(f"CPU per paid-and-posted claim, by process ({total:.1f} CPU-s in all over {wall:.0f} s of wall time):")
    print("| process | CPU seconds | ms per claim | share |")
    print("|---|---|---|---|")
    for label, used in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"| {label} | {used:.1f} | {1000 * used / max(len(paid), 1):.1f} | {used / total:.0%} |")
    print(f"| all | {total:.1f} | {1000 * total / max(len(paid), 1):.1f} | 100% |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
