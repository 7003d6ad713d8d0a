"""Payer response times of real-time eligibility, measured against the CAQH CORE 20-second rule.

CORE (eligibility real-time response time): a response within 20 seconds, conformance being at least 90 % of
responses within that time. A check that timed out counts as over the limit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CORE_REALTIME_SECONDS = 20.0
CORE_CONFORMANCE_SHARE = 0.90


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of non-empty ``values``: a value that was observed."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be within 0..1")
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


@dataclass(frozen=True)
class PayerLatency:
    """How fast one payer answered real-time checks in a window."""

    payer_id: str
    count: int
    p50_seconds: float
    p95_seconds: float
    max_seconds: float
    over_limit: int

    @property
    def share_over_limit(self) -> float:
        """Part of the checks answered after the limit (or never)."""
        return self.over_limit / self.count

    @property
    def conformant(self) -> bool:
        """At least 90 % answered within the limit."""
        return 1 - self.share_over_limit >= CORE_CONFORMANCE_SHARE


@dataclass(frozen=True)
class LatencySample:
    """One real-time check: its payer, how long it took, and whether the payer answered at all."""

    payer_id: str
    seconds: float
    answered: bool = True


def payer_latencies(
    samples: Iterable[LatencySample], *, limit_seconds: float = CORE_REALTIME_SECONDS
) -> list[PayerLatency]:
    """Per payer (sorted by payer id): count, p50, p95, max, and how many were late or never answered."""
    by_payer: dict[str, list[LatencySample]] = defaultdict(list)
    for sample in samples:
        by_payer[sample.payer_id].append(sample)
    summaries = []
    for payer_id, taken in sorted(by_payer.items()):
        seconds = [sample.seconds for sample in taken]
        summaries.append(
            PayerLatency(
                payer_id=payer_id,
                count=len(taken),
                p50_seconds=percentile(seconds, 0.50),
                p95_seconds=percentile(seconds, 0.95),
                max_seconds=max(seconds),
                over_limit=sum(1 for sample in taken if not sample.answered or sample.seconds > limit_seconds),
            )
        )
    return summaries
