"""Fixtures of the messaging-kit contract suite: one fresh database per test, per backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from claimflow_events import EncounterReceived, ServiceLine
from claimflow_kit.config import ServiceSettings
from claimflow_kit.db import Database
from claimflow_kit.embedded import EmbeddedBroker
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.testing import BrokerHandle, DatabaseFactory

effects_registry = registry()


class EffectBase(SQLModel, registry=effects_registry):
    """Base of the test-only effect table."""


class Effect(EffectBase, table=True):
    """What a test handler writes: one row per processed event."""

    __tablename__ = "test_effect"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(index=True)
    event_id: str
    encounter_id: str


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[BrokerHandle]:
    """An embedded broker of the test's own, for tests that restart it: the session's broker serves running
    stacks, whose relays would re-publish a day of events into it after a restart."""
    embedded = EmbeddedBroker(log_path=tmp_path / "tansu.log")
    embedded.start()
    try:
        yield BrokerHandle(embedded.bootstrap_servers, "embedded", embedded)
    finally:
        embedded.stop()


@pytest_asyncio.fixture
async def kit_db(backend: str, databases: DatabaseFactory) -> AsyncIterator[Database]:
    """A migrated service database (kit tables via a real service migration) plus the effect table."""
    url = await databases.create(f"kit_{backend}", backend)
    await upgrade_async("coding_svc", url)
    database = Database(url, pool_size=4)
    async with database.engine.begin() as connection:
        await connection.run_sync(effects_registry.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


def kit_settings(database: Database, broker: BrokerHandle, **overrides: object) -> ServiceSettings:
    """Settings of a throwaway service using ``database`` and the test broker."""
    values: dict[str, object] = {
        "service_name": f"kit-test-{uuid.uuid4().hex[:8]}",
        "database_url": database.url,
        "kafka_bootstrap_servers": broker.bootstrap_servers,
        "kafka_idempotent_producer": broker.idempotent_producer,
        "outbox_poll_interval_seconds": 0.05,
        "outbox_lease_seconds": 0.0,
        "consumer_retry_backoff_seconds": 0.01,
        "consumer_max_retries": 2,
        "broker_check_interval_seconds": 0.5,
        "kafka_request_timeout_ms": 5000,
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


def encounter_event(tenant_id: str, label: str = "ok") -> EncounterReceived:
    """A small encounter-received payload; ``label`` lands in ehr_encounter_id for handlers to inspect."""
    return EncounterReceived(
        encounter_id=f"enc_{uuid.uuid4().hex}",
        encounter_version=1,
        practice_id="prac_test",
        ehr_encounter_id=label,
        patient_id="pat_test",
        date_of_service=date(2026, 11, 2),
        place_of_service="11",
        rendering_provider_npi="1234567893",
        billing_provider_npi="1234567893",
        diagnosis_codes=("J20.9",),
        service_lines=(ServiceLine(line_number=1, procedure_code="99213", units=Decimal(1)),),
    )
