"""eligibility-svc: coverage checks newest first, a page at a time (``GET /v1/eligibility-checks``), through an index in
that order: without it every page sorted all of the tenant's checks first.

Revision ID: 0007_check_list_pages
Revises: 0006_latest_inquiry
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_check_list_pages"
down_revision: str | None = "0006_latest_inquiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_coverage_check_tenant_created", "coverage_check", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_coverage_check_tenant_created", table_name="coverage_check")
