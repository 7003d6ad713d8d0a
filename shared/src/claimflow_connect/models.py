"""What connectors hand back: submission receipts and mailbox items (acknowledgments, status and remittance files)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from claimflow_x12.errors import X12ParseError
from claimflow_x12.tokenizer import iter_segments

__all__ = ["MailboxItem", "ResponseKind", "SubmissionReceipt", "detect_response_kind"]


class ResponseKind(StrEnum):
    """Which kind of file a clearinghouse put in the mailbox."""

    ACK_999 = "999"
    TA1 = "TA1"
    CLAIM_ACK_277CA = "277CA"
    CLAIM_STATUS_277 = "277"
    REMITTANCE_835 = "835"
    ELIGIBILITY_271 = "271"
    UNKNOWN = "unknown"


class SubmissionReceipt(BaseModel):
    """Proof that the other side took a file: its id there, when, and under which name."""

    model_config = ConfigDict(frozen=True)

    submission_id: str
    filename: str
    received_at: datetime
    connector: str  # which connector kind took it (sandbox, https-x12, drop-folder)


class MailboxItem(BaseModel):
    """One response file. ``cursor`` is passed back as ``after`` to fetch only newer items."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: ResponseKind
    filename: str
    created_at: datetime
    cursor: str
    content: bytes


_GROUP_KINDS = {"FA": ResponseKind.ACK_999, "HP": ResponseKind.REMITTANCE_835, "HB": ResponseKind.ELIGIBILITY_271}


def detect_response_kind(content: bytes) -> ResponseKind:
    """The kind of an X12 response file, read from its first GS (and GS08 for 277 vs 277CA) or a bare TA1."""
    try:
        for elements in iter_segments(content):
            tag = elements[0]
            if tag == "TA1":
                return ResponseKind.TA1
            if tag == "GS":
                functional_id = elements[1] if len(elements) > 1 else ""
                if functional_id == "HN":
                    version = elements[8] if len(elements) > 8 else ""
                    return ResponseKind.CLAIM_ACK_277CA if version == "005010X214" else ResponseKind.CLAIM_STATUS_277
                return _GROUP_KINDS.get(functional_id, ResponseKind.UNKNOWN)
    except X12ParseError:
        return ResponseKind.UNKNOWN
    return ResponseKind.UNKNOWN
