"""Streaming: peak memory stays flat as the file grows (segments and transaction sets are read one at a time)."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable

from claimflow_x12 import iter_segments, iter_transactions


def _many_transactions(read_sample: Callable[[str], str], count: int) -> bytes:
    segments = read_sample("837p_dependent_corrected.x12").rstrip("~").split("~")
    isa, gs, body = segments[0], segments[1], segments[2:-2]
    sets = []
    for number in range(1, count + 1):
        control = f"{number:04d}"
        sets += [s.replace("*0001", f"*{control}") if s.startswith(("ST*", "SE*")) else s for s in body]
    return ("~".join([isa, gs, *sets, f"GE*{count}*101", "IEA*1*000000101"]) + "~").encode()


def _peak(source: io.BytesIO, consume: Callable[[io.BytesIO], int]) -> tuple[int, int]:
    tracemalloc.start()
    try:
        seen = consume(source)
        return tracemalloc.get_traced_memory()[1], seen
    finally:
        tracemalloc.stop()


def test_transaction_stream_memory_does_not_grow_with_file_size(read_sample: Callable[[str], str]) -> None:
    def consume(stream: io.BytesIO) -> int:
        seen = 0
        for parsed in iter_transactions(stream, chunk_size=16 * 1024):
            assert parsed.errors == []
            seen += 1
        return seen

    small_peak, small_seen = _peak(io.BytesIO(_many_transactions(read_sample, 40)), consume)
    large_peak, large_seen = _peak(io.BytesIO(_many_transactions(read_sample, 800)), consume)
    assert (small_seen, large_seen) == (40, 800)
    assert large_peak < small_peak * 1.5


def test_segment_stream_memory_does_not_grow_with_file_size(read_sample: Callable[[str], str]) -> None:
    def consume(stream: io.BytesIO) -> int:
        return sum(1 for _ in iter_segments(stream, chunk_size=16 * 1024))

    small_peak, small_seen = _peak(io.BytesIO(_many_transactions(read_sample, 40)), consume)
    large_peak, large_seen = _peak(io.BytesIO(_many_transactions(read_sample, 800)), consume)
    assert large_seen > small_seen * 19
    assert large_peak < small_peak * 1.5
