"""remit-svc: the mailbox round finds the payments still waiting for a claim through an index of their own.

Revision ID: 0008_waiting_payments
Revises: 0007_statement_addressees
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_waiting_payments"
down_revision: str | None = "0007_statement_addressees"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_payment_waiting", "claim_payment", ["state", "claim_id"])


def downgrade() -> None:
    op.drop_index("ix_claim_payment_waiting", table_name="claim_payment")
