"""Consumer runner: at-least-once delivery from Kafka, exactly-once effects through the inbox.

For every record: decode the envelope, upcast the payload, then in ONE database transaction record
(consumer, event id) in the inbox and run the handler, which may write follow-up events to the outbox.
Offsets are committed only after that transaction commits, so a crash re-delivers and the inbox makes
the re-delivery a no-op. A record that cannot be decoded (malformed, a type outside the event catalog, an
unknown schema version, an invalid payload), or whose handler keeps failing after bounded retries, goes to
``<topic>.dlq`` with the error in its headers and the partition moves on. Database or
broker outages are not the message's fault: those are retried until the dependency is back.

A broker that lost its log (the memory-only embedded broker restarted) is a new cluster with another cluster
id. The runner notices (at start and every ``broker_check_interval_seconds``) and reads every partition again
from its start: its old positions mean nothing in the new log, and reading on from them would skip whatever the
new log holds below them (the outbox relays re-publish there). Until the runner commits a position of its own
on a partition, the partition is read from the start whenever it is assigned again, since a position committed
in the new log before the reset was noticed is just as stale. The inbox drops what was handled already.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import EventCatalog, EventContractError, EventEnvelope, EventPayload, dead_letter_topic
from claimflow_kit.config import ServiceSettings
from claimflow_kit.context import child_traceparent, correlation_id_var, tenant_id_var, traceparent_var
from claimflow_kit.db import Database, is_transient
from claimflow_kit.kafka import cluster_id, ensure_topics, header_value, new_consumer, new_producer
from claimflow_kit.metrics import Metrics
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import ConsumerPosition, InboxRecord, utcnow

logger = logging.getLogger(__name__)


@dataclass
class EventContext:
    """What a handler gets besides the payload: the transaction, the envelope and the outbox."""

    session: AsyncSession
    envelope: EventEnvelope
    outbox: Outbox
    consumer: str

    @property
    def tenant_id(self) -> str:
        """Tenant the event belongs to; handlers scope every query to it."""
        return self.envelope.tenantid

    def publish(self, payload: EventPayload) -> EventEnvelope:
        """Stage a follow-up event in the same transaction, caused by the event being handled."""
        return self.outbox.add(
            self.session,
            payload,
            tenant_id=self.envelope.tenantid,
            correlation_id=self.envelope.correlationid,
            causation_id=str(self.envelope.id),
        )


Handler = Callable[[EventContext, Any], Awaitable[None]]
BatchHandler = Callable[[list[tuple[EventContext, Any]]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A named consumer (its Kafka group and inbox name) and the handler for each event type it takes.

    ``batch_handlers`` is optional, for event types that arrive in runs (the claims of one 837 batch, one after
    the other): a handler that applies a run of such events at once, with the same effect as the type's entry in
    ``handlers`` applied to each in turn. The consumer gives it every run of two or more new events of the type
    that follow each other in a transaction's records; the one-by-one replay after a failure uses ``handlers``.
    It runs outside any one event's context (no correlation id or trace context is set); ``handle_alone`` runs
    the plain handler on one event of the run as the consumer would.
    """

    name: str
    handlers: Mapping[type[EventPayload], Handler]
    batch_handlers: Mapping[type[EventPayload], BatchHandler] = field(default_factory=dict)


async def handle_alone(context: EventContext, payload: EventPayload, handler: Handler) -> None:
    """Run ``handler`` on one event with the event's correlation id, tenant and trace context set (for the logs,
    the audit entries and the events it publishes), as the consumer runs every handler."""
    correlation_token = correlation_id_var.set(context.envelope.correlationid)
    tenant_token = tenant_id_var.set(context.envelope.tenantid)
    trace_token = traceparent_var.set(child_traceparent(context.envelope.traceparent))
    try:
        await handler(context, payload)
    finally:
        correlation_id_var.reset(correlation_token)
        tenant_id_var.reset(tenant_token)
        traceparent_var.reset(trace_token)


@functools.cache
def _claim_statement(insert: Callable[[Any], Any]) -> Any:
    """INSERT INTO inbox ... ON CONFLICT DO NOTHING RETURNING event_id, built once per dialect's ``insert``."""
    table = InboxRecord.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing().returning(table.c.event_id)


def transient(exc: BaseException) -> bool:
    """True for errors that say a dependency is down, not that the message is bad."""
    return is_transient(exc)


