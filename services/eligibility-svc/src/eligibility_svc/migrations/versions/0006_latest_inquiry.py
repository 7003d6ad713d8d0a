"""eligibility-svc: a patient's latest inquiry with a payer (read for every encounter's pre-check) through an index on
tenant, patient, payer and time. SQLite chose the index on the tenant alone and read every check of the tenant:
about 3 ms a pre-check at 10,000 checks, against 0.06 ms (session 17). The new index also serves what the old one
did, the tenant's checks.

Revision ID: 0006_latest_inquiry
Revises: 0005_kit_v3
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_latest_inquiry"
down_revision: str | None = "0005_kit_v3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_coverage_check_latest", "coverage_check", ["tenant_id", "patient_id", "payer_id", "created_at"])
    op.drop_index("ix_coverage_check_tenant_id", table_name="coverage_check")


def downgrade() -> None:
    op.create_index("ix_coverage_check_tenant_id", "coverage_check", ["tenant_id"])
    op.drop_index("ix_coverage_check_latest", table_name="coverage_check")
