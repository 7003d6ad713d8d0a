"""Tokenizer: separators from the ISA, line breaks, several groups/interchanges, chunked streaming."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from claimflow_x12 import X12ParseError, iter_segments, iter_transactions, parse
from claimflow_x12.tokenizer import Separators, detect_separators

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240105*1200*^*00501*000000001*0*P*:~"


def test_separators_are_read_from_the_isa_not_assumed(read_sample: Callable[[str], str]) -> None:
    separators, offset = detect_separators(read_sample("835_multi_claim_reversal_plb.x12"))
    assert separators == Separators(element="|", component=">", repetition="!", segment="'")
    assert offset == 106


def test_line_breaks_after_terminators_are_detected_and_skipped(read_sample: Callable[[str], str]) -> None:
    text = read_sample("837i_outpatient.x12")
    separators, _ = detect_separators(text)
    assert separators.line_break == "\r\n"
    segments = list(iter_segments(text))
    assert [s[0] for s in segments[:3]] == ["ISA", "GS", "ST"]
    assert all("\n" not in e and "\r" not in e for s in segments for e in s)


def test_unpadded_isa_is_read_by_counting_separators() -> None:
    text = "ISA*00**00**ZZ*A*ZZ*B*240105*1200*^*00501*000000001*0*P*:~GS*HC*A*B*20240105*1200*1*X*005010X222A1~"
    separators, _ = detect_separators(text)
    assert separators.component == ":"
    assert [s[0] for s in iter_segments(text)] == ["ISA", "GS"]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
def test_chunked_stream_yields_the_same_segments_as_whole_text(
    read_sample: Callable[[str], str], chunk_size: int
) -> None:
    text = read_sample("271_benefits_and_errors.x12")
    whole = list(iter_segments(text))
    streamed = list(iter_segments(io.BytesIO(text.encode()), chunk_size=chunk_size))
    assert streamed == whole


def test_repetition_separator_splits_repeating_elements(read_sample: Callable[[str], str]) -> None:
    result = parse(read_sample("270_subscriber_dependent.x12"))
    inquiry = result.transactions[0].sources[0].receivers[0].subscribers[0].dependents[0].inquiries[0]  # type: ignore[attr-defined]
    assert inquiry.inquiry.service_type_codes == ["98", "86"]


def test_two_interchanges_with_different_separators_in_one_stream(read_sample: Callable[[str], str]) -> None:
    text = read_sample("835_multi_claim_reversal_plb.x12") + "\n" + read_sample("837p_dependent_corrected.x12")
    result = parse(io.BytesIO(text.encode()))
    assert result.errors == []
    assert [i.separators.element for i in result.interchanges] == ["|", "*"]
    assert [type(t).__name__ for t in result.transactions] == ["Remittance835", "Claim837P"]


@pytest.mark.parametrize("chunk_size", [5, 64, 1 << 20])
def test_an_interchange_ends_at_its_iea_segment_not_at_iea_text_inside_a_segment(
    read_sample: Callable[[str], str], chunk_size: int
) -> None:
    claim = read_sample("837p_dependent_corrected.x12").replace("N3*42 ELM AVENUE~", "N3*IEA*42 ELM AVENUE~", 1)
    text = claim + "\r\n" + read_sample("837i_outpatient.x12") + read_sample("835_multi_claim_reversal_plb.x12")
    whole = list(iter_segments(text))
    assert [s[0] for s in whole].count("IEA") == 3
    assert ["N3", "IEA", "42 ELM AVENUE"] in whole
    assert list(iter_segments(io.BytesIO(text.encode()), chunk_size=chunk_size)) == whole
    result = parse(io.BytesIO(text.encode()), chunk_size=chunk_size)
    assert result.errors == []
    assert [i.separators.element for i in result.interchanges] == ["*", "*", "|"]
    assert [type(t).__name__ for t in result.transactions] == ["Claim837P", "Claim837I", "Remittance835"]


def test_a_chunk_of_many_segments_yields_every_segment_once(read_sample: Callable[[str], str]) -> None:
    """Segments are split in batches: a chunk holding thousands of them still gives each one, in order."""
    isa, gs, *body = read_sample("837p_dependent_corrected.x12").rstrip("~").split("~")[:-2]
    sets = [s.replace("*0001", f"*{n:04d}") if s.startswith(("ST*", "SE*")) else s for n in range(1, 41) for s in body]
    text = "~".join([isa, gs, *sets, "GE*40*101", "IEA*1*000000101"]) + "~"
    segments = list(iter_segments(text))
    assert len(segments) == 2 + 40 * len(body) + 2
    assert [s[0] for s in segments[-3:]] == ["SE", "GE", "IEA"]
    assert list(iter_segments(io.BytesIO(text.encode()), chunk_size=7)) == segments
    assert [p.transaction.control_number for p in iter_transactions(text) if p.transaction] == [
        f"{n:04d}" for n in range(1, 41)
    ]


def test_several_groups_and_transaction_sets_in_one_interchange(read_sample: Callable[[str], str]) -> None:
    claim = read_sample("837p_dependent_corrected.x12").split("~")
    body = [s for s in claim if s and not s.startswith(("ISA", "GS", "GE", "IEA"))]
    second = [s.replace("*0001", "*0002") if s.startswith(("ST", "SE")) else s for s in body]
    text = "~".join(
        [claim[0], claim[1], *body, *second, "GE*2*101", claim[1].replace("*101*", "*102*"), *body, "GE*1*102",
         "IEA*2*000000101"]
    ) + "~"  # fmt: skip
    result = parse(text)
    assert result.errors == []
    assert [len(g.transactions) for g in result.interchanges[0].groups] == [2, 1]
    assert [t.control_number for t in result.transactions] == ["0001", "0002", "0001"]


def test_input_that_is_not_x12_raises_the_library_error() -> None:
    with pytest.raises(X12ParseError) as caught:
        list(iter_segments("hello world, this is not an interchange"))
    assert caught.value.error.segment_id == "ISA"


def test_invalid_utf8_is_reported_not_crashed() -> None:
    result = parse(ISA.encode() + b"GS*HC*\xff\xfe*B~")
    assert result.errors
    assert "utf-8" in result.errors[0].message


def test_separators_must_be_distinct() -> None:
    with pytest.raises(ValueError, match="distinct"):
        Separators(element="*", component="*")
