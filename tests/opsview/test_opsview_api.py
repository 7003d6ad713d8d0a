"""The installation-level /ops endpoints of the services and the ops view's own API: refused without the ops
token, refused with a wrong one, off when no token is configured, and numbers that match what was done."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlmodel import col, select

from claimflow.opsview.app import create_app as create_ops_view
from claimflow.opsview.config import OpsViewSettings
from claimflow.testing import OPS_HEADERS, OPS_TOKEN, Stack, TenantFixture
from claimflow_events import EligibilityChecked, EligibilityStatus
from claimflow_kit.app import build_app
from claimflow_kit.config import ServiceSettings
from claimflow_kit.directory import Role
from claimflow_kit.tables import AuditLogEntry, OutboxMessage
from claimflow_kit.testing import BrokerHandle, eventually
from claims_svc.adapters.tables import Claim, TimelineEntry
from claims_svc.api.ops import router as claims_ops_router
from claims_svc.config import ClaimsSettings
from eligibility_svc.adapters.tables import CoverageCheck
from eligibility_svc.api.ops import router as eligibility_ops_router

pytestmark = pytest.mark.integration

WRONG = {"Authorization": "Bearer not-the-ops-token"}
OPS_ENDPOINTS = [
    ("coding-svc", "/ops/status"),
    ("eligibility-svc", "/ops/status"),
    ("claims-svc", "/ops/status"),
    ("remit-svc", "/ops/status"),
    ("claims-svc", "/ops/stuck-claims"),
    ("claims-svc", "/ops/timeline?q=anything"),
    ("eligibility-svc", "/ops/payer-latency"),
]


async def publish_eligibility(stack: Stack, tenant_id: str, correlation_id: str, count: int) -> list[str]:
    """Stage ``count`` eligibility-checked events in eligibility-svc's outbox; returns their check ids."""
    context = stack.apps["eligibility-svc"].state.services
    check_ids = [f"elig_ops_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    async with context.database.transaction() as session:
        for check_id in check_ids:
            context.outbox.add(
                session,
                EligibilityChecked(
                    check_id=check_id,
                    patient_id="pat_ops",
                    payer_id="60054",
                    date_of_service=date(2026, 11, 2),
                    status=EligibilityStatus.ACTIVE,
                ),
                tenant_id=tenant_id,
                correlation_id=correlation_id,
            )
    return check_ids


def stuck_claim(tenant_id: str, payer_id: str, status: str, submitted_days_ago: float, **extra: Any) -> Claim:
    """A claim row as the pipeline leaves it after submission (or a 277CA acceptance)."""
    submitted = datetime.now(UTC) - timedelta(days=submitted_days_ago)
    return Claim(
        id=f"clm_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        encounter_id=extra.pop("encounter_id", f"enc_{uuid.uuid4().hex[:12]}"),
        encounter_version=1,
        practice_id="prac_ops",
        patient_id="pat_ops",
        payer_id=payer_id,
        claim_kind="professional",
        date_of_service=date(2026, 1, 5),
        status=status,
        total_charge=Decimal("125.00"),
        diagnosis_codes=["J20.9"],
        service_lines=[],
        correlation_id=extra.pop("correlation_id", f"corr-{uuid.uuid4().hex[:12]}"),
        patient_control_number=f"CF{uuid.uuid4().hex[:18].upper()}",
        submitted_at=submitted,
        acknowledged_at=submitted + timedelta(days=1) if status == "accepted" else None,
        **extra,
    )


@asynccontextmanager
async def shell_client(
    settings: ServiceSettings, routers: Sequence[APIRouter] = ()
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared app shell (plus ``routers``) over a stack database, without the service's background work."""
    app: FastAPI = build_app(settings, title="ops", description="ops", routers=list(routers))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shell") as client:
            yield client


@pytest.mark.parametrize(("service", "path"), OPS_ENDPOINTS, ids=lambda v: str(v))
async def test_ops_endpoints_refuse_a_missing_or_wrong_token_and_tenant_keys(
    stack: Stack, service: str, path: str
) -> None:
    tenant = await stack.create_tenant("opsauth")
    client = stack.client(service)
    for headers in ({}, WRONG, tenant.headers(Role.ADMIN), tenant.headers(Role.OPS)):
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"] == "NotAuthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.get(path, headers=OPS_HEADERS)).status_code == 200


async def test_ops_endpoints_are_off_without_a_configured_token(stack: Stack) -> None:
    claims = stack.settings["claims-svc"].model_copy(update={"ops_token": None})
    async with shell_client(claims, [claims_ops_router]) as client:
        for path in ("/ops/status", "/ops/stuck-claims", "/ops/timeline?q=anything"):
            for headers in ({}, OPS_HEADERS):
                response = await client.get(path, headers=headers)
                assert response.status_code == 403, response.text
                assert response.json()["error"] == "OpsDisabled"
                assert "CLAIMFLOW_OPS_TOKEN" in response.json()["detail"]
    eligibility = stack.settings["eligibility-svc"].model_copy(update={"ops_token": None})
    async with shell_client(eligibility, [eligibility_ops_router]) as client:
        assert (await client.get("/ops/payer-latency", headers=OPS_HEADERS)).status_code == 403


async def test_ops_status_shows_the_outbox_backlog_and_its_age(stack: Stack) -> None:
    """With the relay stopped, staged events wait in the outbox; the status counts them and ages the oldest."""
    tenant = await stack.create_tenant("opsbacklog")
    client = stack.client("eligibility-svc")
    await stack.stop_worker("eligibility-svc")
    try:
        before = (await client.get("/ops/status", headers=OPS_HEADERS)).json()["outbox"]["backlog"]
        await publish_eligibility(stack, tenant.id, f"corr-{uuid.uuid4().hex}", 3)
        status = (await client.get("/ops/status", headers=OPS_HEADERS)).json()
        assert status["service"] == "eligibility-svc"
        assert status["outbox"]["backlog"] == before + 3
        assert status["outbox"]["oldest_unsent_age_seconds"] >= 0
        assert status["outbox"]["oldest_unsent_at"] is not None
    finally:
        await stack.start_worker("eligibility-svc")

    async def drained() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get("/ops/status", headers=OPS_HEADERS)).json()
        return body if body["outbox"]["backlog"] == 0 else None

    status = await eventually(drained)
    assert status["outbox"]["oldest_unsent_age_seconds"] is None
    database = stack.database("eligibility-svc")
    try:
        async with database.transaction() as session:
            unsent = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None)))).all()
        assert unsent == []
    finally:
        await database.dispose()


