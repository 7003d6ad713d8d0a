"""eligibility-svc: coverage checks newest first a page at a time (``GET /v1/eligibility-checks``, by their
time-ordered ids) through an index on the tenant and the id. The response cache's index gains the tenant: with the
new index, SQLite (no statistics) took it for ``tenant_id = ? AND cache_key = ?`` over the one on the cache key alone
and read every check of the tenant for each lookup.

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
    op.create_index("ix_coverage_check_tenant", "coverage_check", ["tenant_id", "id"])
    op.drop_index("ix_coverage_check_cache_key", table_name="coverage_check")
    op.create_index("ix_coverage_check_cache_key", "coverage_check", ["tenant_id", "cache_key"])


def downgrade() -> None:
    op.drop_index("ix_coverage_check_cache_key", table_name="coverage_check")
    op.create_index("ix_coverage_check_cache_key", "coverage_check", ["cache_key"])
    op.drop_index("ix_coverage_check_tenant", table_name="coverage_check")
