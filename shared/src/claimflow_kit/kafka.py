"""Kafka client construction and topic administration, for Apache Kafka and the embedded broker alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from claimflow_events import Topic, dead_letter_topic
from claimflow_kit.config import ServiceSettings

logger = logging.getLogger(__name__)


def producer_options(settings: ServiceSettings) -> dict[str, Any]:
    """Producer settings: idempotence only where the broker supports the handshake (a setting)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"{settings.service_name}-producer",
        "request_timeout_ms": settings.kafka_request_timeout_ms,
        "linger_ms": 5,
        "max_batch_size": 1 << 20,
    }
    if settings.kafka_idempotent_producer:
        options["enable_idempotence"] = True
    else:
        options["acks"] = "all"
    return options


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """A producer for the outbox relay or the DLQ (not started)."""
    return AIOKafkaProducer(**producer_options(settings))


def new_consumer(
    settings: ServiceSettings,
    group_id: str,
    topics: Iterable[str],
    listener: ConsumerRebalanceListener | None = None,
) -> AIOKafkaConsumer:
    """A consumer with auto-commit off: offsets are committed only after the DB transaction commits."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        client_id=f"{settings.service_name}-{group_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 40000),
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        metadata_max_age_ms=5000,
    )
    consumer.subscribe(list(topics), listener=listener)
    return consumer


def all_topic_names(topics: Iterable[Topic] = tuple(Topic)) -> list[str]:
    """Every event topic and its dead-letter topic."""
    names: list[str] = []
    for topic in topics:
        names += [topic.value, dead_letter_topic(topic.value)]
    return names


async def ensure_topics(settings: ServiceSettings, names: Iterable[str]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-admin",
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in dict.fromkeys(names) if name not in existing]
        if not missing:
            return []
        new = [NewTopic(n, settings.kafka_topic_partitions, settings.kafka_replication_factor) for n in missing]
        with contextlib.suppress(TopicAlreadyExistsError):  # another service created it at the same time
            await admin.create_topics(new)
        return missing
    finally:
        await admin.close()


async def broker_reachable(settings: ServiceSettings, wait_seconds: float = 3.0) -> bool:
    """True when a bootstrap server answers a metadata request within ``wait_seconds``."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-probe",
        request_timeout_ms=int(wait_seconds * 1000),
    )
    try:
        async with asyncio.timeout(wait_seconds):
            await admin.start()
            await admin.list_topics()
        return True
    except (KafkaError, TimeoutError, OSError):
        return False
    finally:
        await admin.close()


async def cluster_id(settings: ServiceSettings) -> str:
    """The id of the broker cluster (KafkaError when it cannot be reached). A cluster that lost its log (the
    embedded broker restarted) answers with another id."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-probe",
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )
    try:
        await admin.start()
        description = await admin.describe_cluster()
        return str(description.get("cluster_id") or "")
    finally:
        await admin.close()


def header_value(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    """Text of the first record header called ``name``, or None."""
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None
