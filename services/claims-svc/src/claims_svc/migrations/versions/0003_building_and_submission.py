"""claims-svc: claim parties and scrubber findings, submissions (837 interchanges) and mailbox cursors.

Revision ID: 0003_building_and_submission
Revises: 0002_kit_v2
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_building_and_submission"
down_revision: str | None = "0002_kit_v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    sa.Column("patient_control_number", sa.String(38), nullable=True),
    sa.Column("parties", sa.JSON(), nullable=True),
    sa.Column("rendering_npi", sa.String(10), nullable=True),
    sa.Column("billing_npi", sa.String(10), nullable=True),
    sa.Column("place_of_service", sa.String(2), nullable=True),
    sa.Column("frequency_code", sa.String(1), nullable=False, server_default="1"),
    sa.Column("payer_claim_number", sa.String(50), nullable=True),
    sa.Column("prior_authorization", sa.String(50), nullable=True),
    sa.Column("findings", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("submission_id", sa.String(40), nullable=True),
    sa.Column("interchange_control_number", sa.String(9), nullable=True),
    sa.Column("group_control_number", sa.String(9), nullable=True),
    sa.Column("transaction_control_number", sa.String(9), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rejection", sa.JSON(), nullable=False, server_default="[]"),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.current_timestamp()),
)


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        for column in _COLUMNS:
            batch.add_column(column)
        batch.create_index("ix_claim_submission_id", ["submission_id"])
        batch.create_index("ix_claim_patient_control_number", ["tenant_id", "patient_control_number"], unique=True)
    op.create_table(
        "claim_submission",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
        sa.Column("claim_ids", sa.JSON(), nullable=False),
        sa.Column("interchange_control_number", sa.String(9), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("receipt_id", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("x12", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_submission_idempotency"),
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
    op.drop_table("claim_submission")
    with op.batch_alter_table("claim") as batch:
        batch.drop_index("ix_claim_patient_control_number")
        batch.drop_index("ix_claim_submission_id")
        for column in reversed(_COLUMNS):
            batch.drop_column(column.name)
