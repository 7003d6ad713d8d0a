"""remit-svc: ERAs and open claims newest first, a page at a time (``GET /v1/remittances``, ``/v1/open-claims``),
through indexes in that order: without them every page sorted all of the tenant's rows first.

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
    op.create_index("ix_remittance_tenant_created", "remittance", ["tenant_id", "created_at", "id"])
    op.create_index("ix_open_claim_tenant_created", "open_claim", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_open_claim_tenant_created", table_name="open_claim")
    op.drop_index("ix_remittance_tenant_created", table_name="remittance")
