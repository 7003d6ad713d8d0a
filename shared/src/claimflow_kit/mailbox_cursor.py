"""How far a service has read a tenant's connector mailbox: one row per (tenant, route) in the service's own table.

claims-svc (999/277CA) and remit-svc (835) each read the same mailboxes for their own files, each keeping its own
cursor, in a table of its own database with the same columns (``tenant_id``, ``route``, ``cursor``, ``updated_at``).
"""

from __future__ import annotations

from typing import Any

from claimflow_kit.db import Database
from claimflow_kit.tables import utcnow


async def read_cursor(database: Database, table: type[Any], tenant_id: str, route: str) -> str | None:
    """Where the next read of the mailbox starts (None: from its beginning)."""
    async with database.transaction() as session:
        row = await session.get(table, (tenant_id, route))
    cursor: str | None = None if row is None else row.cursor
    return cursor


async def save_cursor(database: Database, table: type[Any], tenant_id: str, route: str, cursor: str | None) -> None:
    """Record that the mailbox was read up to ``cursor``, in a transaction of its own (after each item applied)."""
    async with database.transaction() as session:
        row = await session.get(table, (tenant_id, route)) or table(tenant_id=tenant_id, route=route)
        row.cursor = cursor
        row.updated_at = utcnow()
        session.add(row)
