"""remit-svc: bank deposits (for reconciliation) and patient payments/refunds.

Revision ID: 0004_deposits_patient_payments
Revises: 0003_posting_ledger
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_deposits_patient_payments"
down_revision: str | None = "0003_posting_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deposit",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("trace_number", sa.String(50), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("deposit_date", sa.Date(), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "trace_number", "amount", "deposit_date", name="uq_deposit_identity"),
        sa.Index("ix_deposit_trace", "tenant_id", "trace_number"),
    )
    op.create_table(
        "patient_payment",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=False),
        sa.Column("guarantor_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("journal_id", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_patient_payment_idempotency"),
        sa.UniqueConstraint("tenant_id", "kind", "reference", name="uq_patient_payment_reference"),
        sa.Index("ix_patient_payment_patient", "tenant_id", "patient_id"),
    )


def downgrade() -> None:
    op.drop_table("patient_payment")
    op.drop_table("deposit")
