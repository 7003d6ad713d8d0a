"""claims-svc: practice fee schedules (charges when the EHR sends none).

Revision ID: 0005_fee_schedule
Revises: 0004_corrections
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_fee_schedule"
down_revision: str | None = "0004_corrections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fee_schedule_entry",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("practice_id", sa.String(64), nullable=False),
        sa.Column("payer_key", sa.String(80), nullable=False),
        sa.Column("procedure_code", sa.String(5), nullable=False),
        sa.Column("modifier", sa.String(2), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.UniqueConstraint(
            "tenant_id", "practice_id", "payer_key", "procedure_code", "modifier", "effective_from", name="uq_fee"
        ),
    )


def downgrade() -> None:
    op.drop_table("fee_schedule_entry")
