"""Transactional outbox: events are rows written with the state change; a relay publishes them.

The relay claims a batch with a short lease (so several relays never send the same rows at once), sends
it outside any database transaction (a slow or absent broker never blocks API writes), then marks the
rows sent with their Kafka partition and offset. A crash between send and mark re-sends the batch once
the lease expires: consumers' inboxes turn that duplicate into a no-op.

Every worker process of a service runs a relay on the service's database, and they take turns: a relay claims
only while no other relay holds a live lease on unsent rows. Batches side by side could put one aggregate's
later event on the broker before its earlier one, and consumers rely on the order of one key's events.

The embedded broker keeps everything in memory. Each relay keeps a marker record in a per-service topic;
when the marker is gone the broker has restarted and lost its log, so the relay re-publishes every event
it sent within the replay window (``outbox_replay_window_seconds``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import Table, and_, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import STRUCTURED_CONTENT_TYPE, EventCatalog, EventEnvelope, EventPayload
from claimflow_kit.bulk import insert_at_commit
from claimflow_kit.config import ServiceSettings
from claimflow_kit.context import traceparent_var
from claimflow_kit.db import OUTBOX_STAGED, Database, hold_lock, is_transient
from claimflow_kit.kafka import all_topic_names, ensure_topics, new_producer
from claimflow_kit.metrics import Metrics
from claimflow_kit.tables import OutboxMessage, utcnow

logger = logging.getLogger(__name__)

_FULL_LOOK_SECONDS = 1.0  # an idle relay claims at least this often, changed or not
OUTBOX_TURN = "claimflow:outbox-turn"  # the lock a relay holds while it claims a batch


def kafka_headers(envelope: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """Record headers: content type for structured mode plus routing attributes for cheap filtering."""
    headers = [
        ("content-type", STRUCTURED_CONTENT_TYPE.encode()),
        ("ce_id", str(envelope["id"]).encode()),
        ("ce_type", str(envelope["type"]).encode()),
        ("ce_tenantid", str(envelope["tenantid"]).encode()),
        ("ce_correlationid", str(envelope["correlationid"]).encode()),
    ]
    if envelope.get("traceparent"):
        headers.append(("traceparent", str(envelope["traceparent"]).encode()))
    return headers


class Outbox:
    """Writes events into the outbox within the caller's transaction."""

    def __init__(self, catalog: EventCatalog, source: str) -> None:
        self.catalog = catalog
        self.source = source

    def add(
        self,
        session: AsyncSession,
        payload: EventPayload,
        *,
        tenant_id: str,
        correlation_id: str,
        causation_id: str | None = None,
        traceparent: str | None = None,
    ) -> EventEnvelope:
        """Stage ``payload`` for publication; it is sent only if the surrounding transaction commits.

        The transaction's events are written as it commits, in one multi-row INSERT, in the order staged: rows get
        ascending ids in that order, so the relay keeps per-aggregate order. The W3C trace context of the current
        request or event is carried along unless one is given.
        """
        envelope = self.catalog.envelope(
            payload,
            tenant_id=tenant_id,
            source=self.source,
            correlation_id=correlation_id,
            causation_id=causation_id,
            traceparent=traceparent or traceparent_var.get(),
        )
        session.info[OUTBOX_STAGED] = True
        insert_at_commit(session, _OUTBOX, _row(envelope, type(payload), tenant_id, utcnow()))
        return envelope

    async def add_many(
        self, session: AsyncSession, events: Sequence[tuple[EventPayload, str]], *, tenant_id: str
    ) -> list[EventEnvelope]:
        """Stage many ``(payload, correlation id)`` events, in order (for bulk work: an ERA of a thousand claims)."""
        if not events:
            return []
        traceparent = traceparent_var.get()
        now = utcnow()
        envelopes = [
            self.catalog.envelope(
                payload, tenant_id=tenant_id, source=self.source, correlation_id=correlation_id, traceparent=traceparent
            )
            for payload, correlation_id in events
        ]
        for envelope, (payload, _) in zip(envelopes, events, strict=True):
            insert_at_commit(session, _OUTBOX, _row(envelope, type(payload), tenant_id, now))
        session.info[OUTBOX_STAGED] = True
        return envelopes


_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def _row(envelope: EventEnvelope, payload_type: type[EventPayload], tenant_id: str, now: datetime) -> dict[str, Any]:
    """The outbox row of one event: every column but the id."""
    return {
        "event_id": str(envelope.id),
        "tenant_id": tenant_id,
        "event_type": envelope.type,
        "topic": payload_type.topic.value,
        "message_key": envelope.subject,
        "envelope": envelope.model_dump_json(),
        "created_at": now,
        "sent_at": None,
        "lease_owner": None,
        "lease_until": None,
        "attempts": 0,
        "last_error": None,
        "kafka_partition": None,
        "kafka_offset": None,
    }


