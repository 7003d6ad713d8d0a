"""remit-svc initial schema: kit tables and open claims.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from claimflow_kit.migrations import create_kit_schema_v1, drop_kit_schema_v1

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_schema_v1()
    op.create_table(
        "open_claim",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("patient_control_number", sa.String(38), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=False, index=True),
        sa.Column("total_charge", sa.Numeric(12, 2), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "patient_control_number", name="uq_open_claim_pcn"),
    )


def downgrade() -> None:
    op.drop_table("open_claim")
    drop_kit_schema_v1()
