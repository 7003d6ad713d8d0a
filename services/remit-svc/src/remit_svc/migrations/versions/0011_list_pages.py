"""remit-svc: ERAs newest first a page at a time (``GET /v1/remittances``, by their time-ordered ids) through an index
on the tenant and the id, in place of the index on the tenant alone, which it also serves. Open claims have one.

Revision ID: 0011_list_pages
Revises: 0010_open_claim_tenant_ids
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_list_pages"
down_revision: str | None = "0010_open_claim_tenant_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_remittance_tenant", "remittance", ["tenant_id", "id"])
    op.drop_index("ix_remittance_tenant_id", table_name="remittance")


def downgrade() -> None:
    op.create_index("ix_remittance_tenant_id", "remittance", ["tenant_id"])
    op.drop_index("ix_remittance_tenant", table_name="remittance")
