"""claims-svc: claim status follow-up (276 sent, 277 answer) for claims the payer has not answered.

Revision ID: 0008_status_inquiries
Revises: 0007_denials
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_status_inquiries"
down_revision: str | None = "0007_denials"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_inquiry",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("claim_id", sa.String(40), nullable=False, index=True),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("trace_number", sa.String(50), nullable=False),
        sa.Column("interchange_control_number", sa.String(9), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("category_code", sa.String(3), nullable=True),
        sa.Column("status_code", sa.String(5), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.UniqueConstraint("tenant_id", "trace_number", name="uq_status_inquiry_trace"),
    )
    op.create_index("ix_status_inquiry_open", "status_inquiry", ["tenant_id", "status", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_status_inquiry_open", table_name="status_inquiry")
    op.drop_table("status_inquiry")
