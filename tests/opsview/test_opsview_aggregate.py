"""Rates, totals and lag computed from broker samples (pure functions: no broker needed)."""

from __future__ import annotations

import pytest

from claimflow.opsview.aggregate import (
    BrokerSample,
    group_flows,
    increase_per_second,
    partition_lag,
    rate_baseline,
    topic_flows,
)


def sample(
    at: float, ends: dict[tuple[str, int], int], committed: dict[tuple[str, str, int], int] | None = None
) -> BrokerSample:
    return BrokerSample(at, ends, committed or {})


def test_increase_per_second_counts_growth_and_a_reset_from_zero() -> None:
    assert increase_per_second(100, 130, 2.0) == 15.0
    assert increase_per_second(100, 100, 2.0) == 0.0
    assert increase_per_second(500, 20, 4.0) == 5.0, "the broker restarted: 20 records since"
    assert increase_per_second(1, 9, 0.0) == 0.0


def test_partition_lag_counts_everything_when_the_group_never_committed() -> None:
    assert partition_lag(120, 100) == 20
    assert partition_lag(120, None) == 120
    assert partition_lag(120, -1) == 120
    assert partition_lag(5, 9) == 0, "a committed offset past a reset end is no negative lag"


def test_rate_baseline_is_the_oldest_sample_within_the_window() -> None:
    history = [sample(t, {}) for t in (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)]
    assert rate_baseline(history[:1], 5.0) is None
    assert rate_baseline(history, 5.0) == history[3]
    assert rate_baseline(history, 100.0) == history[0]
    assert rate_baseline(history, 0.5) == history[4], "never the newest itself"


def test_topic_flows_sum_partitions_and_measure_arrivals() -> None:
    before = sample(10.0, {("a", 0): 10, ("a", 1): 5, ("b", 0): 7})
    after = sample(14.0, {("a", 0): 18, ("a", 1): 9, ("b", 0): 7, ("c", 0): 4})
    flows = {f.topic: f for f in topic_flows(after, before, ["a", "b", "c", "missing"])}
    assert flows["a"].messages == 27
    assert flows["a"].per_second == pytest.approx(3.0)
    assert flows["b"].per_second == 0.0
    assert flows["c"].per_second == pytest.approx(1.0), "a new partition counts from zero"
    assert flows["missing"].messages == 0
    assert topic_flows(after, None, ["a"])[0].per_second is None, "no rate from a single sample"


def test_group_flows_give_lag_and_consumption_rate_per_topic() -> None:
    before = sample(0.0, {("a", 0): 10, ("a", 1): 10}, {("g", "a", 0): 4})
    after = sample(
        2.0, {("a", 0): 14, ("a", 1): 10, ("b", 0): 3}, {("g", "a", 0): 10, ("g", "a", 1): 2, ("h", "b", 0): 3}
    )
    flows = {(f.group, f.topic): f for f in group_flows(after, before, {"g": ["a"], "h": ["b"]})}
    g = flows[("g", "a")]
    assert (g.committed, g.end, g.lag) == (12, 24, 4 + 8)
    assert g.per_second == pytest.approx((6 + 2) / 2)
    h = flows[("h", "b")]
    assert (h.committed, h.end, h.lag) == (3, 3, 0)
