"""Hypothesis strategies that mutate X12 documents, for fuzzing the parser and the services that read X12.

Test-only: it needs ``hypothesis`` (a development dependency) and is imported by tests, never by the library.
Byte-level mutations rarely get past the envelope; these edit the document the way broken senders do: segments
dropped, repeated or moved, elements emptied, cut, extended or replaced with values that look almost right
(impossible dates, huge or exponent amounts, unknown codes, separator characters inside values).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from claimflow_x12.tokenizer import Separators, X12Tokenizer

__all__ = ["Document", "element_values", "mutated_documents"]

# Values that sit on the edge of what the element decoders accept.
_TRICKY_VALUES = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    ".",
    "-",
    "1.",
    ".5",
    "NaN",
    "Infinity",
    "-Infinity",
    "1E+999999",
    "1e-999999",
    "9" * 40,
    "0.0000000000000000000001",
    "20241301",
    "20240230",
    "00000000",
    "99999999",
    "2400",
    "9999",
    "240230",
    "20240101-20231231",
    "20240101-",
    "RD8",
    "D8",
    "ZZ",
    "XX",
    "01",
    "001",
    "1" * 100,
    "\x00",
    "\u00e9",
    "\U0001f600",
    "\t",
]

element_values: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(_TRICKY_VALUES),
    st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{0,6})?", fullmatch=True),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.dates().map(lambda day: day.strftime("%Y%m%d")),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", max_size=40),
    st.text(max_size=12),  # any character, separators included: the value then splits into more elements
)


@dataclass(frozen=True)
class Document:
    """A document as its separators and segments (each a list of elements, element 0 being the segment id)."""

    separators: Separators
    segments: list[list[str]]

    @classmethod
    def read(cls, text: str) -> Document:
        """Split a well-formed document (a single set of separators) into segments."""
        tokenizer = X12Tokenizer(text)
        segments = list(tokenizer)
        return cls(tokenizer.separators, segments)

    def write(self, segments: list[list[str]] | None = None) -> str:
        """The document text, with these segments (default: its own)."""
        separators = self.separators
        chosen = self.segments if segments is None else segments
        return "".join(separators.element.join(segment) + separators.terminator for segment in chosen)


@st.composite
def _edit(draw: st.DrawFn, segments: list[list[str]], component_separator: str) -> None:
    """Apply one random structural edit to ``segments`` in place."""
    if not segments:
        return
    index = draw(st.integers(0, len(segments) - 1))
    segment = segments[index]
    kind = draw(st.sampled_from(["drop", "repeat", "move", "set", "cut", "extend", "component", "set", "set"]))
    if kind == "drop":
        del segments[index]
    elif kind == "repeat":
        segments.insert(index, list(segment))
    elif kind == "move":
        segments.insert(draw(st.integers(0, len(segments) - 1)), segments.pop(index))
    elif kind == "set":
        element = draw(st.integers(0 if len(segment) == 1 else 1, max(len(segment) - 1, 1)))
        segment.extend([""] * (element + 1 - len(segment)))
        segment[element] = draw(element_values)
    elif kind == "cut":
        del segment[draw(st.integers(1, max(len(segment), 1))) :]
    elif kind == "extend":
        segment.extend(draw(st.lists(element_values, min_size=1, max_size=3)))
    else:
        element = draw(st.integers(1, max(len(segment) - 1, 1)))
        segment.extend([""] * (element + 1 - len(segment)))
        components = segment[element].split(component_separator)
        position = draw(st.integers(0, len(components)))
        components[position:position] = [draw(element_values)]
        segment[element] = component_separator.join(components)


@st.composite
def mutated_documents(draw: st.DrawFn, text: str, max_edits: int = 6) -> str:
    """``text`` after 1 to ``max_edits`` structural edits, written back with its own separators."""
    document = Document.read(text)
    segments = [list(segment) for segment in document.segments]
    for _ in range(draw(st.integers(1, max_edits))):
        draw(_edit(segments, document.separators.component))
    return document.write(segments)
