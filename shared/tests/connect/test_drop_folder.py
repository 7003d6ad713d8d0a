"""DropFolderConnector on real folders: atomic placement, inbound listing, archiving."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claimflow_connect import ConnectorError, ConnectorUnsupported, DropFolderConnector, ResponseKind

SAMPLES = Path(__file__).parent.parent / "x12" / "samples"


def connector(root: Path) -> DropFolderConnector:
    return DropFolderConnector(
        str(root / "{tenant_id}" / "out"), str(root / "{tenant_id}" / "in"), str(root / "{tenant_id}" / "archive")
    )


async def test_submission_lands_whole_under_its_name_with_no_temporary_files_left(tmp_path: Path) -> None:
    drop = connector(tmp_path)
    content = (SAMPLES / "837p_dependent_corrected.x12").read_bytes()
    receipt = await drop.submit("tenant-a", "60054", content, "claims-0001.837")
    outbound = tmp_path / "tenant-a" / "out"
    assert [p.name for p in outbound.iterdir()] == ["claims-0001.837"]
    assert (outbound / "claims-0001.837").read_bytes() == content
    assert receipt.filename == "claims-0001.837"
    assert await drop.submit("tenant-a", "60054", content, "claims-0001.837") == receipt
    with pytest.raises(ConnectorError, match="different content"):
        await drop.submit("tenant-a", "60054", content + b"\n", "claims-0001.837")


async def test_inbound_files_are_listed_by_kind_until_acknowledged_then_archived(tmp_path: Path) -> None:
    drop = connector(tmp_path)
    inbound = tmp_path / "tenant-a" / "in"
    inbound.mkdir(parents=True)
    for index, name in enumerate(
        ["999_accepted.x12", "277ca_accepted_rejected.x12", "835_multi_claim_reversal_plb.x12"]
    ):
        target = inbound / name
        target.write_bytes((SAMPLES / name).read_bytes())
        os.utime(target, ns=(1_700_000_000_000_000_000 + index, 1_700_000_000_000_000_000 + index))
    (inbound / ".upload-in-progress.part").write_bytes(b"ISA*partial")
    items = await drop.fetch_responses("tenant-a")
    assert [(i.id, i.kind) for i in items] == [
        ("999_accepted.x12", ResponseKind.ACK_999),
        ("277ca_accepted_rejected.x12", ResponseKind.CLAIM_ACK_277CA),
        ("835_multi_claim_reversal_plb.x12", ResponseKind.REMITTANCE_835),
    ]
    assert [i.id for i in await drop.fetch_responses("tenant-a", after=items[0].cursor)] == [i.id for i in items[1:]]
    await drop.acknowledge("tenant-a", [items[0].id, items[1].id])
    assert [i.id for i in await drop.fetch_responses("tenant-a")] == ["835_multi_claim_reversal_plb.x12"]
    archived = sorted(p.name for p in (tmp_path / "tenant-a" / "archive").iterdir())
    assert archived == ["277ca_accepted_rejected.x12", "999_accepted.x12"]
    await drop.acknowledge("tenant-a", [items[0].id])  # a repeated acknowledgment is harmless
    assert await drop.fetch_responses("tenant-b") == []


async def test_unsafe_names_and_real_time_eligibility_are_refused(tmp_path: Path) -> None:
    drop = connector(tmp_path)
    with pytest.raises(ConnectorError, match="safe"):
        await drop.submit("../other", "60054", b"ISA", "x.837")
    with pytest.raises(ConnectorError, match="safe"):
        await drop.submit("tenant-a", "60054", b"ISA", "../../etc/passwd")
    with pytest.raises(ConnectorUnsupported):
        await drop.eligibility("tenant-a", b"ISA", timeout_seconds=1)
