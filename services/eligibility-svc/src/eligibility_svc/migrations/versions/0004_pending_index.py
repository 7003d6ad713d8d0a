"""eligibility-svc: index for the processor's search of pending checks (status, then age).

Revision ID: 0004_pending_index
Revises: 0003_real_time_and_batch
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_pending_index"
down_revision: str | None = "0003_real_time_and_batch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_coverage_check_status_created", "coverage_check", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_coverage_check_status_created", table_name="coverage_check")
