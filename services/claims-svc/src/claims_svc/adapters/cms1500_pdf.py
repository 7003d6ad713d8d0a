"""CMS-1500 forms as a PDF: each form's boxes top to bottom in two columns, then the box 24 service table.

A plain-paper rendering for payers that take paper and for the patient record (the box numbers and labels are
printed with the values, so it reads without the red pre-printed form).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from claimflow_kit.pdf import LETTER, PdfDocument, PdfPage, wrap
from claims_svc.domain.cms1500 import Box, Cms1500Form

MARGIN = 40.0
COLUMN = (LETTER[0] - 2 * MARGIN) / 2
_TABLE = (("24A DOS", 0), ("24B POS", 62), ("24D CPT/HCPCS MOD", 100), ("24E PTR", 250), ("24F CHARGES", 300),
          ("24G UNITS", 370), ("24J RENDERING NPI", 430))  # fmt: skip


def draw_box(page: PdfPage, x: float, y: float, number: str, label: str, value: str) -> float:
    """Draw one numbered box (label over value, wrapped to a column); returns the y below it."""
    page.text(x, y, f"{number}. {label.upper()}", size=6.5, bold=True)
    y -= 10
    for line in wrap(value, COLUMN - 10, 9) or [""]:
        page.text(x, y, line, size=9)
        y -= 11
    return y - 4


def draw_boxes(page: PdfPage, top: float, boxes: list[Box]) -> float:
    """The boxes in two columns, top to bottom; returns the y below the longer column."""
    y_left = y_right = top
    half = (len(boxes) + 1) // 2
    for box in boxes[:half]:
        y_left = draw_box(page, MARGIN, y_left, box.number, box.label, box.value)
    for box in boxes[half:]:
        y_right = draw_box(page, MARGIN + COLUMN, y_right, box.number, box.label, box.value)
    return min(y_left, y_right)


def draw_form(
    page: PdfPage,
    title: str,
    subtitle: str,
    number: tuple[int, int],
    boxes: list[Box],
    table: Sequence[tuple[str, int]],
) -> float:
    """A paper form's header, its boxes and the titles of its line table; returns the y of the first table row."""
    top = LETTER[1] - MARGIN
    page.text(MARGIN, top, title, size=13, bold=True)
    page.text(MARGIN, top - 14, subtitle, size=7)
    page.text(LETTER[0] - MARGIN - 70, top, f"PAGE {number[0]} OF {number[1]}", size=8, bold=True)
    y = draw_boxes(page, top - 34, boxes) - 8
    for heading, offset in table:
        page.text(MARGIN + offset, y, heading, size=6.5, bold=True)
    return y - 12


def cms1500_pdf(forms: list[Cms1500Form], created: datetime) -> bytes:
    """One page per form."""
    document = PdfDocument(title="CMS-1500 health insurance claim form", created=created)
    for form in forms:
        page = document.add_page()
        boxes = [b for b in form.boxes if b.number != "28"]
        y = draw_form(page, "HEALTH INSURANCE CLAIM FORM", "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12",
                      (form.page, form.pages), boxes, _TABLE)  # fmt: skip
        for row in form.rows:
            cells = (row.date_from, row.place_of_service, row.procedure, row.pointers, row.charge, row.units,
                     row.rendering_npi)  # fmt: skip
            for (_, offset), cell in zip(_TABLE, cells, strict=True):
                page.text(MARGIN + offset, y, cell, size=9)
            y -= 12
        page.text(MARGIN + 250, y - 10, f"28. TOTAL CHARGE  {form.box('28')}", size=9, bold=True)
    return document.to_bytes()
