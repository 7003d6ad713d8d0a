"""claims-svc: split claims — one encounter version may be billed on several claims (parts) to the same payer.

Revision ID: 0012_claim_parts
Revises: 0011_combined_claims
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_claim_parts"
down_revision: str | None = "0011_combined_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ["tenant_id", "encounter_id", "encounter_version", "payer_sequence", "correction"]


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("part", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_claim_encounter", type_="unique")
        batch.create_unique_constraint("uq_claim_encounter", [*_BEFORE, "part"])


def downgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.drop_constraint("uq_claim_encounter", type_="unique")
        batch.create_unique_constraint("uq_claim_encounter", _BEFORE)
        batch.drop_column("part")
