"""remit-svc: the patient's share is billed to a guarantor account, not to each patient.

Claims and ledger entries name their guarantor (existing rows: the patient, which is what they were billed to);
patient-AR sums are read per guarantor; a statement lists the claims of every patient on the account; a payment
can be taken for an account without naming a patient.

Revision ID: 0006_guarantors
Revises: 0005_statement_runs
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_guarantors"
down_revision: str | None = "0005_statement_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("open_claim", sa.Column("guarantor_id", sa.String(40), nullable=True))
    op.execute("UPDATE open_claim SET guarantor_id = patient_id")
    with op.batch_alter_table("open_claim") as batch:
        batch.alter_column("guarantor_id", existing_type=sa.String(40), nullable=False)
    op.create_index("ix_open_claim_guarantor", "open_claim", ["tenant_id", "guarantor_id"])

    op.add_column("ledger_entry", sa.Column("guarantor_id", sa.String(40), nullable=True))
    op.execute("UPDATE ledger_entry SET guarantor_id = patient_id")
    op.drop_index("ix_ledger_patient", table_name="ledger_entry")
    op.create_index("ix_ledger_guarantor", "ledger_entry", ["tenant_id", "guarantor_id", "account"])

    with op.batch_alter_table("patient_payment") as batch:
        batch.alter_column("patient_id", existing_type=sa.String(40), nullable=True)
    op.create_index("ix_patient_payment_guarantor", "patient_payment", ["tenant_id", "guarantor_id"])

    op.add_column("issued_statement", sa.Column("patient_ids", sa.JSON(), nullable=True))
    array = "json_build_array" if op.get_bind().dialect.name == "postgresql" else "json_array"
    op.execute(f"UPDATE issued_statement SET patient_ids = {array}(patient_id)")  # noqa: S608 - a function name
    with op.batch_alter_table("issued_statement") as batch:
        batch.alter_column("patient_ids", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("patient_id")


def downgrade() -> None:
    op.add_column("issued_statement", sa.Column("patient_id", sa.String(40), nullable=True))
    first = "patient_ids->>0" if op.get_bind().dialect.name == "postgresql" else "json_extract(patient_ids, '$[0]')"
    op.execute(f"UPDATE issued_statement SET patient_id = coalesce({first}, guarantor_id)")  # noqa: S608
    with op.batch_alter_table("issued_statement") as batch:
        batch.alter_column("patient_id", existing_type=sa.String(40), nullable=False)
        batch.drop_column("patient_ids")
    op.drop_index("ix_patient_payment_guarantor", table_name="patient_payment")
    op.execute("UPDATE patient_payment SET patient_id = guarantor_id WHERE patient_id IS NULL")
    with op.batch_alter_table("patient_payment") as batch:
        batch.alter_column("patient_id", existing_type=sa.String(40), nullable=False)
    op.drop_index("ix_ledger_guarantor", table_name="ledger_entry")
    op.create_index("ix_ledger_patient", "ledger_entry", ["tenant_id", "patient_id", "account"])
    op.drop_column("ledger_entry", "guarantor_id")
    op.drop_index("ix_open_claim_guarantor", table_name="open_claim")
    with op.batch_alter_table("open_claim") as batch:
        batch.drop_column("guarantor_id")
