"""claims-svc tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from claimflow_kit.tables import UtcDateTime, utcnow

claims_registry = registry()


class ClaimsTable(SQLModel, registry=claims_registry):
    """Base of claims-svc tables."""


class Claim(ClaimsTable, table=True):
    """A claim built from one coded encounter version; starts as a draft."""

    __tablename__ = "claim"
    __table_args__ = (UniqueConstraint("tenant_id", "encounter_id", "encounter_version", name="uq_claim_encounter"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    encounter_id: str = Field(max_length=40)
    encounter_version: int
    practice_id: str = Field(max_length=64)
    patient_id: str = Field(index=True, max_length=40)
    payer_id: str | None = Field(default=None, max_length=80)
    claim_kind: str = Field(max_length=16)
    date_of_service: date
    status: str = Field(max_length=24)
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    diagnosis_codes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    service_lines: list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    correlation_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


claims_metadata = claims_registry.metadata
