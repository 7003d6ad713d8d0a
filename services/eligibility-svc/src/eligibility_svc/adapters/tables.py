"""eligibility-svc tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field

from claimflow_kit.tables import TableModel, UtcDateTime, utcnow

eligibility_registry = registry()


class EligibilityTable(TableModel, registry=eligibility_registry):
    """Base of eligibility-svc tables."""


class CoverageCheck(EligibilityTable, table=True):
    """A coverage verification for one patient, payer and date of service (pre-check or on request)."""

    __tablename__ = "coverage_check"
    __table_args__ = (
        UniqueConstraint("tenant_id", "encounter_id", name="uq_coverage_check_encounter"),
        # The processor looks for pending checks twice a second: without this it reads every check ever made.
        Index("ix_coverage_check_status_created", "status", "created_at"),
        # A patient's latest inquiry with a payer, for every pre-check (and the tenant's checks): with an index on
        # the tenant alone, SQLite read every check of the tenant.
        Index("ix_coverage_check_latest", "tenant_id", "patient_id", "payer_id", "created_at"),
        # The tenant's checks, and their pages newest first (GET /v1/eligibility-checks; ids are time-ordered).
        Index("ix_coverage_check_tenant", "tenant_id", "id"),
        # A recent answer to the same question (the response cache, asked before every inquiry): led by the tenant
        # too, or SQLite, keeping no statistics, takes the index above for it and reads every check of the tenant.
        Index("ix_coverage_check_cache_key", "tenant_id", "cache_key"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    encounter_id: str | None = Field(default=None, max_length=40)
    patient_id: str = Field(index=True, max_length=40)
    payer_id: str | None = Field(default=None, max_length=80)
    date_of_service: date
    origin: str = Field(max_length=16, description="pre-check (from encounter-received), request or batch")
    status: str = Field(max_length=16, description="pending until the 270/271 exchange answers")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    # What was asked (PHI: stays in this database, never in events or logs).
    practice_id: str | None = Field(default=None, max_length=64)
    provider_npi: str | None = Field(default=None, max_length=10)
    inquiry: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    service_types: str = Field(default="30", max_length=200)
    cache_key: str | None = Field(default=None, max_length=64)
    batch_id: str | None = Field(default=None, index=True, max_length=40)
    # What came back.
    result: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    raw_271: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    trace: str | None = Field(default=None, max_length=50)
    attempts: int = 0
    error_code: str | None = Field(default=None, max_length=40)
    error_message: str | None = Field(default=None, max_length=500)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class EligibilityBatch(EligibilityTable, table=True):
    """A day's schedule submitted as one job; its checks carry ``batch_id``."""

    __tablename__ = "eligibility_batch"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    practice_id: str = Field(max_length=64)
    total: int
    submitted_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


eligibility_metadata = eligibility_registry.metadata
