"""Fuzzing every entry point of the X12 library with structurally mutated documents of every guide.

``test_properties.py`` flips random bytes of the samples; most such files break in the ISA and never reach the
guides. Here the samples are edited segment by segment (``claimflow_x12.testing``), so the mutations reach every
loop and element decoder of 837P, 837I, 835, 270/271, 276/277, 277CA and 999. Whatever comes in, the library answers
with ``X12Error``s (or ``X12ParseError`` in strict mode; ``X12WriteError`` when a model cannot be written back),
never with any other exception, and every reader agrees with the others.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimflow_x12 import (
    Envelope,
    ParseResult,
    Transaction,
    X12ParseError,
    X12WriteError,
    build_999,
    build_ta1,
    iter_segments,
    iter_transactions,
    parse,
    serialize,
    to_jsonable,
    validate,
    write_interchange,
)
from claimflow_x12.guides import (
    claim_837i,
    claim_837p,
    claim_ack_277ca,
    claim_status_276_277,
    eligibility_270_271,
    remittance_835,
)
from claimflow_x12.testing import Document, mutated_documents

ACK_ENVELOPE = Envelope(
    sender_id="CLEARHOUSE", receiver_id="CLAIMFLOW", interchange_control_number=1, group_control_number=1
)
SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.x12"))
# Same inputs on every default run (CI fails on a change, not on a draw); CLAIMFLOW_LONG_TESTS=1 explores new ones.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CLAIMFLOW_LONG_TESTS") != "1",
    suppress_health_check=[HealthCheck.too_slow],
)

# The flat accessors services call on a parsed transaction, by its model type.
ACCESSORS: dict[type[Transaction], Callable[[Any], Iterator[Any]]] = {
    claim_837p.Claim837P: claim_837p.iter_claims,
    claim_837i.Claim837I: claim_837i.iter_claims,
    remittance_835.Remittance835: remittance_835.iter_claim_payments,
    eligibility_270_271.EligibilityResponse271: eligibility_270_271.summarize_eligibility,
    claim_ack_277ca.ClaimAcknowledgment277CA: claim_ack_277ca.iter_acknowledged_claims,
    claim_status_276_277.ClaimStatusResponse277: claim_status_276_277.iter_claim_statuses,
}


def _touch(item: object) -> None:
    """Read every property of an accessor's item (they compute from the parsed data) and its JSON view."""
    for name in dir(type(item)):
        if not name.startswith("_") and isinstance(getattr(type(item), name), property):
            getattr(item, name)
    to_jsonable(item)


def read_everything(document: str | bytes) -> ParseResult:
    """What a service does with a document it receives; only the library's own errors may come out."""
    result = parse(document)
    validate(result)
    acknowledgments = build_999(result)
    if acknowledgments:  # what a clearinghouse sends back must be writable, whatever it acknowledges
        write_interchange(ACK_ENVELOPE, acknowledgments)
        for parsed in result.groups[0].transactions[:1]:
            write_interchange(ACK_ENVELOPE, acknowledgments, parsed.separators)
    for interchange in result.interchanges:
        build_ta1(interchange.header, result.errors)
        with contextlib.suppress(X12WriteError):
            serialize(interchange)
    for transaction in result.transactions:
        to_jsonable(transaction)
        accessor = ACCESSORS.get(type(transaction))
        if accessor is not None:
            for item in accessor(transaction):
                _touch(item)
    streamed = [parsed.transaction for parsed in iter_transactions(io.BytesIO(_bytes(document)), chunk_size=512)]
    assert [t for t in streamed if t is not None] == result.transactions
    try:
        strict = parse(document, strict=True)
    except X12ParseError:
        assert result.errors, "strict mode failed on a document the lenient parse found no error in"
    else:
        assert result.errors == [], "strict mode accepted a document the lenient parse found errors in"
        assert strict.transactions == result.transactions
    return result


def _bytes(document: str | bytes) -> bytes:
    return document.encode() if isinstance(document, str) else document


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_samples_split_and_join_byte_exact(path: Path) -> None:
    text = path.read_bytes().decode()
    assert Document.read(text).write() == text
    assert read_everything(text).errors == []


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
@FUZZ
@given(data=st.data())
def test_structurally_mutated_documents_only_raise_x12_errors(path: Path, data: st.DataObject) -> None:
    document = data.draw(mutated_documents(path.read_bytes().decode()), label="document")
    read_everything(document)


@FUZZ
@given(
    documents=st.lists(st.sampled_from(SAMPLES), min_size=2, max_size=3).flatmap(
        lambda paths: st.tuples(*(mutated_documents(p.read_bytes().decode(), max_edits=2) for p in paths))
    )
)
def test_interchanges_of_several_guides_in_one_file(documents: tuple[str, ...]) -> None:
    read_everything("\n".join(documents))


@FUZZ
@given(
    head=st.sampled_from(["", "ISA", "ISA*", "ISA|00|", "\ufeffISA*00*"]),
    body=st.binary(max_size=400) | st.text(max_size=400).map(str.encode),
)
def test_arbitrary_input_only_raises_x12_errors(head: str, body: bytes) -> None:
    read_everything(head.encode() + body)


def _segments(source: str | bytes | io.BytesIO, chunk_size: int) -> tuple[list[list[str]], str | None]:
    """The segments the tokenizer yields and the code of the error that stopped it, if any."""
    segments: list[list[str]] = []
    try:
        for segment in iter_segments(source, chunk_size=chunk_size):
            segments.append(segment)
    except X12ParseError as exc:
        return segments, str(exc.error.code)
    return segments, None


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
@FUZZ
@given(data=st.data(), chunk_size=st.integers(min_value=1, max_value=300))
def test_the_tokenizer_reads_the_same_segments_whatever_the_chunk_size(
    path: Path, data: st.DataObject, chunk_size: int
) -> None:
    document = data.draw(mutated_documents(path.read_bytes().decode(), max_edits=3), label="document")
    whole = _segments(document, 1 << 20)
    assert _segments(io.BytesIO(document.encode()), chunk_size) == whole
    assert _segments(document, chunk_size) == whole
