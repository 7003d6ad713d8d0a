"""Tenant-scoped repositories of eligibility-svc."""

from __future__ import annotations

from claimflow_kit.repository import TenantRepository
from eligibility_svc.adapters.tables import CoverageCheck


class CoverageCheckRepository(TenantRepository[CoverageCheck]):
    """Coverage checks of one tenant."""

    model = CoverageCheck
    resource_name = "EligibilityCheck"
