"""Tenant-scoped repositories of remit-svc."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.repository import TenantRepository
from remit_svc.adapters.tables import ClaimPaymentRecord, LedgerEntry, OpenClaim, Remittance


class OpenClaimRepository(TenantRepository[OpenClaim]):
    """Submitted claims of one tenant."""

    model = OpenClaim
    resource_name = "OpenClaim"


class RemittanceRepository(TenantRepository[Remittance]):
    """ERAs of one tenant."""

    model = Remittance
    resource_name = "Remittance"


class ClaimPaymentRepository(TenantRepository[ClaimPaymentRecord]):
    """835 claim payments of one tenant."""

    model = ClaimPaymentRecord
    resource_name = "ClaimPayment"


class LedgerRepository:
    """Ledger entries of one tenant (rows have no string id, so this is not a TenantRepository)."""

    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def for_claim(self, claim_id: str) -> Sequence[LedgerEntry]:
        """A claim's entries in posting order."""
        rows = await self.session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.tenant_id == self.tenant_id, LedgerEntry.claim_id == claim_id)
            .order_by(col(LedgerEntry.id))
        )
        return rows.all()
