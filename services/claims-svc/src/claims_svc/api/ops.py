"""Installation-level ops endpoints of claims-svc (ops token, across tenants): stuck claims, timeline search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from claimflow_kit.app import ContextDep, SessionDep
from claimflow_kit.auth import OpsAccess
from claimflow_kit.tables import utcnow
from claims_svc.config import ClaimsSettings
from claims_svc.service.stuck import stuck_claims
from claims_svc.service.timeline import search_timelines

router = APIRouter(prefix="/ops", tags=["operations"], dependencies=[OpsAccess])


class StuckClaimsOut(BaseModel):
    """Claims of one tenant at one payer waiting too long for an acknowledgment or a remittance."""

    tenant_id: str
    payer_id: str
    stage: str
    count: int
    oldest_submitted_at: datetime
    oldest_age_days: float
    claim_ids: list[str]


class StuckClaimsReport(BaseModel):
    """Every group of stuck claims, most claims first."""

    checked_at: datetime
    stuck_after_days: int
    total: int
    groups: list[StuckClaimsOut]


class TimelineEventOut(BaseModel):
    """One event of a cycle (ids and types only)."""

    occurred_at: datetime
    event_type: str
    source: str
    subject: str
    event_id: str
    summary: str | None


class TimelineOut(BaseModel):
    """One encounter's cycle across services."""

    tenant_id: str
    correlation_id: str
    encounter_ids: list[str]
    claim_ids: list[str]
    events: list[TimelineEventOut]


@router.get("/stuck-claims", response_model=StuckClaimsReport)
async def get_stuck_claims(
    session: SessionDep,
    context: ContextDep,
    after_days: Annotated[
        int | None, Query(ge=0, le=3650, description="Default: the status_followup_after_days setting.")
    ] = None,
) -> StuckClaimsReport:
    """Claims submitted or accepted with no 277CA / 835 after N days, per tenant, payer and what is missing."""
    settings = context.settings
    assert isinstance(settings, ClaimsSettings)
    days = settings.status_followup_after_days if after_days is None else after_days
    now = utcnow()
    groups = await stuck_claims(session, now=now, after_days=days)
    return StuckClaimsReport(
        checked_at=now,
        stuck_after_days=days,
        total=sum(g.count for g in groups),
        groups=[
            StuckClaimsOut(
                tenant_id=g.tenant_id,
                payer_id=g.payer_id,
                stage=g.stage,
                count=g.count,
                oldest_submitted_at=g.oldest_submitted_at,
                oldest_age_days=round(g.oldest_age_days(now), 2),
                claim_ids=g.claim_ids,
            )
            for g in groups
        ],
    )


@router.get("/timeline", response_model=list[TimelineOut])
async def search_timeline(
    session: SessionDep,
    q: Annotated[str, Query(min_length=3, max_length=64, description="A claim id, encounter id or correlation id.")],
) -> list[TimelineOut]:
    """The cycles the id names, each with its events in order (audited in each tenant's log)."""
    found = await search_timelines(session, q.strip())
    return [
        TimelineOut(
            tenant_id=t.tenant_id,
            correlation_id=t.correlation_id,
            encounter_ids=t.encounter_ids,
            claim_ids=t.claim_ids,
            events=[TimelineEventOut.model_validate(entry, from_attributes=True) for entry in t.entries],
        )
        for t in found
    ]
