"""claims-svc: the cross-service timeline of each encounter's cycle.

Revision ID: 0006_timeline
Revises: 0005_fee_schedule
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_timeline"
down_revision: str | None = "0005_fee_schedule"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timeline_entry",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("correlation_id", sa.String(64), nullable=False, index=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.String(300), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("timeline_entry")
