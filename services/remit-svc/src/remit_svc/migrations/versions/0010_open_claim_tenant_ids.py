"""remit-svc: open claims looked up and acknowledged by tenant and a list of ids (a run of claim-submitted or
claim-accepted events) through one index on both. With only indexes led by the tenant, SQLite chose one of them for
``tenant_id = ? AND id IN (...)`` and read every claim of the tenant: 10 ms at 9,500 claims, against 0.1-0.25 ms
(session 17). The new index also serves what the old one did, the tenant's claims.

Revision ID: 0010_open_claim_tenant_ids
Revises: 0009_kit_v3
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_open_claim_tenant_ids"
down_revision: str | None = "0009_kit_v3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_open_claim_tenant", "open_claim", ["tenant_id", "id"])
    op.drop_index("ix_open_claim_tenant_id", table_name="open_claim")


def downgrade() -> None:
    op.create_index("ix_open_claim_tenant_id", "open_claim", ["tenant_id"])
    op.drop_index("ix_open_claim_tenant", table_name="open_claim")
