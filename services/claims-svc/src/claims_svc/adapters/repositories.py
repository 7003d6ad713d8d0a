"""Tenant-scoped repositories of claims-svc."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from claimflow_kit.repository import TenantRepository
from claims_svc.adapters.tables import Appeal, Claim, DenialWorkItem


class ClaimRepository(TenantRepository[Claim]):
    """Claims of one tenant."""

    model = Claim
    resource_name = "Claim"

    async def encounter_claims(self, correlation_id: str) -> Sequence[Claim]:
        """The original primary claims (and their parts) of every version of an EHR encounter (they share its
        correlation id), locked (FOR UPDATE), newest first."""
        return (await self.claims_of_encounters([correlation_id]))[correlation_id]

    async def claims_of_encounters(self, correlation_ids: Sequence[str]) -> dict[str, list[Claim]]:
        """``encounter_claims`` of many encounters in one statement, by correlation id (locked, newest first)."""

        def build() -> SelectOfScalar[Claim]:
            return (
                self.scoped_by_parameter()
                .where(
                    col(Claim.correlation_id).in_(bindparam("correlation_ids", expanding=True)),
                    col(Claim.payer_sequence) == "primary",
                    col(Claim.correction) == 0,
                )
                .order_by(col(Claim.created_at).desc())
                .with_for_update()
            )

        found: dict[str, list[Claim]] = {correlation_id: [] for correlation_id in correlation_ids}
        for claim in await self.prepared("claims of encounters", build, correlation_ids=sorted(set(correlation_ids))):
            found[claim.correlation_id].append(claim)
        return found

    async def by_ids(self, claim_ids: Sequence[str]) -> dict[str, Claim]:
        """The tenant's claims with these ids (one statement); an id not found is left out."""

        def build() -> SelectOfScalar[Claim]:
            return self.scoped_by_parameter().where(col(Claim.id).in_(bindparam("claim_ids", expanding=True)))

        found = await self.prepared("by ids", build, claim_ids=sorted(set(claim_ids)))
        return {claim.id: claim for claim in found}


class DenialRepository(TenantRepository[DenialWorkItem]):
    """Denial work items of one tenant."""

    model = DenialWorkItem
    resource_name = "Denial"

    async def of_claims(self, claim_ids: Sequence[str], *, status: str, except_era_id: str) -> Sequence[DenialWorkItem]:
        """The work items of ``claim_ids`` in ``status`` from remittances other than ``except_era_id``."""

        def build() -> SelectOfScalar[DenialWorkItem]:
            return self.scoped_by_parameter().where(
                col(DenialWorkItem.claim_id).in_(bindparam("claim_ids", expanding=True)),
                col(DenialWorkItem.status) == bindparam("status"),
                col(DenialWorkItem.era_id) != bindparam("era_id"),
            )

        params = {"claim_ids": list(claim_ids), "status": status, "era_id": except_era_id}
        return (await self.prepared("of claims", build, **params)).all()

    async def claims_with_items(self, claim_ids: Sequence[str], *, status: str) -> set[str]:
        """Which of ``claim_ids`` have a work item in ``status`` (one statement)."""
        query = (
            select(DenialWorkItem.claim_id)
            .where(
                col(DenialWorkItem.tenant_id) == self.tenant_id,
                col(DenialWorkItem.claim_id).in_(sorted(set(claim_ids))),
                col(DenialWorkItem.status) == status,
            )
            .distinct()
        )
        return set(await self.session.exec(query))


class AppealRepository(TenantRepository[Appeal]):
    """Appeals of one tenant."""

    model = Appeal
    resource_name = "Appeal"
