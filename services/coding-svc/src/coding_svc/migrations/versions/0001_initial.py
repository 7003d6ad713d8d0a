"""coding-svc initial schema: kit tables and encounters.

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
        "encounter",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("practice_id", sa.String(64), nullable=False),
        sa.Column("ehr_encounter_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=False, index=True),
        sa.Column("payer_id", sa.String(80), nullable=True),
        sa.Column("date_of_service", sa.Date(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("eligibility_status", sa.String(32), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "practice_id", "ehr_encounter_id", "version", name="uq_encounter_version"),
    )


def downgrade() -> None:
    op.drop_table("encounter")
    drop_kit_schema_v1()
