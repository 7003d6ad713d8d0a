"""A service's worker process: its event consumers plus the outbox relay, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

from aiokafka.errors import KafkaError
from prometheus_client import start_http_server
from sqlalchemy import delete
from sqlmodel import col

from claimflow_events import EventCatalog, default_catalog
from claimflow_kit.config import ServiceSettings
from claimflow_kit.consumer import ConsumerRunner, Subscription
from claimflow_kit.db import Database
from claimflow_kit.kafka import all_topic_names, ensure_topics
from claimflow_kit.logging import configure_logging
from claimflow_kit.metrics import Metrics
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.outbox import OutboxRelay
from claimflow_kit.runtime import tune_garbage_collector
from claimflow_kit.tables import InboxRecord, OutboxMessage, utcnow

logger = logging.getLogger(__name__)


class Worker:
    """Runs a service's consumers and its outbox relay against one database and one broker."""

    def __init__(
        self,
        settings: ServiceSettings,
        subscriptions: Sequence[Subscription],
        *,
        migrations_package: str | None = None,
        catalog: EventCatalog | None = None,
    ) -> None:
        self.settings = settings
        self.subscriptions = subscriptions
        self.migrations_package = migrations_package
        self.catalog = catalog or default_catalog()
        self.metrics = Metrics(settings.service_name)
        self.database: Database | None = None
        self.relay: OutboxRelay | None = None
        self.runners: list[ConsumerRunner] = []
        self.started = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; tolerates a broker that is down at start or goes away."""
        if self.settings.auto_migrate and self.migrations_package:
            await upgrade_async(self.migrations_package, self.settings.database_url)
        self.database = Database(self.settings.database_url, pool_size=self.settings.database_pool_size)
        self.relay = OutboxRelay(self.settings, self.database, self.metrics)
        self.runners = [
            ConsumerRunner(self.settings, self.database, self.catalog, subscription, self.metrics)
            for subscription in self.subscriptions
        ]
        tasks = [
            asyncio.create_task(self._relay_forever(self.relay, stop), name="outbox-relay"),
            asyncio.create_task(self._housekeeping(self.database, stop), name="housekeeping"),
        ]
        tasks += [asyncio.create_task(r.run(stop), name=f"consumer-{r.name}") for r in self.runners]
        self.started.set()
        try:
            await stop.wait()
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.database.dispose()

    async def _housekeeping(self, database: Database, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                removed = await purge_processed(database, self.settings)
                if any(removed.values()):
                    logger.info("housekeeping removed old rows", extra=removed)
            except Exception as exc:
                logger.warning("housekeeping failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.housekeeping_interval_seconds):
                    await stop.wait()

    async def _relay_forever(self, relay: OutboxRelay, stop: asyncio.Event) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                await ensure_topics(self.settings, all_topic_names())
                await relay.start()
                await relay.run(stop)
            except (KafkaError, OSError, TimeoutError) as exc:
                logger.warning("outbox relay waiting for the broker: %s", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
                delay = min(delay * 2, 5.0)
            finally:
                await relay.stop()


async def purge_processed(database: Database, settings: ServiceSettings) -> dict[str, int]:
    """Delete sent outbox rows and inbox rows past their retention; returns how many of each."""
    now = utcnow()
    async with database.transaction() as session:
        outbox = await session.exec(
            delete(OutboxMessage).where(
                col(OutboxMessage.sent_at) < now - timedelta(seconds=settings.outbox_retention_seconds)
            )
        )
        inbox = await session.exec(
            delete(InboxRecord).where(
                col(InboxRecord.processed_at) < now - timedelta(seconds=settings.inbox_retention_seconds)
            )
        )
    return {"outbox": int(outbox.rowcount), "inbox": int(inbox.rowcount)}


def run_worker(
    settings: ServiceSettings, subscriptions: Sequence[Subscription], *, migrations_package: str | None = None
) -> None:
    """Entry point body of ``<service>-worker``: log setup, signal handling, run until stopped."""
    configure_logging(settings.service_name + "-worker", level=settings.log_level, json_output=settings.log_json)
    worker = Worker(settings, subscriptions, migrations_package=migrations_package)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, registry=worker.metrics.registry)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        tune_garbage_collector(settings.gc_threshold)
        logger.info("worker started", extra={"subscriptions": [s.name for s in subscriptions]})
        await worker.run(stop)
        logger.info("worker stopped")

    asyncio.run(main())
