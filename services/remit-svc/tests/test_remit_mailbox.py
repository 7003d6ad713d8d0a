"""The whole way round: encounter → claim → 837 to the payer-sandbox → its check run → 835 in the connector
mailbox → remit-svc reads and posts it, once, with the ledger balanced."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from claimflow.testing import Stack, TenantFixture, encounter_body, json_list
from claimflow_kit.directory import Role
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}


@asynccontextmanager
async def instant_adjudication(stack: Stack, payer_id: str) -> AsyncIterator[httpx.AsyncClient]:
    """Let the sandbox payer pay on the day it receives a claim, for the duration of a test."""
    assert stack.sandbox_url
    async with httpx.AsyncClient(base_url=stack.sandbox_url) as sandbox:
        before = (await sandbox.get("/v1/scenario")).json()
        changed = {**before, "payers": {**before["payers"], payer_id: {"adjudication_days": 0, "denial_rate": 0}}}
        assert (await sandbox.put("/v1/scenario", json=changed)).status_code == 200
        try:
            yield sandbox
        finally:
            await sandbox.put("/v1/scenario", json=before)


async def accepted_claim(stack: Stack, tenant: TenantFixture) -> dict[str, Any]:
    body = encounter_body(tenant, date_of_service="2026-11-16", group_number="GRP60054A")
    body["patient"] = {**body["patient"], "address": HOME}
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text
    encounter_id = posted.json()["id"]

    async def ready() -> dict[str, Any] | None:
        claims = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter_id}", tenant.headers(Role.BILLER)
        )
        return claims[0] if claims and claims[0]["status"] in ("ready", "held") else None

    claim = await eventually(ready)
    assert claim["status"] == "ready", claim["findings"]
    sent = await stack.client("claims-svc").post(
        "/v1/claim-submissions",
        json={"claim_ids": [claim["id"]]},
        headers={**tenant.headers(Role.BILLER), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert sent.status_code == 201, sent.text
    return claim


async def test_sandbox_835_arrives_through_the_mailbox_and_posts_once(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    remit = stack.client("remit-svc")
    async with instant_adjudication(stack, "60054") as sandbox:
        claim = await accepted_claim(stack, tenant)

        async def indexed() -> dict[str, Any] | None:
            response = await remit.get(f"/v1/open-claims/{claim['id']}", headers=tenant.headers(Role.BILLER))
            return response.json() if response.status_code == 200 else None

        await eventually(indexed)
        run = await sandbox.post("/v1/clock/advance", json={"days": 0})
        assert run.status_code == 200, run.text
        assert run.json()["check_runs"][0]["mailbox_ids"], "the check run released an ERA"

    async def posted() -> dict[str, Any] | None:
        response = await remit.get(f"/v1/open-claims/{claim['id']}", headers=tenant.headers(Role.BILLER))
        body: dict[str, Any] = response.json()
        return body if body["status"] != "open" else None

    standing = await eventually(posted)
    assert standing["status"] in ("paid", "patient_responsibility", "partially_paid"), standing
    (remittance,) = await json_list(remit, "/v1/remittances", tenant.headers(Role.BILLER))
    assert (remittance["status"], remittance["posted_claims"], remittance["unmatched_claims"]) == ("posted", 1, 0)

    ledger = (await remit.get(f"/v1/claims/{claim['id']}/ledger", headers=tenant.headers(Role.BILLER))).json()
    balances = ledger["balances"]
    assert balances["insurance_ar"] == "0.00", "the sandbox adjudicated the whole 125.00"
    assert sum(float(v) for v in balances.values()) == 0

    # The claim reaches claims-svc as paid: payment-posted went over the broker.
    async def claim_paid() -> dict[str, Any] | None:
        response = await stack.client("claims-svc").get(
            f"/v1/claims/{claim['id']}", headers=tenant.headers(Role.BILLER)
        )
        body: dict[str, Any] = response.json()
        return body if body["status"] in ("paid", "partially_paid") else None

    await eventually(claim_paid)

    # Reading the mailbox again (the cursor moved; a redelivered file would be a duplicate) posts nothing new.
    poster = stack.apps["remit-svc"].state.services.extras["remittance_poster"]
    await poster.poll_mailboxes()
    assert len(await json_list(remit, "/v1/remittances", tenant.headers(Role.BILLER))) == 1
