"""claims-svc: claims are found by patient and date of service (the scrubber's duplicate check) and by the EHR
encounter they bill (a new version of an encounter supersedes the claims of the earlier ones) without a scan.

Revision ID: 0015_claim_lookups
Revises: 0014_send_lease
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_claim_lookups"
down_revision: str | None = "0014_send_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claim_patient_visit", "claim", ["tenant_id", "patient_id", "date_of_service"])
    op.create_index("ix_claim_correlation", "claim", ["tenant_id", "correlation_id"])


def downgrade() -> None:
    op.drop_index("ix_claim_correlation", table_name="claim")
    op.drop_index("ix_claim_patient_visit", table_name="claim")
