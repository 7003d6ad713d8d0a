"""claims-svc: claims looked up by tenant and a list of ids (a run of payments) through one index on both. With an
index on the tenant alone, SQLite (which keeps no statistics unless asked) chose it for ``tenant_id = ? AND id IN
(...)`` and read every claim of the tenant: 7.8 ms at 11,000 claims, against 0.35 ms (session 17). The new index
also serves what the old one did, the tenant's claims.

Revision ID: 0018_claim_tenant_ids
Revises: 0017_kit_v3
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018_claim_tenant_ids"
down_revision: str | None = "0017_kit_v3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_tenant", "claim", ["tenant_id", "id"])
    op.drop_index("ix_claim_tenant_id", table_name="claim")


def downgrade() -> None:
    op.create_index("ix_claim_tenant_id", "claim", ["tenant_id"])
    op.drop_index("ix_claim_tenant", table_name="claim")
