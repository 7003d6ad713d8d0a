"""coding-svc: encounters newest first a page at a time (``GET /v1/encounters``, by their time-ordered ids) through an
index on the tenant and the id, in place of the index on the tenant alone, which it also serves.

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
    op.create_index("ix_encounter_tenant", "encounter", ["tenant_id", "id"])
    op.drop_index("ix_encounter_tenant_id", table_name="encounter")


def downgrade() -> None:
    op.create_index("ix_encounter_tenant_id", "encounter", ["tenant_id"])
    op.drop_index("ix_encounter_tenant", table_name="encounter")
