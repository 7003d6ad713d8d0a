"""claims-svc: secondary and tertiary claims (payer sequence, the prior payer's claim and adjudication, crossover).

Revision ID: 0009_secondary_claims
Revises: 0008_status_inquiries
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_secondary_claims"
down_revision: str | None = "0008_status_inquiries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("payer_sequence", sa.String(16), nullable=False, server_default="primary"))
        batch.add_column(sa.Column("prior_claim_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("prior_adjudications", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("crossed_over_to", sa.String(80), nullable=True))
        batch.drop_constraint("uq_claim_encounter", type_="unique")
        batch.create_unique_constraint(
            "uq_claim_encounter", ["tenant_id", "encounter_id", "encounter_version", "payer_sequence", "correction"]
        )
        batch.create_unique_constraint("uq_claim_prior_payer", ["tenant_id", "prior_claim_id", "correction"])


def downgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.drop_constraint("uq_claim_prior_payer", type_="unique")
        batch.drop_constraint("uq_claim_encounter", type_="unique")
        batch.create_unique_constraint(
            "uq_claim_encounter", ["tenant_id", "encounter_id", "encounter_version", "correction"]
        )
        batch.drop_column("crossed_over_to")
        batch.drop_column("prior_adjudications")
        batch.drop_column("prior_claim_id")
        batch.drop_column("payer_sequence")
