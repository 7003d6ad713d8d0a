"""claims-svc: the tenant's claims newest first, through an index in that order. ``GET /v1/claims`` pages by
(created_at, id); without an index led by the tenant and the creation time every page sorted all of the tenant's
claims first (44 ms for a first page at 11,000 claims on SQLite).

Revision ID: 0019_claim_list_pages
Revises: 0018_claim_tenant_ids
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019_claim_list_pages"
down_revision: str | None = "0018_claim_tenant_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_tenant_created", "claim", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_claim_tenant_created", table_name="claim")
