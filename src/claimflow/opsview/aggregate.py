"""Pure aggregation of broker samples: per-topic totals and rates, per-group lag and consumption rates.

A sample is what the ops view read from Kafka at one moment: each partition's end offset (its high watermark)
and each consumer group's committed offset. Rates are differences between two samples over the time between
them; the embedded broker forgets everything when it restarts, so an offset that went back counts from zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BrokerSample:
    """End offsets per (topic, partition) and committed offsets per (group, topic, partition) at ``taken_at``."""

    taken_at: float  # monotonic seconds
    end_offsets: Mapping[tuple[str, int], int]
    committed: Mapping[tuple[str, str, int], int]


@dataclass(frozen=True)
class TopicFlow:
    """How many records a topic holds and how many arrive per second."""

    topic: str
    messages: int
    per_second: float | None


@dataclass(frozen=True)
class GroupFlow:
    """Where one consumer group stands on one topic: committed, end, lag, and records consumed per second."""

    group: str
    topic: str
    committed: int
    end: int
    lag: int
    per_second: float | None


def increase_per_second(before: int, after: int, seconds: float) -> float:
    """Growth of a counter per second; a counter that went back (broker restart) started again from zero."""
    if seconds <= 0:
        return 0.0
    grown = after - before if after >= before else after
    return grown / seconds


def partition_lag(end: int, committed: int | None) -> int:
    """Records of a partition the group has not consumed (all of them when it never committed)."""
    return max(end - (committed if committed is not None and committed >= 0 else 0), 0)


def rate_baseline(history: Sequence[BrokerSample], window_seconds: float) -> BrokerSample | None:
    """The oldest sample within ``window_seconds`` of the newest, to measure rates against (None: too few)."""
    if len(history) < 2:
        return None
    newest = history[-1]
    baseline = history[-2]
    for sample in reversed(history[:-1]):
        if newest.taken_at - sample.taken_at > window_seconds:
            break
        baseline = sample
    return baseline


def topic_flows(current: BrokerSample, baseline: BrokerSample | None, topics: Iterable[str]) -> list[TopicFlow]:
    """Per topic: records held (sum of partition end offsets) and arrival rate since ``baseline``."""
    flows = []
    for topic in topics:
        partitions = [p for (t, p) in current.end_offsets if t == topic]
        messages = sum(current.end_offsets[(topic, p)] for p in partitions)
        per_second = None
        if baseline is not None:
            elapsed = current.taken_at - baseline.taken_at
            per_second = sum(
                increase_per_second(baseline.end_offsets.get((topic, p), 0), current.end_offsets[(topic, p)], elapsed)
                for p in partitions
            )
        flows.append(TopicFlow(topic, messages, per_second))
    return flows


def group_flows(
    current: BrokerSample, baseline: BrokerSample | None, groups: Mapping[str, Sequence[str]]
) -> list[GroupFlow]:
    """Per consumer group and topic it reads: committed offsets, end offsets, lag and consumption rate."""
    flows = []
    for group, topics in groups.items():
        for topic in topics:
            partitions = sorted(p for (t, p) in current.end_offsets if t == topic)
            committed = {p: current.committed.get((group, topic, p)) for p in partitions}
            end = sum(current.end_offsets[(topic, p)] for p in partitions)
            per_second = None
            if baseline is not None:
                elapsed = current.taken_at - baseline.taken_at
                per_second = sum(
                    increase_per_second(
                        max(baseline.committed.get((group, topic, p), 0), 0), max(committed[p] or 0, 0), elapsed
                    )
                    for p in partitions
                )
            flows.append(
                GroupFlow(
                    group=group,
                    topic=topic,
                    committed=sum(max(c or 0, 0) for c in committed.values()),
                    end=end,
                    lag=sum(partition_lag(current.end_offsets[(topic, p)], committed[p]) for p in partitions),
                    per_second=per_second,
                )
            )
    return flows
