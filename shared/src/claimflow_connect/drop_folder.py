"""Drop-folder connector: batch files through an outbound and an inbound folder (how SFTP clearinghouses work).

The folders are usually an SFTP share mounted on the host (or synced by a transfer agent). Two rules keep the
other side from seeing half a file and keep ClaimFlow from losing one:

- outbound files are written under a hidden temporary name in the same folder and renamed into place; a rename
  within one filesystem is atomic, so the pickup job sees either nothing or the whole file;
- inbound files stay where they are until ``acknowledge`` moves them to the archive folder, so a crash between
  reading and recording a file only means reading it again (the X12 control numbers make that harmless).

Folder settings may contain ``{tenant_id}`` so one route serves every tenant with its own folders.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from claimflow_connect.errors import ConnectorError, ConnectorUnavailable, ConnectorUnsupported
from claimflow_connect.models import MailboxItem, SubmissionReceipt, detect_response_kind

__all__ = ["DropFolderConnector"]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def _safe(value: str, what: str) -> str:
    """Reject names that could escape the folder (path separators, leading dots, ``..``)."""
    if not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ConnectorError(f"{what} {value!r} is not a safe file name (letters, digits, . _ -)")
    return value


class DropFolderConnector:
    """Writes submissions to an outbound folder and reads responses from an inbound folder."""

    kind = "drop-folder"

    def __init__(self, outbound_dir: str, inbound_dir: str, archive_dir: str) -> None:
        self._outbound = outbound_dir
        self._inbound = inbound_dir
        self._archive = archive_dir

    def _folder(self, template: str, tenant_id: str) -> Path:
        return Path(template.format(tenant_id=_safe(tenant_id, "tenant id")))

    async def submit(self, tenant_id: str, payer_id: str, x12: bytes, filename: str) -> SubmissionReceipt:
        """Place the file atomically; the same name with the same bytes again is a no-op returning the receipt."""
        name = _safe(filename, "file name")
        folder = self._folder(self._outbound, tenant_id)
        return await asyncio.to_thread(self._write, folder, name, x12)

    def _write(self, folder: Path, name: str, content: bytes) -> SubmissionReceipt:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            if target.exists():
                if target.read_bytes() != content:
                    raise ConnectorError(f"{name} was already submitted with different content")
            else:
                temporary = folder / f".{name}.{uuid.uuid4().hex}.part"
                with open(temporary, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, target)
            received = datetime.fromtimestamp(target.stat().st_mtime, UTC)
        except OSError as exc:
            raise ConnectorUnavailable(f"outbound folder not writable: {type(exc).__name__}") from exc
        digest = hashlib.sha256(content).hexdigest()[:16]
        return SubmissionReceipt(
            submission_id=f"{name}:{digest}", filename=name, received_at=received, connector=self.kind
        )

    async def fetch_responses(self, tenant_id: str, after: str | None = None) -> list[MailboxItem]:
        """Every file still in the inbound folder, oldest first; ``after`` skips items up to that cursor."""
        folder = self._folder(self._inbound, tenant_id)
        return await asyncio.to_thread(self._read, folder, after)

    def _read(self, folder: Path, after: str | None) -> list[MailboxItem]:
        try:
            entries = (
                [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")] if folder.exists() else []
            )
            stamped = sorted((p.stat().st_mtime_ns, p.name, p) for p in entries)
            items = []
            for mtime_ns, name, path in stamped:
                cursor = f"{mtime_ns:020d}:{name}"
                if after is not None and cursor <= after:
                    continue
                content = path.read_bytes()
                items.append(
                    MailboxItem(
                        id=name,
                        kind=detect_response_kind(content),
                        filename=name,
                        created_at=datetime.fromtimestamp(mtime_ns / 1e9, UTC),
                        cursor=cursor,
                        content=content,
                    )
                )
        except OSError as exc:
            raise ConnectorUnavailable(f"inbound folder not readable: {type(exc).__name__}") from exc
        return items

    async def acknowledge(self, tenant_id: str, item_ids: Sequence[str]) -> None:
        """Move processed files to the archive folder (a name already archived gets a unique suffix)."""
        inbound = self._folder(self._inbound, tenant_id)
        archive = self._folder(self._archive, tenant_id)
        names = [_safe(item_id, "item id") for item_id in item_ids]
        await asyncio.to_thread(self._archive_files, inbound, archive, names)

    @staticmethod
    def _archive_files(inbound: Path, archive: Path, names: list[str]) -> None:
        try:
            archive.mkdir(parents=True, exist_ok=True)
            for name in names:
                source = inbound / name
                if not source.exists():
                    continue  # archived by an earlier acknowledgment
                target = archive / name
                if target.exists():
                    target = archive / f"{name}.{uuid.uuid4().hex[:8]}"
                os.replace(source, target)
        except OSError as exc:
            raise ConnectorUnavailable(f"archive folder not writable: {type(exc).__name__}") from exc

    async def eligibility(self, tenant_id: str, x12_270: bytes, timeout_seconds: float) -> bytes:
        """Not possible: a drop folder is a batch channel (submit a batch 270 and read the 271 from the inbox)."""
        raise ConnectorUnsupported("a drop-folder route cannot answer real-time eligibility; route 270s elsewhere")

    async def claim_status(self, tenant_id: str, x12_276: bytes, timeout_seconds: float) -> bytes:
        """Not possible: a drop folder is a batch channel (a batch 276 is submitted, its 277 read from the inbox)."""
        raise ConnectorUnsupported("a drop-folder route cannot answer real-time claim status; route 276s elsewhere")

    async def aclose(self) -> None:
        """Nothing to release."""