async def test_ops_status_lists_the_positions_the_consumers_report(stack: Stack) -> None:
    async def positions() -> list[dict[str, Any]] | None:
        body = (await stack.client("coding-svc").get("/ops/status", headers=OPS_HEADERS)).json()
        rows: list[dict[str, Any]] = body["consumers"]
        return rows or None

    rows = await eventually(positions)
    assert {row["consumer"] for row in rows} == {"coding-svc.eligibility"}
    assert {row["topic"] for row in rows} == {"claimflow.eligibility"}
    for row in rows:
        assert row["lag"] == max(row["high_watermark"] - row["position"], 0)


async def test_stuck_claims_group_per_tenant_payer_and_what_is_missing(stack: Stack) -> None:
    tenant = await stack.create_tenant("opsstuck")
    other = await stack.create_tenant("opsstuck")
    waiting_ack = [stuck_claim(tenant.id, "60054", "submitted", days) for days in (45, 31)]
    waiting_835 = stuck_claim(tenant.id, "60054", "accepted", 60)
    elsewhere = stuck_claim(other.id, "MCARE", "submitted", 40)
    not_stuck = [
        stuck_claim(tenant.id, "60054", "submitted", 3),  # too recent
        stuck_claim(tenant.id, "60054", "paid", 90),  # answered by an 835
        stuck_claim(tenant.id, "60054", "rejected", 90),  # answered by a 277CA
    ]
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            session.add_all([*waiting_ack, waiting_835, elsewhere, *not_stuck])
    finally:
        await database.dispose()
    response = await stack.client("claims-svc").get("/ops/stuck-claims", headers=OPS_HEADERS)
    assert response.status_code == 200, response.text
    report = response.json()
    settings = stack.settings["claims-svc"]
    assert isinstance(settings, ClaimsSettings)
    assert report["stuck_after_days"] == settings.status_followup_after_days == 30
    ours = {
        (g["tenant_id"], g["payer_id"], g["stage"]): g
        for g in report["groups"]
        if g["tenant_id"] in (tenant.id, other.id)
    }
    assert set(ours) == {
        (tenant.id, "60054", "no-acknowledgment"),
        (tenant.id, "60054", "no-remittance"),
        (other.id, "MCARE", "no-acknowledgment"),
    }
    ack = ours[(tenant.id, "60054", "no-acknowledgment")]
    assert ack["count"] == 2
    assert ack["claim_ids"] == [waiting_ack[0].id, waiting_ack[1].id], "oldest first"
    assert 44.9 < ack["oldest_age_days"] < 45.1
    assert ours[(tenant.id, "60054", "no-remittance")]["claim_ids"] == [waiting_835.id]
    assert ours[(other.id, "MCARE", "no-acknowledgment")]["count"] == 1
    assert report["total"] == sum(g["count"] for g in report["groups"])
    strict = await stack.client("claims-svc").get("/ops/stuck-claims?after_days=50", headers=OPS_HEADERS)
    strict_ours = [g for g in strict.json()["groups"] if g["tenant_id"] == tenant.id]
    assert [(g["stage"], g["claim_ids"]) for g in strict_ours] == [("no-remittance", [waiting_835.id])]


