"""The appeal letter as a PDF (US Letter, Helvetica), laid out by the kit's text PDF writer."""

from __future__ import annotations

from datetime import datetime

from claimflow_kit.pdf import PdfDocument, TextFlow
from claims_svc.domain.appeals import AppealLetter, Heading, Items, Paragraph


def appeal_letter_pdf(letter: AppealLetter, created: datetime) -> bytes:
    """Render the letter's blocks in order; long letters continue on further pages."""
    document = PdfDocument(title=letter.title, created=created)
    flow = TextFlow(document, margin=60.0, size=10.0)
    for block in letter.blocks:
        match block:
            case Heading(text=text):
                flow.heading(text)
            case Paragraph(text=text):
                flow.space(0.5)
                flow.paragraph(text)
            case Items(entries=entries):
                flow.items(entries)
    return document.to_bytes()
