"""Stuck claims: sent to the payer and still without an acknowledgment (277CA) or an adjudication (835).

Installation-level (ops) view across tenants, grouped per tenant, payer and what is missing. The claim's age
counts from its submission: that is the clock the payer's turnaround and timely filing run on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claims_svc.adapters.tables import Claim
from claims_svc.service.pipeline import ClaimStatus

AWAITING_ACKNOWLEDGMENT = "no-acknowledgment"
"""Submitted, and no 277CA (nor a 999 rejection) came back."""
AWAITING_ADJUDICATION = "no-remittance"
"""Accepted by the payer (277CA), and no 835 paid or denied it."""

_STAGE_OF_STATUS = {ClaimStatus.SUBMITTED: AWAITING_ACKNOWLEDGMENT, ClaimStatus.ACCEPTED: AWAITING_ADJUDICATION}


@dataclass
class StuckClaims:
    """The stuck claims of one tenant at one payer at one stage, oldest first."""

    tenant_id: str
    payer_id: str
    stage: str
    count: int
    oldest_submitted_at: datetime
    claim_ids: list[str]

    def oldest_age_days(self, now: datetime) -> float:
        """Days since the oldest of them was submitted."""
        return (now - self.oldest_submitted_at).total_seconds() / 86400


async def stuck_claims(
    session: AsyncSession, *, now: datetime, after_days: int, ids_per_group: int = 20
) -> list[StuckClaims]:
    """Claims submitted at least ``after_days`` ago and still submitted or accepted, grouped; most claims first."""
    cutoff = now - timedelta(days=after_days)
    waiting = (
        col(Claim.status).in_(list(_STAGE_OF_STATUS)),
        col(Claim.submitted_at).is_not(None),
        col(Claim.submitted_at) <= cutoff,
    )
    totals = await session.exec(
        select(Claim.tenant_id, Claim.payer_id, Claim.status, func.count())
        .where(*waiting)
        .group_by(col(Claim.tenant_id), col(Claim.payer_id), col(Claim.status))
    )
    groups: list[StuckClaims] = []
    for tenant_id, payer_id, status, count in totals.all():
        oldest_first = (
            await session.exec(
                select(Claim.id, Claim.submitted_at)
                .where(
                    *waiting,
                    col(Claim.tenant_id) == tenant_id,
                    col(Claim.status) == status,
                    (col(Claim.payer_id) == payer_id) if payer_id is not None else col(Claim.payer_id).is_(None),
                )
                .order_by(col(Claim.submitted_at), col(Claim.id))
                .limit(ids_per_group)
            )
        ).all()
        oldest = oldest_first[0][1]
        assert oldest is not None  # the query only takes submitted claims
        groups.append(
            StuckClaims(
                tenant_id=tenant_id,
                payer_id=payer_id or "",
                stage=_STAGE_OF_STATUS[status],
                count=int(count),
                oldest_submitted_at=oldest,
                claim_ids=[claim_id for claim_id, _ in oldest_first],
            )
        )
    return sorted(groups, key=lambda g: (-g.count, g.oldest_submitted_at, g.tenant_id, g.payer_id))
