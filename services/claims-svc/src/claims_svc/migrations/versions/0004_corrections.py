"""claims-svc: corrections (replacement, void, resubmission) as new claims linked to the original.

Revision ID: 0004_corrections
Revises: 0003_building_and_submission
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_corrections"
down_revision: str | None = "0003_building_and_submission"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("correction", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("original_claim_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("corrected_by", sa.String(40), nullable=True))
        batch.drop_constraint("uq_claim_encounter", type_="unique")
        batch.create_unique_constraint(
            "uq_claim_encounter", ["tenant_id", "encounter_id", "encounter_version", "correction"]
        )


def downgrade() -> None:
    with op.batch_alter_table("claim") as batch:
        batch.drop_constraint("uq_claim_encounter", type_="unique")
        batch.create_unique_constraint("uq_claim_encounter", ["tenant_id", "encounter_id", "encounter_version"])
        batch.drop_column("corrected_by")
        batch.drop_column("original_claim_id")
        batch.drop_column("correction")
