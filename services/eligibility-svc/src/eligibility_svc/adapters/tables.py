"""eligibility-svc tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from claimflow_kit.tables import UtcDateTime, utcnow

eligibility_registry = registry()


class EligibilityTable(SQLModel, registry=eligibility_registry):
    """Base of eligibility-svc tables."""


class CoverageCheck(EligibilityTable, table=True):
    """A coverage verification for one patient, payer and date of service (pre-check or on request)."""

    __tablename__ = "coverage_check"
    __table_args__ = (UniqueConstraint("tenant_id", "encounter_id", name="uq_coverage_check_encounter"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    encounter_id: str | None = Field(default=None, max_length=40)
    patient_id: str = Field(index=True, max_length=40)
    payer_id: str | None = Field(default=None, max_length=80)
    date_of_service: date
    origin: str = Field(max_length=16, description="pre-check (from encounter-received) or request")
    status: str = Field(max_length=16, description="pending until the 270/271 exchange answers")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


eligibility_metadata = eligibility_registry.metadata
