"""claims-svc tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Index, LargeBinary, Numeric, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field

from claimflow_kit.tables import TableModel, UtcDateTime, empty_list, utcnow

claims_registry = registry()


class ClaimsTable(TableModel, registry=claims_registry):
    """Base of claims-svc tables."""


class Claim(ClaimsTable, table=True):
    """A claim built from one coded encounter version; starts as a draft."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "encounter_id",
            "encounter_version",
            "payer_sequence",
            "correction",
            "part",
            name="uq_claim_encounter",
        ),
        # One claim to the next payer per claim the previous payer adjudicated (a redelivered payment-posted
        # cannot bill the secondary twice).
        UniqueConstraint("tenant_id", "prior_claim_id", "correction", name="uq_claim_prior_payer"),
        Index("ix_claim_patient_control_number", "tenant_id", "patient_control_number", unique=True),
        Index("ix_claim_patient_visit", "tenant_id", "patient_id", "date_of_service"),
        Index("ix_claim_correlation", "tenant_id", "correlation_id"),
        # The tenant's claims, a list of them by id (with an index on the tenant alone, SQLite read all of them), and
        # its pages newest first (GET /v1/claims; ids are time-ordered).
        Index("ix_claim_tenant", "tenant_id", "id"),
        # The pipeline's rounds: drafts to scrub (oldest first), ready claims past the batch window, claims
        # waiting for their 277CA.
        Index("ix_claim_status", "status", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
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
    # Built from encounter-coded: who the claim is for (PHI, stays in this database) and the providers.
    patient_control_number: str | None = Field(default=None, max_length=38)
    parties: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    rendering_npi: str | None = Field(default=None, max_length=10)
    billing_npi: str | None = Field(default=None, max_length=10)
    place_of_service: str | None = Field(default=None, max_length=2)
    frequency_code: str = Field(default="1", max_length=1)
    payer_claim_number: str | None = Field(default=None, max_length=50)
    prior_authorization: str | None = Field(default=None, max_length=50)
    # Scrubber outcome and submission.
    findings: list[dict[str, object]] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    submission_id: str | None = Field(default=None, index=True, max_length=40)
    interchange_control_number: str | None = Field(default=None, max_length=9)
    group_control_number: str | None = Field(default=None, max_length=9)
    transaction_control_number: str | None = Field(default=None, max_length=9)
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    rejection: list[dict[str, object]] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    # Corrections: 0 for the claim built from the encounter, then 1, 2... for each replacement/void/resubmission.
    correction: int = 0
    original_claim_id: str | None = Field(default=None, max_length=40)
    corrected_by: str | None = Field(default=None, max_length=40)
    # A claim of corrected lines only (payers that take them): the original claim's line numbers it carries now.
    corrected_lines: list[int] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    # Remittance: what the payer paid on the claim so far (reversals subtract).
    paid_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2), nullable=True))
    # Coordination of benefits: which of the patient's plans this claim bills (SBR01), the claim of the payer
    # before it, what the earlier payers adjudicated (2320/2430 of this claim's 837), and a payer's crossover.
    payer_sequence: str = Field(default="primary", max_length=16)
    prior_claim_id: str | None = Field(default=None, max_length=40)
    prior_adjudications: list[dict[str, object]] = Field(
        default_factory=empty_list, sa_column=Column(JSON, nullable=False)
    )
    crossed_over_to: str | None = Field(default=None, max_length=80)
    # Institutional claims (837I): type of bill, admission and discharge codes, attending provider.
    institutional: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Combining: the other encounters this claim bills too, and (on a claim absorbed by another) where it went.
    combined_encounter_ids: list[str] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    combined_into: str | None = Field(default=None, max_length=40)
    # Splitting: 0 for the claim built from the encounter, 1, 2... for the claims split off it.
    part: int = 0


class ClaimSubmission(ClaimsTable, table=True):
    """One 837 interchange sent through a connector (an Idempotency-Key makes a retried request a no-op)."""

    __tablename__ = "claim_submission"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_submission_idempotency"),
        Index("ix_submission_status", "status"),  # interchanges left sending
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    payer_id: str = Field(max_length=80)
    idempotency_key: str | None = Field(default=None, max_length=128)
    claim_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    interchange_control_number: str = Field(max_length=9)
    filename: str = Field(max_length=200)
    receipt_id: str | None = Field(default=None, max_length=100)
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, max_length=500)
    x12: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    # While "sending": until when one replica holds the send (None: nobody; the next round may send it).
    send_lease_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))


