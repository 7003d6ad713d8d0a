"""claims-svc: combined claims — the encounters a claim bills, and the claim another was combined into.

Revision ID: 0011_combined_claims
Revises: 0010_institutional_claims
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_combined_claims"
down_revision: str | None = "0010_institutional_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("combined_encounter_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("combined_into", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("combined_into")
        batch.drop_column("combined_encounter_ids")
