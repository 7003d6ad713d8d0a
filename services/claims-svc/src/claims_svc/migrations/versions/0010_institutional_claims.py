"""claims-svc: institutional claims (837I) — type of bill, admission codes and attending provider.

Revision ID: 0010_institutional_claims
Revises: 0009_secondary_claims
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_institutional_claims"
down_revision: str | None = "0009_secondary_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("institutional", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("institutional")
