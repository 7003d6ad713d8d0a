"""The event catalog: which payload model a (type, version) decodes into, and how old versions upcast."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from claimflow_events.envelope import EventEnvelope, uuid7
from claimflow_events.payloads import ALL_PAYLOADS, EventPayload
from claimflow_events.topics import Topic

TYPE_PREFIX = "claimflow."

Upcaster = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Turns the data of version N into the data of version N + 1."""


class EventContractError(Exception):
    """An event on the wire does not fit the contract (unknown type/version, invalid payload)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def event_type_name(payload_type: type[EventPayload]) -> str:
    """CloudEvents ``type`` attribute for a payload class, e.g. ``claimflow.encounter-coded``."""
    return f"{TYPE_PREFIX}{payload_type.event_type}"


@dataclass
class EventCatalog:
    """Maps event types to their current payload model and the upcasters from older versions."""

    payloads: dict[str, type[EventPayload]] = field(default_factory=dict)
    upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    @classmethod
    def of(cls, payload_types: Iterable[type[EventPayload]]) -> EventCatalog:
        """Build a catalog from payload classes (one current version per event type)."""
        catalog = cls()
        for payload_type in payload_types:
            catalog.register(payload_type)
        return catalog

    def register(self, payload_type: type[EventPayload]) -> None:
        """Add a payload model as the current version of its event type."""
        name = event_type_name(payload_type)
        if name in self.payloads:
            raise ValueError(f"event type {name} registered twice")
        self.payloads[name] = payload_type

    def register_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Register the function that lifts ``event_type`` data from ``from_version`` to the next version."""
        self.upcasters[(event_type, from_version)] = upcaster

    def topic_of(self, event_type: str) -> Topic:
        """Topic that carries ``event_type``."""
        return self._payload_type(event_type).topic

    def topics(self) -> list[Topic]:
        """Every topic some event in the catalog uses, in a stable order."""
        return sorted({payload.topic for payload in self.payloads.values()}, key=lambda t: t.value)

    def envelope(
        self,
        payload: EventPayload,
        *,
        tenant_id: str,
        source: str,
        correlation_id: str,
        causation_id: str | None = None,
        traceparent: str | None = None,
    ) -> EventEnvelope:
        """Wrap a payload in a new envelope (fresh id and time, subject = aggregate id).

        The envelope is built without validating it again: the payload was validated when it was made, its type
        and version come from the catalog, and the two attributes with a constraint are checked here. Posting an
        ERA stages two events per claim, and the second validation (a walk over the payload's JSON data) was a
        tenth of the posting's cost (bench/remit).
        """
        payload_type = type(payload)
        name = event_type_name(payload_type)
        if self.payloads.get(name) is not payload_type:
            raise EventContractError("UnknownEventType", f"{name} is not in the event catalog")
        if not tenant_id or not correlation_id:
            raise EventContractError("IncompleteEnvelope", f"{name} needs a tenant id and a correlation id")
        return EventEnvelope.model_construct(
            id=uuid7(),
            time=datetime.now(UTC),
            source=source,
            type=name,
            subject=payload.aggregate_id,
            tenantid=tenant_id,
            correlationid=correlation_id,
            causationid=causation_id,
            schemaversion=payload_type.schema_version,
            traceparent=traceparent,
            data=payload.model_dump(mode="json"),
        )

    def payload(self, envelope: EventEnvelope) -> EventPayload:
        """Decode an envelope's data into the current payload model, upcasting older versions."""
        payload_type = self._payload_type(envelope.type)
        current = payload_type.schema_version
        version = envelope.schemaversion
        if version > current:
            raise EventContractError(
                "UnknownSchemaVersion",
                f"{envelope.type} version {version} is newer than this consumer knows ({current})",
            )
        data: dict[str, Any] = dict(envelope.data)
        while version < current:
            upcaster = self.upcasters.get((envelope.type, version))
            if upcaster is None:
                raise EventContractError("MissingUpcaster", f"no upcaster for {envelope.type} from version {version}")
            data = upcaster(data)
            version += 1
        try:
            return payload_type.model_validate(data)
        except ValidationError as exc:
            raise EventContractError(
                "InvalidPayload", f"{envelope.type} v{envelope.schemaversion}: {exc.error_count()} error(s): {exc}"
            ) from exc

    def _payload_type(self, event_type: str) -> type[EventPayload]:
        try:
            return self.payloads[event_type]
        except KeyError:
            raise EventContractError("UnknownEventType", f"unknown event type {event_type!r}") from None


def default_catalog() -> EventCatalog:
    """The catalog of every ClaimFlow event, with the upcasters of past versions."""
    return EventCatalog.of(ALL_PAYLOADS)
