"""The code sets one coding-svc process serves, and how new releases reach it without a restart.

``CodeSetRuntime`` owns the current immutable registry (packaged code sets + stored releases). A background task
polls the ``code_set_release`` table; when rows were added it builds the next registry in a worker thread and
swaps the reference. Requests in flight keep the snapshot they read; the next request sees the new quarter.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import col, select

from claimflow_kit.db import Database
from claimflow_kit.errors import InvalidInput
from coding_svc.adapters.tables import CodeSetReleaseRecord
from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.releases import Release, ReleaseKind, apply_release
from coding_svc.codesets.search import IcdSearchIndex
from coding_svc.codesets.versioning import CodeSetNotInForce, EffectivePeriod
from coding_svc.domain.suggest import NoteSuggester
from coding_svc.service.edits import CodeSetEdits

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredRelease:
    """A release row without its content (for listings)."""

    id: int
    kind: str
    label: str
    period_start: date
    period_end: date | None
    filename: str
    sha256: str
    loaded_by: str


class CodeSetRuntime:
    """Current code sets, edits, search indexes and the release watermark of this process."""

    def __init__(self, base: CodeSetRegistry) -> None:
        self._base = base
        self.registry = base
        self.applied_release_id = 0
        self.edits = CodeSetEdits(base)
        self._indexes: dict[int, IcdSearchIndex] = {}
        self._lock = asyncio.Lock()
        self._index_building = asyncio.Lock()

    def _swap(self, registry: CodeSetRegistry, release_id: int) -> None:
        self.registry = registry
        self.edits.registry = registry
        self.applied_release_id = release_id
        self._indexes = {}
        gc.collect()
        gc.freeze()

    async def refresh(self, database: Database) -> int:
        """Apply releases stored since the last refresh; returns how many were applied."""
        async with self._lock:
            async with database.transaction() as session:
                newest = (await session.exec(select(func.max(col(CodeSetReleaseRecord.id))))).one()
                if newest is None or newest <= self.applied_release_id:
                    return 0
                rows = list(
                    (
                        await session.exec(
                            select(CodeSetReleaseRecord)
                            .where(col(CodeSetReleaseRecord.id) > self.applied_release_id)
                            .order_by(col(CodeSetReleaseRecord.id))
                        )
                    ).all()
                )
            releases = [(row.id or 0, _release(row)) for row in rows]
            registry, applied = await asyncio.to_thread(_apply_all, self.registry, releases)
            self._swap(registry, applied)
            logger.info("code sets: applied %d release(s), watermark %d", len(releases), applied)
            return len(releases)

    async def watch(self, database: Database, every: float) -> None:
        """Refresh forever (a background task of the API process); errors are logged and retried."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh(database)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("code-set refresh failed; will retry")

    async def search_index(self, date_of_service: date) -> IcdSearchIndex:
        """The ICD-10-CM search index for the version in force on the date: built once (1-2 s, off the event loop)
        by the first request that needs it, while the others asking for it wait instead of building it again."""
        try:
            icd, _carried = self.registry.icd.at_or_latest(date_of_service)
        except CodeSetNotInForce as exc:
            raise InvalidInput(str(exc)) from None
        index = self._indexes.get(id(icd))
        if index is None:
            async with self._index_building:
                index = self._indexes.get(id(icd))
                if index is None:
                    index = await asyncio.to_thread(IcdSearchIndex, icd)
                    self._indexes[id(icd)] = index
        return index

    async def suggester(self, date_of_service: date) -> NoteSuggester:
        """Note-to-code suggestions against the version in force on the date."""
        return NoteSuggester(await self.search_index(date_of_service))


def _release(row: CodeSetReleaseRecord) -> Release:
    return Release(
        kind=ReleaseKind(row.kind),
        period=EffectivePeriod(row.period_start, row.period_end),
        filename=row.filename,
        content=row.content,
        label=row.label,
    )


def _apply_all(registry: CodeSetRegistry, releases: list[tuple[int, Release]]) -> tuple[CodeSetRegistry, int]:
    applied = 0
    for release_id, release in releases:
        registry = apply_release(registry, release)
        applied = release_id
    return registry, applied


async def store_release(
    database: Database, release: Release, *, loaded_by: str, check: Callable[[Release], object]
) -> StoredRelease:
    """Check the release parses (``check``), then store it once; loading the same file again is a no-op."""
    await asyncio.to_thread(check, release)
    async with database.transaction() as session:
        existing = (
            await session.exec(
                select(CodeSetReleaseRecord).where(
                    CodeSetReleaseRecord.kind == release.kind.value,
                    CodeSetReleaseRecord.period_start == release.period.start,
                    CodeSetReleaseRecord.sha256 == release.sha256,
                )
            )
        ).first()
        row = existing or CodeSetReleaseRecord(
            kind=release.kind.value,
            label=release.label,
            period_start=release.period.start,
            period_end=release.period.end,
            filename=release.filename,
            sha256=release.sha256,
            content=release.content,
            loaded_by=loaded_by,
        )
        if existing is None:
            session.add(row)
            await session.flush()
        return _stored(row)


async def list_releases(database: Database) -> list[StoredRelease]:
    """Every stored release, oldest first (without content)."""
    async with database.transaction() as session:
        rows = await session.exec(select(CodeSetReleaseRecord).order_by(col(CodeSetReleaseRecord.id)))
        return [_stored(row) for row in rows.all()]


def _stored(row: CodeSetReleaseRecord) -> StoredRelease:
    return StoredRelease(
        id=row.id or 0,
        kind=row.kind,
        label=row.label,
        period_start=row.period_start,
        period_end=row.period_end,
        filename=row.filename,
        sha256=row.sha256,
        loaded_by=row.loaded_by,
    )
