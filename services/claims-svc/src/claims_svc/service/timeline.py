"""Finding an encounter's timeline from whatever id ops has at hand: claim id, encounter id or correlation id.

Installation-level (ops token) and therefore across tenants: timeline entries hold ids and event types only,
the minimum a person tracing an event needs. Every timeline shown is written to its tenant's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import ops_principal
from claims_svc.adapters.tables import Claim, TimelineEntry


@dataclass(frozen=True)
class FoundTimeline:
    """One encounter's cycle: its tenant, correlation id, the claims built from it and its events in order."""

    tenant_id: str
    correlation_id: str
    encounter_ids: list[str]
    claim_ids: list[str]
    entries: list[TimelineEntry]


async def _correlations(session: AsyncSession, query: str, limit: int) -> list[tuple[str, str]]:
    """(tenant, correlation id) of every cycle the id names, in a stable order."""
    found: dict[tuple[str, str], None] = {}
    by_claim = await session.exec(
        select(Claim.tenant_id, Claim.correlation_id)
        .where(or_(col(Claim.id) == query, col(Claim.encounter_id) == query))
        .limit(limit)
    )
    found.update(dict.fromkeys(by_claim.all()))
    by_event = await session.exec(
        select(TimelineEntry.tenant_id, TimelineEntry.correlation_id)
        .where(or_(col(TimelineEntry.correlation_id) == query, col(TimelineEntry.subject) == query))
        .distinct()
        .limit(limit)
    )
    found.update(dict.fromkeys(by_event.all()))
    return list(found)[:limit]


async def search_timelines(session: AsyncSession, query: str, *, limit: int = 10) -> list[FoundTimeline]:
    """The timelines (at most ``limit``) of the cycles ``query`` names; each read is audited."""
    timelines: list[FoundTimeline] = []
    for tenant_id, correlation_id in await _correlations(session, query, limit):
        entries = await session.exec(
            select(TimelineEntry)
            .where(col(TimelineEntry.tenant_id) == tenant_id, col(TimelineEntry.correlation_id) == correlation_id)
            .order_by(col(TimelineEntry.occurred_at), col(TimelineEntry.event_id))
        )
        claims = (
            await session.exec(
                select(Claim.id, Claim.encounter_id, Claim.patient_id)
                .where(col(Claim.tenant_id) == tenant_id, col(Claim.correlation_id) == correlation_id)
                .order_by(col(Claim.created_at), col(Claim.id))
            )
        ).all()
        audit(
            session,
            ops_principal(tenant_id),
            AuditAction.READ,
            "Timeline",
            correlation_id[:64],
            patient_id=claims[0][2] if claims else None,
            detail="installation-level ops timeline search",
        )
        timelines.append(
            FoundTimeline(
                tenant_id=tenant_id,
                correlation_id=correlation_id,
                encounter_ids=list(dict.fromkeys(claim[1] for claim in claims)),
                claim_ids=[claim[0] for claim in claims],
                entries=list(entries.all()),
            )
        )
    return timelines
