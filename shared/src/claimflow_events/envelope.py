"""The CloudEvents-1.0-shaped envelope every ClaimFlow event travels in.

Attribute names follow CloudEvents 1.0 (``id``, ``source``, ``type``, ``time``, ``subject``,
``specversion``, ``datacontenttype``); ClaimFlow's own attributes are CloudEvents extension
attributes and therefore lower-case alphanumerics: ``tenantid``, ``correlationid``, ``causationid``,
``schemaversion`` and the W3C ``traceparent`` (distributed-tracing extension).
On Kafka the envelope is sent in CloudEvents *structured* mode: the record value is the JSON envelope,
the record key is the aggregate id (``subject``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"

_RANDOM_B = (1 << 62) - 1


def uuid7() -> UUID:
    """A new UUID of version 7 (RFC 9562): the Unix time in milliseconds followed by 74 random bits.

    Event ids and the services' row ids are made this way. Ids of a later millisecond sort after earlier ones, so an
    index keyed by them (every consumer's inbox, the outbox, the claim timeline, the claims table) takes new ids at
    its right edge, on the page it last wrote. A random (version 4) id lands on a page of its own anywhere in the
    index, which the commit then writes out: 11.7 µs of CPU against 6.0 per row for an inbox of a million rows on
    SQLite (bench/db/RESULTS.md, session 15). The time in an id says when the row was made, which the row says anyway.
    """
    random = int.from_bytes(os.urandom(10), "big")
    millis = time.time_ns() // 1_000_000
    return UUID(int=millis << 80 | 0x7 << 76 | (random >> 68) << 64 | 0b10 << 62 | random & _RANDOM_B)


class EventEnvelope(BaseModel):
    """One event: routing and tracing attributes plus the payload as JSON data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(
        default_factory=uuid7,
        description="Unique event id (a time-ordered UUID, version 7); consumers de-duplicate on it.",
    )
    source: str = Field(description="URI-reference of the producing service, e.g. /claimflow/coding-svc.")
    type: str = Field(description="Event type, e.g. claimflow.encounter-coded.")
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str = Field(description="Aggregate id (encounter id, claim id...); also the Kafka key.")
    datacontenttype: Literal["application/json"] = "application/json"
    tenantid: str = Field(min_length=1, description="Tenant (billing company) the event belongs to.")
    correlationid: str = Field(min_length=1, description="One id per encounter, carried through the cycle.")
    causationid: str | None = Field(default=None, description="Id of the event or request that caused this one.")
    schemaversion: int = Field(ge=1, description="Version of the payload schema in data.")
    traceparent: str | None = Field(default=None, description="W3C trace context of the producing span.")
    data: dict[str, Any]

    def to_json_bytes(self) -> bytes:
        """Serialize for the wire (structured mode)."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> EventEnvelope:
        """Parse an envelope from the wire; raises pydantic.ValidationError on a malformed one."""
        return cls.model_validate_json(raw)
