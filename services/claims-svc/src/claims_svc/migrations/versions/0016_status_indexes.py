"""claims-svc: the pipeline's rounds find claims (drafts, ready, submitted) and interchanges (sending) by status
without reading the whole table. Each round asked by status alone, and a claims table only grows: at 300,000 claims
every round read all of them (about 70 ms a query on SQLite) and the status index answers in a few milliseconds
(bench/claims, session 15).

Revision ID: 0016_status_indexes
Revises: 0015_claim_lookups
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_status_indexes"
down_revision: str | None = "0015_claim_lookups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_status", "claim", ["status", "created_at"])
    op.create_index("ix_submission_status", "claim_submission", ["status"])


def downgrade() -> None:
    op.drop_index("ix_submission_status", table_name="claim_submission")
    op.drop_index("ix_claim_status", table_name="claim")
