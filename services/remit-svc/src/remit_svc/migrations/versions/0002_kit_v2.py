"""Kit schema v2: persistent X12 control-number sequences.

Revision ID: 0002_kit_v2
Revises: 0001_initial
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from claimflow_kit.migrations import create_kit_schema_v2, drop_kit_schema_v2

revision: str = "0002_kit_v2"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_schema_v2()


def downgrade() -> None:
    drop_kit_schema_v2()
