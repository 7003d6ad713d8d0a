"""Kit schema v3: the inbox indexed by processing time, for housekeeping.

Revision ID: 0005_kit_v3
Revises: 0004_pending_index
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from claimflow_kit.migrations import create_kit_schema_v3, drop_kit_schema_v3

revision: str = "0005_kit_v3"
down_revision: str | None = "0004_pending_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_schema_v3()


def downgrade() -> None:
    drop_kit_schema_v3()
