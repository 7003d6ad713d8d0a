"""The connector contract: how ClaimFlow exchanges X12 with a clearinghouse or payer, whatever the transport."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from claimflow_connect.models import MailboxItem, SubmissionReceipt

__all__ = ["Connector"]


@runtime_checkable
class Connector(Protocol):
    """One clearinghouse/payer link. Implementations: sandbox (HTTP), generic HTTPS X12, drop folder (SFTP mount).

    Fetching is at-least-once: a caller processes the items it fetched (idempotently: the X12 control numbers
    and 835 TRN detect repeats), then calls ``acknowledge`` with their ids and keeps the last ``cursor`` for the
    next ``fetch_responses``. Cursor-based mailboxes ignore the acknowledgment; folder-based ones archive the
    acknowledged files, so a crash between processing and acknowledging only causes a harmless redelivery.
    """

    kind: str

    async def submit(self, tenant_id: str, payer_id: str, x12: bytes, filename: str) -> SubmissionReceipt:
        """Hand over one X12 file (837, 276, batch 270). Resubmitting the same file name is safe."""
        ...

    async def fetch_responses(self, tenant_id: str, after: str | None = None) -> list[MailboxItem]:
        """Response files (999, TA1, 277CA, 277, 835, 271) newer than cursor ``after``, oldest first."""
        ...

    async def acknowledge(self, tenant_id: str, item_ids: Sequence[str]) -> None:
        """Tell the connector these items were processed (a drop folder moves them to its archive)."""
        ...

    async def eligibility(self, tenant_id: str, x12_270: bytes, timeout_seconds: float) -> bytes:
        """Real-time 270 → 271 within ``timeout_seconds`` (raises ConnectorTimeout otherwise)."""
        ...

    async def claim_status(self, tenant_id: str, x12_276: bytes, timeout_seconds: float) -> bytes:
        """Real-time 276 → 277 within ``timeout_seconds`` (raises ConnectorTimeout otherwise)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
