"""Response times of the real-time checks each payer answered recently (for the ops view)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from eligibility_svc.adapters.tables import CoverageCheck
from eligibility_svc.domain.latency import LatencySample, PayerLatency, payer_latencies

REAL_TIME_ORIGIN = "request"
"""Only real-time checks measure the payer: batch and pre-check rows also count their time in the queue."""
UNANSWERED = frozenset({"timeout"})
"""Statuses of checks the payer did not answer within the deadline: late by definition."""


async def recent_payer_latencies(session: AsyncSession, *, now: datetime, window: timedelta) -> list[PayerLatency]:
    """Per payer latency of the real-time checks completed within ``window`` before ``now``."""
    rows = await session.exec(
        select(CoverageCheck.payer_id, CoverageCheck.status, CoverageCheck.created_at, CoverageCheck.completed_at)
        .where(
            col(CoverageCheck.origin) == REAL_TIME_ORIGIN,
            col(CoverageCheck.completed_at).is_not(None),
            col(CoverageCheck.completed_at) >= now - window,
        )
        .order_by(col(CoverageCheck.completed_at))
    )
    samples = []
    for payer_id, status, created_at, completed_at in rows.all():
        assert completed_at is not None  # the query only takes completed checks
        seconds = max((completed_at - created_at).total_seconds(), 0.0)
        samples.append(LatencySample(payer_id or "unknown", seconds, answered=status not in UNANSWERED))
    return payer_latencies(samples)