async def test_payer_latency_percentiles_and_core_share(stack: Stack) -> None:
    tenant = await stack.create_tenant("opslatency")
    payer = f"LAT{uuid.uuid4().hex[:8].upper()}"
    now = datetime.now(UTC)

    def check(
        seconds: float, *, status: str = "active", origin: str = "request", age: timedelta = timedelta()
    ) -> CoverageCheck:
        completed = now - age
        return CoverageCheck(
            id=f"elig_{uuid.uuid4().hex}",
            tenant_id=tenant.id,
            patient_id="pat_ops",
            payer_id=payer,
            date_of_service=date(2026, 11, 2),
            origin=origin,
            status=status,
            created_at=completed - timedelta(seconds=seconds),
            completed_at=completed,
        )

    rows = [check(s) for s in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 22.0)]
    rows.append(check(20.0, status="timeout"))
    rows.append(check(600.0, origin="batch"))  # queued in a batch: not a payer response time
    rows.append(check(1.0, age=timedelta(hours=3)))  # outside the window
    database = stack.database("eligibility-svc")
    try:
        async with database.transaction() as session:
            session.add_all(rows)
    finally:
        await database.dispose()
    response = await stack.client("eligibility-svc").get("/ops/payer-latency", headers=OPS_HEADERS)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["limit_seconds"], report["conformance_share"], report["window_minutes"]) == (20.0, 0.9, 60)
    (ours,) = [p for p in report["payers"] if p["payer_id"] == payer]
    assert ours["count"] == 10
    assert ours["p50_seconds"] == pytest.approx(3.0, abs=0.01)
    assert ours["p95_seconds"] == pytest.approx(22.0, abs=0.01)
    assert ours["max_seconds"] == pytest.approx(22.0, abs=0.01)
    assert ours["over_limit"] == 2, "the 22 s answer and the timeout"
    assert ours["share_over_limit"] == pytest.approx(0.2)
    assert ours["conformant"] is False
    wider = (
        await stack.client("eligibility-svc").get(f"/ops/payer-latency?window_minutes={4 * 60}", headers=OPS_HEADERS)
    ).json()
    assert next(p for p in wider["payers"] if p["payer_id"] == payer)["count"] == 11


async def test_timeline_search_by_correlation_subject_claim_and_encounter_is_audited(stack: Stack) -> None:
    tenant = await stack.create_tenant("opstimeline")
    correlation_id = f"corr-ops-{uuid.uuid4().hex[:12]}"
    check_ids = await publish_eligibility(stack, tenant.id, correlation_id, 2)
    claim = stuck_claim(tenant.id, "60054", "submitted", 1, correlation_id=correlation_id)
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            session.add(claim)

        async def recorded() -> bool | None:
            async with database.transaction() as session:
                found = await session.exec(
                    select(TimelineEntry).where(col(TimelineEntry.correlation_id) == correlation_id)
                )
                return len(found.all()) == 2 or None

        await eventually(recorded)
        client = stack.client("claims-svc")
        for query in (correlation_id, check_ids[0], claim.id, claim.encounter_id):
            response = await client.get("/ops/timeline", params={"q": query}, headers=OPS_HEADERS)
            assert response.status_code == 200, response.text
            (found,) = response.json()
            assert found["tenant_id"] == tenant.id
            assert found["correlation_id"] == correlation_id
            assert found["claim_ids"] == [claim.id]
            assert found["encounter_ids"] == [claim.encounter_id]
            assert [e["event_type"] for e in found["events"]] == ["claimflow.eligibility-checked"] * 2
            assert sorted(e["subject"] for e in found["events"]) == sorted(check_ids)
        nothing = await client.get("/ops/timeline", params={"q": "no-such-id"}, headers=OPS_HEADERS)
        assert nothing.json() == []
        too_short = await client.get("/ops/timeline", params={"q": "ab"}, headers=OPS_HEADERS)
        assert too_short.status_code == 422
        async with database.transaction() as session:
            audited = (
                await session.exec(
                    select(AuditLogEntry).where(
                        col(AuditLogEntry.tenant_id) == tenant.id, col(AuditLogEntry.resource_type) == "Timeline"
                    )
                )
            ).all()
    finally:
        await database.dispose()
    assert len(audited) == 4, "one entry per timeline shown"
    assert {(a.actor, a.actor_role, a.action, a.resource_id, a.patient_id) for a in audited} == {
        ("installation-ops", "ops", "read", correlation_id, "pat_ops")
    }