async def outbox_backlog(session: AsyncSession) -> int:
    """Number of events written but not yet published."""
    result = await session.exec(
        select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
    )
    return int(result.one())


async def oldest_unsent_at(session: AsyncSession) -> datetime | None:
    """When the oldest event still waiting for publication was written (None when nothing waits)."""
    result = await session.exec(
        select(OutboxMessage.created_at)
        .where(col(OutboxMessage.sent_at).is_(None))
        .order_by(col(OutboxMessage.id))  # the unsent index: rows are written in id order
        .limit(1)
    )
    return result.first()


@dataclass(frozen=True)
class ClaimedMessage:
    """A row the relay holds a lease on."""

    id: int
    topic: str
    key: str
    envelope: str


class OutboxRelay:
    """Publishes outbox rows to Kafka in batches and marks them sent."""

    def __init__(self, settings: ServiceSettings, database: Database, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.database = database
        self.metrics = metrics
        self.relay_id = f"{settings.service_name}-{uuid.uuid4().hex[:12]}"
        self.marker_topic = f"claimflow.relay-epoch.{settings.service_name}"
        self._producer: AIOKafkaProducer | None = None
        self._probe: AIOKafkaConsumer | None = None
        self.replays = 0
        self.looks = 0  # claims of unsent events tried
        self.skipped = 0  # looks skipped: nothing was committed since the last one

    async def start(self) -> None:
        """Connect the producer and check whether the broker lost what was sent before."""
        self._producer = new_producer(self.settings)
        await self._producer.start()
        await self.check_broker_epoch()

    async def stop(self) -> None:
        """Flush and close the producer."""
        if self._probe is not None:
            await self._probe.stop()
            self._probe = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("relay not started")
        return self._producer

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; survives broker outages by retrying with backoff.

        The relay publishes at once when a transaction of its own process staged events, and otherwise looks every
        ``outbox_poll_interval_seconds`` for events other processes wrote. A look first asks whether anything was
        committed since the last one (SQLite: ``ChangeWatch``; PostgreSQL: ``OutboxNotices``), so an idle relay
        costs next to nothing; every ``_FULL_LOOK_SECONDS`` it claims regardless (an expired lease frees rows
        without any commit).
        """
        loop = asyncio.get_running_loop()
        wake = self.database.outbox_written
        forward_stop = asyncio.create_task(self._wake_on(stop, wake))
        watch = self.database.change_watch()
        self.database.relay_running = True
        backoff = self.settings.outbox_poll_interval_seconds
        next_epoch_check = loop.time() + self.settings.broker_check_interval_seconds
        next_full_look = 0.0
        failing = more = False
        try:
            while not stop.is_set():
                woken = wake.is_set()
                wake.clear()
                try:
                    if loop.time() >= next_epoch_check:
                        await self.check_broker_epoch()
                        next_epoch_check = loop.time() + self.settings.broker_check_interval_seconds
                    changed = watch is None or watch.changed()  # asked every time: a woken look answers it too
                    look = woken or failing or more or changed or loop.time() >= next_full_look
                    sent = await self.publish_batch() if look else 0
                    if look:
                        self.looks += 1
                        next_full_look = loop.time() + _FULL_LOOK_SECONDS
                    else:
                        self.skipped += 1
                    backoff = self.settings.outbox_poll_interval_seconds
                    failing = False
                    more = sent >= self.settings.outbox_batch_size  # a full batch: there may be more right away
                    if more:
                        continue
                except (KafkaError, OSError, TimeoutError) as exc:
                    logger.warning("outbox relay cannot reach the broker: %s", type(exc).__name__)
                    backoff, failing = min(backoff * 2, 5.0), True
                except Exception as exc:
                    if is_transient(exc):  # the database is away: one line per retry, not a traceback
                        logger.warning("outbox relay cannot reach the database: %s", type(exc).__name__)
                    else:
                        logger.exception("outbox relay cycle failed")
                    backoff, failing = min(backoff * 2, 5.0), True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):  # after a failure, commits do not cut the backoff short
                        await (stop.wait() if failing else wake.wait())
        finally:
            forward_stop.cancel()
            self.database.relay_running = False
            if watch is not None:
                watch.close()

    @staticmethod
    async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
        await stop.wait()
        wake.set()

    async def publish_batch(self) -> int:
        """Claim, send and mark one batch; returns how many events were published."""
        claimed = await self.claim_batch()
        if not claimed:
            return 0
        try:
            positions = await self.send(claimed)
        except BaseException as exc:
            await self.release(claimed, repr(exc))
            raise
        await self.mark_sent(claimed, positions)
        return len(claimed)

    async def claim_batch(self) -> list[ClaimedMessage]:
        """Lease the oldest unsent rows, unless another relay's live lease holds some (it is sending an earlier
        batch: this relay waits its turn, so events leave in the order they were written)."""
        now = utcnow()
        held_elsewhere = and_(
            col(OutboxMessage.lease_until).is_not(None),
            col(OutboxMessage.lease_until) >= now,
            col(OutboxMessage.lease_owner) != self.relay_id,
        )
        async with self.database.transaction() as session:
            await hold_lock(session, OUTBOX_TURN)  # one claim at a time (on SQLite every transaction is alone)
            query = (
                sa_select(  # five columns: more than sqlmodel's select is typed for
                    col(OutboxMessage.id),
                    col(OutboxMessage.topic),
                    col(OutboxMessage.message_key),
                    col(OutboxMessage.envelope),
                    held_elsewhere.label("held_elsewhere"),
                )
                .where(col(OutboxMessage.sent_at).is_(None))
                .order_by(col(OutboxMessage.id))
                .limit(self.settings.outbox_batch_size)
            )
            rows = (await (await session.connection()).execute(query)).all()
            if not rows or any(row[4] for row in rows):
                return []
            ids = [row[0] for row in rows]
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .values(
                    lease_owner=self.relay_id,
                    lease_until=now + timedelta(seconds=self.settings.outbox_lease_seconds),
                    attempts=OutboxMessage.attempts + 1,
                )
            )
        return [ClaimedMessage(id=r[0], topic=r[1], key=r[2], envelope=r[3]) for r in rows if r[0] is not None]

    async def send(self, claimed: list[ClaimedMessage]) -> list[tuple[int, int]]:
        """Send the claimed events and wait for every acknowledgment; returns (partition, offset) each."""
        futures = []
        event_types = []
        for message in claimed:
            document = json.loads(message.envelope)
            event_types.append(str(document["type"]))
            futures.append(
                await self.producer.send(
                    message.topic,
                    value=message.envelope.encode(),
                    key=message.key.encode(),
                    headers=kafka_headers(document),
                )
            )
        results = await asyncio.gather(*futures)
        if self.metrics is not None:
            for message, event_type in zip(claimed, event_types, strict=True):
                self.metrics.events_published.labels(topic=message.topic, event_type=event_type).inc()
        return [(r.partition, r.offset) for r in results]

    async def mark_sent(self, claimed: list[ClaimedMessage], positions: list[tuple[int, int]]) -> None:
        """Record that the claimed rows reached the broker (one executemany, not one statement per row)."""
        now = utcnow()
        rows = [
            {
                "id": message.id,
                "sent_at": now,
                "lease_until": None,
                "kafka_partition": partition,
                "kafka_offset": offset,
            }
            for message, (partition, offset) in zip(claimed, positions, strict=True)
        ]
        async with self.database.transaction() as session:
            await session.exec(update(OutboxMessage), params=rows)

    async def release(self, claimed: list[ClaimedMessage], error: str) -> None:
        """Give the lease back after a failed send so the next cycle retries at once."""
        try:
            async with self.database.transaction() as session:
                await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([m.id for m in claimed]))
                    .where(col(OutboxMessage.lease_owner) == self.relay_id)
                    .values(lease_until=None, last_error=error[:1000])
                )
        except Exception:
            logger.warning("could not release outbox lease; it expires by itself", exc_info=True)

    async def check_broker_epoch(self) -> bool:
        """Detect a broker that lost its log and re-publish the replay window; True when it did.

        The relay keeps one marker record in its own topic. Topic existence proves nothing (brokers may
        auto-create a topic on a metadata request), but an empty marker partition means the log is gone.
        """
        if await self._marker_present():
            return False
        replayed = await self.schedule_replay()
        await ensure_topics(self.settings, [*all_topic_names(), self.marker_topic])
        await self.producer.send_and_wait(self.marker_topic, value=self.relay_id.encode(), partition=0)
        if replayed:
            self.replays += 1
            logger.warning("broker has no record of this service's events; re-publishing %d", replayed)
        return replayed > 0

    async def _marker_present(self) -> bool:
        if self._probe is None:
            self._probe = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                client_id=f"{self.relay_id}-probe",
                enable_auto_commit=False,
                request_timeout_ms=self.settings.kafka_request_timeout_ms,
            )
            await self._probe.start()
        marker = TopicPartition(self.marker_topic, 0)
        self._probe.assign([marker])
        await self._probe.seek_to_beginning(marker)
        batch = await self._probe.getmany(marker, timeout_ms=1000, max_records=1)
        return bool(batch.get(marker))

    async def schedule_replay(self) -> int:
        """Mark events sent within the replay window as unsent again; returns how many."""
        since = utcnow() - timedelta(seconds=self.settings.outbox_replay_window_seconds)
        async with self.database.transaction() as session:
            result = await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.sent_at).is_not(None), col(OutboxMessage.sent_at) >= since)
                .values(sent_at=None, lease_until=None, lease_owner=None)
            )
            return int(result.rowcount)
