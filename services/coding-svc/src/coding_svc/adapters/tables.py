"""coding-svc tables (its own registry, so they never mix with another service's metadata)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field

from claimflow_kit.tables import TableModel, UtcDateTime, utcnow

coding_registry = registry()


class CodingTable(TableModel, registry=coding_registry):
    """Base of coding-svc tables."""


class Encounter(CodingTable, table=True):
    """One version of an EHR encounter. The full document (with demographics) stays in this database."""

    __tablename__ = "encounter"
    __table_args__ = (
        UniqueConstraint("tenant_id", "practice_id", "ehr_encounter_id", "version", name="uq_encounter_version"),
        # The tenant's encounters, and their pages newest first (GET /v1/encounters; ids are time-ordered).
        Index("ix_encounter_tenant", "tenant_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    practice_id: str = Field(max_length=64)
    ehr_encounter_id: str = Field(max_length=128)
    version: int = 1
    is_current: bool = True
    content_sha256: str = Field(max_length=64)
    patient_id: str = Field(index=True, max_length=40)
    payer_id: str | None = Field(default=None, max_length=80)
    date_of_service: date
    status: str = Field(max_length=32)
    eligibility_status: str | None = Field(default=None, max_length=32)
    document: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class WorkItem(CodingTable, table=True):
    """An encounter whose edits need a coder: open → claimed → (awaiting physician) → resolved."""

    __tablename__ = "coding_work_item"
    __table_args__ = (UniqueConstraint("tenant_id", "encounter_id", name="uq_work_item_encounter"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    practice_id: str = Field(max_length=64)
    encounter_id: str = Field(max_length=40)
    patient_id: str = Field(max_length=40)
    status: str = Field(max_length=24)
    findings: list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    edit_codes: str = Field(max_length=1000, description="',CODE,CODE,' for filtering by edit")
    assigned_to: str | None = Field(default=None, max_length=128)
    resolved_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class PhysicianQuery(CodingTable, table=True):
    """A coder's question to the rendering physician about the documentation, and the answer."""

    __tablename__ = "physician_query"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    work_item_id: str = Field(index=True, max_length=40)
    question: str = Field(max_length=2000)
    status: str = Field(max_length=16)
    asked_by: str = Field(max_length=128)
    asked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    answer: str | None = Field(default=None, max_length=4000)
    answered_by: str | None = Field(default=None, max_length=128)
    answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class CodingChange(CodingTable, table=True):
    """Who changed an encounter's codes, when and why, with the codes before and after."""

    __tablename__ = "coding_change"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    encounter_id: str = Field(index=True, max_length=40)
    changed_by: str = Field(max_length=128)
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    reason: str = Field(max_length=1000)
    before: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))
    after: dict[str, object] = Field(sa_column=Column(JSON, nullable=False))


class CodeSetReleaseRecord(CodingTable, table=True):
    """A code-set file loaded at run time (reference data for every tenant, so not tenant-scoped).

    Rows are only ever added: each coding-svc process applies them in id order on top of the packaged code sets.
    """

    __tablename__ = "code_set_release"
    __table_args__ = (UniqueConstraint("kind", "period_start", "sha256", name="uq_code_set_release_content"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    label: str = Field(max_length=64)
    period_start: date
    period_end: date | None = None
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    loaded_by: str = Field(max_length=128)
    loaded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


coding_metadata = coding_registry.metadata
