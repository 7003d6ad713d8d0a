"""Tenant-scoped repositories of remit-svc."""

from __future__ import annotations

from claimflow_kit.repository import TenantRepository
from remit_svc.adapters.tables import OpenClaim


class OpenClaimRepository(TenantRepository[OpenClaim]):
    """Claims of one tenant that await remittance."""

    model = OpenClaim
    resource_name = "OpenClaim"
