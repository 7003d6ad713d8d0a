"""Tenant-scoped repositories of claims-svc."""

from __future__ import annotations

from claimflow_kit.repository import TenantRepository
from claims_svc.adapters.tables import Claim


class ClaimRepository(TenantRepository[Claim]):
    """Claims of one tenant."""

    model = Claim
    resource_name = "Claim"
