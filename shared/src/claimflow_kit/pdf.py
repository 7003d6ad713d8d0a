"""A small, dependency-free PDF 1.4 writer for text documents (appeal letters, patient statements, CMS-1500).

Text is set in the two standard Helvetica faces every PDF reader has built in (no font is embedded), with
WinAnsi encoding, so Latin-1 text prints as typed and anything else becomes ``?``. A page is a list of
positioned text runs; ``TextFlow`` lays paragraphs out top to bottom with word wrapping and page breaks.

The file is written plainly (uncompressed content streams, 7-bit clean) with a cross-reference table whose
offsets are computed from the bytes actually written, so any conforming reader opens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

LETTER = (612.0, 792.0)
"""US Letter in points (8.5 x 11 inches), the size of letters, statements and the CMS-1500."""

_REGULAR = "Helvetica"
_BOLD = "Helvetica-Bold"

# Advance widths (1/1000 em) of the printable ASCII characters 32..126, from the fonts' published metrics.
_HELVETICA_WIDTHS = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip
_HELVETICA_BOLD_WIDTHS = (
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
)  # fmt: skip
_DEFAULT_WIDTH = 556  # characters outside printable ASCII: about the width of a digit


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width of ``text`` in points when set in Helvetica (or Helvetica-Bold) at ``size``."""
    widths = _HELVETICA_BOLD_WIDTHS if bold else _HELVETICA_WIDTHS
    units = sum(widths[ord(c) - 32] if 32 <= ord(c) <= 126 else _DEFAULT_WIDTH for c in text)
    return units * size / 1000


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points, at spaces; a longer word is split."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold=bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current, size, bold=bold) > width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and text_width(current[:cut], size, bold=bold) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current or not lines:
        lines.append(current)
    return lines


def _literal(text: str) -> bytes:
    """A PDF literal string: WinAnsi bytes with ( ) and backslash escaped, anything non-printable as octal."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif 32 <= byte <= 126:
            out.append(byte)
        else:
            out += f"\\{byte:03o}".encode()
    out += b")"
    return bytes(out)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class TextRun:
    """One piece of text at a position (points from the bottom-left corner of the page)."""

    x: float
    y: float
    text: str
    size: float = 10.0
    bold: bool = False


@dataclass
class PdfPage:
    """One page: the text runs drawn on it."""

    width: float
    height: float
    runs: list[TextRun] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, *, size: float = 10.0, bold: bool = False) -> None:
        """Draw one line of text with its baseline starting at (x, y)."""
        self.runs.append(TextRun(x, y, text.replace("\r", " ").replace("\n", " "), size, bold))

    def content(self) -> bytes:
        """The page's content stream."""
        parts = []
        for run in self.runs:
            font = b"/F2" if run.bold else b"/F1"
            position = f"{_number(run.x)} {_number(run.y)} Td ".encode()
            parts.append(
                b"BT " + font + f" {_number(run.size)} Tf ".encode() + position + _literal(run.text) + b" Tj ET"
            )
        return b"\n".join(parts) + b"\n"


class PdfDocument:
    """Pages of text, rendered to PDF bytes."""

    def __init__(
        self,
        *,
        title: str | None = None,
        page_size: tuple[float, float] = LETTER,
        created: datetime | None = None,
    ) -> None:
        self.title = title
        self.page_size = page_size
        self.created = created or datetime.now(UTC)
        self.pages: list[PdfPage] = []

    def add_page(self) -> PdfPage:
        """A new blank page at the end of the document."""
        page = PdfPage(*self.page_size)
        self.pages.append(page)
        return page

    def to_bytes(self) -> bytes:
        """The whole document as a PDF 1.4 file (an empty document gets one blank page)."""
        pages = self.pages or [PdfPage(*self.page_size)]
        # Objects: 1 catalog, 2 page tree, 3 and 4 the fonts, 5 document info, then a page and its content each.
        first_page = 6
        page_ids = [first_page + 2 * n for n in range(len(pages))]
        created = self.created.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ")
        info = b"<< /Producer (ClaimFlow) /CreationDate " + _literal(created)
        if self.title:
            info += b" /Title " + _literal(self.title)
        objects: list[bytes] = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(f"{n} 0 R".encode() for n in page_ids) + b"]"
            + f" /Count {len(pages)} >>".encode(),
            f"<< /Type /Font /Subtype /Type1 /BaseFont /{_REGULAR} /Encoding /WinAnsiEncoding >>".encode(),
            f"<< /Type /Font /Subtype /Type1 /BaseFont /{_BOLD} /Encoding /WinAnsiEncoding >>".encode(),
            info + b" >>",
        ]  # fmt: skip
        for page_id, page in zip(page_ids, pages, strict=True):
            objects.append(
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_number(page.width)} {_number(page.height)}] "
                f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {page_id + 1} 0 R >>".encode()
            )
            stream = page.content()
            objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream")
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # the comment's high bytes mark the file as binary
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
        out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
        out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R >>\n".encode()
        out += f"startxref\n{xref}\n%%EOF\n".encode()
        return bytes(out)


class TextFlow:
    """Writes paragraphs down the pages of a document: wraps at the margins, starts a new page when full."""

    def __init__(self, document: PdfDocument, *, margin: float = 54.0, size: float = 10.0) -> None:
        self.document = document
        self.margin = margin
        self.size = size
        self._page: PdfPage | None = None
        self._y = 0.0

    @property
    def _width(self) -> float:
        return self.document.page_size[0] - 2 * self.margin

    def _line_height(self, size: float) -> float:
        return size * 1.35

    def _room_for(self, height: float) -> PdfPage:
        if self._page is None or self._y - height < self.margin:
            self._page = self.document.add_page()
            self._y = self.document.page_size[1] - self.margin
        return self._page

    def paragraph(self, text: str, *, size: float | None = None, bold: bool = False, indent: float = 0.0) -> None:
        """One paragraph (newlines start new lines), wrapped to the text width."""
        size = size or self.size
        for source_line in text.split("\n"):
            for line in wrap(source_line, self._width - indent, size, bold=bold):
                page = self._room_for(self._line_height(size))
                self._y -= self._line_height(size)
                page.text(self.margin + indent, self._y, line, size=size, bold=bold)

    def heading(self, text: str) -> None:
        """A bold line a little larger than the body text, with space above it."""
        self.space()
        self.paragraph(text, size=self.size + 2, bold=True)

    def items(self, entries: Iterable[str], *, bullet: str = "-") -> None:
        """A list: each entry wrapped with a hanging indent after its bullet."""
        indent = text_width(f"{bullet} ", self.size) + 2
        for entry in entries:
            lines = wrap(entry, self._width - indent, self.size)
            for number, line in enumerate(lines):
                page = self._room_for(self._line_height(self.size))
                self._y -= self._line_height(self.size)
                if number == 0:
                    page.text(self.margin, self._y, bullet, size=self.size)
                page.text(self.margin + indent, self._y, line, size=self.size)

    def space(self, lines: float = 1.0) -> None:
        """Vertical space of ``lines`` body lines (none at the top of a page)."""
        if self._page is not None:
            self._y -= self._line_height(self.size) * lines


__all__ = ["LETTER", "PdfDocument", "PdfPage", "TextFlow", "TextRun", "text_width", "wrap"]
