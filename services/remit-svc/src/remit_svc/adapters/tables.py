"""remit-svc tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from claimflow_kit.tables import UtcDateTime, utcnow

remit_registry = registry()


class RemitTable(SQLModel, registry=remit_registry):
    """Base of remit-svc tables."""


class OpenClaim(RemitTable, table=True):
    """A submitted claim awaiting its remittance: what 835 claim payments are matched against."""

    __tablename__ = "open_claim"
    __table_args__ = (UniqueConstraint("tenant_id", "patient_control_number", name="uq_open_claim_pcn"),)

    id: str = Field(primary_key=True, max_length=40, description="The claim id from claims-svc.")
    tenant_id: str = Field(index=True, max_length=64)
    patient_control_number: str = Field(max_length=38)
    payer_id: str = Field(max_length=80)
    patient_id: str = Field(index=True, max_length=40)
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


remit_metadata = remit_registry.metadata
