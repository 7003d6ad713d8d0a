"""Reading the event flow from Kafka: partition end offsets and the committed offsets of consumer groups.

End offsets come from the fetch high watermark of a consumer that follows the end of every topic (the embedded
broker's ListOffsets under-reports after batched produce). The follower skips records instead of reading them:
after each fetch it moves to the high watermark, so a sample costs one fetch round whatever the topic holds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from claimflow.opsview.aggregate import BrokerSample
from claimflow_kit.config import ServiceSettings

_FETCH_WAIT_MS = 200


class BrokerSampler:
    """Takes :class:`BrokerSample` s of the given topics and consumer groups (start, sample..., stop)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._admin: AIOKafkaAdminClient | None = None
        self._follower: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connect the admin client and the end follower."""
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.settings.service_name}-admin",
            request_timeout_ms=self.settings.kafka_request_timeout_ms,
        )
        await self._admin.start()
        self._follower = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.settings.service_name}-follower",
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=_FETCH_WAIT_MS,
            max_partition_fetch_bytes=64 * 1024,
            request_timeout_ms=max(self.settings.kafka_request_timeout_ms, 40000),
        )
        await self._follower.start()

    async def stop(self) -> None:
        """Disconnect (safe to call twice or after a failed start)."""
        if self._follower is not None:
            await self._follower.stop()
            self._follower = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def sample(self, topics: Sequence[str], groups: Mapping[str, Sequence[str]]) -> BrokerSample:
        """End offsets of every partition of the existing ``topics`` and each group's committed offsets on them."""
        admin, follower = self._admin, self._follower
        if admin is None or follower is None:
            raise RuntimeError("broker sampler not started")
        existing = set(await admin.list_topics())  # describing a missing topic could auto-create it
        present = [topic for topic in topics if topic in existing]
        described = await admin.describe_topics(present) if present else []
        partitions = sorted(
            TopicPartition(topic["topic"], part["partition"])
            for topic in described
            if not topic.get("error_code")
            for part in topic["partitions"]
        )
        if set(partitions) != follower.assignment():
            follower.assign(partitions)
        await follower.getmany(timeout_ms=_FETCH_WAIT_MS * 2)
        end_offsets: dict[tuple[str, int], int] = {}
        for tp in partitions:
            high_watermark = follower.highwater(tp)
            if high_watermark is None:
                continue
            end_offsets[(tp.topic, tp.partition)] = high_watermark
            if await follower.position(tp) < high_watermark:
                follower.seek(tp, high_watermark)  # skip what was fetched: only the end matters here
        committed: dict[tuple[str, str, int], int] = {}
        for group, group_topics in groups.items():
            asked = [tp for tp in partitions if tp.topic in group_topics]
            if not asked:
                continue
            offsets = await admin.list_consumer_group_offsets(group, partitions=asked)
            for tp, meta in offsets.items():
                if meta.offset >= 0:
                    committed[(group, tp.topic, tp.partition)] = meta.offset
        return BrokerSample(time.monotonic(), end_offsets, committed)
