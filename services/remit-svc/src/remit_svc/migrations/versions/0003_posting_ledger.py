"""remit-svc: 835 files and ERAs, claim payments, the double-entry ledger, mailbox cursors; open claims gain
what matching and AR need.

Revision ID: 0003_posting_ledger
Revises: 0002_kit_v2
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from claimflow_kit.tables import BigId

revision: str = "0003_posting_ledger"
down_revision: str | None = "0002_kit_v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(14, 2), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("open_claim") as batch:
        batch.add_column(sa.Column("practice_id", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("rendering_provider_npi", sa.String(10), nullable=True))
        batch.add_column(sa.Column("correlation_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("service_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("lines", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("status", sa.String(24), nullable=False, server_default="open"))
        batch.add_column(sa.Column("acknowledgment", sa.String(16), nullable=True))
        batch.add_column(sa.Column("first_paid_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
        )
    op.create_table(
        "remittance_file",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "sha256", name="uq_remittance_file_sha"),
    )
    op.create_table(
        "remittance",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("file_id", sa.String(40), nullable=False),
        sa.Column("transaction_index", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("payer_name", sa.String(60), nullable=True),
        sa.Column("trace_number", sa.String(50), nullable=False, index=True),
        _money("payment_amount"),
        sa.Column("handling_code", sa.String(2), nullable=False),
        sa.Column("payment_method", sa.String(3), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=False),
        sa.Column("payee_npi", sa.String(10), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("held_reason", sa.Text(), nullable=True),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("posted_claims", sa.Integer(), nullable=False),
        sa.Column("unmatched_claims", sa.Integer(), nullable=False),
        _money("provider_adjustment_total"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_remittance_fingerprint"),
    )
    op.create_table(
        "claim_payment",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("remittance_id", sa.String(40), nullable=False, index=True),
        sa.Column("claim_index", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(40), nullable=True, index=True),
        sa.Column("patient_control_number", sa.String(38), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("status_code", sa.String(2), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=True),
        _money("charge"),
        _money("paid"),
        _money("patient_responsibility"),
        _money("denied_amount"),
        sa.Column("payer_claim_control_number", sa.String(50), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("unmatched_reason", sa.Text(), nullable=True),
        sa.Column("matched_by", sa.String(16), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_claim_payment_state", "tenant_id", "state"),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("journal_id", sa.String(40), nullable=False, index=True),
        sa.Column("account", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        _money("amount"),
        sa.Column("claim_id", sa.String(40), nullable=True),
        sa.Column("line_item_control_number", sa.String(50), nullable=True),
        sa.Column("patient_id", sa.String(40), nullable=True),
        sa.Column("payer_id", sa.String(80), nullable=True),
        sa.Column("practice_id", sa.String(40), nullable=True),
        sa.Column("remittance_id", sa.String(40), nullable=True, index=True),
        sa.Column("group_code", sa.String(2), nullable=True),
        sa.Column("carc", sa.String(5), nullable=True),
        sa.Column("memo", sa.String(120), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_ledger_claim", "tenant_id", "claim_id"),
        sa.Index("ix_ledger_patient", "tenant_id", "patient_id", "account"),
        sa.Index("ix_ledger_account", "tenant_id", "account"),
    )
    op.create_table(
        "mailbox_cursor",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("route", sa.String(200), primary_key=True),
        sa.Column("cursor", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mailbox_cursor")
    op.drop_table("ledger_entry")
    op.drop_table("claim_payment")
    op.drop_table("remittance")
    op.drop_table("remittance_file")
    with op.batch_alter_table("open_claim") as batch:
        for column in (
            "updated_at", "first_paid_at", "acknowledgment", "status", "lines", "service_date", "correlation_id",
            "rendering_provider_npi", "practice_id",
        ):  # fmt: skip
            batch.drop_column(column)
