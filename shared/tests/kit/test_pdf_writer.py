"""The kit's text PDF writer: files any reader opens, with the text (and its escapes) read back by pypdf."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from pypdf import PdfReader

from claimflow_kit.pdf import LETTER, PdfDocument, TextFlow, text_width, wrap

CREATED = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)


def read(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data), strict=True)


def test_positioned_text_with_parentheses_and_backslashes_reads_back() -> None:
    document = PdfDocument(title="Statement (draft) \\ 1", created=CREATED)
    page = document.add_page()
    page.text(72, 720, r"Balance (after insurance): $40.00 \ paid", size=12, bold=True)
    page.text(72, 700, "Café \u2013 naïve \u2713")
    data = document.to_bytes()
    assert data.startswith(b"%PDF-1.4\n")
    assert rb"\(after insurance\)" in data
    assert rb"\\ paid" in data
    reader = read(data)
    text = reader.pages[0].extract_text()
    assert "Balance (after insurance): $40.00 \\ paid" in text
    assert "Café \u2013 naïve ?" in text, "WinAnsi covers Latin-1 and the en dash; other characters become ?"
    assert reader.metadata is not None
    assert reader.metadata.title == "Statement (draft) \\ 1"
    assert reader.metadata.creation_date_raw == "D:20261123123000Z"
    assert [float(v) for v in reader.pages[0].mediabox] == [0.0, 0.0, *LETTER]


def test_cross_reference_offsets_point_at_their_objects() -> None:
    document = PdfDocument(created=CREATED)
    for number in range(3):
        document.add_page().text(72, 700, f"page {number + 1}")
    data = document.to_bytes()
    trailer = re.search(rb"startxref\n(\d+)\n%%EOF\n$", data)
    assert trailer is not None
    startxref = int(trailer.group(1))
    assert data[startxref:].startswith(b"xref\n0 12\n0000000000 65535 f \n")
    entries = data[startxref:].split(b"\n")[3:14]
    for number, entry in enumerate(entries, start=1):
        assert len(entry) + 1 == 20, "every xref entry is 20 bytes"
        offset = int(entry[:10])
        assert data[offset:].startswith(f"{number} 0 obj\n".encode())
    marker = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    assert data.startswith(marker)
    assert data[len(marker) :].isascii(), "only the binary marker comment is not ASCII"
    stream = re.search(rb"<< /Length (\d+) >>\nstream\n", data)
    assert stream is not None
    body = data[stream.end() :]
    assert body[int(stream.group(1)) :].startswith(b"endstream"), "stream lengths are exact"


def test_flowing_text_wraps_at_the_margins_and_continues_on_new_pages() -> None:
    document = PdfDocument(created=CREATED)
    flow = TextFlow(document, margin=72, size=10)
    flow.heading("Appeal")
    for number in range(1, 121):
        flow.paragraph(f"Paragraph {number}: the quick brown fox jumps over the lazy dog, again and again and again.")
    flow.items(["first enclosure", "a long enclosure " * 12])
    reader = read(document.to_bytes())
    assert len(reader.pages) == len(document.pages) >= 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Paragraph 1:" in text
    assert "Paragraph 120:" in text
    assert "- first enclosure" in text
    width = LETTER[0] - 2 * 72
    for page in document.pages:
        for run in page.runs:
            assert run.x + text_width(run.text, run.size, bold=run.bold) <= 72 + width + 0.01
            assert run.y >= 72


def test_wrap_breaks_at_spaces_and_splits_words_longer_than_a_line() -> None:
    assert wrap("one two three", 1000, 10) == ["one two three"]
    narrow = wrap("one two three", text_width("one two", 10), 10)
    assert narrow == ["one two", "three"]
    pieces = wrap("X" * 40, text_width("X" * 10, 10), 10)
    assert "".join(pieces) == "X" * 40
    assert all(text_width(p, 10) <= text_width("X" * 10, 10) for p in pieces)
    assert wrap("", 100, 10) == [""]
    assert text_width("W", 10, bold=True) > text_width("i", 10, bold=True)


def test_an_empty_document_is_one_blank_page() -> None:
    reader = read(PdfDocument(created=CREATED).to_bytes())
    assert len(reader.pages) == 1
    assert reader.pages[0].extract_text() == ""
