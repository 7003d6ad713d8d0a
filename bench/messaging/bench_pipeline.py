"""Messaging-kit throughput: outbox → relay → Kafka → consumer with inbox, against raw aiokafka.

Run: ``uv run python bench/messaging/bench_pipeline.py [--events N] [--backend sqlite|postgresql|both]``.
Both sides run in one process against the same embedded broker (or ``KAFKA_BOOTSTRAP_SERVERS``) with the
same message size. The raw side is the ceiling: produce N records and consume them, no database at all.
The ClaimFlow side writes N events into the outbox (500 per transaction, as a busy API would), lets the
relay publish them, and has a consumer apply each one in its own transaction with the inbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.engine import make_url

from claimflow_events import EncounterReceived, default_catalog
from claimflow_events.types import ServiceLine
from claimflow_kit.config import ServiceSettings
from claimflow_kit.consumer import ConsumerRunner, EventContext, Subscription
from claimflow_kit.db import Database
from claimflow_kit.embedded import EmbeddedBroker
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.outbox import Outbox, OutboxRelay

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Result:
    """One measured run."""

    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds


def payload(tenant: str, index: int) -> EncounterReceived:
    """A realistic encounter-received (≈ 900 bytes as an envelope)."""
    from datetime import date
    from decimal import Decimal

    return EncounterReceived(
        encounter_id=f"enc_{uuid.uuid4().hex}",
        encounter_version=1,
        practice_id="prac_bench",
        ehr_encounter_id=f"E{index}",
        patient_id=f"pat_{index % 5000}",
        payer_id="60054",
        date_of_service=date(2026, 11, 2),
        place_of_service="11",
        rendering_provider_npi="1234567893",
        billing_provider_npi="1234567893",
        diagnosis_codes=("J20.9", "R05.9", "E11.9"),
        service_lines=tuple(
            ServiceLine(
                line_number=n, procedure_code=code, units=Decimal(1), diagnosis_pointers=(1, 2), charge=Decimal("95")
            )
            for n, code in enumerate(("99213", "94640", "71046"), start=1)
        ),
    )


async def raw_kafka(bootstrap: str, events: int, size: int) -> Result:
    """Produce and consume ``events`` records of ``size`` bytes with plain aiokafka."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    value = b"x" * size
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await producer.start()
    await consumer.start()
    started = time.perf_counter()
    futures = [await producer.send(topic, value, key=str(i).encode()) for i in range(events)]
    await asyncio.gather(*futures)
    seen = 0
    while seen < events:
        batches = await consumer.getmany(timeout_ms=500, max_records=1000)
        seen += sum(len(records) for records in batches.values())
        if batches:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await producer.stop()
    return Result("raw aiokafka produce+consume (ceiling)", events, elapsed)


async def claimflow_pipeline(bootstrap: str, url: str, events: int, label: str) -> tuple[Result, int]:
    """Outbox write → relay → consumer with inbox; returns the result and the envelope size."""
    await upgrade_async("coding_svc", url)
    database = Database(url, pool_size=8)
    settings = ServiceSettings(
        service_name=f"bench-{uuid.uuid4().hex[:6]}",
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        kafka_idempotent_producer=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") is not None,
        outbox_poll_interval_seconds=0.01,
        consumer_batch_size=500,
    )
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    done = asyncio.Event()
    processed = 0

    async def handle(context: EventContext, event: EncounterReceived) -> None:
        nonlocal processed
        if context.tenant_id == tenant:
            processed += 1
            if processed >= events:
                done.set()

    outbox = Outbox(default_catalog(), settings.source)
    sample = default_catalog().envelope(payload(tenant, 0), tenant_id=tenant, source="/x", correlation_id="c")
    runner = ConsumerRunner(settings, database, default_catalog(), Subscription("bench", {EncounterReceived: handle}))
    relay = OutboxRelay(settings, database)
    stop = asyncio.Event()
    consumer_task = asyncio.create_task(runner.run(stop))
    await asyncio.wait_for(runner.assigned.wait(), 60)
    await relay.start()
    relay_task = asyncio.create_task(relay.run(stop))
    started = time.perf_counter()
    for offset in range(0, events, 500):
        async with database.transaction() as session:
            for index in range(offset, min(offset + 500, events)):
                outbox.add(session, payload(tenant, index), tenant_id=tenant, correlation_id=f"cor_{index}")
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.gather(consumer_task, relay_task)
    await relay.stop()
    await database.dispose()
    return Result(f"ClaimFlow outbox→relay→consumer+inbox ({label})", events, elapsed), len(sample.to_json_bytes())


async def postgres_url() -> str:
    """A fresh database on the local PostgreSQL."""
    name = f"cf_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(make_url(LOCAL_POSTGRES).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(LOCAL_POSTGRES).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop a database ``postgres_url`` made (the shared server keeps nothing of a run)."""
    name = make_url(url).database
    connection = await asyncpg.connect(make_url(LOCAL_POSTGRES).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def main(events: int, backends: list[str]) -> None:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None if external else EmbeddedBroker()
    if broker:
        broker.start()
    bootstrap = external or (broker.bootstrap_servers if broker else "")
    made: list[str] = []
    try:
        results: list[Result] = []
        size = 0
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
            else:
                url = await postgres_url()
                made.append(url)
            result, size = await claimflow_pipeline(bootstrap, url, events, backend)
            results.append(result)
        raw = await raw_kafka(bootstrap, events, size)
        results.insert(0, raw)
        print(f"events: {events}, envelope size: {size} bytes, broker: {'external' if external else 'embedded tansu'}")
        for result in results:
            ratio = result.rate / raw.rate
            print(f"  {result.name:<58} {result.rate:>9,.0f} events/s  ({result.seconds:6.2f} s, {ratio:4.2f}x raw)")
    finally:
        for url in made:
            await drop_database(url)
        if broker:
            broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    arguments = parser.parse_args()
    chosen = ["sqlite", "postgresql"] if arguments.backend == "both" else [arguments.backend]
    asyncio.run(main(arguments.events, chosen))
