"""claims-svc: denial work queue, appeals, and the amount paid on each claim.

Revision ID: 0007_denials
Revises: 0006_timeline
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_denials"
down_revision: str | None = "0006_timeline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("paid_amount", sa.Numeric(12, 2), nullable=True))
    op.create_table(
        "denial_work_item",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("claim_id", sa.String(40), nullable=False),
        sa.Column("era_id", sa.String(80), nullable=False),
        sa.Column("practice_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("patient_control_number", sa.String(38), nullable=False),
        sa.Column("payer_claim_number", sa.String(50), nullable=True),
        sa.Column("claim_status_code", sa.String(2), nullable=False),
        sa.Column("total_charge", sa.Numeric(12, 2), nullable=False),
        sa.Column("denied_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("denied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("remarks", sa.JSON(), nullable=False),
        sa.Column("root_cause", sa.String(32), nullable=False),
        sa.Column("carc", sa.String(5), nullable=True),
        sa.Column("group_code", sa.String(2), nullable=True),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("recommended_action", sa.String(500), nullable=False),
        sa.Column("appealable", sa.Boolean(), nullable=False),
        sa.Column("correctable", sa.Boolean(), nullable=False),
        sa.Column("appeal_deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("outcome_note", sa.String(1000), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("corrected_claim_id", sa.String(40), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "claim_id", "era_id", name="uq_denial_claim_era"),
    )
    op.create_index("ix_denial_queue", "denial_work_item", ["tenant_id", "status", "appeal_deadline"])
    op.create_table(
        "appeal",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("denial_id", sa.String(40), nullable=False, index=True),
        sa.Column("claim_id", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.String(40), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("root_cause", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("denied_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("letter_pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("submission_method", sa.String(16), nullable=True),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("recovered_amount", sa.Numeric(12, 2), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("appeal")
    op.drop_index("ix_denial_queue", table_name="denial_work_item")
    op.drop_table("denial_work_item")
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("paid_amount")
