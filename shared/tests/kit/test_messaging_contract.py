"""Contract suite of the messaging kit, run against SQLite and PostgreSQL with a real broker."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy import event, func, text, update
from sqlmodel import col, select

from claimflow_events import ClaimAccepted, EncounterReceived, EventEnvelope, Topic, default_catalog
from claimflow_events.payloads import AcknowledgmentSource
from claimflow_kit import outbox as outbox_module
from claimflow_kit.config import ServiceSettings
from claimflow_kit.consumer import ConsumerRunner, EventContext, Subscription
from claimflow_kit.control_numbers import SqlControlNumberAllocator
from claimflow_kit.db import ChangeWatch, Database
from claimflow_kit.dlq import DeadLetter, list_dead_letters, replay_dead_letters
from claimflow_kit.kafka import ensure_topics, new_producer
from claimflow_kit.metrics import Metrics
from claimflow_kit.outbox import Outbox, OutboxRelay, outbox_backlog
from claimflow_kit.tables import ControlNumberSequence, InboxRecord, OutboxMessage, utcnow
from claimflow_kit.testing import BrokerHandle, eventually, statements_run, whole_table_reads
from claimflow_kit.worker import purge_processed
from claimflow_x12 import allocate_envelope
from claimflow_x12.envelope import ControlNumberKind

from .conftest import Effect, encounter_event, kit_settings

pytestmark = pytest.mark.integration


def recording_handler(tenant_id: str, fail_when: Callable[[EncounterReceived], bool] = lambda _: False):  # type: ignore[no-untyped-def]
    """A handler that writes one Effect row per event of ``tenant_id`` (and fails on demand)."""

    async def handle(context: EventContext, event: EncounterReceived) -> None:
        if context.tenant_id != tenant_id:
            return
        if fail_when(event):
            raise RuntimeError(f"handler bug on {event.ehr_encounter_id}")
        context.session.add(
            Effect(tenant_id=tenant_id, event_id=str(context.envelope.id), encounter_id=event.encounter_id)
        )

    return handle


@asynccontextmanager
async def running(runner: ConsumerRunner | OutboxRelay) -> AsyncIterator[None]:
    """Run a consumer runner or a started relay in the background for the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        if isinstance(runner, ConsumerRunner):
            await asyncio.wait_for(runner.assigned.wait(), 30)
        yield
    finally:
        stop.set()
        await task


async def stage(database: Database, settings: ServiceSettings, tenant_id: str, label: str = "ok") -> str:
    """Write one encounter-received into the outbox in its own transaction; returns the encounter id."""
    event = encounter_event(tenant_id, label)
    async with database.transaction() as session:
        Outbox(default_catalog(), settings.source).add(session, event, tenant_id=tenant_id, correlation_id="cor")
    return event.encounter_id


async def publish_staged(database: Database, settings: ServiceSettings) -> int:
    """One relay batch of what is staged in the outbox; returns how many events it published."""
    relay = OutboxRelay(settings, database)
    await relay.start()
    try:
        return await relay.publish_batch()
    finally:
        await relay.stop()


async def effects(database: Database, tenant_id: str) -> list[Effect]:
    """Effect rows of one tenant."""
    async with database.transaction() as session:
        return list((await session.exec(select(Effect).where(Effect.tenant_id == tenant_id))).all())


