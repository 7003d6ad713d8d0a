"""eligibility-svc: inquiries, results, raw 271s, cache keys, leases and batches.

Revision ID: 0003_real_time_and_batch
Revises: 0002_kit_v2
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_real_time_and_batch"
down_revision: str | None = "0002_kit_v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    sa.Column("practice_id", sa.String(64), nullable=True),
    sa.Column("provider_npi", sa.String(10), nullable=True),
    sa.Column("inquiry", sa.JSON(), nullable=True),
    sa.Column("service_types", sa.String(200), nullable=False, server_default="30"),
    sa.Column("cache_key", sa.String(64), nullable=True),
    sa.Column("batch_id", sa.String(40), nullable=True),
    sa.Column("result", sa.JSON(), nullable=True),
    sa.Column("raw_271", sa.Text(), nullable=True),
    sa.Column("trace", sa.String(50), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("error_code", sa.String(40), nullable=True),
    sa.Column("error_message", sa.String(500), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table("coverage_check") as batch:
        for column in _COLUMNS:
            batch.add_column(column)
        batch.create_index("ix_coverage_check_cache_key", ["cache_key"])
        batch.create_index("ix_coverage_check_batch_id", ["batch_id"])
    op.create_table(
        "eligibility_batch",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
        sa.Column("practice_id", sa.String(64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("eligibility_batch")
    with op.batch_alter_table("coverage_check") as batch:
        batch.drop_index("ix_coverage_check_batch_id")
        batch.drop_index("ix_coverage_check_cache_key")
        for column in reversed(_COLUMNS):
            batch.drop_column(column.name)
