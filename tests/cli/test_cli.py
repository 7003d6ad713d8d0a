"""The ``claimflow`` command: the embedded main job, admin tasks, dead letters and the contract check."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from typer.testing import CliRunner

from claimflow.cli import app
from claimflow_kit.config import ServiceSettings
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory, split_token
from claimflow_kit.embedded import free_port_block
from claimflow_kit.kafka import ensure_topics
from claimflow_kit.testing import BrokerHandle

pytestmark = pytest.mark.integration


def test_main_job_starts_everything_and_stops_cleanly(tmp_path: Path) -> None:
    """`claimflow up` (the README's first command) in smoke mode: all services ready, then a clean stop."""
    base = free_port_block(5)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "claimflow",
            "up",
            "--smoke",
            "--data-dir",
            str(tmp_path),
            "--port-base",
            str(base),
            "--broker-port",
            str(base + 4),
        ],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for port in range(base, base + 4):
        assert f"docs: http://127.0.0.1:{port}/docs" in result.stdout
    assert "payer-sandbox" in result.stdout
    ops_token = (tmp_path / "ops-token").read_text().strip()
    assert len(ops_token) >= 32
    assert f"ops token        {ops_token}" in result.stdout, "printed with the ops view's URL"
    assert "ops view         http://127.0.0.1:" in result.stdout
    assert "Stopped." in result.stdout
    credentials = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert split_token(credentials["ehr-integration"]) is not None
    for name in ("coding-svc", "eligibility-svc", "claims-svc", "remit-svc", "directory"):
        assert (tmp_path / f"{name}.db").exists()
    for port in range(base, base + 5):  # nothing is left listening
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


@pytest.fixture
def directory_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'directory.db'}"
    monkeypatch.setenv("CLAIMFLOW_DIRECTORY_URL", url)
    return url


def test_admin_commands_create_tenant_practice_and_key(directory_env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate", "directory"]).exit_code == 0
    created = runner.invoke(app, ["tenant", "create", "acme", "Acme Billing"])
    assert created.exit_code == 0, created.output
    again = runner.invoke(app, ["tenant", "create", "acme", "Acme Billing"])
    assert again.exit_code == 2
    assert "Conflict" in again.output
    practice = runner.invoke(app, ["practice", "add", "acme", "Clinic", "--npi", "1234567893", "--tax-id", "123456789"])
    assert practice.exit_code == 0, practice.output
    assert practice.output.strip().startswith("prac_")
    provider = runner.invoke(
        app,
        [
            "practice",
            "add-provider",
            "acme",
            practice.output.strip(),
            "--npi",
            "1234567893",
            "--last-name",
            "Ng",
            "--first-name",
            "Ada",
            "--taxonomy",
            "207Q00000X",
        ],
    )
    assert provider.exit_code == 0, provider.output
    assert provider.output.strip().startswith("prov_")
    bad_npi = runner.invoke(app, ["practice", "add", "acme", "Clinic", "--npi", "12", "--tax-id", "123456789"])
    assert bad_npi.exit_code == 2
    issued = runner.invoke(app, ["apikey", "create", "acme", "biller"])
    assert issued.exit_code == 0, issued.output
    key = json.loads(issued.output)
    assert runner.invoke(app, ["tenant", "list"]).output.startswith("acme\tAcme Billing")

    async def verify() -> tuple[str, str] | None:
        database = Database(directory_env)
        try:
            async with database.transaction() as session:
                found = await Directory(session).verify(key["key_id"], key["client_secret"])
                stored = await Directory(session).verify(key["key_id"], "wrong")
                return (found.tenant_id, found.role) if found and stored is None else None
        finally:
            await database.dispose()

    assert asyncio.run(verify()) == ("acme", "biller")


def test_dlq_list_and_replay_commands(broker: BrokerHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMFLOW_KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    monkeypatch.setenv("CLAIMFLOW_KAFKA_IDEMPOTENT_PRODUCER", str(broker.idempotent_producer).lower())
    event_id = str(uuid.uuid4())
    value = json.dumps({"id": event_id, "type": "claimflow.claim-submitted", "data": {}}).encode()
    settings = ServiceSettings(kafka_bootstrap_servers=broker.bootstrap_servers)

    async def dead_letter() -> None:
        await ensure_topics(settings, ["claimflow.claims", "claimflow.claims.dlq"])
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(
                "claimflow.claims.dlq",
                value,
                key=b"clm_1",
                headers=[
                    ("x-dlq-error-code", b"InvalidPayload"),
                    ("x-dlq-error-message", b"claim-submitted v1: 1 error"),
                    ("x-dlq-original-topic", b"claimflow.claims"),
                    ("x-dlq-consumer", b"remit-svc.claim-index"),
                ],
            )
        finally:
            await producer.stop()

    asyncio.run(dead_letter())
    runner = CliRunner()
    listed = runner.invoke(app, ["dlq", "list", "claimflow.claims"])
    assert listed.exit_code == 0, listed.output
    mine = [json.loads(line) for line in listed.output.splitlines() if event_id in line]
    assert [(m["error_code"], m["consumer"], m["replayed"]) for m in mine] == [
        ("InvalidPayload", "remit-svc.claim-index", False)
    ]
    replayed = runner.invoke(app, ["dlq", "replay", "claimflow.claims", "--event-id", event_id])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 message(s)" in replayed.output
    again = [
        json.loads(line) for line in runner.invoke(app, ["dlq", "list", "claimflow.claims.dlq"]).output.splitlines()
    ]
    assert [m["replayed"] for m in again if m["event_id"] == event_id] == [True]
    missing = runner.invoke(app, ["dlq", "replay", "claimflow.claims", "--event-id", str(uuid.uuid4())])
    assert missing.exit_code == 1

    async def back_on_topic() -> bool:
        consumer = AIOKafkaConsumer(
            "claimflow.claims", bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            for _ in range(20):
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    if any(r.value == value for r in records):
                        return True
            return False
        finally:
            await consumer.stop()

    assert asyncio.run(back_on_topic())


def test_contract_check_command_passes_on_the_committed_contract() -> None:
    result = CliRunner().invoke(app, ["events", "schemas"])
    assert result.exit_code == 0, result.output


def test_cli_help_lists_the_admin_groups() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "claimflow", "--help"], capture_output=True, text=True, env=env, check=True
    )
    for command in ("up", "run", "migrate", "tenant", "apikey", "dlq", "events"):
        assert command in result.stdout
