"""Reading the delimited files CMS publishes: a preamble (copyright lines), a header row, then records."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path


class CodeSetFileError(ValueError):
    """A code-set file that does not follow the expected layout."""

    code = "CODE_SET_FILE_INVALID"


def read_text(path: Path) -> str:
    """File text; CMS files are mostly ASCII but some are Windows-1252, so undecodable bytes are replaced."""
    return path.read_text(encoding="utf-8-sig", errors="replace")


def _delimiter(sample: str) -> str:
    return "\t" if sample.count("\t") >= sample.count(",") else ","


def _normalize_header(name: str) -> str:
    return " ".join(name.replace("\n", " ").split()).upper()


def _squeeze(name: str) -> str:
    return "".join(name.split()).upper()


def _find(names: Sequence[str], wanted: str) -> str | None:
    """Header matching ``wanted`` ignoring case and spaces: exact first, then prefix, then substring."""
    key = _squeeze(wanted)
    squeezed = [(_squeeze(n), n) for n in names]
    for test in (str.__eq__, str.startswith, str.__contains__):
        for short, name in squeezed:
            if test(short, key):
                return name
    return None


def table_rows(lines: Iterable[str], required: Sequence[str], optional: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """Records keyed by the requested column names, read after the first row that has every ``required`` column.

    Header names match ignoring case and spaces, exactly, as a prefix or as a substring (``"MODIFIER"`` matches
    ``"Modifier 0=not allowed 1=allowed 9=not applicable"``, ``"COLUMN 1"`` matches ``"Column1"``); preamble
    lines before the header (titles, copyright notices) are skipped. Missing optional columns read as "".
    """
    text = "\n".join(lines)
    delimiter = _delimiter(text[:4000])
    positions: list[tuple[str, int]] | None = None
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        if positions is None:
            cells = [_normalize_header(c) for c in row]
            found = {name: _find(cells, name) for name in (*required, *optional)}
            if all(found[name] is not None for name in required):
                positions = [(name, cells.index(header)) for name, header in found.items() if header is not None]
                missing = [name for name in optional if found[name] is None]
            continue
        if not any(cell.strip() for cell in row):
            continue
        record = {name: (row[i].strip() if i < len(row) else "") for name, i in positions}
        for name in missing:
            record[name] = ""
        yield record
    if positions is None:
        raise CodeSetFileError(f"no header row with columns {', '.join(required)}")


def parse_cms_date(value: str) -> date | None:
    """``YYYYMMDD``, ``YYYY-MM-DD`` or ``MM/DD/YYYY``; blank and ``*`` (no date) give None."""
    text = value.strip()
    if not text or text == "*":
        return None
    if "/" in text:
        month, day, year = (int(p) for p in text.split("/"))
        return date(year, month, day)
    digits = text.replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        raise CodeSetFileError(f"not a date: {value!r}")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
