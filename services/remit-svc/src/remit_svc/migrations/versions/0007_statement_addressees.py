"""remit-svc: statements are addressed — the guarantor's name and mailing address, each claim's patient name —
and a next-payer claim remembers its prior claim (a superseded one gives that claim's balance back); a correction
read before the claim it corrects waits for it.

Revision ID: 0007_statement_addressees
Revises: 0006_guarantors
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from claimflow_kit.tables import UtcDateTime

revision: str = "0007_statement_addressees"
down_revision: str | None = "0006_guarantors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guarantor_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("guarantor_id", sa.String(40), nullable=False),
        sa.Column("first_name", sa.String(60), nullable=False),
        sa.Column("last_name", sa.String(60), nullable=False),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "guarantor_id", name="uq_guarantor_account"),
    )
    op.create_table(
        "early_correction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("original_claim_id", sa.String(40), nullable=False),
        sa.Column("claim_id", sa.String(40), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "original_claim_id", "claim_id", name="uq_early_correction"),
    )
    op.add_column("open_claim", sa.Column("patient_name", sa.String(121), nullable=True))
    op.add_column("open_claim", sa.Column("prior_claim_id", sa.String(40), nullable=True))
    op.add_column("issued_statement", sa.Column("mail_to", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issued_statement") as batch:
        batch.drop_column("mail_to")
    with op.batch_alter_table("open_claim") as batch:
        batch.drop_column("prior_claim_id")
        batch.drop_column("patient_name")
    op.drop_table("early_correction")
    op.drop_table("guarantor_account")
