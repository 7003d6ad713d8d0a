"""Tenant-scoped repositories of eligibility-svc."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from claimflow_kit.bulk import insert_rows
from claimflow_kit.repository import TenantRepository
from eligibility_svc.adapters.tables import CoverageCheck


class CoverageCheckRepository(TenantRepository[CoverageCheck]):
    """Coverage checks of one tenant."""

    model = CoverageCheck
    resource_name = "EligibilityCheck"

    async def insert(self, check: CoverageCheck) -> None:
        """Write a new check with one INSERT now (a real-time check writes one row: no unit-of-work flush for it).

        The object stays detached from the session; the caller keeps it as the record of what was written.
        """
        if check.tenant_id != self.tenant_id:
            raise PermissionError("refusing to write another tenant's object")
        table: Table = CoverageCheck.__table__  # type: ignore[attr-defined]
        row: dict[str, Any] = {column.key: getattr(check, column.key) for column in table.columns}
        await insert_rows(self.session, table, [row])
