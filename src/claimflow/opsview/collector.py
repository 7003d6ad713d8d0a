"""The ops view's picture of the installation, refreshed in the background and served as one snapshot.

Every ``ops_sample_interval_seconds`` it samples the broker (end and committed offsets), asks each service for
its installation-level ``/ops`` endpoints with the ops token, and re-reads the dead-letter topics when they
changed. A source that fails is shown as failing; the others keep updating.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel

from claimflow.opsview.aggregate import BrokerSample, group_flows, rate_baseline, topic_flows
from claimflow.opsview.broker import BrokerSampler
from claimflow.opsview.config import OpsViewSettings
from claimflow_events import Topic, dead_letter_topic
from claimflow_kit.dlq import REPLAY_GROUP_PREFIX, DeadLetter, list_dead_letters, replay_dead_letters
from claimflow_kit.errors import DependencyUnavailable, InvalidInput
from claimflow_kit.tables import utcnow

logger = logging.getLogger(__name__)

EVENT_TOPICS = tuple(topic.value for topic in Topic)
DEAD_LETTER_TOPICS = tuple(dead_letter_topic(topic) for topic in EVENT_TOPICS)
REPLAY_GROUPS = {f"{REPLAY_GROUP_PREFIX}.{topic}": (topic,) for topic in DEAD_LETTER_TOPICS}
"""The groups whose committed offsets record how far each dead-letter topic was replayed (see claimflow_kit.dlq)."""
_DEAD_LETTERS_SHOWN = 200


Report = tuple[dict[str, Any] | None, str | None]
"""A service's JSON answer, or why there is none."""


def consumer_groups() -> dict[str, tuple[str, ...]]:
    """Every consumer group the services run (``<service>.<subscription>``) and the topics it reads."""
    from claimflow.services import SERVICES

    groups: dict[str, tuple[str, ...]] = {}
    for spec in SERVICES.values():
        for subscription in spec.subscriptions(spec.settings()):
            groups[f"{spec.name}.{subscription.name}"] = tuple(sorted({p.topic.value for p in subscription.handlers}))
    return groups


class TopicOut(BaseModel):
    """A topic: records held and arrivals per second."""

    topic: str
    dead_letter: bool
    messages: int
    per_second: float | None


class GroupOut(BaseModel):
    """One consumer group on one topic."""

    group: str
    service: str
    topic: str
    committed: int
    end: int
    lag: int
    per_second: float | None


class ServiceOut(BaseModel):
    """One service as its /ops/status reports it."""

    service: str
    reachable: bool
    error: str | None = None
    outbox_backlog: int | None = None
    oldest_unsent_age_seconds: float | None = None
    reported_lag: int | None = None


class DeadLetterOut(BaseModel):
    """A dead-lettered record with the error the consumer gave."""

    dlq_topic: str
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    original_topic: str
    consumer: str
    error_code: str
    error: str
    failed_at: str
    replayed: bool


class Totals(BaseModel):
    """The headline figures."""

    events_per_second: float | None
    consumer_lag: int
    outbox_backlog: int
    dead_letters_waiting: int
    stuck_claims: int | None


class Snapshot(BaseModel):
    """Everything the page shows, as of ``sampled_at``."""

    sampled_at: datetime | None
    interval_seconds: float
    broker_error: str | None
    totals: Totals
    topics: list[TopicOut]
    groups: list[GroupOut]
    services: list[ServiceOut]
    dead_letters: list[DeadLetterOut]
    dead_letters_error: str | None
    stuck: dict[str, Any] | None
    stuck_error: str | None
    latency: dict[str, Any] | None
    latency_error: str | None


def dead_letter_out(letter: DeadLetter) -> DeadLetterOut:
    """The page's view of a dead letter (the first line of the error: stack traces stay in the logs)."""
    return DeadLetterOut(
        dlq_topic=letter.dlq_topic,
        partition=letter.partition,
        offset=letter.offset,
        event_id=letter.event_id,
        event_type=letter.event_type,
        original_topic=letter.original_topic,
        consumer=letter.consumer,
        error_code=letter.error_code,
        error=letter.error_message.splitlines()[0][:300] if letter.error_message else "",
        failed_at=letter.failed_at,
        replayed=letter.replayed,
    )


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"HTTP {response.status_code} {body['error']}: {body['detail']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


