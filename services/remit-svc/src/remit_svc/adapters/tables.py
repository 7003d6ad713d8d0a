"""remit-svc tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Index, LargeBinary, Numeric, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field

from claimflow_kit.tables import BigId, TableModel, UtcDateTime, empty_list, utcnow

remit_registry = registry()


def _money(nullable: bool = False) -> Column[Decimal]:
    return Column(Numeric(14, 2), nullable=nullable)


class RemitTable(TableModel, registry=remit_registry):
    """Base of remit-svc tables."""


class OpenClaim(RemitTable, table=True):
    """A submitted claim: what 835 claim payments are matched against, and its standing in AR."""

    __tablename__ = "open_claim"
    __table_args__ = (
        UniqueConstraint("tenant_id", "patient_control_number", name="uq_open_claim_pcn"),
        Index("ix_open_claim_guarantor", "tenant_id", "guarantor_id"),
        # The tenant's claims, and a list of them by id: with indexes led by the tenant only, SQLite read them all.
        Index("ix_open_claim_tenant", "tenant_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=40, description="The claim id from claims-svc.")
    tenant_id: str = Field(max_length=64)
    patient_control_number: str = Field(max_length=38)
    payer_id: str = Field(max_length=80)
    patient_id: str = Field(index=True, max_length=40)
    guarantor_id: str = Field(max_length=40, description="The account the patient's share is billed to.")
    patient_name: str | None = Field(default=None, max_length=121, description="As statements list the claim (PHI).")
    prior_claim_id: str | None = Field(default=None, max_length=40, description="A next-payer claim: the prior claim.")
    total_charge: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    practice_id: str = Field(default="", max_length=40)
    rendering_provider_npi: str | None = Field(default=None, max_length=10)
    correlation_id: str = Field(default="", max_length=64)
    service_date: date | None = None
    lines: list[dict[str, str]] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    # open, paid, partially_paid, patient_responsibility, denied, reversed, replaced, voided, resubmitted
    status: str = Field(default="open", max_length=24)
    acknowledgment: str | None = Field(default=None, max_length=16, description="accepted / rejected (first answer).")
    first_paid_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class RemittanceFile(RemitTable, table=True):
    """An 835 file as received (kept for audit); the same bytes twice are one file."""

    __tablename__ = "remittance_file"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256", name="uq_remittance_file_sha"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(index=True, max_length=64)
    sha256: str = Field(max_length=64)
    source: str = Field(max_length=200, description="upload, or the connector mailbox it came from.")
    filename: str | None = Field(default=None, max_length=255)
    content: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, description="read, or unreadable (errors kept).")
    errors: list[str] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Remittance(RemitTable, table=True):
    """One ERA (835 transaction set): one payment or notification from a payer to a payee."""

    __tablename__ = "remittance"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint", name="uq_remittance_fingerprint"),
        # The tenant's ERAs, and their pages newest first (GET /v1/remittances; ids are time-ordered).
        Index("ix_remittance_tenant", "tenant_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    file_id: str = Field(max_length=40)
    transaction_index: int = Field(description="Position of the 835 within its file (0-based).")
    fingerprint: str = Field(max_length=64)
    payer_id: str = Field(max_length=80)
    payer_name: str | None = Field(default=None, max_length=60)
    trace_number: str = Field(index=True, max_length=50)
    payment_amount: Decimal = Field(sa_column=_money())
    handling_code: str = Field(max_length=2)
    payment_method: str = Field(max_length=3)
    payment_date: date
    payee_npi: str | None = Field(default=None, max_length=10)
    status: str = Field(max_length=16, description="posted, or held (not posted; see held_reason).")
    held_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    claim_count: int = 0
    posted_claims: int = 0
    unmatched_claims: int = 0
    provider_adjustment_total: Decimal = Field(default=Decimal("0"), sa_column=_money())
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class ClaimPaymentRecord(RemitTable, table=True):
    """One 835 claim payment and what became of it: posted, waiting for a match, or informational."""

    __tablename__ = "claim_payment"
    __table_args__ = (
        Index("ix_claim_payment_state", "tenant_id", "state"),
        # Every mailbox round looks, across tenants, for payments still waiting for a claim (few among many).
        Index("ix_claim_payment_waiting", "state", "claim_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    remittance_id: str = Field(index=True, max_length=40)
    claim_index: int = Field(description="Position of the claim payment within its ERA (0-based).")
    claim_id: str | None = Field(default=None, index=True, max_length=40)
    patient_control_number: str = Field(max_length=38)
    payer_id: str = Field(max_length=80)
    status_code: str = Field(max_length=2, description="CLP02.")
    outcome: str | None = Field(default=None, max_length=24)
    charge: Decimal = Field(sa_column=_money())
    paid: Decimal = Field(sa_column=_money())
    patient_responsibility: Decimal = Field(sa_column=_money())
    denied_amount: Decimal = Field(default=Decimal("0"), sa_column=_money())
    payer_claim_control_number: str | None = Field(default=None, max_length=50)
    state: str = Field(max_length=16, description="posted, unmatched, informational.")
    unmatched_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    matched_by: str | None = Field(default=None, max_length=16, description="auto, fallback, or the user's id.")
    posted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class LedgerEntry(RemitTable, table=True):
    """One signed ledger amount; the entries of one journal sum to zero."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_claim", "tenant_id", "claim_id"),
        Index("ix_ledger_guarantor", "tenant_id", "guarantor_id", "account"),
        Index("ix_ledger_account", "tenant_id", "account"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    tenant_id: str = Field(max_length=64)
    journal_id: str = Field(index=True, max_length=40)
    account: str = Field(max_length=32)
    kind: str = Field(max_length=24)
    amount: Decimal = Field(sa_column=_money())
    claim_id: str | None = Field(default=None, max_length=40)
    line_item_control_number: str | None = Field(default=None, max_length=50)
    patient_id: str | None = Field(default=None, max_length=40)
    guarantor_id: str | None = Field(default=None, max_length=40, description="The patient-AR account (patient_ar).")
    payer_id: str | None = Field(default=None, max_length=80)
    practice_id: str | None = Field(default=None, max_length=40)
    remittance_id: str | None = Field(default=None, index=True, max_length=40)
    group_code: str | None = Field(default=None, max_length=2)
    carc: str | None = Field(default=None, max_length=5)
    memo: str | None = Field(default=None, max_length=120)
    effective_date: date
    posted_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class MailboxCursor(RemitTable, table=True):
    """How far a tenant's 835s have been read from one connector mailbox."""

    __tablename__ = "mailbox_cursor"

    tenant_id: str = Field(primary_key=True, max_length=64)
    route: str = Field(primary_key=True, max_length=200)
    cursor: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Deposit(RemitTable, table=True):
    """A bank deposit (EFT or check) that 835 payments are reconciled against; recorded once per tenant."""

    __tablename__ = "deposit"
    __table_args__ = (
        UniqueConstraint("tenant_id", "trace_number", "amount", "deposit_date", name="uq_deposit_identity"),
        Index("ix_deposit_trace", "tenant_id", "trace_number"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    trace_number: str = Field(max_length=50, description="The EFT trace or check number the bank shows (TRN02).")
    amount: Decimal = Field(sa_column=_money())
    deposit_date: date
    payer_id: str | None = Field(default=None, max_length=80)
    method: str = Field(max_length=8, description="ACH, CHK, FWT (wire), VCC (virtual card) or OTH.")
    recorded_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class PatientPayment(RemitTable, table=True):
    """A payment from (or refund to) a guarantor, taken on account; its ledger journal is ``journal_id``."""

    __tablename__ = "patient_payment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_patient_payment_idempotency"),
        UniqueConstraint("tenant_id", "kind", "reference", name="uq_patient_payment_reference"),
        Index("ix_patient_payment_patient", "tenant_id", "patient_id"),
        Index("ix_patient_payment_guarantor", "tenant_id", "guarantor_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    patient_id: str | None = Field(default=None, max_length=40, description="The patient it was for, if one.")
    guarantor_id: str = Field(max_length=40, description="The account it was taken on.")
    kind: str = Field(max_length=8, description="payment or refund.")
    amount: Decimal = Field(sa_column=_money(), description="Positive; a refund gives money back.")
    method: str = Field(max_length=16)
    reference: str | None = Field(default=None, max_length=64, description="Check number, card authorization...")
    idempotency_key: str | None = Field(default=None, max_length=100)
    received_on: date
    journal_id: str = Field(max_length=40)
    recorded_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class StatementRun(RemitTable, table=True):
    """One statement cycle: every guarantor owing at least ``min_balance`` on ``statement_date`` got a statement."""

    __tablename__ = "statement_run"
    __table_args__ = (UniqueConstraint("tenant_id", "statement_date", name="uq_statement_run_date"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    statement_date: date
    min_balance: Decimal = Field(sa_column=_money())
    statements: int
    total_due: Decimal = Field(sa_column=_money())
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class IssuedStatement(RemitTable, table=True):
    """A statement as it was issued to a guarantor: the figures and the PDF mailed, kept for the history."""

    __tablename__ = "issued_statement"
    __table_args__ = (
        UniqueConstraint("run_id", "guarantor_id", name="uq_issued_statement_run_guarantor"),
        Index("ix_issued_statement_guarantor", "tenant_id", "guarantor_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=64)
    run_id: str = Field(max_length=40)
    guarantor_id: str = Field(max_length=40)
    patient_ids: list[str] = Field(sa_column=Column(JSON, nullable=False), description="The patients it billed.")
    statement_date: date
    balance: Decimal = Field(sa_column=_money())
    amount_due: Decimal = Field(sa_column=_money())
    aging: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    claims: int
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))
    mail_to: dict[str, object] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="Name and address it was mailed to (PHI)."
    )


class EarlyCorrection(RemitTable, table=True):
    """A claim-resubmitted read before the claim-submitted of the claim it corrects (events of two claims arrive in
    any order, e.g. when the worker catches up after an outage): applied when that claim arrives."""

    __tablename__ = "early_correction"
    __table_args__ = (UniqueConstraint("tenant_id", "original_claim_id", "claim_id", name="uq_early_correction"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    original_claim_id: str = Field(max_length=40)
    claim_id: str = Field(max_length=40, description="The correcting claim.")
    event: dict[str, object] = Field(sa_column=Column(JSON, nullable=False), description="The claim-resubmitted data.")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class GuarantorAccount(RemitTable, table=True):
    """Whom a guarantor account's statements are addressed to, as the newest claim-submitted on it said (PHI)."""

    __tablename__ = "guarantor_account"
    __table_args__ = (UniqueConstraint("tenant_id", "guarantor_id", name="uq_guarantor_account"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    guarantor_id: str = Field(max_length=40)
    first_name: str = Field(max_length=60)
    last_name: str = Field(max_length=60)
    address: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    as_of: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False), description="When that claim left.")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


remit_metadata = remit_registry.metadata
