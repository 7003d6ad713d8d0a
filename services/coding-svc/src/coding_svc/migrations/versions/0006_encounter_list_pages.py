"""coding-svc: encounters newest first, a page at a time (``GET /v1/encounters``), through an index in that order:
without it every page sorted all of the tenant's encounters first.

Revision ID: 0006_encounter_list_pages
Revises: 0005_kit_v3
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_encounter_list_pages"
down_revision: str | None = "0005_kit_v3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_encounter_tenant_created", "encounter", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_encounter_tenant_created", table_name="encounter")
