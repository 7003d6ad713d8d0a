"""Streaming X12 tokenizer: separators come from each ISA, segments are yielded one at a time from chunks."""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import IO

from claimflow_x12.errors import ErrorLevel, InterchangeErrorCode, X12Error, X12ParseError

__all__ = ["DEFAULT_CHUNK_SIZE", "Separators", "Source", "X12Tokenizer", "detect_separators", "iter_segments"]

DEFAULT_CHUNK_SIZE = 1 << 20
# How far into an ISA its 16th element separator is looked for (ISA16 follows it): senders that pad more or less
# than the fixed width still get read, within this bound.
_ISA_SEARCH = 200
# What detection needs buffered: up to the 16th separator, ISA16, the segment terminator and a CRLF.
_ISA_LOOKAHEAD = _ISA_SEARCH + 5
# Segments split per batch: enough to make the per-batch overhead vanish, few enough to keep memory flat.
_BATCH = 512

Source = bytes | bytearray | memoryview | str | IO[bytes] | IO[str] | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters of one interchange; ``line_break`` is what follows each segment terminator ("" or "\\n")."""

    element: str = "*"  # ISA char 4
    component: str = ":"  # ISA16
    repetition: str = "^"  # ISA11
    segment: str = "~"  # the character after ISA16
    line_break: str = ""

    def __post_init__(self) -> None:
        chars = [self.element, self.component, self.segment] + ([self.repetition] if self.repetition else [])
        if any(len(c) != 1 or c.isalnum() or c == " " for c in chars):
            raise ValueError(f"separators must be single non-alphanumeric characters: {chars!r}")
        if len(set(chars)) != len(chars):
            raise ValueError(f"separators must be distinct: {chars!r}")
        if self.line_break not in ("", "\n", "\r\n", "\r"):
            raise ValueError("line_break must be empty, LF, CR or CRLF")

    @property
    def terminator(self) -> str:
        """The segment terminator followed by the line break, as written after every segment."""
        return self.segment + self.line_break


def _envelope_error(code: InterchangeErrorCode, message: str) -> X12ParseError:
    return X12ParseError(
        X12Error(
            segment_position=1,
            segment_id="ISA",
            loop_id=None,
            element_position=None,
            code=code,
            message=message,
            level=ErrorLevel.INTERCHANGE,
        )
    )


def detect_separators(head: str) -> tuple[Separators, int]:
    """Read the separators from an ISA at the start of ``head``; return them and the offset of the next segment."""
    if not head.startswith("ISA") or len(head) < 4:
        raise _envelope_error(InterchangeErrorCode.INVALID_CONTROL_STRUCTURE, "data does not start with an ISA segment")
    element = head[3]
    index = 3
    # ISA16 follows the 16th element separator; counting separators (rather than assuming the fixed 106-character
    # width) also reads interchanges from senders that do not pad their ISA fields.
    for _ in range(15):
        index = head.find(element, index + 1)
        if index < 0 or index > _ISA_SEARCH:
            raise _envelope_error(InterchangeErrorCode.PREMATURE_END_OF_FILE, "ISA segment is incomplete")
    if index + 2 >= len(head):
        raise _envelope_error(InterchangeErrorCode.PREMATURE_END_OF_FILE, "ISA segment is incomplete")
    component = head[index + 1]
    segment = head[index + 2]
    fields = head[: index + 1].split(element)
    repetition = fields[11] if len(fields[11]) == 1 and not fields[11].isalnum() else ""
    end = index + 3
    line_break = ""
    for candidate in ("\r\n", "\n", "\r"):
        if segment not in candidate and head.startswith(candidate, end):
            line_break = candidate
            break
    try:
        separators = Separators(element, component, repetition, segment, line_break)
    except ValueError as exc:
        raise _envelope_error(InterchangeErrorCode.INVALID_COMPONENT_SEPARATOR, str(exc)) from exc
    return separators, end + len(line_break)


def _chunks(source: Source, chunk_size: int, encoding: str) -> Iterator[str]:
    """Yield text chunks from any supported source without reading a stream whole."""
    if isinstance(source, str):
        # Slices keep each batch of split segments small, whatever the document size.
        for start in range(0, len(source), chunk_size):
            yield source[start : start + chunk_size]
        return
    if isinstance(source, bytes | bytearray | memoryview):
        yield from _chunks(io.BytesIO(source), chunk_size, encoding)
        return
    if isinstance(source, os.PathLike):
        with open(source, "rb") as stream:
            yield from _chunks(stream, chunk_size, encoding)
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    while True:
        block = source.read(chunk_size)
        if not block:
            break
        if isinstance(block, str):
            yield block
            continue
        try:
            yield decoder.decode(block)
        except UnicodeDecodeError as exc:
            raise _envelope_error(InterchangeErrorCode.INVALID_CONTENT, f"input is not {encoding}: {exc}") from exc
    if not isinstance(source, io.TextIOBase):
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _envelope_error(InterchangeErrorCode.INVALID_CONTENT, f"input is not {encoding}: {exc}") from exc
        if tail:
            yield tail


class X12Tokenizer:
    """Iterate over the segments of one or more interchanges as lists of elements (element 0 is the segment id).

    Only one chunk, one partial segment and one batch of split segments (``_BATCH``) are held at a time, so memory
    stays flat in the file size. ``separators`` always holds the delimiters of the interchange being read.
    """

    def __init__(self, source: Source, *, chunk_size: int = DEFAULT_CHUNK_SIZE, encoding: str = "utf-8") -> None:
        self._chunks = _chunks(source, chunk_size, encoding)
        self.separators = Separators()

    def _more(self) -> str | None:
        return next(self._chunks, None)

    def __iter__(self) -> Iterator[list[str]]:
        # Segments are split a batch at a time (a list comprehension) and handed out by chain, in C: a generator
        # resumed once per segment cost more than splitting the segment.
        return chain.from_iterable(self._batches())

    def _batches(self) -> Iterator[list[list[str]]]:
        buffer = ""
        exhausted = False
        while True:
            buffer = buffer.lstrip("\ufeff \t\r\n")
            while len(buffer) < _ISA_LOOKAHEAD and not exhausted:
                chunk = self._more()
                if chunk is None:
                    exhausted = True
                else:
                    buffer = (buffer + chunk).lstrip("\ufeff \t\r\n")
            if not buffer:
                return
            separators, offset = detect_separators(buffer)
            self.separators = separators
            yield [buffer[: offset - len(separators.line_break) - 1].split(separators.element)]
            buffer = buffer[offset:]
            terminator = separators.segment
            element = separators.element
            strip = "".join(c for c in "\r\n" if c != terminator)
            trailer = "IEA" + element
            while True:
                # Both checks scan the chunk in C, so the per-segment work below does only what is needed.
                needs_strip = any(c in buffer for c in strip)
                parts = buffer.split(terminator)
                complete = len(buffer) - len(parts[-1])
                trailer_at = _trailer_index(buffer, complete, terminator, trailer, strip)
                buffer = parts.pop()
                end = len(parts) if trailer_at is None else trailer_at + 1
                for start in range(0, end, _BATCH):
                    batch = parts[start : min(start + _BATCH, end)]
                    if needs_strip:
                        batch = [part.strip(strip) for part in batch]
                    yield [part.split(element) for part in batch if part]
                if trailer_at is not None:
                    # The interchange ended; one that follows may use other separators: back to detection.
                    buffer = terminator.join([*parts[end:], buffer])
                    break
                chunk = None if exhausted else self._more()
                if chunk is None:
                    exhausted = True
                    rest = buffer.strip(strip + " \t") if strip else buffer
                    if rest:
                        yield [rest.split(element)]
                    return
                buffer += chunk


def _trailer_index(text: str, complete: int, terminator: str, trailer: str, strip: str) -> int | None:
    """Which segment of ``text[:complete]`` (its complete segments) is the first IEA, if any.

    Found by searching the text in C rather than testing every segment: an occurrence counts when only line
    breaks lie between it and the previous terminator (or the start of the text).
    """
    found = text.find(trailer, 0, complete)
    while found >= 0:
        before = found - 1
        while before >= 0 and text[before] in strip:
            before -= 1
        if before < 0 or text[before] == terminator:
            return text.count(terminator, 0, found)
        found = text.find(trailer, found + 1, complete)
    return None


def iter_segments(source: Source, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[list[str]]:
    """Yield every segment of ``source`` as a list of elements, reading separators from each ISA."""
    return iter(X12Tokenizer(source, chunk_size=chunk_size))