class FeeScheduleEntry(ClaimsTable, table=True):
    """A practice's charge for a procedure (optionally per payer and modifier), effective from a date."""

    __tablename__ = "fee_schedule_entry"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "practice_id", "payer_key", "procedure_code", "modifier", "effective_from", name="uq_fee"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(index=True, max_length=64)
    practice_id: str = Field(max_length=64)
    payer_key: str = Field(default="*", max_length=80, description="payer id, or * for every payer")
    procedure_code: str = Field(max_length=5)
    modifier: str = Field(default="", max_length=2)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    effective_from: date
    effective_to: date | None = None


class TimelineEntry(ClaimsTable, table=True):
    """One event of an encounter's cycle, from any service (ids and types only: the minimum a timeline needs)."""

    __tablename__ = "timeline_entry"

    event_id: str = Field(primary_key=True, max_length=36)
    tenant_id: str = Field(index=True, max_length=64)
    correlation_id: str = Field(index=True, max_length=64)
    event_type: str = Field(max_length=128)
    source: str = Field(max_length=200)
    subject: str = Field(max_length=255)
    occurred_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    summary: str | None = Field(default=None, max_length=300)


class DenialWorkItem(ClaimsTable, table=True):
    """One denial to work: a claim denied (wholly or in part) on one remittance, classified and routed."""

    __tablename__ = "denial_work_item"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_id", "era_id", name="uq_denial_claim_era"),
        Index("ix_denial_queue", "tenant_id", "status", "appeal_deadline"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    claim_id: str = Field(max_length=40)
    era_id: str = Field(max_length=80)
    practice_id: str = Field(max_length=64)
    patient_id: str = Field(max_length=40)
    payer_id: str = Field(max_length=80)
    patient_control_number: str = Field(max_length=38)
    payer_claim_number: str | None = Field(default=None, max_length=50)
    claim_status_code: str = Field(max_length=2)  # CLP02
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    denied_amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    denied_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    # Classification (domain/denials.py): every denial reason with its meaning, dominant first.
    reasons: list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    remarks: list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    root_cause: str = Field(max_length=32)
    carc: str | None = Field(default=None, max_length=5)
    group_code: str | None = Field(default=None, max_length=2)
    owner: str = Field(max_length=16)
    recommended_action: str = Field(max_length=500)
    appealable: bool
    correctable: bool
    appeal_deadline: date
    # Work: open until someone (or the automatic correction) records an outcome.
    status: str = Field(max_length=16)
    assignee: str | None = Field(default=None, max_length=100)
    outcome: str | None = Field(default=None, max_length=32)
    outcome_note: str | None = Field(default=None, max_length=1000)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    corrected_claim_id: str | None = Field(default=None, max_length=40)
    correlation_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Appeal(ClaimsTable, table=True):
    """An appeal of a denial: the generated letter, when and how it was sent, and the payer's decision."""

    __tablename__ = "appeal"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    denial_id: str = Field(index=True, max_length=40)
    claim_id: str = Field(max_length=40)
    patient_id: str = Field(max_length=40)
    payer_id: str = Field(max_length=80)
    root_cause: str = Field(max_length=32)
    level: int = 1
    status: str = Field(max_length=16)
    denied_amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    attachments: list[str] = Field(sa_column=Column(JSON, nullable=False))
    letter_pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    submitted_on: date | None = None
    submission_method: str | None = Field(default=None, max_length=16)
    submitted_by: str | None = Field(default=None, max_length=100)
    outcome: str | None = Field(default=None, max_length=32)
    recovered_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 2), nullable=True))
    decided_on: date | None = None
    decided_by: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class StatusInquiry(ClaimsTable, table=True):
    """One 276 claim status request sent for a claim the payer has not answered, and the 277 that came back."""

    __tablename__ = "status_inquiry"
    __table_args__ = (
        UniqueConstraint("tenant_id", "trace_number", name="uq_status_inquiry_trace"),
        Index("ix_status_inquiry_open", "tenant_id", "status", "sent_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    claim_id: str = Field(index=True, max_length=40)
    payer_id: str = Field(max_length=80)
    trace_number: str = Field(max_length=50)  # TRN02 of the 276, echoed in the 277
    interchange_control_number: str = Field(max_length=9)
    status: str = Field(max_length=16)  # sent | answered | failed
    sent_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    category_code: str | None = Field(default=None, max_length=3)  # STC01-1, e.g. A1, P1, F1, A4
    status_code: str | None = Field(default=None, max_length=5)  # STC01-2
    answer: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=500)


class MailboxCursor(ClaimsTable, table=True):
    """How far a tenant's responses have been read from one connector mailbox."""

    __tablename__ = "mailbox_cursor"

    tenant_id: str = Field(primary_key=True, max_length=64)
    route: str = Field(primary_key=True, max_length=200)
    cursor: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


claims_metadata = claims_registry.metadata
