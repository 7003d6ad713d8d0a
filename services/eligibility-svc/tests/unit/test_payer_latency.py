"""Payer response latency against the CORE 20-second rule (pure: no database)."""

from __future__ import annotations

import pytest

from eligibility_svc.domain.latency import LatencySample, payer_latencies, percentile


def test_percentile_is_nearest_rank_of_observed_values() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 0.50) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 1.0) == 20.0
    assert percentile(values, 0.0) == 1.0
    assert percentile([7.5], 0.95) == 7.5
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 1.5)


def test_payer_latencies_per_payer_with_late_and_unanswered_checks() -> None:
    samples = [LatencySample("FAST", s) for s in (0.4, 0.6, 0.5, 1.2)]
    samples += [LatencySample("SLOW", s) for s in (2.0, 3.0, 25.0, 21.0)]
    samples.append(LatencySample("SLOW", 4.0, answered=False))  # a timeout with a short deadline is still late
    fast, slow = payer_latencies(samples)
    assert (fast.payer_id, fast.count, fast.p50_seconds, fast.max_seconds, fast.over_limit) == ("FAST", 4, 0.5, 1.2, 0)
    assert fast.conformant
    assert (slow.payer_id, slow.count, slow.over_limit) == ("SLOW", 5, 3)
    assert slow.share_over_limit == pytest.approx(0.6)
    assert slow.p95_seconds == 25.0
    assert not slow.conformant


def test_conformance_needs_ninety_percent_within_the_limit() -> None:
    nine_of_ten = [LatencySample("P", 1.0)] * 9 + [LatencySample("P", 30.0)]
    assert payer_latencies(nine_of_ten)[0].conformant
    eight_of_ten = [LatencySample("P", 1.0)] * 8 + [LatencySample("P", 30.0)] * 2
    assert not payer_latencies(eight_of_ten)[0].conformant
    assert payer_latencies([LatencySample("P", 20.0)])[0].over_limit == 0, "20 s exactly is within the rule"
