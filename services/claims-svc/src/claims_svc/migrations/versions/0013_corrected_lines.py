"""claims-svc: claims of corrected lines only — the original claim's lines such a claim carries.

Revision ID: 0013_corrected_lines
Revises: 0012_claim_parts
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_corrected_lines"
down_revision: str | None = "0012_claim_parts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("corrected_lines", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("corrected_lines")
