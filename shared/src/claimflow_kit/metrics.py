"""Prometheus metrics, one registry per process role (API or worker) so tests can run many side by side."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics a ClaimFlow service exports."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service}
        self.http_requests = Counter(
            "claimflow_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "claimflow_http_request_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.events_published = Counter(
            "claimflow_events_published",
            "Events published by the outbox relay.",
            ["topic", "event_type"],
            registry=self.registry,
        )
        self.events_consumed = Counter(
            "claimflow_events_consumed",
            "Events handled by consumers, by outcome (processed, duplicate, ignored, dead-lettered).",
            ["consumer", "event_type", "outcome"],
            registry=self.registry,
        )
        self.handler_latency = Histogram(
            "claimflow_event_handler_seconds",
            "Event handler latency including its transaction.",
            ["consumer", "event_type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "claimflow_dead_letters", "Messages sent to a dead-letter topic.", ["topic"], registry=self.registry
        )
        self.consumer_lag = Gauge(
            "claimflow_consumer_lag",
            "Messages behind the fetch high watermark, per consumer and partition.",
            ["consumer", "topic", "partition"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "claimflow_outbox_backlog", "Events written but not yet published.", registry=self.registry
        )
        self.info = Gauge("claimflow_service_info", "Service identity.", list(labels), registry=self.registry)
        self.info.labels(**labels).set(1)

    def render(self) -> bytes:
        """Text exposition format of every metric."""
        return generate_latest(self.registry)