def ops_view_settings(broker: BrokerHandle, token: str | None) -> OpsViewSettings:
    """The ops view against the test broker, sampling fast."""
    return OpsViewSettings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_idempotent_producer=broker.idempotent_producer,
        kafka_request_timeout_ms=5000,
        ops_token=token,
        ops_sample_interval_seconds=0.3,
        ops_rate_window_seconds=3.0,
        ops_service_urls={},
    )


@asynccontextmanager
async def ops_view_client(stack: Stack, broker: BrokerHandle, token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_ops_view(ops_view_settings(broker, token), service_clients=stack.clients)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://ops-view") as client,
    ):
        yield client


async def test_ops_view_api_needs_the_token_and_reports_every_source(stack: Stack, broker: BrokerHandle) -> None:
    tenant: TenantFixture = await stack.create_tenant("opsview")
    async with ops_view_client(stack, broker, OPS_TOKEN) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert "ClaimFlow ops view" in page.text
        for path in ("/api/snapshot", "/api/timeline?q=anything"):
            for headers in ({}, WRONG):
                refused = await client.get(path, headers=headers)
                assert refused.status_code == 401, refused.text
        refused = await client.post(
            "/api/dead-letters/replay", json={"dlq_topic": "claimflow.claims.dlq"}, headers=WRONG
        )
        assert refused.status_code == 401

        async def complete() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get("/api/snapshot", headers=OPS_HEADERS)).json()
            ready = body["sampled_at"] and body["stuck"] is not None and body["latency"] is not None
            return body if ready and all(t["per_second"] is not None for t in body["topics"]) else None

        snapshot = await eventually(complete)
        assert snapshot["broker_error"] is None
        assert {s["service"] for s in snapshot["services"]} == set(stack.clients)
        assert all(s["error"] is None and s["outbox_backlog"] is not None for s in snapshot["services"])
        topics = {t["topic"] for t in snapshot["topics"]}
        assert {"claimflow.eligibility", "claimflow.eligibility.dlq"} <= topics
        groups = {(g["group"], g["topic"]) for g in snapshot["groups"]}
        assert ("coding-svc.eligibility", "claimflow.eligibility") in groups
        assert ("claims-svc.claim-timeline", "claimflow.claims") in groups
        before = next(t for t in snapshot["topics"] if t["topic"] == "claimflow.eligibility")["messages"]
        await publish_eligibility(stack, tenant.id, f"corr-{uuid.uuid4().hex}", 4)

        async def grown() -> int | None:
            body = (await client.get("/api/snapshot", headers=OPS_HEADERS)).json()
            held = next(t for t in body["topics"] if t["topic"] == "claimflow.eligibility")["messages"]
            return held if held >= before + 4 else None

        await eventually(grown)
        bad = await client.post("/api/dead-letters/replay", json={"dlq_topic": "claimflow.claims"}, headers=OPS_HEADERS)
        assert bad.status_code == 400
        assert bad.json()["error"] == "InvalidInput"


async def test_ops_view_api_is_off_without_a_token(stack: Stack, broker: BrokerHandle) -> None:
    async with ops_view_client(stack, broker, None) as client:
        response = await client.get("/api/snapshot", headers=OPS_HEADERS)
        assert response.status_code == 403
        assert response.json()["error"] == "OpsDisabled"
