"""X12 control numbers (ISA13, GS06, ST02) from a persistent sequence per sender, in the service database.

One atomic upsert per allocation (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) works the same on
PostgreSQL and SQLite, so concurrent writers and restarts never hand out a number twice.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from claimflow_kit.db import Database
from claimflow_kit.tables import ControlNumberSequence
from claimflow_x12.envelope import ControlNumberKind

MAX_CONTROL_NUMBER = 999_999_999
"""Control numbers are 9 digits; after the last one the sequence wraps to 1."""


class SqlControlNumberAllocator:
    """A ``ControlNumberAllocator`` backed by the service database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def allocate(self, kind: ControlNumberKind, sender_id: str, count: int = 1) -> list[int]:
        """Reserve ``count`` numbers of ``kind`` for ``sender_id`` (committed before they are returned)."""
        if count < 0:
            raise ValueError("count must not be negative")
        if count == 0:
            return []
        table = ControlNumberSequence.__table__  # type: ignore[attr-defined]
        insert = pg_insert if self.database.dialect == "postgresql" else sqlite_insert
        statement = (
            insert(table)
            .values(sender_id=sender_id, kind=kind.value, next_value=1 + count)
            .on_conflict_do_update(
                index_elements=[table.c.sender_id, table.c.kind],
                set_={"next_value": table.c.next_value + count},
            )
            .returning(table.c.next_value)
        )
        async with self.database.transaction() as session:
            next_value = int((await session.exec(statement)).scalar_one())
        first = next_value - count
        return [(value - 1) % MAX_CONTROL_NUMBER + 1 for value in range(first, next_value)]


class BlockControlNumberAllocator:
    """Reserves control numbers from ``inner`` in blocks and hands them out from memory.

    For high-rate exchanges (real-time 270s) one database round trip then serves ``block`` envelopes. Numbers
    stay unique across processes and restarts (each block is reserved atomically); a restart leaves a gap,
    which X12 allows: control numbers must be unique, not contiguous.
    """

    def __init__(self, inner: SqlControlNumberAllocator, *, block: int = 100) -> None:
        if block < 1:
            raise ValueError("block must be at least 1")
        self.inner = inner
        self.block = block
        self._free: dict[tuple[ControlNumberKind, str], list[int]] = {}
        self._lock = asyncio.Lock()

    async def allocate(self, kind: ControlNumberKind, sender_id: str, count: int = 1) -> list[int]:
        """``count`` numbers of ``kind`` for ``sender_id``, refilling the block when it runs out."""
        if count < 0:
            raise ValueError("count must not be negative")
        async with self._lock:
            free = self._free.setdefault((kind, sender_id), [])
            if len(free) < count:
                free.extend(await self.inner.allocate(kind, sender_id, max(self.block, count - len(free))))
            taken, free[:] = free[:count], free[count:]
            return taken