async def test_outbox_row_commits_with_the_state_change_and_vanishes_on_rollback(
    kit_db: Database, broker: BrokerHandle
) -> None:
    settings = kit_settings(kit_db, broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    outbox = Outbox(default_catalog(), settings.source)

    async def failing_request() -> None:
        async with kit_db.transaction() as session:
            session.add(Effect(tenant_id=tenant, event_id="x", encounter_id="rolled-back"))
            outbox.add(session, encounter_event(tenant), tenant_id=tenant, correlation_id="c")
            raise RuntimeError("request failed after writing")

    with pytest.raises(RuntimeError):
        await failing_request()
    async with kit_db.transaction() as session:
        assert await outbox_backlog(session) == 0
    assert await effects(kit_db, tenant) == []
    await stage(kit_db, settings, tenant)
    async with kit_db.transaction() as session:
        assert await outbox_backlog(session) == 1


async def test_event_reaches_consumer_and_relay_crash_duplicate_is_absorbed(
    kit_db: Database, broker: BrokerHandle, databases: object
) -> None:
    settings = kit_settings(kit_db, broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    metrics = Metrics("kit-test")
    runner = ConsumerRunner(
        settings,
        kit_db,
        default_catalog(),
        Subscription("effects", {EncounterReceived: recording_handler(tenant)}),
        metrics,
    )
    encounter_id = await stage(kit_db, settings, tenant)

    # A relay publishes the batch, then "crashes" before marking it sent.
    crashed = OutboxRelay(settings, kit_db)
    await crashed.start()
    claimed = await crashed.claim_batch()
    assert [c.key for c in claimed] == [encounter_id]
    await crashed.send(claimed)
    await crashed.stop()

    # Its lease expires; a new relay finds the row unsent and publishes it again.
    assert await publish_staged(kit_db, settings) == 1
    async with kit_db.transaction() as session:
        row = (await session.exec(select(OutboxMessage).where(OutboxMessage.message_key == encounter_id))).one()
        assert row.sent_at is not None
        assert row.kafka_offset is not None

    async with running(runner):

        async def duplicate_seen() -> bool:
            return any(
                sample.labels.get("consumer") == runner.name
                and sample.labels.get("outcome") == "duplicate"
                and sample.value >= 1
                for sample in next(iter(metrics.events_consumed.collect())).samples
            )

        await eventually(duplicate_seen)
    rows = await effects(kit_db, tenant)
    assert [r.encounter_id for r in rows] == [encounter_id]
    async with kit_db.transaction() as session:
        inbox = await session.exec(select(InboxRecord.consumer).where(InboxRecord.event_id == rows[0].event_id))
        assert inbox.all() == [runner.name]


async def test_poison_message_is_dead_lettered_and_replayed_after_the_fix(
    kit_db: Database, broker: BrokerHandle
) -> None:
    settings = kit_settings(kit_db, broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    bug_fixed = False
    handler = recording_handler(tenant, fail_when=lambda e: e.ehr_encounter_id == "poison" and not bug_fixed)
    metrics = Metrics("kit-test")
    runner = ConsumerRunner(
        settings, kit_db, default_catalog(), Subscription("poison", {EncounterReceived: handler}), metrics
    )

    poison_id = await stage(kit_db, settings, tenant, "poison")
    healthy_id = await stage(kit_db, settings, tenant, "healthy")
    assert await publish_staged(kit_db, settings) == 2
    # Malformed bytes on the topic: not even an envelope.
    producer: AIOKafkaProducer = new_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(Topic.ENCOUNTERS.value, b"{not json", key=tenant.encode())
    finally:
        await producer.stop()

    async with running(runner):

        async def healthy_processed_and_both_dead_lettered() -> list[DeadLetter] | None:
            # Earlier tests may have left malformed records on the shared topic, so count letters by kind,
            # not by number: this runner must have dead-lettered both the handler failure and garbage.
            healthy = [e for e in await effects(kit_db, tenant) if e.encounter_id == healthy_id]
            letters = await list_dead_letters(settings, Topic.ENCOUNTERS.dead_letter)
            mine = [letter for letter in letters if letter.consumer == runner.name]
            codes = {letter.error_code for letter in mine}
            return mine if healthy and {"RuntimeError", "MalformedEnvelope"} <= codes else None

        mine = await eventually(healthy_processed_and_both_dead_lettered)

    assert {letter.error_code for letter in mine} == {"RuntimeError", "MalformedEnvelope"}
    poison = next(letter for letter in mine if letter.error_code == "RuntimeError")
    assert "handler bug on poison" in poison.error_message
    assert poison.original_topic == Topic.ENCOUNTERS.value
    assert not poison.replayed

    bug_fixed = True
    replayed = await replay_dead_letters(settings, Topic.ENCOUNTERS.dead_letter, event_id=poison.event_id)
    assert [r.event_id for r in replayed] == [poison.event_id]
    async with running(runner):

        async def poison_processed() -> list[Effect]:
            return [e for e in await effects(kit_db, tenant) if e.encounter_id == poison_id]

        await eventually(poison_processed)
    after = {
        (letter.partition, letter.offset): letter
        for letter in await list_dead_letters(settings, Topic.ENCOUNTERS.dead_letter)
    }
    assert after[(poison.partition, poison.offset)].replayed
    assert sorted(e.encounter_id for e in await effects(kit_db, tenant)) == sorted([poison_id, healthy_id])


async def test_audit_log_is_append_only(kit_db: Database) -> None:
    async with kit_db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO audit_log (tenant_id, occurred_at, actor, actor_role, action, resource_type, resource_id)"
                " VALUES ('t', CURRENT_TIMESTAMP, 'k', 'admin', 'read', 'Encounter', 'e1')"
            )
        )
    for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):

        async def tamper(sql: str = statement) -> None:
            async with kit_db.engine.begin() as connection:
                await connection.execute(text(sql))

        with pytest.raises(Exception, match="append-only"):
            await tamper()
    async with kit_db.engine.connect() as connection:
        assert (await connection.execute(text("SELECT actor FROM audit_log"))).scalar_one() == "k"


