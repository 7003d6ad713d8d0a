"""The clearinghouse mailbox: response files per tenant, listed after a cursor (ids increase monotonically)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from claimflow_connect.models import ResponseKind
from claimflow_kit.errors import NotFound

__all__ = ["Mailbox", "MailboxEntry"]


@dataclass(frozen=True, slots=True)
class MailboxEntry:
    """One file waiting for a tenant."""

    id: str  # zero-padded sequence: sorts like the numbers, doubles as the cursor
    tenant_id: str
    kind: ResponseKind
    filename: str
    created_at: datetime
    content: bytes


class Mailbox:
    """Append-only store of response files (callers hold the sandbox lock)."""

    def __init__(self) -> None:
        self._entries: list[MailboxEntry] = []

    def put(
        self, tenant_id: str, kind: ResponseKind, filename: str, created_at: datetime, content: bytes
    ) -> MailboxEntry:
        """Add a file for ``tenant_id``."""
        entry = MailboxEntry(f"{len(self._entries) + 1:010d}", tenant_id, kind, filename, created_at, content)
        self._entries.append(entry)
        return entry

    def list(self, tenant_id: str, after: str | None = None, limit: int = 100) -> list[MailboxEntry]:
        """The tenant's files with an id greater than ``after``, oldest first."""
        cursor = after or ""
        found = [e for e in self._entries if e.tenant_id == tenant_id and e.id > cursor]
        return found[:limit]

    def get(self, tenant_id: str, entry_id: str) -> MailboxEntry:
        """One of the tenant's files (another tenant's file is not found)."""
        for entry in self._entries:
            if entry.id == entry_id and entry.tenant_id == tenant_id:
                return entry
        raise NotFound("MailboxItem", entry_id)
