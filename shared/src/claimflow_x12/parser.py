"""Parser: segments from the tokenizer → typed transaction models, one transaction set at a time.

The structure of each guide is read from its loop classes (``At`` markers), so the parser is one generic walker:
a segment goes to the innermost open loop that accepts it at or after its current position, otherwise it closes
loops until an ancestor accepts it (as a segment or as the trigger of a new child loop). Segments no loop accepts
are kept, unchanged, in the innermost loop's ``extra_segments`` so that writing the model back is byte-exact.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import chain
from typing import Any

from claimflow_x12.envelope import FunctionalGroup, Gs, Interchange, Isa, Ta1
from claimflow_x12.errors import (
    ElementErrorCode,
    ErrorLevel,
    GroupErrorCode,
    InterchangeErrorCode,
    SegmentErrorCode,
    TransactionErrorCode,
    X12Error,
    X12ErrorCode,
    X12ParseError,
)
from claimflow_x12.model import (
    ENVELOPE_SEGMENT_IDS,
    Decoder,
    ElementDecodeError,
    ExtraSegment,
    GenericSegment,
    Loop,
    LoopSpec,
    Segment,
    Slot,
    decode_segment,
    loop_spec,
)
from claimflow_x12.segments import St
from claimflow_x12.tokenizer import DEFAULT_CHUNK_SIZE, Separators, Source, X12Tokenizer
from claimflow_x12.transaction import Transaction, transaction_class

__all__ = ["GroupReport", "ParseResult", "ParsedTransaction", "X12Reader", "iter_transactions", "parse"]

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")

Report = Callable[..., None]


@dataclass(slots=True)
class ParsedTransaction:
    """One transaction set as read: its typed model (None if it could not be built) and its errors."""

    header: St
    transaction: Transaction | None
    errors: list[X12Error]
    interchange: Isa
    group: Gs
    separators: Separators


@dataclass(slots=True)
class GroupReport:
    """What a 999 acknowledges: one functional group, its transaction sets and group-level errors."""

    interchange: Isa
    header: Gs
    transactions: list[ParsedTransaction] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)


@dataclass(slots=True)
class ParseResult:
    """Everything read from a document."""

    interchanges: list[Interchange]
    groups: list[GroupReport]
    errors: list[X12Error]

    @property
    def transactions(self) -> list[Transaction]:
        """Every transaction set that could be built, in document order."""
        return [t for i in self.interchanges for g in i.groups for t in g.transactions if isinstance(t, Transaction)]

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors


class _TokenizerFailed(Exception):
    """The tokenizer failed in the middle of a transaction (carries how far the transaction got)."""

    def __init__(self, error: X12ParseError, position: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.position = position


class _Frame:
    """One open loop while parsing: its spec, the loop object being filled and where it started.

    The loop object is created when the loop opens (every field at its initial value, required ones None until
    their segment arrives) and attached to its parent at once, so segments go straight into their field.
    """

    __slots__ = ("fast", "hl_id", "obj", "position", "seq", "slot", "spec")

    def __init__(self, spec: LoopSpec, obj: Loop, slot: Slot | None, position: int) -> None:
        self.spec = spec
        self.obj = obj
        # How far the loop has got in the guide order. It never goes back, and a field is filled only as the loop
        # reaches the field's place: so no field past ``seq`` is filled yet.
        self.seq = spec.trigger.seq
        self.fast = spec.fast
        self.slot = slot
        self.hl_id = ""
        self.position = position

    def item_count(self) -> int:
        """How many segments and child loops the writer will emit before anything added now (HL included)."""
        count = 0 if self.spec.hl_level is None else 1
        obj = self.obj
        for slot in self.spec.slots:
            value = getattr(obj, slot.name)
            if slot.many:
                count += len(value)
            elif value is not None:
                count += 1
        return count


class _TransactionParser:
    """Builds one transaction model from its segments."""

    def __init__(
        self, cls: type[Transaction], header: St, separators: Separators, report: Report, *, strict: bool
    ) -> None:
        spec = loop_spec(cls)
        self.stack = [_Frame(spec, spec.new(header), None, 1)]
        self.top = self.stack[0]
        self.cs = separators.component
        self.rs = separators.repetition
        self.report = report
        self.strict = strict  # report() raises X12ParseError on the first error
        self.passthrough = cls.passthrough_segments
        self.hl_count = 0
        # The loop whose first segment could not be typed (lenient mode): the segments under it are kept raw
        # without an error each, so one bad element gives one error, not one per segment of the lost loop.
        self.skipping: str | None = None

    def consume(self, first: list[str], segments: Iterator[list[str]], position: int) -> tuple[list[str] | None, int]:
        """Take ``first`` (at ``position``) and following segments until an envelope segment.

        Returns the envelope segment (None at the end of the input) and the position of the last segment taken.
        The common case, a segment of the innermost open loop, is handled inline: this loop runs for every segment.
        """
        cs = self.cs
        rs = self.rs
        envelope = ENVELOPE_SEGMENT_IDS
        place = self._place
        try:
            for position, el in enumerate(chain((first,), segments), position):  # noqa: B020 - counts on from it
                sid = el[0]
                frame = self.top
                hit = frame.fast.get(sid)
                if hit is None:
                    if sid in envelope:  # never in a loop's tables
                        return el, position - 1
                    qualified = frame.spec.qualified.get(sid)
                    if qualified is not None and len(el) > qualified[0]:
                        hit = qualified[1].get(el[qualified[0]])
                    if hit is None:
                        place(el, position)
                        continue
                seq, name, many, decode = hit
                obj = frame.obj
                current = frame.seq
                # a field later in the guide order than the loop has reached cannot have been filled yet
                if seq <= current and (seq < current or not (many or getattr(obj, name) is None)):
                    place(el, position)
                    continue
                try:
                    segment: Segment | None = decode(el, cs, rs, position)
                except ElementDecodeError as exc:
                    segment = self._salvage(el, position, exc, decode, frame.spec.loop_id)
                    if segment is None:
                        self._keep(el, position, None, "")
                        continue
                frame.seq = seq
                if many:
                    getattr(obj, name).append(segment)
                else:
                    setattr(obj, name, segment)
        except X12ParseError as exc:
            # In lenient mode reports do not raise, so this comes from the tokenizer; in strict mode it is raised as is.
            if self.strict:
                raise
            raise _TokenizerFailed(exc, position) from None
        return None, position

    def _place(self, el: list[str], position: int) -> None:
        """Give a segment the hot path did not take to the innermost loop that accepts it.

        A loop accepts it as one of its own segments or as the trigger of a new child loop, at or after its current
        position in the guide order; the loops above the one that accepts it are closed first. When no open loop
        accepts it, it is kept (raw) in the innermost loop.
        """
        sid = el[0]
        stack = self.stack
        depth = len(stack)
        slot: Slot | None = None
        while slot is None and depth:
            depth -= 1
            frame = stack[depth]
            route = frame.spec.routes.get(sid)
            if route is not None:
                element, by_qualifier, unqualified = route
                for candidate in by_qualifier.get(el[element], unqualified) if len(el) > element else unqualified:
                    # a non-repeating segment or loop (an open one included: it is attached when it opens) is taken
                    if candidate.seq >= frame.seq and (candidate.many or getattr(frame.obj, candidate.name) is None):
                        slot = candidate
                        break
        if slot is None:
            if self.skipping is not None:
                self._keep(el, position, None, "")
            else:
                self._keep(el, position, self._unexpected_code(sid), f"segment {sid} is not expected here")
            return
        if len(stack) > depth + 1:
            self._close_to(depth)
        child = slot.loop
        decode = slot.decode
        segment: Segment | None = None
        if decode is not None:  # a segment, or a loop that starts with a typed segment (not an HL)
            try:
                segment = decode(el, self.cs, self.rs, position)
            except ElementDecodeError as exc:
                segment = self._salvage(
                    el, position, exc, decode, frame.spec.loop_id if child is None else child.loop_id
                )
                if segment is None:
                    self._keep(el, position, None, "")
                    if child is not None:
                        self.skipping = child.loop_id
                    return
        self.skipping = None
        frame.seq = slot.seq
        item: Segment | Loop | None = segment
        if child is not None:
            item = child.new(segment)
            new = _Frame(child, item, slot, position)
            if decode is None:
                new.hl_id = self._check_hl(el, position, child)
            stack.append(new)
            self.top = new
        if slot.many:
            getattr(frame.obj, slot.name).append(item)
        else:
            setattr(frame.obj, slot.name, item)

    def _salvage(
        self, el: list[str], position: int, exc: ElementDecodeError, decode: Decoder, loop_id: str
    ) -> Segment | None:
        """Report every bad element of a segment; type it without the bad ones when they are all optional.

        Lenient mode keeps the segment, and so its loop and everything under it: each bad optional element (or
        component) is left empty in the model and its original text goes to ``extra_elements``, from where the
        writer puts it back byte for byte. A bad or missing required element leaves nothing to type the segment
        with: None is returned and the caller keeps the segment raw. (Strict mode raises on the first report.)
        """
        patched = el
        raw: dict[int, str] = {}
        seen: set[tuple[int, int | None]] = set()
        while True:
            where = (exc.element, exc.component)
            if where not in seen:
                self._report_element(el, position, exc, loop_id)
            if exc.code is ElementErrorCode.REQUIRED_ELEMENT_MISSING or exc.element >= len(el):
                return None
            if patched is el:
                patched = list(el)
            index = exc.element
            raw.setdefault(index, el[index])
            if exc.component is None or where in seen or exc.component > patched[index].count(self.cs) + 1:
                # a whole element, or a component list (e.g. pointers) still bad after clearing its first item
                if not patched[index]:
                    return None
                patched[index] = ""
            else:
                components = patched[index].split(self.cs)
                components[exc.component - 1] = ""
                patched[index] = self.cs.join(components)
            seen.add(where)
            try:
                segment = decode(patched, self.cs, self.rs, position)
            except ElementDecodeError as again:
                if again.code is ElementErrorCode.REQUIRED_ELEMENT_MISSING and again.element in raw:
                    return None  # the bad value was in a required element (or a required component of it)
                exc = again
                continue
            segment.extra_elements = {**(segment.extra_elements or {}), **raw}
            return segment

    def _report_element(self, el: list[str], position: int, exc: ElementDecodeError, loop_id: str) -> None:
        self.report(
            exc.code,
            f"{el[0]}{exc.element:02d}: {exc}",
            segment_id=el[0],
            position=position,
            loop_id=loop_id,
            element=exc.element,
            component=exc.component,
            value=exc.value,
            level=ErrorLevel.ELEMENT,
        )

    def _unexpected_code(self, sid: str) -> SegmentErrorCode | None:
        if sid in self.passthrough:
            return None
        if not _SEGMENT_ID.fullmatch(sid):
            return SegmentErrorCode.UNRECOGNIZED_SEGMENT_ID
        return SegmentErrorCode.UNEXPECTED_SEGMENT

    def _keep(self, el: list[str], position: int, code: X12ErrorCode | None, message: str, **where: Any) -> None:
        top = self.top
        if code is not None:
            self.report(code, message, segment_id=el[0], position=position, loop_id=top.spec.loop_id, **where)
        kept = GenericSegment(tag=el[0], elements=el[1:], position=position)
        top.obj.extra_segments.append(ExtraSegment(top.item_count(), kept))

    def _check_hl(self, el: list[str], position: int, spec: LoopSpec) -> str:
        self.hl_count += 1
        hl_id = el[1] if len(el) > 1 else ""
        parent_id = el[2] if len(el) > 2 else ""
        expected_parent = ""
        for frame in reversed(self.stack):
            if frame.hl_id:
                expected_parent = frame.hl_id
                break
        if hl_id != str(self.hl_count):
            self.report(
                ElementErrorCode.PATTERN_MATCH_FAILURE,
                f"HL01 should be {self.hl_count} (HL ids count up from 1), got {hl_id!r}",
                segment_id="HL",
                position=position,
                loop_id=spec.loop_id,
                level=ErrorLevel.ELEMENT,
                element=1,
                value=hl_id,
            )
        if parent_id != expected_parent:
            self.report(
                ElementErrorCode.PATTERN_MATCH_FAILURE,
                f"HL02 should point at parent HL {expected_parent or '(none)'!r}, got {parent_id!r}",
                segment_id="HL",
                position=position,
                loop_id=spec.loop_id,
                level=ErrorLevel.ELEMENT,
                element=2,
                value=parent_id,
            )
        return hl_id

    def _close_to(self, depth: int) -> None:
        """Close the loops above ``depth``; one missing a required part is reported and taken out of its parent."""
        stack = self.stack
        while len(stack) > depth + 1:
            frame = stack.pop()
            obj = frame.obj
            for name in frame.spec.required_after_trigger:
                if getattr(obj, name) is None:
                    self._drop(frame, stack[-1].obj)
                    break
        self.top = stack[-1]

    def _drop(self, frame: _Frame, parent: Loop) -> None:
        self._missing(frame)
        slot = frame.slot
        assert slot is not None
        if slot.many:
            # it is the last item: nothing reaches the parent while one of its loops is open
            getattr(parent, slot.name).pop()
        else:
            setattr(parent, slot.name, None)

    def _missing(self, frame: _Frame) -> None:
        spec = frame.spec
        for name in spec.required:
            if getattr(frame.obj, name) is not None:
                continue
            absent = next(s for s in spec.slots if s.name == name)
            what = f"loop {absent.loop.loop_id}" if absent.loop is not None else f"segment {absent.segment_id}"
            self.report(
                SegmentErrorCode.REQUIRED_SEGMENT_MISSING,
                f"loop {spec.loop_id} is missing required {what} ({name}); the loop was dropped",
                segment_id=absent.segment_id or None,
                position=frame.position,
                loop_id=spec.loop_id,
            )

    def finish(self) -> Transaction | None:
        """Close every open loop and return the transaction (None if a required part was missing)."""
        self._close_to(0)
        root = self.stack[0]
        if any(getattr(root.obj, name) is None for name in root.spec.required_after_trigger):
            self._missing(root)
            return None
        return root.obj if isinstance(root.obj, Transaction) else None


def _element(el: list[str], index: int) -> str:
    return el[index] if len(el) > index else ""


class X12Reader:
    """Streams typed transactions from a document; envelope errors accumulate in ``errors``.

    In strict mode the first error raises ``X12ParseError``; otherwise errors are collected and parsing continues.
    """

    def __init__(
        self,
        source: Source,
        *,
        strict: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        encoding: str = "utf-8",
    ) -> None:
        self._tokens = X12Tokenizer(source, chunk_size=chunk_size, encoding=encoding)
        self.strict = strict
        self.errors: list[X12Error] = []
        self._sink = self.errors
        self._level = ErrorLevel.INTERCHANGE
        self._st02: str | None = None
        self._gs06: str | None = None
        self._tx_position = 0
        self._ic_position = 0
        self._cs = ":"
        self._rs = "^"

    def _report(
        self,
        code: X12ErrorCode,
        message: str,
        *,
        segment_id: str | None,
        position: int | None,
        loop_id: str | None = None,
        element: int | None = None,
        component: int | None = None,
        value: str | None = None,
        level: ErrorLevel | None = None,
    ) -> None:
        error = X12Error(
            segment_position=position,
            segment_id=segment_id,
            loop_id=loop_id,
            element_position=element,
            component_position=component,
            element_value=value or None,
            code=code,
            message=message,
            level=level or (ErrorLevel.SEGMENT if isinstance(code, SegmentErrorCode) else self._level),
            transaction_control_number=self._st02,
            group_control_number=self._gs06,
        )
        if self.strict:
            raise X12ParseError(error)
        self._sink.append(error)

    def _envelope(self, code: X12ErrorCode, message: str, segment_id: str, level: ErrorLevel) -> None:
        self._report(code, message, segment_id=segment_id, position=self._ic_position, level=level)

    def events(self) -> Iterator[Interchange | FunctionalGroup | ParsedTransaction | Ta1]:
        """Yield each interchange and group as it starts and each transaction as it ends."""
        isa: Isa | None = None
        gs: Gs | None = None
        groups = 0
        transactions = 0
        tx: _TransactionParser | None = None
        st: St | None = None
        tx_errors: list[X12Error] = []
        seen_st02: set[str] = set()
        separators = self._tokens.separators
        iterator = iter(self._tokens)
        while True:
            try:
                el = next(iterator)
            except StopIteration:
                break
            except X12ParseError as exc:
                if self.strict:
                    raise
                self.errors.append(exc.error)
                return
            sid = el[0]
            self._ic_position += 1
            if tx is not None and sid not in ENVELOPE_SEGMENT_IDS:
                # Hot loop: the transaction takes segments until an envelope segment shows up.
                start = self._tx_position + 1
                try:
                    stopped, position = tx.consume(el, iterator, start)
                except _TokenizerFailed as failed:
                    stopped, position = None, failed.position
                    if self.strict:
                        raise failed.error from None
                    self.errors.append(failed.error.error)
                if stopped is None:
                    sid = ""
                else:
                    el = stopped
                    sid = el[0]
                self._tx_position = position
                self._ic_position += position - start
                if not sid:
                    break
                self._ic_position += 1
            if sid == "ISA":
                # A new interchange ends whatever the previous one left open, as its trailers would have.
                if tx is not None and st is not None:
                    self._report(TransactionErrorCode.TRAILER_MISSING, "SE missing", segment_id="SE", position=None)
                    yield self._finish(tx, st, tx_errors, isa or self._decode_isa(["ISA"], separators), gs, separators)
                    tx = None
                    st = None
                if gs is not None:
                    self._envelope(GroupErrorCode.TRAILER_MISSING, "GE missing", "GE", ErrorLevel.GROUP)
                    gs = None
                    self._gs06 = None
                if isa is not None:
                    self._envelope(
                        InterchangeErrorCode.PREMATURE_END_OF_FILE, "IEA missing", "IEA", ErrorLevel.INTERCHANGE
                    )
                separators = self._tokens.separators
                self._cs, self._rs = separators.component, separators.repetition
                self._ic_position = 1
                isa = self._decode_isa(el, separators)
                groups = 0
                yield Interchange(header=isa, separators=separators)
                continue
            if isa is None:
                isa = self._decode_isa(["ISA"], separators)
                yield Interchange(header=isa, separators=separators)
            if sid == "ST":
                if tx is not None and st is not None:
                    self._report(TransactionErrorCode.TRAILER_MISSING, "SE missing", segment_id="SE", position=None)
                    yield self._finish(tx, st, tx_errors, isa, gs, separators)
                if gs is None:
                    self._envelope(GroupErrorCode.TRAILER_MISSING, "ST outside a GS group", "ST", ErrorLevel.GROUP)
                    gs = self._fallback_gs(["GS"])
                    groups += 1
                    transactions = 0
                    yield FunctionalGroup(header=gs)
                transactions += 1
                st = self._decode_st(el)
                self._st02 = st.control_number
                tx_errors = []
                self._sink = tx_errors
                self._level = ErrorLevel.TRANSACTION
                self._tx_position = 1
                if st.control_number in seen_st02:
                    self._report(
                        TransactionErrorCode.CONTROL_NUMBER_NOT_UNIQUE,
                        f"ST02 {st.control_number} repeats within the group",
                        segment_id="ST",
                        position=1,
                        element=2,
                    )
                seen_st02.add(st.control_number)
                version = st.implementation_reference or gs.version
                cls = transaction_class(st.transaction_set_id, version)
                if cls.transaction_set_id == "":
                    self._report(
                        TransactionErrorCode.NOT_SUPPORTED,
                        f"no model for transaction set {st.transaction_set_id} {version}; segments kept untyped",
                        segment_id="ST",
                        position=1,
                    )
                tx = _TransactionParser(cls, st, separators, self._report, strict=self.strict)
                continue
            if sid == "SE":
                if tx is None or st is None:
                    self._envelope(TransactionErrorCode.TRAILER_MISSING, "SE without ST", "SE", ErrorLevel.TRANSACTION)
                    continue
                self._tx_position += 1
                count = _element(el, 1)
                if count != str(self._tx_position):
                    self._report(
                        TransactionErrorCode.SEGMENT_COUNT_MISMATCH,
                        f"SE01 says {count!r} segments, the transaction has {self._tx_position}",
                        segment_id="SE",
                        position=self._tx_position,
                        element=1,
                        value=count,
                    )
                if _element(el, 2) != st.control_number:
                    self._report(
                        TransactionErrorCode.CONTROL_NUMBER_MISMATCH,
                        f"SE02 {_element(el, 2)!r} does not match ST02 {st.control_number!r}",
                        segment_id="SE",
                        position=self._tx_position,
                        element=2,
                        value=_element(el, 2),
                    )
                yield self._finish(tx, st, tx_errors, isa, gs, separators)
                tx = None
                st = None
                continue
            if tx is not None and st is not None:
                self._report(TransactionErrorCode.TRAILER_MISSING, "SE missing", segment_id="SE", position=None)
                yield self._finish(tx, st, tx_errors, isa, gs, separators)
                tx = None
                st = None
            if sid == "GS":
                if gs is not None:
                    self._envelope(GroupErrorCode.TRAILER_MISSING, "GE missing", "GE", ErrorLevel.GROUP)
                gs = self._decode_gs(el)
                self._gs06 = str(gs.control_number)
                groups += 1
                transactions = 0
                seen_st02 = set()
                yield FunctionalGroup(header=gs)
            elif sid == "GE":
                if gs is None:
                    self._envelope(GroupErrorCode.TRAILER_MISSING, "GE without GS", "GE", ErrorLevel.GROUP)
                    continue
                if _element(el, 1) != str(transactions):
                    self._envelope(
                        GroupErrorCode.TRANSACTION_COUNT_MISMATCH,
                        f"GE01 says {_element(el, 1)!r} transaction sets, the group has {transactions}",
                        "GE",
                        ErrorLevel.GROUP,
                    )
                if _element(el, 2).lstrip("0") != str(gs.control_number).lstrip("0"):
                    self._envelope(
                        GroupErrorCode.CONTROL_NUMBER_MISMATCH,
                        f"GE02 {_element(el, 2)!r} does not match GS06 {gs.control_number}",
                        "GE",
                        ErrorLevel.GROUP,
                    )
                gs = None
                self._gs06 = None
            elif sid == "IEA":
                if gs is not None:
                    self._envelope(GroupErrorCode.TRAILER_MISSING, "GE missing", "GE", ErrorLevel.GROUP)
                    gs = None
                    self._gs06 = None
                if _element(el, 1) != str(groups):
                    self._envelope(
                        InterchangeErrorCode.INVALID_GROUP_COUNT,
                        f"IEA01 says {_element(el, 1)!r} groups, the interchange has {groups}",
                        "IEA",
                        ErrorLevel.INTERCHANGE,
                    )
                if _element(el, 2) != f"{isa.control_number:09d}":
                    self._envelope(
                        InterchangeErrorCode.CONTROL_NUMBER_MISMATCH,
                        f"IEA02 {_element(el, 2)!r} does not match ISA13 {isa.control_number:09d}",
                        "IEA",
                        ErrorLevel.INTERCHANGE,
                    )
                isa = None
            elif sid == "TA1":
                try:
                    yield decode_segment(Ta1, el, separators.component, separators.repetition, self._ic_position)
                except ElementDecodeError as exc:
                    self._envelope(exc.code, str(exc), "TA1", ErrorLevel.INTERCHANGE)
            else:
                self._envelope(
                    SegmentErrorCode.SEGMENT_NOT_IN_TRANSACTION,
                    f"segment {sid} outside a transaction set",
                    sid,
                    ErrorLevel.INTERCHANGE,
                )
        if tx is not None and st is not None:
            self._report(
                TransactionErrorCode.TRAILER_MISSING, "SE missing at end of input", segment_id="SE", position=None
            )
            yield self._finish(tx, st, tx_errors, isa or self._decode_isa(["ISA"], separators), gs, separators)
        if gs is not None:
            self._envelope(GroupErrorCode.TRAILER_MISSING, "GE missing at end of input", "GE", ErrorLevel.GROUP)
        if isa is not None:
            self._envelope(
                InterchangeErrorCode.PREMATURE_END_OF_FILE, "IEA missing at end of input", "IEA", ErrorLevel.INTERCHANGE
            )

    def transactions(self) -> Iterator[ParsedTransaction]:
        """Yield each transaction set as soon as its SE has been read."""
        for event in self.events():
            if isinstance(event, ParsedTransaction):
                yield event

    def _finish(
        self,
        tx: _TransactionParser,
        st: St,
        errors: list[X12Error],
        isa: Isa,
        gs: Gs | None,
        separators: Separators,
    ) -> ParsedTransaction:
        transaction = tx.finish()
        self._sink = self.errors
        self._level = ErrorLevel.INTERCHANGE
        self._st02 = None
        return ParsedTransaction(st, transaction, errors, isa, gs or self._fallback_gs(["GS"]), separators)

    def _decode_isa(self, el: list[str], separators: Separators) -> Isa:
        try:
            return Isa.decode_elements(el, separators.component, separators.repetition, 1)
        except ElementDecodeError as exc:
            self._report(
                InterchangeErrorCode.INVALID_CONTENT if len(el) > 1 else InterchangeErrorCode.INVALID_CONTROL_STRUCTURE,
                f"ISA: {exc}",
                segment_id="ISA",
                position=1,
                element=exc.element,
                level=ErrorLevel.INTERCHANGE,
            )
        control = _element(el, 13)
        return Isa(
            sender_id_qualifier=_element(el, 5),
            sender_id=_element(el, 6).strip(),
            receiver_id_qualifier=_element(el, 7),
            receiver_id=_element(el, 8).strip(),
            date=date(2000, 1, 1),
            time=_element(el, 10),
            control_number=int(control) if control.isdigit() else 0,
            position=1,
        )

    def _decode_gs(self, el: list[str]) -> Gs:
        try:
            segment = decode_segment(Gs, el, self._cs, self._rs, self._ic_position)
        except ElementDecodeError as exc:
            self._report(
                GroupErrorCode.INVALID_CONTROL_NUMBER if exc.element == 6 else GroupErrorCode.NOT_SUPPORTED,
                f"GS: {exc}",
                segment_id="GS",
                position=self._ic_position,
                element=exc.element,
                level=ErrorLevel.GROUP,
            )
            return self._fallback_gs(el)
        return segment

    @staticmethod
    def _fallback_gs(el: list[str]) -> Gs:
        control = _element(el, 6)
        return Gs(
            functional_id_code=_element(el, 1),
            application_sender_code=_element(el, 2),
            application_receiver_code=_element(el, 3),
            date=date(2000, 1, 1),
            time=_element(el, 5),
            control_number=int(control) if control.isdigit() else 0,
            version=_element(el, 8),
        )

    def _decode_st(self, el: list[str]) -> St:
        try:
            segment = decode_segment(St, el, self._cs, self._rs, 1)
        except ElementDecodeError as exc:
            self._report(
                TransactionErrorCode.INVALID_CONTROL_NUMBER
                if exc.element == 2
                else TransactionErrorCode.INVALID_TRANSACTION_SET_ID,
                f"ST: {exc}",
                segment_id="ST",
                position=1,
                element=exc.element,
                level=ErrorLevel.TRANSACTION,
            )
            return St(transaction_set_id=_element(el, 1), control_number=_element(el, 2), position=1)
        return segment


def parse(
    source: Source,
    *,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "utf-8",
) -> ParseResult:
    """Parse a whole document (bytes, text, a binary/text stream or a path) into typed models."""
    with _gc_paused():
        return _parse(X12Reader(source, strict=strict, chunk_size=chunk_size, encoding=encoding))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is turned into models.

    A large file creates hundreds of thousands of small acyclic objects; the collector would repeatedly traverse
    them all (halving throughput) without ever finding garbage, and reference counting frees them anyway.
    Afterwards the new objects are moved straight to the oldest generation (freeze + unfreeze) instead of
    being traversed by the next young collection: they are long-lived results, which is where they would end up.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _parse(reader: X12Reader) -> ParseResult:
    interchanges: list[Interchange] = []
    groups: list[GroupReport] = []
    all_errors: list[X12Error] = []
    mark = 0
    for event in reader.events():
        if isinstance(event, ParsedTransaction):
            if not groups or groups[-1].header is not event.group:
                groups.append(GroupReport(event.interchange, event.group))
            groups[-1].transactions.append(event)
            if event.transaction is not None and interchanges and interchanges[-1].groups:
                interchanges[-1].groups[-1].transactions.append(event.transaction)
            all_errors.extend(reader.errors[mark:])
            mark = len(reader.errors)
            all_errors.extend(event.errors)
        elif isinstance(event, FunctionalGroup):
            groups.append(GroupReport(interchanges[-1].header, event.header))
            interchanges[-1].groups.append(event)
        elif isinstance(event, Interchange):
            interchanges.append(event)
        elif interchanges:
            interchanges[-1].acknowledgments.append(event)
    all_errors.extend(reader.errors[mark:])
    for error in all_errors:
        if error.level is ErrorLevel.GROUP and error.group_control_number is not None:
            for group in groups:
                if str(group.header.control_number) == error.group_control_number:
                    group.errors.append(error)
    return ParseResult(interchanges, groups, all_errors)


def iter_transactions(
    source: Source,
    *,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    encoding: str = "utf-8",
) -> Iterator[ParsedTransaction]:
    """Stream transaction sets one at a time (memory stays flat in the file size)."""
    return X12Reader(source, strict=strict, chunk_size=chunk_size, encoding=encoding).transactions()
