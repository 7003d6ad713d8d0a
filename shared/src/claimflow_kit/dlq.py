"""Dead-letter topics: list what failed and replay it to the original topic after a fix.

Replays are tracked with the committed offset of a dedicated consumer group per DLQ, so ``replay``
without an event id takes only what has not been replayed before. Re-delivering an event that was
already processed is harmless: consumers' inboxes make it a no-op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from claimflow_kit.config import ServiceSettings
from claimflow_kit.kafka import header_value, new_producer

REPLAY_GROUP_PREFIX = "claimflow.dlq-replayer"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record with the error the consumer gave."""

    dlq_topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    original_topic: str
    consumer: str
    error_code: str
    error_message: str
    failed_at: str
    replayed: bool
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def _event_identity(value: bytes | None) -> tuple[str | None, str | None]:
    """Event id and type read leniently from a record value (it may be malformed: that is why it is here)."""
    try:
        document = json.loads(value or b"")
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    event_id, event_type = document.get("id"), document.get("type")
    return (str(event_id) if event_id else None), (str(event_type) if event_type else None)


async def list_dead_letters(settings: ServiceSettings, dlq_topic: str) -> list[DeadLetter]:
    """Every record currently in ``dlq_topic``, oldest first per partition."""
    group = f"{REPLAY_GROUP_PREFIX}.{dlq_topic}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 40000),
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(dlq_topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(dlq_topic) or set()
        assigned = [TopicPartition(dlq_topic, p) for p in sorted(partitions)]
        if not assigned:
            return []
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        replayed_upto = {tp: (await consumer.committed(tp)) or 0 for tp in assigned}
        letters: list[DeadLetter] = []
        remaining = set(assigned)
        for tp in assigned:
            if await consumer.position(tp) >= await _end(consumer, tp):
                remaining.discard(tp)
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            if not batches:
                for tp in list(remaining):
                    if await consumer.position(tp) >= await _end(consumer, tp):
                        remaining.discard(tp)
                continue
            for tp, records in batches.items():
                for record in records:
                    event_id, event_type = _event_identity(record.value)
                    letters.append(
                        DeadLetter(
                            dlq_topic=dlq_topic,
                            partition=record.partition,
                            offset=record.offset,
                            event_id=event_id,
                            event_type=event_type,
                            original_topic=header_value(record, "x-dlq-original-topic") or "",
                            consumer=header_value(record, "x-dlq-consumer") or "",
                            error_code=header_value(record, "x-dlq-error-code") or "",
                            error_message=header_value(record, "x-dlq-error-message") or "",
                            failed_at=header_value(record, "x-dlq-failed-at") or "",
                            replayed=record.offset < replayed_upto[tp],
                            key=record.key,
                            value=record.value,
                            headers=tuple(record.headers or ()),
                        )
                    )
                if consumer.highwater(tp) is not None and await consumer.position(tp) >= (consumer.highwater(tp) or 0):
                    remaining.discard(tp)
        return letters
    finally:
        await consumer.stop()


async def _end(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    """End offset of a partition: the fetch high watermark once known, else the broker's answer."""
    high_watermark = consumer.highwater(tp)
    if high_watermark is not None:
        return int(high_watermark)
    return int((await consumer.end_offsets([tp]))[tp])


async def replay_dead_letters(
    settings: ServiceSettings, dlq_topic: str, *, event_id: str | None = None, include_replayed: bool = False
) -> list[DeadLetter]:
    """Re-publish dead letters to their original topic; returns what was replayed.

    With ``event_id`` only that event is replayed (even if it was replayed before); otherwise every
    record not yet replayed (or all, with ``include_replayed``). A record several consumer groups dead-lettered
    has a letter from each; it is published once, and every one of those letters counts as replayed.
    """
    letters = await list_dead_letters(settings, dlq_topic)
    chosen = [
        letter
        for letter in letters
        if (letter.event_id == event_id if event_id else include_replayed or not letter.replayed)
    ]
    if not chosen:
        return []
    producer: AIOKafkaProducer = new_producer(settings)
    await producer.start()
    try:
        published: set[tuple[str, bytes | None, bytes | None]] = set()
        for letter in chosen:
            original = (letter.original_topic or dlq_topic.removesuffix(".dlq"), letter.key, letter.value)
            if original in published:
                continue
            published.add(original)
            headers = [(k, v) for k, v in letter.headers if not k.startswith("x-dlq-")]
            headers.append(("x-dlq-replayed-at", datetime.now(UTC).isoformat().encode()))
            await producer.send_and_wait(original[0], value=letter.value, key=letter.key, headers=headers)
    finally:
        await producer.stop()
    await _remember_replayed(settings, dlq_topic, chosen)
    return chosen


async def _remember_replayed(settings: ServiceSettings, dlq_topic: str, replayed: list[DeadLetter]) -> None:
    upto: dict[TopicPartition, int] = {}
    for letter in replayed:
        tp = TopicPartition(dlq_topic, letter.partition)
        upto[tp] = max(upto.get(tp, 0), letter.offset + 1)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{REPLAY_GROUP_PREFIX}.{dlq_topic}",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(list(upto))
        current = {tp: (await consumer.committed(tp)) or 0 for tp in upto}
        await consumer.commit({tp: OffsetAndMetadata(max(o, current[tp]), "") for tp, o in upto.items()})
    finally:
        await consumer.stop()
