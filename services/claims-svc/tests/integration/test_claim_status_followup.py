"""Stale claims are followed up with a real-time 276 to the payer-sandbox and its 277 recorded; claims the payer
cannot answer, or has no record of, show as stuck with what to do — through the HTTP API and the real sandbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest

from claimflow.testing import Stack, TenantFixture, encounter_body, json_list
from claimflow_kit.directory import Role
from claimflow_kit.testing import eventually
from claims_svc.adapters.tables import Claim
from claims_svc.service.followup import STATUS_INQUIRY_EVENT, StatusFollowup

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}


def followup(stack: Stack) -> StatusFollowup:
    return cast(StatusFollowup, stack.apps["claims-svc"].state.services.extras["status_followup"])


async def accepted_claim(stack: Stack, tenant: TenantFixture, day: str = "2026-11-16") -> dict[str, Any]:
    """A clean claim for the sandbox's MARIA LOPEZ, submitted and accepted by the payer (277CA)."""
    body = encounter_body(tenant, date_of_service=day, group_number="GRP60054A")
    body["patient"] = {**body["patient"], "address": HOME}
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text
    claims = stack.client("claims-svc")

    async def claim_in(states: set[str]) -> dict[str, Any] | None:
        found = await json_list(claims, f"/v1/claims?encounter_id={posted.json()['id']}", tenant.headers(Role.BILLER))
        return found[0] if found and found[0]["status"] in states else None

    ready = await eventually(lambda: claim_in({"ready", "held"}))
    assert ready["status"] == "ready", ready["findings"]
    sent = await claims.post(
        "/v1/claim-submissions",
        json={"claim_ids": [ready["id"]]},
        headers={**tenant.headers(Role.BILLER), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert sent.status_code == 201, sent.text
    accepted = await eventually(lambda: claim_in({"accepted", "rejected"}))
    assert accepted["status"] == "accepted", accepted["rejection"]
    return accepted


async def age(stack: Stack, claim_id: str, days: int, **changes: Any) -> None:
    """Make the claim look submitted ``days`` ago (and change other columns, e.g. what the payer knows it by)."""
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            claim = await session.get(Claim, claim_id)
            assert claim is not None
            assert claim.submitted_at is not None
            claim.submitted_at = datetime.now(UTC) - timedelta(days=days)
            for name, value in changes.items():
                setattr(claim, name, value)
            session.add(claim)
    finally:
        await database.dispose()


async def inquiries(stack: Stack, tenant: TenantFixture, claim_id: str) -> list[dict[str, Any]]:
    return await json_list(
        stack.client("claims-svc"), f"/v1/claims/{claim_id}/status-inquiries", tenant.headers(Role.BILLER)
    )


async def stuck(stack: Stack, tenant: TenantFixture) -> dict[str, dict[str, Any]]:
    found = await json_list(stack.client("claims-svc"), "/v1/claims/stuck", tenant.headers(Role.BILLER))
    return {s["claim_id"]: s for s in found}


@asynccontextmanager
async def payer_down(stack: Stack, payer_id: str) -> AsyncIterator[None]:
    """The sandbox's clearinghouse answers 503 for the payer while inside."""
    assert stack.sandbox_url
    async with httpx.AsyncClient(base_url=stack.sandbox_url) as sandbox:
        before = (await sandbox.get("/v1/scenario")).json()
        changed = {**before, "payers": {**before["payers"], payer_id: {"submission_failure": True}}}
        assert (await sandbox.put("/v1/scenario", json=changed)).status_code == 200
        try:
            yield
        finally:
            await sandbox.put("/v1/scenario", json=before)


async def test_claim_unanswered_for_30_days_gets_a_276_and_the_payers_277_is_recorded(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await accepted_claim(stack, tenant)
    await followup(stack).run_once()
    assert await inquiries(stack, tenant, claim["id"]) == [], "a claim submitted today is not followed up"

    await age(stack, claim["id"], days=31)
    assert await followup(stack).run_once() >= 1
    (inquiry,) = await inquiries(stack, tenant, claim["id"])
    assert inquiry["status"] == "answered", inquiry["error"]
    assert inquiry["trace_number"] == f"{claim['patient_control_number']}-S1"
    assert inquiry["category_code"] in ("A2", "P1"), "the sandbox has the claim in process"
    answer = inquiry["answer"]
    assert answer["kind"] == "in-process"
    assert answer["payer_claim_number"] == claim["payer_claim_number"]
    assert answer["total_charge"] == "125.00"
    assert claim["id"] not in await stuck(stack, tenant), "in process at the payer: not stuck"

    await followup(stack).run_once()
    assert len(await inquiries(stack, tenant, claim["id"])) == 1, "the next 276 waits the retry interval"

    timeline = await json_list(
        stack.client("claims-svc"), f"/v1/claims/{claim['id']}/timeline", tenant.headers(Role.OPS)
    )
    (entry,) = [e for e in timeline if e["event_type"] == STATUS_INQUIRY_EVENT]
    assert entry["summary"].startswith(f"276 sent; 277 {inquiry['category_code']}:20")


async def test_claim_the_payer_has_no_record_of_is_stuck_with_the_fix(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await accepted_claim(stack, tenant)
    # The payer knows the claim by its own number and our PCN; a claim it never received matches neither.
    await age(stack, claim["id"], days=45, patient_control_number="CF0000LOST0000000001", payer_claim_number=None)
    await followup(stack).run_once()

    (inquiry,) = await inquiries(stack, tenant, claim["id"])
    assert (inquiry["category_code"], inquiry["status_code"]) == ("A4", "35")
    listed = (await stuck(stack, tenant))[claim["id"]]
    assert listed["days_waiting"] == 45
    assert listed["inquiries"] == 1
    assert "no record" in listed["reason"]
    assert "resubmit" in listed["action"]
    assert listed["last_answer"]["kind"] == "not-found"

    again = await followup(stack).run_once(now=datetime.now(UTC) + timedelta(days=8))
    assert len(await inquiries(stack, tenant, claim["id"])) == 1, f"a person must act: no more 276s ({again})"


async def test_payer_that_cannot_be_reached_leaves_the_claim_stuck_until_an_answer_comes(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await accepted_claim(stack, tenant)
    await age(stack, claim["id"], days=35)
    claims = stack.client("claims-svc")
    async with payer_down(stack, "60054"):
        asked = await claims.post(f"/v1/claims/{claim['id']}/status-inquiries", headers=tenant.headers(Role.BILLER))
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "failed"
    assert "HTTP 503" in asked.json()["error"]
    listed = (await stuck(stack, tenant))[claim["id"]]
    assert listed["reason"].startswith("last 276: no answer")
    assert "call the payer" in listed["action"]

    # The round keeps asking a payer that did not answer, spaced by the retry interval, while it is listed.
    await followup(stack).run_once()
    assert len(await inquiries(stack, tenant, claim["id"])) == 1
    await followup(stack).run_once(now=datetime.now(UTC) + timedelta(days=7, minutes=1))
    first, second = await inquiries(stack, tenant, claim["id"])
    assert (first["status"], second["status"]) == ("failed", "answered")
    assert second["trace_number"].endswith("-S2")
    assert claim["id"] not in await stuck(stack, tenant)


async def test_status_of_a_claim_is_asked_only_while_the_payer_owes_an_answer_and_only_by_its_tenant(
    stack: Stack,
) -> None:
    tenant, other = await stack.create_tenant(), await stack.create_tenant()
    claim = await accepted_claim(stack, tenant)
    claims = stack.client("claims-svc")
    url = f"/v1/claims/{claim['id']}/status-inquiries"
    assert (await claims.post(url, headers=other.headers(Role.BILLER))).status_code == 404
    assert (await claims.get(url, headers=other.headers(Role.BILLER))).status_code == 404
    assert (await claims.post(url, headers=tenant.headers(Role.CODER))).status_code == 403
    assert (await claims.get("/v1/claims/stuck", headers=other.headers(Role.BILLER))).json() == []

    held = encounter_body(tenant, date_of_service="2026-11-16")  # no group number or address: held
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=held, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201

    async def held_claim() -> dict[str, Any] | None:
        found = await json_list(claims, f"/v1/claims?encounter_id={posted.json()['id']}", tenant.headers(Role.BILLER))
        return found[0] if found and found[0]["status"] == "held" else None

    not_sent = await eventually(held_claim)
    refused = await claims.post(f"/v1/claims/{not_sent['id']}/status-inquiries", headers=tenant.headers(Role.BILLER))
    assert refused.status_code == 409
    assert "only while the payer owes an answer" in refused.json()["detail"]


async def test_a_claim_that_cannot_be_asked_about_is_stuck_with_the_reason_and_the_round_goes_on(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    orphan, fine = await accepted_claim(stack, tenant), await accepted_claim(stack, tenant, "2026-11-13")
    await age(stack, orphan["id"], days=40, practice_id="prac_left_the_directory")
    await age(stack, fine["id"], days=40)
    await followup(stack).run_once()

    (failed,) = await inquiries(stack, tenant, orphan["id"])
    assert failed["status"] == "failed"
    assert failed["error"].startswith("not sent: Practice prac_left_the_directory")
    assert "no answer" in (await stuck(stack, tenant))[orphan["id"]]["reason"]
    (answered,) = await inquiries(stack, tenant, fine["id"])
    assert answered["status"] == "answered", "the other claims of the round were still asked about"
