"""Tenant directory: a practice's billing address and taxonomy (the 837 billing provider loop needs them).

Revision ID: 0002_practice_address
Revises: 0001_directory
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_practice_address"
down_revision: str | None = "0001_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    sa.Column("address_line1", sa.String(55), nullable=True),
    sa.Column("city", sa.String(30), nullable=True),
    sa.Column("state", sa.String(2), nullable=True),
    sa.Column("postal_code", sa.String(9), nullable=True),
    sa.Column("taxonomy_code", sa.String(10), nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table("practice") as batch:
        for column in _COLUMNS:
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("practice") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column.name)
