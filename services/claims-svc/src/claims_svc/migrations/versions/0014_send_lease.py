"""claims-svc: an interchange waiting to be sent is sent by one replica at a time (a lease on the send).

Interchanges already waiting get a lease of two minutes from the upgrade: one may be on its way right now.

Revision ID: 0014_send_lease
Revises: 0013_corrected_lines
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from claimflow_kit.tables import UtcDateTime

revision: str = "0014_send_lease"
down_revision: str | None = "0013_corrected_lines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim_submission") as batch:
        batch.add_column(sa.Column("send_lease_until", UtcDateTime(), nullable=True))
    submission = sa.table(
        "claim_submission",
        sa.column("status", sa.String()),
        sa.column("error", sa.String()),
        sa.column("send_lease_until", UtcDateTime()),
    )
    op.execute(
        submission.update()
        .where(submission.c.status == "sending", submission.c.error.is_(None))
        .values(send_lease_until=datetime.now(UTC) + timedelta(minutes=2))
    )


def downgrade() -> None:
    with op.batch_alter_table("claim_submission") as batch:
        batch.drop_column("send_lease_until")
