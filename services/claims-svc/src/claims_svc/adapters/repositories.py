"""Tenant-scoped repositories of claims-svc."""

from __future__ import annotations

from claimflow_kit.repository import TenantRepository
from claims_svc.adapters.tables import Appeal, Claim, DenialWorkItem


class ClaimRepository(TenantRepository[Claim]):
    """Claims of one tenant."""

    model = Claim
    resource_name = "Claim"


class DenialRepository(TenantRepository[DenialWorkItem]):
    """Denial work items of one tenant."""

    model = DenialWorkItem
    resource_name = "Denial"


class AppealRepository(TenantRepository[Appeal]):
    """Appeals of one tenant."""

    model = Appeal
    resource_name = "Appeal"
