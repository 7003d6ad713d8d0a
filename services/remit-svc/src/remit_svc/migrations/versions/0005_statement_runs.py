"""remit-svc: statement runs and the statements they issued (history per guarantor, with the PDF mailed).

Revision ID: 0005_statement_runs
Revises: 0004_deposits_patient_payments
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_statement_runs"
down_revision: str | None = "0004_deposits_patient_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statement_run",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("min_balance", sa.Numeric(14, 2), nullable=False),
        sa.Column("statements", sa.Integer(), nullable=False),
        sa.Column("total_due", sa.Numeric(14, 2), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "statement_date", name="uq_statement_run_date"),
    )
    op.create_table(
        "issued_statement",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("guarantor_id", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("balance", sa.Numeric(14, 2), nullable=False),
        sa.Column("amount_due", sa.Numeric(14, 2), nullable=False),
        sa.Column("aging", sa.JSON(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("run_id", "guarantor_id", name="uq_issued_statement_run_guarantor"),
    )
    op.create_index("ix_issued_statement_guarantor", "issued_statement", ["tenant_id", "guarantor_id"])


def downgrade() -> None:
    op.drop_index("ix_issued_statement_guarantor", table_name="issued_statement")
    op.drop_table("issued_statement")
    op.drop_table("statement_run")