class OpsCollector:
    """Keeps the latest :class:`Snapshot`; replays dead letters and searches timelines on request."""

    def __init__(
        self,
        settings: OpsViewSettings,
        clients: Mapping[str, httpx.AsyncClient],
        groups: Mapping[str, Sequence[str]],
        sampler: BrokerSampler,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.groups = groups
        self.sampler = sampler
        keep = int(settings.ops_rate_window_seconds / settings.ops_sample_interval_seconds) + 2
        self.history: deque[BrokerSample] = deque(maxlen=keep)
        self.snapshot = self._empty()
        self._sampler_started = False
        self._dead_letters: list[DeadLetter] = []
        self._dead_letters_seen: tuple[int, ...] | None = None
        self._sources: tuple[str | None, list[ServiceOut], Report, Report] = (None, [], (None, None), (None, None))
        self._dead_letters_error: str | None = None
        self._dead_letter_lock = asyncio.Lock()

    def _empty(self) -> Snapshot:
        return Snapshot(
            sampled_at=None,
            interval_seconds=self.settings.ops_sample_interval_seconds,
            broker_error=None,
            totals=Totals(
                events_per_second=None, consumer_lag=0, outbox_backlog=0, dead_letters_waiting=0, stuck_claims=None
            ),
            topics=[],
            groups=[],
            services=[],
            dead_letters=[],
            dead_letters_error=None,
            stuck=None,
            stuck_error=None,
            latency=None,
            latency_error=None,
        )

    @property
    def _auth(self) -> dict[str, str]:
        token = self.settings.ops_token
        return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every interval until ``stop`` is set."""
        try:
            while not stop.is_set():
                try:
                    await self.refresh()
                except Exception:
                    logger.exception("ops view refresh failed")
                try:
                    async with asyncio.timeout(self.settings.ops_sample_interval_seconds):
                        await stop.wait()
                except TimeoutError:
                    pass
        finally:
            await self.sampler.stop()

    async def refresh(self) -> Snapshot:
        """Read every source once and publish the new snapshot."""
        sample, broker_error = await self._sample_broker()
        if sample is not None:
            self.history.append(sample)
        services, stuck, latency = await asyncio.gather(
            asyncio.gather(*(self._service_status(name) for name in self.clients)),
            self._service_json("claims-svc", "/ops/stuck-claims", {}),
            self._service_json(
                "eligibility-svc", "/ops/payer-latency", {"window_minutes": self.settings.ops_latency_window_minutes}
            ),
        )
        if sample is not None:
            await self._refresh_dead_letters(sample)
        self._sources = (broker_error, list(services), stuck, latency)
        self.snapshot = self._compose(*self._sources)
        return self.snapshot

    async def _sample_broker(self) -> tuple[BrokerSample | None, str | None]:
        try:
            if not self._sampler_started:
                await self.sampler.start()
                self._sampler_started = True
            topics = [*EVENT_TOPICS, *DEAD_LETTER_TOPICS]
            return await self.sampler.sample(topics, {**self.groups, **REPLAY_GROUPS}), None
        except Exception as exc:
            logger.warning("ops view cannot sample the broker: %s", type(exc).__name__)
            await self.sampler.stop()
            self._sampler_started = False
            return None, f"broker unavailable: {type(exc).__name__}"

    async def _get(self, service: str, path: str, params: Mapping[str, Any]) -> httpx.Response:
        client = self.clients.get(service)
        if client is None:
            raise DependencyUnavailable(f"no URL configured for {service}")
        try:
            return await client.get(
                path, params=dict(params), headers=self._auth, timeout=self.settings.ops_request_timeout_seconds
            )
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(f"{service} unreachable: {type(exc).__name__}") from None

    async def _service_status(self, service: str) -> ServiceOut:
        try:
            response = await self._get(service, "/ops/status", {})
        except DependencyUnavailable as exc:
            return ServiceOut(service=service, reachable=False, error=exc.detail)
        if response.status_code != 200:
            return ServiceOut(service=service, reachable=True, error=_problem(response))
        status = response.json()
        return ServiceOut(
            service=service,
            reachable=True,
            outbox_backlog=status["outbox"]["backlog"],
            oldest_unsent_age_seconds=status["outbox"]["oldest_unsent_age_seconds"],
            reported_lag=sum(int(c["lag"]) for c in status["consumers"]),
        )

    async def _service_json(self, service: str, path: str, params: Mapping[str, Any]) -> Report:
        try:
            response = await self._get(service, path, params)
        except DependencyUnavailable as exc:
            return None, exc.detail
        if response.status_code != 200:
            return None, _problem(response)
        body: dict[str, Any] = response.json()
        return body, None

    async def _refresh_dead_letters(self, sample: BrokerSample, *, force: bool = False) -> None:
        """Re-read the dead-letter topics when one of them grew or was replayed (by this view or the CLI)."""
        ends = {
            topic: sum(end for (t, _), end in sample.end_offsets.items() if t == topic) for topic in DEAD_LETTER_TOPICS
        }
        seen = (
            *ends.values(),
            *(sum(o for (g, _, _), o in sample.committed.items() if g == group) for group in REPLAY_GROUPS),
        )
        async with self._dead_letter_lock:
            if not force and seen == self._dead_letters_seen:
                return
            try:
                letters: list[DeadLetter] = []
                for topic, end in ends.items():
                    if end > 0:
                        letters += await list_dead_letters(self.settings, topic)
            except Exception as exc:
                logger.warning("ops view cannot read dead letters: %s", type(exc).__name__)
                self._dead_letters_error = f"dead letters unavailable: {type(exc).__name__}"
                return
            self._dead_letters = letters
            self._dead_letters_seen = seen
            self._dead_letters_error = None

    def _compose(
        self,
        broker_error: str | None,
        services: list[ServiceOut],
        stuck: Report,
        latency: Report,
    ) -> Snapshot:
        topics: list[TopicOut] = []
        groups: list[GroupOut] = []
        if self.history:
            current = self.history[-1]
            baseline = rate_baseline(list(self.history), self.settings.ops_rate_window_seconds)
            for flow in topic_flows(current, baseline, [*EVENT_TOPICS, *DEAD_LETTER_TOPICS]):
                topics.append(
                    TopicOut(
                        topic=flow.topic,
                        dead_letter=flow.topic in DEAD_LETTER_TOPICS,
                        messages=flow.messages,
                        per_second=flow.per_second,
                    )
                )
            for group in group_flows(current, baseline, self.groups):
                groups.append(
                    GroupOut(
                        group=group.group,
                        service=group.group.split(".", 1)[0],
                        topic=group.topic,
                        committed=group.committed,
                        end=group.end,
                        lag=group.lag,
                        per_second=group.per_second,
                    )
                )
        rates = [t.per_second for t in topics if not t.dead_letter and t.per_second is not None]
        letters = sorted(self._dead_letters, key=lambda d: (d.failed_at, d.dlq_topic, d.partition, d.offset))
        letters = letters[-_DEAD_LETTERS_SHOWN:]
        stuck_report, stuck_error = stuck
        latency_report, latency_error = latency
        return Snapshot(
            sampled_at=utcnow(),
            interval_seconds=self.settings.ops_sample_interval_seconds,
            broker_error=broker_error,
            totals=Totals(
                events_per_second=sum(rates) if rates else None,
                consumer_lag=sum(g.lag for g in groups),
                outbox_backlog=sum(s.outbox_backlog or 0 for s in services),
                dead_letters_waiting=sum(1 for d in self._dead_letters if not d.replayed),
                stuck_claims=int(stuck_report["total"]) if stuck_report else None,
            ),
            topics=topics,
            groups=groups,
            services=services,
            dead_letters=[dead_letter_out(d) for d in reversed(letters)],
            dead_letters_error=self._dead_letters_error,
            stuck=stuck_report,
            stuck_error=stuck_error,
            latency=latency_report,
            latency_error=latency_error,
        )

    async def replay(self, dlq_topic: str, event_id: str | None) -> list[DeadLetterOut]:
        """Re-publish one dead letter (or every one not yet replayed in the topic); the snapshot shows it at once."""
        if dlq_topic not in DEAD_LETTER_TOPICS:
            raise InvalidInput(f"{dlq_topic!r} is not a dead-letter topic (one of: {', '.join(DEAD_LETTER_TOPICS)})")
        replayed = await replay_dead_letters(self.settings, dlq_topic, event_id=event_id)
        if self.history:
            await self._refresh_dead_letters(self.history[-1], force=True)
            self.snapshot = self._compose(*self._sources)
        return [dead_letter_out(letter) for letter in replayed]

    async def timeline(self, query: str) -> list[dict[str, Any]]:
        """The cycles claims-svc finds for a claim, encounter or correlation id."""
        response = await self._get("claims-svc", "/ops/timeline", {"q": query})
        if response.status_code != 200:
            raise DependencyUnavailable(f"claims-svc timeline search failed: {_problem(response)}")
        found: list[dict[str, Any]] = response.json()
        return found
