"""Installation-level ops endpoint of eligibility-svc (ops token, across tenants): payer response latency."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from claimflow_kit.app import SessionDep
from claimflow_kit.auth import OpsAccess
from claimflow_kit.tables import utcnow
from eligibility_svc.domain.latency import CORE_CONFORMANCE_SHARE, CORE_REALTIME_SECONDS
from eligibility_svc.service.latency import recent_payer_latencies

router = APIRouter(prefix="/ops", tags=["operations"], dependencies=[OpsAccess])


class PayerLatencyOut(BaseModel):
    """How fast one payer answered real-time 270s in the window."""

    payer_id: str
    count: int
    p50_seconds: float
    p95_seconds: float
    max_seconds: float
    over_limit: int
    share_over_limit: float
    conformant: bool


class PayerLatencyReport(BaseModel):
    """Every payer asked in real time within the window, against the CORE rule."""

    checked_at: datetime
    window_minutes: int
    limit_seconds: float
    conformance_share: float
    payers: list[PayerLatencyOut]


@router.get("/payer-latency", response_model=PayerLatencyReport)
async def payer_latency(
    session: SessionDep,
    window_minutes: Annotated[int, Query(ge=1, le=60 * 24 * 31)] = 60,
) -> PayerLatencyReport:
    """Per payer p50/p95/max response time of real-time eligibility, and the share over CORE's 20 seconds."""
    now = utcnow()
    payers = await recent_payer_latencies(session, now=now, window=timedelta(minutes=window_minutes))
    return PayerLatencyReport(
        checked_at=now,
        window_minutes=window_minutes,
        limit_seconds=CORE_REALTIME_SECONDS,
        conformance_share=CORE_CONFORMANCE_SHARE,
        payers=[
            PayerLatencyOut(
                payer_id=p.payer_id,
                count=p.count,
                p50_seconds=round(p.p50_seconds, 3),
                p95_seconds=round(p.p95_seconds, 3),
                max_seconds=round(p.max_seconds, 3),
                over_limit=p.over_limit,
                share_over_limit=round(p.share_over_limit, 4),
                conformant=p.conformant,
            )
            for p in payers
        ],
    )
