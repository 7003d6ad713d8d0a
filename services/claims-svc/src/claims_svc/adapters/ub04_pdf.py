"""UB-04 forms as a PDF: the form locators in two columns, then the FL 42-47 revenue table.

A plain-paper rendering (form locator numbers and labels printed with the values) for payers that take paper and
for the patient record; the boxes are drawn the way the CMS-1500 rendering draws them.
"""

from __future__ import annotations

from datetime import datetime

from claimflow_kit.pdf import PdfDocument
from claims_svc.adapters.cms1500_pdf import MARGIN, draw_form
from claims_svc.domain.ub04 import Ub04Form

_TABLE = (("42 REV CD", 0), ("44 HCPCS / MODIFIERS", 70), ("45 SERV DATE", 230), ("46 UNITS", 320),
          ("47 TOTAL CHARGES", 390))  # fmt: skip


def ub04_pdf(forms: list[Ub04Form], created: datetime) -> bytes:
    """One page per form."""
    document = PdfDocument(title="UB-04 uniform bill", created=created)
    for form in forms:
        page = document.add_page()
        boxes = [b for b in form.boxes if b.number != "47"]
        y = draw_form(page, "UB-04 UNIFORM BILL (CMS-1450)", "NATIONAL UNIFORM BILLING COMMITTEE (NUBC)",
                      (form.page, form.pages), boxes, _TABLE)  # fmt: skip
        for row in form.rows:
            cells = (row.revenue_code, row.hcpcs, row.service_date, row.units, row.charge)
            for (_, offset), cell in zip(_TABLE, cells, strict=True):
                page.text(MARGIN + offset, y, cell, size=9)
            y -= 12
        page.text(MARGIN, y - 10, f"0001 TOTAL  {form.box('47')}", size=9, bold=True)
    return document.to_bytes()
