"""The one X12 writer: models → segments, with envelopes, trailer counts and HL numbering computed here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from claimflow_x12.envelope import Envelope, FunctionalGroup, Interchange
from claimflow_x12.errors import X12WriteError
from claimflow_x12.model import GenericSegment, Loop, LoopSpec, Segment, codec_for, loop_spec
from claimflow_x12.tokenizer import Separators
from claimflow_x12.transaction import Transaction

__all__ = ["iter_interchange_segments", "serialize", "transaction_segments", "write_interchange"]

_Encoder = Callable[[Segment, str, str], list[str]]
DEFAULT_SEPARATORS = Separators()
_ENCODERS: dict[type[Segment], _Encoder] = {}


def _encoder(cls: type[Segment]) -> _Encoder:
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        encoder = codec_for(cls).encode
        _ENCODERS[cls] = encoder
    return encoder


class _SegmentWriter:
    """Turns segments into text for one set of separators, checking that no value breaks the syntax."""

    __slots__ = ("cs", "es", "rs", "term")

    def __init__(self, separators: Separators) -> None:
        self.es = separators.element
        self.cs = separators.component
        self.rs = separators.repetition
        self.term = separators.segment

    def text(self, segment: Segment) -> str:
        """The segment as text, without its terminator."""
        cls = type(segment)
        if cls is GenericSegment:
            assert isinstance(segment, GenericSegment)
            elements = [segment.tag, *segment.elements]
        else:
            elements = _encoder(cls)(segment, self.cs, self.rs)
        line = self.es.join(elements)
        if self.term in line or line.count(self.es) != len(elements) - 1:
            raise X12WriteError(f"{elements[0]} segment contains a separator character in a value: {line!r}")
        return line

    def elements(self, elements: Sequence[str]) -> str:
        """Join already-built elements (envelope and HL segments the writer computes)."""
        return self.es.join(elements)


def _has_hl_children(obj: Loop, spec: LoopSpec) -> bool:
    for slot in spec.slots:
        if slot.loop is not None and slot.loop.hl_level is not None and getattr(obj, slot.name):
            return True
    return False


def _write_loop(obj: Loop, spec: LoopSpec, out: list[str], writer: _SegmentWriter, hl: list[int], parent: str) -> None:
    extras = obj.extra_segments
    pending = 0
    count = 0
    hl_id = parent
    es, cs, rs, term = writer.es, writer.cs, writer.rs, writer.term
    encoders = _ENCODERS
    append = out.append
    if spec.hl_level is not None:
        hl[0] += 1
        hl_id = str(hl[0])
        fields = ["HL", hl_id, parent, spec.hl_level]
        if spec.hl_child_code:
            fields.append("1" if _has_hl_children(obj, spec) else "0")
        append(es.join(fields))
        count = 1
    for slot in spec.slots:
        value = getattr(obj, slot.name)
        if value is None:
            continue
        items: Iterable[Any] = value if slot.many else (value,)
        child = slot.loop
        for item in items:
            while pending < len(extras) and extras[pending].index <= count:
                append(writer.text(extras[pending].segment))
                pending += 1
            count += 1
            if child is not None:
                _write_loop(item, child, out, writer, hl, hl_id)
                continue
            encoder = encoders.get(type(item))
            if encoder is None:
                append(writer.text(item))
                continue
            elements = encoder(item, cs, rs)
            line = es.join(elements)
            if term in line or line.count(es) != len(elements) - 1:
                raise X12WriteError(f"{elements[0]} segment contains a separator character in a value: {line!r}")
            append(line)
    while pending < len(extras):
        append(writer.text(extras[pending].segment))
        pending += 1


def transaction_segments(
    transaction: Transaction, separators: Separators = DEFAULT_SEPARATORS, control_number: str | None = None
) -> list[str]:
    """The segments (without terminators) of one transaction set, ST through SE."""
    if control_number is not None and control_number != transaction.header.control_number:
        header = dataclasses.replace(transaction.header, control_number=control_number)
        transaction = dataclasses.replace(transaction, header=header)
    writer = _SegmentWriter(separators)
    out: list[str] = []
    _write_loop(transaction, loop_spec(type(transaction)), out, writer, [0], "")
    out.append(writer.elements(["SE", str(len(out) + 1), transaction.header.control_number]))
    return out


def iter_interchange_segments(interchange: Interchange) -> Iterator[str]:
    """Yield the segments of an interchange one by one, so large files can be written to a stream."""
    separators = interchange.separators
    writer = _SegmentWriter(separators)
    header = interchange.header
    isa = codec_for(type(header)).encode(header, separators.component, separators.repetition)
    yield writer.elements(isa)
    for ack in interchange.acknowledgments:
        yield writer.text(ack)
    for group in interchange.groups:
        yield writer.text(group.header)
        for transaction in group.transactions:
            if not isinstance(transaction, Transaction):
                raise X12WriteError(f"{type(transaction).__name__} is not a transaction set model")
            yield from transaction_segments(transaction, separators)
        yield writer.elements(["GE", str(len(group.transactions)), str(group.header.control_number)])
    yield writer.elements(["IEA", str(len(interchange.groups)), f"{header.control_number:09d}"])


def serialize(interchange: Interchange, stream: IO[str] | None = None) -> str:
    """Write an interchange (for example one returned by ``parse``) as X12 text, optionally to ``stream``."""
    terminator = interchange.separators.terminator
    if stream is None:
        return terminator.join(iter_interchange_segments(interchange)) + terminator
    for segment in iter_interchange_segments(interchange):
        stream.write(segment)
        stream.write(terminator)
    return ""


def build_interchange(
    envelope: Envelope, transactions: Sequence[Transaction], separators: Separators = DEFAULT_SEPARATORS
) -> Interchange:
    """Wrap transaction sets of one kind in ISA/GS envelopes using the envelope's allocated control numbers."""
    if not transactions:
        raise X12WriteError("an interchange needs at least one transaction set")
    kinds = {(type(t).functional_id_code, type(t).implementation_reference) for t in transactions}
    if len(kinds) != 1 or ("", "") in kinds:
        raise X12WriteError(f"one functional group holds one kind of typed transaction set, got {sorted(kinds)}")
    functional_id, version = kinds.pop()
    numbers = envelope.transaction_control_numbers or list(range(1, len(transactions) + 1))
    if len(numbers) != len(transactions):
        raise X12WriteError(f"{len(numbers)} ST02 control numbers allocated for {len(transactions)} transaction sets")
    if len(set(numbers)) != len(numbers):
        raise X12WriteError("ST02 control numbers must be unique within the group")
    stamped: list[Loop] = []
    for transaction, number in zip(transactions, numbers, strict=True):
        header = dataclasses.replace(transaction.header, control_number=f"{number:04d}")
        stamped.append(dataclasses.replace(transaction, header=header))
    group = FunctionalGroup(header=envelope.gs(functional_id, version), transactions=stamped)
    return Interchange(header=envelope.isa(), separators=separators, groups=[group])


def write_interchange(
    envelope: Envelope,
    transactions: Sequence[Transaction],
    separators: Separators = DEFAULT_SEPARATORS,
    stream: IO[str] | None = None,
) -> str:
    """Write transaction sets as a complete interchange (ISA/GS/ST...SE/GE/IEA) with correct counts."""
    return serialize(build_interchange(envelope, transactions, separators), stream)