class ConsumerRunner:
    """Runs one subscription against Kafka until told to stop."""

    def __init__(
        self,
        settings: ServiceSettings,
        database: Database,
        catalog: EventCatalog,
        subscription: Subscription,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.catalog = catalog
        self.subscription = subscription
        self.metrics = metrics
        self.name = f"{settings.service_name}.{subscription.name}"
        self.outbox = Outbox(catalog, settings.source)
        self.handlers = {f"claimflow.{p.event_type}": (p, h) for p, h in subscription.handlers.items()}
        self.batch_handlers = {f"claimflow.{p.event_type}": h for p, h in subscription.batch_handlers.items()}
        if unknown := set(self.batch_handlers) - set(self.handlers):
            raise ValueError(f"batch handlers without a handler for one event: {sorted(unknown)}")
        self.topics = sorted({p.topic.value for p in subscription.handlers})
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._last_position_report = 0.0
        self.assigned = asyncio.Event()
        self._cluster_id: str | None = None
        self._next_cluster_check = 0.0
        # After a broker reset: the partitions this runner has committed a position on since (None: no reset).
        self._committed_since_reset: set[TopicPartition] | None = None
        self.resets = 0
        self._uncommitted: dict[TopicPartition, int] = {}  # handled, not committed yet: partition → next offset
        self._next_commit = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, reconnecting after broker outages."""
        while not stop.is_set():
            try:
                await self._start()
                await self._consume(stop)
            except (KafkaError, OSError) as exc:
                logger.warning("consumer %s lost the broker: %s; reconnecting", self.name, type(exc).__name__)
                await _wait(stop, 1.0)
            finally:
                await self._close()

    async def _start(self) -> None:
        await ensure_topics(self.settings, [*self.topics, *(dead_letter_topic(t) for t in self.topics)])
        await self._check_cluster()
        self._producer = new_producer(self.settings)
        await self._producer.start()
        self._consumer = new_consumer(self.settings, self.name, self.topics, _Rebalance(self))
        await self._consumer.start()

    async def _check_cluster(self) -> bool:
        """Note the broker's cluster id; True when it changed (the log this runner read is gone)."""
        self._next_cluster_check = time.monotonic() + self.settings.broker_check_interval_seconds
        current = await cluster_id(self.settings)
        previous, self._cluster_id = self._cluster_id, current
        if previous is None or previous == current:
            return False
        self.resets += 1
        self._committed_since_reset = set()
        logger.warning(
            "consumer %s: the broker is a new cluster (%s, was %s) and has lost its log; "
            "reading every partition again from its start",
            self.name,
            current,
            previous,
        )
        return True

    def read_from_start(self, partitions: Iterable[TopicPartition]) -> None:
        """After a broker reset, move the partitions this runner has not committed on since to offset 0."""
        if self._committed_since_reset is None or self._consumer is None:
            return
        for partition in partitions:
            if partition not in self._committed_since_reset:
                self._consumer.seek(partition, 0)

    async def _watch_cluster(self, consumer: AIOKafkaConsumer) -> None:
        if time.monotonic() < self._next_cluster_check:
            return
        try:
            reset = await self._check_cluster()
        except (KafkaError, OSError, TimeoutError) as exc:  # the broker is away; the next check will tell
            logger.debug("consumer %s could not read the cluster id: %s", self.name, type(exc).__name__)
            return
        if reset:
            self.read_from_start(consumer.assignment())

    async def _close(self) -> None:
        self.assigned.clear()
        self._uncommitted.clear()  # read again after the reconnect; the inbox drops them
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _consume(self, stop: asyncio.Event) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not stop.is_set():
            await self._watch_cluster(consumer)
            batches = await consumer.getmany(timeout_ms=200, max_records=self.settings.consumer_batch_size)
            if consumer.assignment():
                self.assigned.set()
            # The partitions' records in one run (each partition's in order; partitions are independent): one
            # transaction for the fetch, and the runs of one event type a batch handler takes are longer.
            records = [record for part in batches.values() for record in part]
            handled = await self.handle_records(records, stop) if records else 0
            remaining = handled
            for partition, part in batches.items():
                if (taken := min(remaining, len(part))) > 0:
                    self._uncommitted[partition] = part[taken - 1].offset + 1
                remaining -= taken
            if handled < len(records):
                await self.commit_positions()
                return
            if not batches or time.monotonic() >= self._next_commit:
                await self.commit_positions()
            await self._report_lag(consumer)
        try:  # stopping: a broker that went away must not hold the shutdown
            async with asyncio.timeout(5.0):
                await self.commit_positions()
        except TimeoutError:
            logger.warning("consumer %s stopped without committing its last positions", self.name)

    async def commit_positions(self, only: Iterable[TopicPartition] | None = None) -> None:
        """Commit the positions handled since the last commit (of the partitions still assigned, or of ``only``).

        One commit covers every partition and ``consumer_commit_interval_seconds`` of work (sooner when the fetch
        comes back empty): a commit per partition batch cost a broker round trip each, 3-5 % of a worker's CPU. A
        position not committed when a worker dies is read again, and the inbox drops what was already applied.
        """
        self._next_commit = time.monotonic() + self.settings.consumer_commit_interval_seconds
        consumer = self._consumer
        if consumer is None:
            return
        assigned = consumer.assignment()
        wanted = assigned if only is None else set(only)
        offsets = {tp: offset for tp, offset in self._uncommitted.items() if tp in wanted}
        # Done with what is committed now. A partition a rebalance took while its batch ran is its new owner's to
        # commit: a position kept for it could later move the new owner's committed position back.
        self._uncommitted = {tp: o for tp, o in self._uncommitted.items() if tp not in offsets and tp in assigned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
            if self._committed_since_reset is not None:
                self._committed_since_reset.update(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            logger.warning(
                "offset commit of %d partitions lost to a rebalance (%s); the inbox absorbs the re-delivery",
                len(offsets),
                type(exc).__name__,
            )

    async def handle_records(
        self, records: list[ConsumerRecord[bytes, bytes]], stop: asyncio.Event | None = None
    ) -> int:
        """Process a fetch's records in order; returns how many records were handled (all unless stopping).

        The common case costs one transaction for the whole run of records: one multi-row inbox insert
        tells which events are new, and their handlers run in that same transaction. If any handler fails
        the transaction rolls back and the run is replayed record by record on the slow path (a
        transaction each, bounded retries, then the DLQ), which keeps per-key order and isolates the culprit.
        """
        index = 0
        while index < len(records):
            if stop is not None and stop.is_set():
                return index
            applied = await self._apply_run(records[index:])
            if applied:
                index += applied
                continue
            run_end = index + max(self._decodable_prefix(records[index:]), 1)
            while index < run_end:
                await self.handle_record(records[index], stop)
                index += 1
                if stop is not None and stop.is_set():
                    return index
        return index

    def _decodable_prefix(self, records: list[ConsumerRecord[bytes, bytes]]) -> int:
        count = 0
        for record in records:
            try:
                self._payload_of(EventEnvelope.from_json_bytes(record.value or b""))
            except (ValidationError, EventContractError):
                break
            count += 1
        return count

    def _payload_of(self, envelope: EventEnvelope) -> EventPayload | None:
        """The payload of an event this consumer handles; None for an event of the contract it does not take.

        A type outside the contract raises (so it is dead-lettered, not skipped): it comes from a newer or a foreign
        producer, and skipping it would lose it without a trace for the consumers that will need it after an upgrade.
        """
        if envelope.type not in self.handlers:
            self.catalog.topic_of(envelope.type)  # raises EventContractError("UnknownEventType") for a stranger
            return None
        return self.catalog.payload(envelope)

    async def _apply_run(self, records: list[ConsumerRecord[bytes, bytes]]) -> int:
        """Apply the longest decodable prefix of ``records`` in one transaction; 0 when it failed."""
        decoded: list[tuple[EventEnvelope, EventPayload | None, Handler | None]] = []
        for record in records:
            try:
                envelope = EventEnvelope.from_json_bytes(record.value or b"")
                entry = self.handlers.get(envelope.type)
                payload = self._payload_of(envelope)
            except (ValidationError, EventContractError):
                break  # the slow path dead-letters it
            decoded.append((envelope, payload, entry[1] if entry else None))
        if not decoded:
            return 0
        outcomes: list[tuple[str, str]] = []
        started = time.perf_counter()
        try:
            async with self.database.transaction() as session:
                wanted = [envelope for envelope, _, handler in decoded if handler is not None]
                new = await self._claim_many_in_inbox(session, wanted) if wanted else set()
                run: list[tuple[EventEnvelope, EventPayload]] = []  # new events of one type with a batch handler
                for envelope, payload, handler in decoded:
                    if handler is None or payload is None:
                        outcomes.append((envelope.type, "ignored"))
                    elif str(envelope.id) not in new:
                        outcomes.append((envelope.type, "duplicate"))
                    else:
                        new.discard(str(envelope.id))  # the same event twice in one batch counts once
                        if run and run[0][0].type != envelope.type:
                            await self._run_batch(session, run)
                            run = []
                        if envelope.type in self.batch_handlers:
                            run.append((envelope, payload))
                        else:
                            await self._run_handler(session, envelope, payload, handler)
                        outcomes.append((envelope.type, "processed"))
                if run:
                    await self._run_batch(session, run)
        except Exception as exc:
            if transient(exc):
                logger.warning("consumer %s: dependency down (%s)", self.name, type(exc).__name__)
            else:
                logger.warning("consumer %s: a handler failed in a batch; replaying it one by one", self.name)
            return 0
        elapsed = time.perf_counter() - started
        for event_type, outcome in outcomes:
            self._count(event_type, outcome)
            if self.metrics is not None and outcome == "processed":
                self.metrics.handler_latency.labels(self.name, event_type).observe(elapsed / len(outcomes))
        return len(outcomes)

    async def handle_record(self, record: ConsumerRecord[bytes, bytes], stop: asyncio.Event | None = None) -> str:
        """Process one Kafka record; returns the outcome (processed, duplicate, ignored, dead-lettered)."""
        try:
            envelope = EventEnvelope.from_json_bytes(record.value or b"")
        except ValidationError as exc:
            await self.dead_letter(record, "MalformedEnvelope", str(exc), attempts=1)
            return "dead-lettered"
        try:
            payload = self._payload_of(envelope)
        except EventContractError as exc:
            await self.dead_letter(record, exc.code, str(exc), attempts=1)
            return "dead-lettered"
        entry = self.handlers.get(envelope.type)
        if entry is None or payload is None:
            self._count(envelope.type, "ignored")
            return "ignored"
        _, handler = entry
        return await self._apply_with_retries(record, envelope, payload, handler, stop)

    async def _apply_with_retries(
        self,
        record: ConsumerRecord[bytes, bytes],
        envelope: EventEnvelope,
        payload: EventPayload,
        handler: Handler,
        stop: asyncio.Event | None,
    ) -> str:
        failures = 0
        outage = 0
        while True:
            started = time.perf_counter()
            try:
                outcome = await self._apply(envelope, payload, handler)
            except Exception as exc:
                if transient(exc) and (stop is None or not stop.is_set()):
                    outage += 1
                    logger.warning("consumer %s: dependency down (%s); retrying", self.name, type(exc).__name__)
                    await asyncio.sleep(min(0.2 * 2 ** min(outage, 6), 10.0))
                    continue
                failures += 1
                if failures > self.settings.consumer_max_retries:
                    await self.dead_letter(
                        record, type(exc).__name__, f"{exc}\n{traceback.format_exc(limit=5)}", attempts=failures
                    )
                    return "dead-lettered"
                logger.warning(
                    "consumer %s: handler failed on %s (attempt %d): %s",
                    self.name,
                    envelope.type,
                    failures,
                    type(exc).__name__,
                )
                await asyncio.sleep(self.settings.consumer_retry_backoff_seconds * 2 ** (failures - 1))
                continue
            self._count(envelope.type, outcome)
            if self.metrics is not None:
                self.metrics.handler_latency.labels(self.name, envelope.type).observe(time.perf_counter() - started)
            return outcome

    async def _apply(self, envelope: EventEnvelope, payload: EventPayload, handler: Handler) -> str:
        async with self.database.transaction() as session:
            return await self._apply_in(session, envelope, payload, handler)

    async def _apply_in(
        self, session: AsyncSession, envelope: EventEnvelope, payload: EventPayload, handler: Handler
    ) -> str:
        if not await self._claim_many_in_inbox(session, [envelope]):
            return "duplicate"
        await self._run_handler(session, envelope, payload, handler)
        return "processed"

    async def _run_handler(
        self, session: AsyncSession, envelope: EventEnvelope, payload: EventPayload, handler: Handler
    ) -> None:
        await handle_alone(EventContext(session, envelope, self.outbox, self.name), payload, handler)

    async def _run_batch(self, session: AsyncSession, run: list[tuple[EventEnvelope, EventPayload]]) -> None:
        """Apply a run of new events of one type: by its batch handler, or alone when the run is one event."""
        if len(run) == 1:
            envelope, payload = run[0]
            await self._run_handler(session, envelope, payload, self.handlers[envelope.type][1])
            return
        contexts = [(EventContext(session, envelope, self.outbox, self.name), payload) for envelope, payload in run]
        await self.batch_handlers[run[0][0].type](contexts)

    async def _claim_many_in_inbox(self, session: AsyncSession, envelopes: list[EventEnvelope]) -> set[str]:
        """Insert (consumer, event id) rows; returns the ids this consumer had not processed before."""
        now = utcnow()
        rows = [
            {"consumer": self.name, "event_id": str(e.id), "event_type": e.type, "processed_at": now} for e in envelopes
        ]
        insert = pg_insert if self.database.dialect == "postgresql" else sqlite_insert
        # One statement with the rows as executemany parameters: SQLAlchemy compiles it once and sends the rows as
        # one multi-row INSERT ("insertmanyvalues"); ``values(rows)`` compiled a new statement for every batch.
        result = await session.exec(_claim_statement(insert), params=rows)
        return {str(row[0]) for row in result.all()}

    async def dead_letter(
        self, record: ConsumerRecord[bytes, bytes], code: str, message: str, *, attempts: int
    ) -> None:
        """Send the record unchanged to ``<topic>.dlq`` with the error in headers; retries until it is stored."""
        topic = dead_letter_topic(record.topic)
        headers = [
            *[(k, v) for k, v in (record.headers or ()) if not k.startswith("x-dlq-")],
            ("x-dlq-error-code", code.encode()),
            ("x-dlq-error-message", message[:4000].encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
            ("x-dlq-consumer", self.name.encode()),
            ("x-dlq-attempts", str(attempts).encode()),
            ("x-dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        logger.error("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, code)
        while True:
            producer = self._producer
            try:
                if producer is None:
                    producer = self._producer = new_producer(self.settings)
                    await producer.start()
                await producer.send_and_wait(topic, value=record.value, key=record.key, headers=headers)
                break
            except (KafkaError, OSError) as exc:
                logger.warning("cannot write dead letter yet (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
        if self.metrics is not None:
            self.metrics.dead_letters.labels(topic=topic).inc()
        self._count(header_value(record, "ce_type") or "unknown", "dead-lettered")

    def _count(self, event_type: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.events_consumed.labels(self.name, event_type, outcome).inc()

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Lag from the fetch high watermark (end_offsets() under-reports on the embedded broker).

        The gauge is set after every fetch; the table (what the ops view reads) is written every
        ``lag_report_interval_seconds``, and its rows are only built then, not for every fetch in between.
        """
        now = time.monotonic()
        due = now - self._last_position_report >= self.settings.lag_report_interval_seconds
        positions: list[tuple[TopicPartition, int, int]] = []
        for partition in consumer.assignment():
            high_watermark = consumer.highwater(partition)
            if high_watermark is None:
                continue
            position = await consumer.position(partition)
            if self.metrics is not None:
                lag = max(high_watermark - position, 0)
                self.metrics.consumer_lag.labels(self.name, partition.topic, str(partition.partition)).set(lag)
            positions.append((partition, position, high_watermark))
        if not (positions and due):
            return
        self._last_position_report = now
        try:
            async with self.database.transaction() as session:
                for partition, position, high_watermark in positions:
                    await session.merge(
                        ConsumerPosition(
                            consumer=self.name,
                            topic=partition.topic,
                            partition=partition.partition,
                            position=position,
                            high_watermark=high_watermark,
                        )
                    )
        except Exception as exc:
            if not transient(exc):
                raise
            logger.warning("could not record consumer positions: %s", type(exc).__name__)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Rebalance listener: positions of partitions leaving are committed; after a broker reset, partitions assigned
    again are read from their start."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit what was handled on the partitions leaving, so their next owner starts after it."""
        try:
            await self.runner.commit_positions(only=revoked)
        except (KafkaError, OSError) as exc:  # the next owner reads them again; the inbox drops them
            logger.warning("could not commit positions of revoked partitions: %s", type(exc).__name__)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Seek what the reset made stale."""
        self.runner.read_from_start(assigned)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass


def subscription_topics(subscriptions: Mapping[str, Subscription] | list[Subscription]) -> list[str]:
    """Every topic a list of subscriptions reads."""
    items = subscriptions.values() if isinstance(subscriptions, Mapping) else subscriptions
    return sorted({p.topic.value for s in items for p in s.handlers})