async def test_relay_republishes_what_a_restarted_broker_forgot(kit_db: Database, private_broker: BrokerHandle) -> None:
    broker = private_broker
    settings = kit_settings(kit_db, broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    encounter_id = await stage(kit_db, settings, tenant)
    assert await publish_staged(kit_db, settings) == 1

    broker.restart()  # the broker forgets the event before anyone consumed it

    runner = ConsumerRunner(
        settings, kit_db, default_catalog(), Subscription("after-reset", {EncounterReceived: recording_handler(tenant)})
    )
    relay = OutboxRelay(settings, kit_db)
    await relay.start()  # detects the reset (its marker topic is gone) and schedules the replay
    try:
        async with running(relay), running(runner):

            async def delivered() -> list[Effect]:
                return await effects(kit_db, tenant)

            rows = await eventually(delivered)
    finally:
        await relay.stop()
    assert [r.encounter_id for r in rows] == [encounter_id]
    async with kit_db.transaction() as session:
        unsent = await session.exec(
            select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
        )
        assert unsent.one() == 0


async def test_housekeeping_purges_only_what_is_past_retention(kit_db: Database, broker: BrokerHandle) -> None:
    settings = kit_settings(kit_db, broker, outbox_retention_seconds=3600, inbox_retention_seconds=3600)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    old_sent = await stage(kit_db, settings, tenant)
    recent_sent = await stage(kit_db, settings, tenant)
    unsent = await stage(kit_db, settings, tenant)
    long_ago = utcnow() - timedelta(hours=2)
    async with kit_db.transaction() as session:
        await session.exec(
            update(OutboxMessage).where(col(OutboxMessage.message_key) == old_sent).values(sent_at=long_ago)
        )
        await session.exec(
            update(OutboxMessage).where(col(OutboxMessage.message_key) == recent_sent).values(sent_at=utcnow())
        )
        session.add(InboxRecord(consumer="c", event_id="old", event_type="t", processed_at=long_ago))
        session.add(InboxRecord(consumer="c", event_id="new", event_type="t", processed_at=utcnow()))
    with statements_run(kit_db, "outbox", "inbox") as purges:
        removed = await purge_processed(kit_db, settings)
    assert removed == {"outbox": 1, "inbox": 1}
    assert len(purges) == 2
    assert await whole_table_reads(kit_db, purges, "outbox", "inbox") == []  # both tables are the largest there are
    async with kit_db.transaction() as session:
        keys = set((await session.exec(select(OutboxMessage.message_key))).all())
        inbox = set((await session.exec(select(InboxRecord.event_id).where(InboxRecord.consumer == "c"))).all())
    assert {recent_sent, unsent} <= keys
    assert old_sent not in keys
    assert inbox == {"new"}


async def test_control_numbers_are_unique_under_concurrency_and_survive_restarts(kit_db: Database) -> None:
    first = SqlControlNumberAllocator(kit_db)
    batches = await asyncio.gather(*(first.allocate(ControlNumberKind.TRANSACTION, "SENDER1", 3) for _ in range(20)))
    numbers = [n for batch in batches for n in batch]
    assert sorted(numbers) == list(range(1, 61))
    restarted = SqlControlNumberAllocator(kit_db)  # a new process would start from the stored sequence
    assert await restarted.allocate(ControlNumberKind.TRANSACTION, "SENDER1") == [61]
    assert await restarted.allocate(ControlNumberKind.INTERCHANGE, "SENDER1") == [1]  # per kind
    assert await restarted.allocate(ControlNumberKind.TRANSACTION, "SENDER2", 2) == [1, 2]  # per sender
    envelope = await allocate_envelope(restarted, sender_id="SENDER1", receiver_id="PAYER", transaction_count=2)
    assert (envelope.interchange_control_number, envelope.group_control_number) == (2, 1)
    assert envelope.transaction_control_numbers == [62, 63]


async def test_control_numbers_wrap_after_nine_digits(kit_db: Database) -> None:
    async with kit_db.transaction() as session:
        session.add(ControlNumberSequence(sender_id="WRAP", kind="ISA13", next_value=999_999_998))
    numbers = await SqlControlNumberAllocator(kit_db).allocate(ControlNumberKind.INTERCHANGE, "WRAP", 3)
    assert numbers == [999_999_998, 999_999_999, 1]


async def test_a_consumer_reads_a_restarted_broker_from_its_start(
    kit_db: Database, private_broker: BrokerHandle
) -> None:
    """The broker forgets everything while a consumer runs, then fills up past the consumer's old positions:
    the consumer must read the new log from offset 0, not carry on from where it was in the old one."""
    broker = private_broker
    settings = kit_settings(kit_db, broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    catalog = default_catalog()
    handlers = Subscription("after-restart", {EncounterReceived: recording_handler(tenant)})
    runner = ConsumerRunner(settings, kit_db, catalog, handlers)

    async def produce(count: int) -> set[str]:
        """``count`` events straight to the topic (no outbox: nothing will re-publish them)."""
        producer = new_producer(settings)
        await producer.start()
        try:
            sent = set()
            for _ in range(count):
                event = encounter_event(tenant)
                envelope = catalog.envelope(event, tenant_id=tenant, source=settings.source, correlation_id="c")
                await producer.send_and_wait(
                    Topic.ENCOUNTERS.value, envelope.to_json_bytes(), key=envelope.subject.encode()
                )
                sent.add(event.encounter_id)
            return sent
        finally:
            await producer.stop()

    def handled(expected: set[str]) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return {r.encounter_id for r in await effects(kit_db, tenant)} >= expected

        return check

    async with running(runner):
        before = await produce(12)
        await eventually(handled(before), within=60)
        await asyncio.to_thread(broker.restart)
        await ensure_topics(settings, [Topic.ENCOUNTERS.value])
        after = await produce(40)  # more than the old log held: every partition passes its old position
        await eventually(handled(after), within=90)
    assert runner.resets == 1
    rows = await effects(kit_db, tenant)
    assert sorted(r.encounter_id for r in rows) == sorted(before | after)  # each once


def _outcomes(metrics: Metrics, runner: ConsumerRunner) -> dict[str, float]:
    """How many events ``runner`` counted per outcome (processed, duplicate, ...)."""
    counted: dict[str, float] = {}
    for sample in next(iter(metrics.events_consumed.collect())).samples:
        if sample.name.endswith("_total") and sample.labels.get("consumer") == runner.name:
            outcome = sample.labels["outcome"]
            counted[outcome] = counted.get(outcome, 0) + sample.value
    return counted


async def test_a_consumer_commits_what_it_handled_so_its_successor_starts_after_it(
    kit_db: Database, broker: BrokerHandle
) -> None:
    """Positions are committed once per interval for every partition, and on stopping: a consumer of the same group
    started afterwards reads only what came after, not the handled events again (which the inbox would drop)."""
    settings = kit_settings(kit_db, broker, consumer_commit_interval_seconds=30.0)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    subscription = Subscription(f"commits-{uuid.uuid4().hex[:6]}", {EncounterReceived: recording_handler(tenant)})
    first_metrics = Metrics("kit-test")
    first = ConsumerRunner(settings, kit_db, default_catalog(), subscription, first_metrics)
    staged = {await stage(kit_db, settings, tenant, f"e{index}") for index in range(12)}
    async with running(first):
        assert await publish_staged(kit_db, settings) == 12

        async def all_handled() -> bool:
            return {r.encounter_id for r in await effects(kit_db, tenant)} >= staged

        await eventually(all_handled, within=60)
    assert _outcomes(first_metrics, first)["processed"] >= 12  # and what earlier tests left on the topic

    second_metrics = Metrics("kit-test")
    second = ConsumerRunner(settings, kit_db, default_catalog(), subscription, second_metrics)
    late = await stage(kit_db, settings, tenant, "late")
    async with running(second):
        assert await publish_staged(kit_db, settings) == 1

        async def late_handled() -> bool:
            return late in {r.encounter_id for r in await effects(kit_db, tenant)}

        await eventually(late_handled, within=60)
    assert _outcomes(second_metrics, second) == {"processed": 1}  # nothing read twice
    assert len(await effects(kit_db, tenant)) == 13


async def test_a_record_two_consumer_groups_dead_lettered_is_replayed_once(
    kit_db: Database, private_broker: BrokerHandle
) -> None:
    settings = kit_settings(kit_db, private_broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    failing = recording_handler(tenant, fail_when=lambda e: e.ehr_encounter_id == "poison")
    runners = [
        ConsumerRunner(settings, kit_db, default_catalog(), Subscription(name, {EncounterReceived: failing}))
        for name in ("first", "second")
    ]
    await stage(kit_db, settings, tenant, "poison")
    assert await publish_staged(kit_db, settings) == 1
    async with running(runners[0]), running(runners[1]):

        async def both_dead_lettered() -> list[DeadLetter]:
            letters = await list_dead_letters(settings, Topic.ENCOUNTERS.dead_letter)
            return letters if {letter.consumer for letter in letters} == {r.name for r in runners} else []

        letters = await eventually(both_dead_lettered, within=60)
    assert len({letter.event_id for letter in letters}) == 1

    replayed = await replay_dead_letters(settings, Topic.ENCOUNTERS.dead_letter)
    assert sorted(letter.consumer for letter in replayed) == sorted(r.name for r in runners)
    # Read like letters, the topic itself now holds the event twice: published, and replayed once (not twice).
    on_topic = await list_dead_letters(settings, Topic.ENCOUNTERS.value)
    assert [record.event_id for record in on_topic] == [letters[0].event_id] * 2
    assert all(letter.replayed for letter in await list_dead_letters(settings, Topic.ENCOUNTERS.dead_letter))


async def unsent(database: Database) -> int | None:
    """How many staged events wait for the relay; None when none do (for ``eventually``)."""
    async with database.transaction() as session:
        waiting = await outbox_backlog(session)
    return None if waiting == 0 else waiting


async def first_look(relay: OutboxRelay) -> None:
    """Wait until a running relay has made its first look."""

    async def looked() -> bool | None:
        return True if relay.looks else None

    await eventually(looked)


async def test_a_relay_publishes_what_its_process_staged_at_once_and_idles_without_transactions(
    kit_db: Database, broker: BrokerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polling every 30 s: only the wake-up on commit can publish the staged event within the test's deadline.
    settings = kit_settings(kit_db, broker, outbox_poll_interval_seconds=30.0)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(settings, kit_db)
    await relay.start()
    try:
        async with running(relay):
            await first_look(relay)  # now it waits for up to 30 s
            await stage(kit_db, settings, tenant)

            async def published() -> bool | None:
                return True if await unsent(kit_db) is None else None

            await eventually(published, within=10.0)
    finally:
        await relay.stop()

    # Looking every 20 ms with nothing to send: a look asks whether anything was committed (SQLite: the file's
    # data version; PostgreSQL: notices heard), so the idle relay runs no transaction instead of fifty a second.
    # Full looks (claims whatever the answer) only every minute: another process's events are found by asking.
    monkeypatch.setattr(outbox_module, "_FULL_LOOK_SECONDS", 60.0)
    settings = kit_settings(kit_db, broker, outbox_poll_interval_seconds=0.02)
    relay = OutboxRelay(settings, kit_db)
    await relay.start()
    began: list[object] = []

    def count(_connection: object) -> None:
        began.append(_connection)

    try:
        async with running(relay):
            await first_look(relay)  # its first look found the earlier commits; from now on it idles
            event.listen(kit_db.engine.sync_engine, "begin", count)
            try:
                await asyncio.sleep(1.0)  # the window measured, not a wait for an event
            finally:
                event.remove(kit_db.engine.sync_engine, "begin", count)
            # Another process's commit (a second engine on the same database) is still found by looking.
            other = Database(kit_db.url, pool_size=1)
            try:
                await stage(other, settings, tenant, "from-the-api-process")
            finally:
                await other.dispose()

            async def caught_up() -> bool | None:
                return True if await unsent(kit_db) is None else None

            await eventually(caught_up, within=10.0)
    finally:
        await relay.stop()
    assert len(began) <= 3, f"{len(began)} transactions in a second of idling"


async def test_a_relay_drains_a_backlog_larger_than_its_batch_without_waiting_between_batches(
    kit_db: Database, broker: BrokerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten events in one transaction, batches of two: a full batch is followed at once by the next one, not by the
    next poll (30 s), wake-up or full look (a minute). Sending marks rows, which is no new event to be told of."""
    monkeypatch.setattr(outbox_module, "_FULL_LOOK_SECONDS", 60.0)
    settings = kit_settings(kit_db, broker, outbox_poll_interval_seconds=30.0, outbox_batch_size=2)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(settings, kit_db)
    await relay.start()
    try:
        async with running(relay):
            await first_look(relay)
            async with kit_db.transaction() as session:
                outbox = Outbox(default_catalog(), settings.source)
                for n in range(10):
                    outbox.add(session, encounter_event(tenant, f"backlog-{n}"), tenant_id=tenant, correlation_id="c")

            async def published() -> bool | None:
                return True if await unsent(kit_db) is None else None

            await eventually(published, within=10.0)
    finally:
        await relay.stop()


async def test_relays_of_one_service_take_turns_so_its_events_leave_in_the_order_written(
    kit_db: Database, broker: BrokerHandle
) -> None:
    """Each worker process of a service runs a relay on the service's database. While one holds a live lease (it
    is sending a batch), the others claim nothing: a batch sent beside it could put an aggregate's later event on
    the broker before its earlier one. A relay that died holding a lease blocks nobody once the lease expires."""
    settings = kit_settings(kit_db, broker, outbox_lease_seconds=30.0, outbox_batch_size=2)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    staged = [await stage(kit_db, settings, tenant, f"turn-{n}") for n in range(6)]
    first, second = OutboxRelay(settings, kit_db), OutboxRelay(settings, kit_db)
    crashed = OutboxRelay(kit_settings(kit_db, broker, outbox_lease_seconds=0.0, outbox_batch_size=2), kit_db)
    for relay in (first, second, crashed):
        await relay.start()
    try:
        batch = await first.claim_batch()
        assert [m.key for m in batch] == staged[:2]
        assert await second.claim_batch() == [], "its turn comes once the first relay's batch is sent"
        await first.mark_sent(batch, await first.send(batch))
        following = await second.claim_batch()
        assert [m.key for m in following] == staged[2:4]
        await second.mark_sent(following, await second.send(following))
        abandoned = await crashed.claim_batch()  # and never sent: its lease (0 s here) has run out
        assert [m.key for m in abandoned] == staged[4:]
        assert [m.key for m in await first.claim_batch()] == staged[4:]
    finally:
        for relay in (first, second, crashed):
            await relay.stop()


async def test_a_relay_whose_notice_connection_is_cut_still_publishes_and_listens_again(
    kit_db: Database, broker: BrokerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the server ends the relay's LISTEN connection (a restart, an administrator). Until it listens
    again every look claims; once it does, another process's events are found by the notice (full looks, which
    would find them anyway, only every minute here)."""
    if kit_db.dialect != "postgresql":
        pytest.skip("notices are PostgreSQL's")
    monkeypatch.setattr(outbox_module, "_FULL_LOOK_SECONDS", 60.0)
    settings = kit_settings(kit_db, broker, outbox_poll_interval_seconds=0.05)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    relay = OutboxRelay(settings, kit_db)
    other = Database(kit_db.url, pool_size=1)
    await relay.start()
    try:
        async with running(relay):

            async def listeners() -> list[int]:
                async with kit_db.transaction() as session:
                    connection = await session.connection()
                    rows = await connection.exec_driver_sql(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                    )
                    return [int(pid) for (pid,) in rows.all()]

            (first,) = await eventually(listeners)
            async with kit_db.transaction() as session:
                await (await session.connection()).exec_driver_sql(f"SELECT pg_terminate_backend({first})")
            await stage(other, settings, tenant, "while-deaf")

            async def listening_again() -> list[int] | None:
                pids = await listeners()
                return pids if pids and first not in pids else None

            await eventually(listening_again, within=10.0)

            async def published() -> bool | None:
                return True if await unsent(kit_db) is None else None

            await eventually(published, within=10.0)
            skipped = relay.skipped

            async def idling() -> bool | None:  # what it missed is looked at, and it listens again
                return True if relay.skipped > skipped else None

            await eventually(idling)
            await stage(other, settings, tenant, "heard")
            await eventually(published, within=10.0)
    finally:
        await relay.stop()
        await other.dispose()


def test_a_change_watch_sees_commits_of_other_connections_only_when_they_happen(tmp_path: Path) -> None:
    path = str(tmp_path / "watched.db")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    watch = ChangeWatch(path)
    try:
        assert watch.changed(), "the first look has nothing to compare with"
        assert not watch.changed()
        writer.execute("INSERT INTO t VALUES (1)")
        assert watch.changed()
        assert not watch.changed()
        writer.execute("BEGIN")
        writer.execute("INSERT INTO t VALUES (2)")
        assert not watch.changed(), "not committed yet"
        writer.execute("COMMIT")
        assert watch.changed()
    finally:
        watch.close()
        writer.close()


def _records(envelopes: list[EventEnvelope]) -> list[ConsumerRecord[bytes, bytes]]:
    """Records of one partition carrying ``envelopes``, in order."""
    return [
        ConsumerRecord("kit.batch", 0, offset, 0, 0, None, envelope.to_json_bytes(), None, 0, 0, ())
        for offset, envelope in enumerate(envelopes)
    ]


async def test_runs_of_one_event_type_go_to_its_batch_handler_in_order_and_replay_one_by_one(
    kit_db: Database, broker: BrokerHandle
) -> None:
    """A batch handler gets each run of two or more new events of its type that follow each other in a batch, in
    order. An event of another type ends a run, a duplicate is left out of it, a run of one goes to the plain
    handler. When a batch fails, its records are replayed one by one with the plain handlers, and every event takes
    effect once."""
    settings = kit_settings(kit_db, broker)
    tenant = f"t-{uuid.uuid4().hex[:6]}"
    calls: list[tuple[str, list[str]]] = []
    plain = recording_handler(tenant)
    fail_batches = False

    async def one(context: EventContext, event: EncounterReceived) -> None:
        calls.append(("one", [event.ehr_encounter_id]))
        await plain(context, event)

    async def many(items: list[tuple[EventContext, EncounterReceived]]) -> None:
        calls.append(("many", [encounter.ehr_encounter_id for _, encounter in items]))
        for context, encounter in items:
            await plain(context, encounter)
        if fail_batches:
            raise RuntimeError("batch handler bug")

    async def acknowledged(context: EventContext, event: ClaimAccepted) -> None:
        calls.append(("ack", [event.claim_id]))

    subscription = Subscription(
        f"runs-{uuid.uuid4().hex[:6]}",
        {EncounterReceived: one, ClaimAccepted: acknowledged},
        batch_handlers={EncounterReceived: many},
    )
    runner = ConsumerRunner(settings, kit_db, default_catalog(), subscription)
    catalog = default_catalog()

    def envelope(payload: EncounterReceived | ClaimAccepted) -> EventEnvelope:
        return catalog.envelope(payload, tenant_id=tenant, source="kit-test", correlation_id="cor")

    ack = ClaimAccepted(
        claim_id="clm_1", patient_control_number="P1", payer_id="60054",
        source=AcknowledgmentSource.CLAIM_ACK, accepted_at=utcnow(),
    )  # fmt: skip
    encounters = [encounter_event(tenant, label) for label in "abcdex"]
    a, b, c, d, e, x = (envelope(encounter) for encounter in encounters)
    records = _records([a, b, envelope(ack), x, envelope(ack), c, d, b, e])  # b again: a duplicate in the batch
    assert await runner.handle_records(records) == len(records)
    assert calls == [
        ("many", ["a", "b"]),
        ("ack", ["clm_1"]),
        ("one", ["x"]),
        ("ack", ["clm_1"]),
        ("many", ["c", "d", "e"]),
    ]
    assert sorted(r.encounter_id for r in await effects(kit_db, tenant)) == sorted(x.encounter_id for x in encounters)

    calls.clear()
    f, g, h = (envelope(encounter_event(tenant, label)) for label in "fgh")  # a: handled before
    fail_batches = True
    assert await runner.handle_records(_records([f, g, a, h])) == 4
    assert calls == [("many", ["f", "g", "h"]), ("one", ["f"]), ("one", ["g"]), ("one", ["h"])]
    assert len(await effects(kit_db, tenant)) == 9, "the failed batch left nothing; the replay applied each once"
