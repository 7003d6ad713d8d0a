"""Events written with a state change in one service drive the others, through the real broker."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from claimflow.testing import Stack, encounter_body, json_list
from claimflow_events import EventEnvelope, default_catalog
from claimflow_kit.directory import Role
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import InboxRecord, OutboxMessage
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration


async def test_clean_encounter_reaches_eligibility_and_becomes_a_claim(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    posted = await coding.post(
        "/v1/encounters", json=encounter_body(tenant), headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text
    encounter = posted.json()

    async def pre_check() -> list[dict[str, Any]]:
        return await json_list(
            stack.client("eligibility-svc"),
            f"/v1/eligibility-checks?encounter_id={encounter['id']}",
            tenant.headers(Role.BILLER),
        )

    checks = await eventually(pre_check)
    # Never checked before in this tenant: the front desk completes the inquiry (events carry no demographics).
    assert [(c["origin"], c["status"], c["patient_id"]) for c in checks] == [
        ("pre-check", "needs-inquiry", encounter["patient_id"])
    ]

    assert encounter["status"] == "coded"  # clean: coded at intake, no coder needed

    async def claim() -> list[dict[str, Any]]:
        return await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter['id']}", tenant.headers(Role.BILLER)
        )

    async def scrubbed() -> list[dict[str, Any]] | None:
        found = await claim()
        return found if found and found[0]["status"] != "draft" else None

    claims = await eventually(scrubbed)
    assert len(claims) == 1
    # The fixture encounter sends no patient address: the scrubber holds the claim and says why.
    assert claims[0]["status"] == "held"
    assert [f["code"] for f in claims[0]["findings"]] == ["PATIENT_ADDRESS_MISSING"]
    assert claims[0]["total_charge"] == "125.00"
    assert claims[0]["diagnosis_codes"] == ["J20.9", "R05.9"]


async def test_encounter_intake_is_idempotent_and_changes_make_a_new_version(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    body = encounter_body(tenant)
    first = await coding.post("/v1/encounters", json=body, headers=headers)
    replay = await coding.post("/v1/encounters", json=body, headers=headers)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    changed = await coding.post("/v1/encounters", json={**body, "diagnoses": ["J20.9"]}, headers=headers)
    assert changed.status_code == 201
    assert changed.json()["version"] == 2
    assert changed.json()["id"] != first.json()["id"]
    old = await coding.get(f"/v1/encounters/{first.json()['id']}", headers=headers)
    assert old.json()["status"] == "superseded"
    listed = await json_list(coding, "/v1/encounters", headers)
    assert [e["id"] for e in listed] == [changed.json()["id"]]

    async def checks() -> list[dict[str, Any]]:
        found = []
        for encounter_id in (first.json()["id"], changed.json()["id"]):
            found += await json_list(
                stack.client("eligibility-svc"),
                f"/v1/eligibility-checks?encounter_id={encounter_id}",
                tenant.headers(Role.BILLER),
            )
        return found if len(found) == 2 else []

    assert len(await eventually(checks)) == 2  # one event per version, not per request


async def test_bad_input_gets_a_clear_error_and_writes_nothing(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    malformed = await coding.post(
        "/v1/encounters", json=encounter_body(tenant, diagnoses=["not-a-code"]), headers=headers
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "MalformedRequest"
    assert malformed.json()["detail"][0]["loc"][:2] == ["body", "diagnoses"]
    unknown_practice = await coding.post(
        "/v1/encounters", json=encounter_body(tenant, practice_id="prac_other"), headers=headers
    )
    assert unknown_practice.status_code == 404
    assert unknown_practice.json()["error"] == "PracticeNotFound"
    backwards = await coding.post(
        "/v1/encounters", json=encounter_body(tenant, date_of_service_to="2026-10-01"), headers=headers
    )
    assert backwards.status_code == 400
    assert backwards.json()["error"] == "InvalidInput"
    assert await json_list(coding, "/v1/encounters", headers) == []


async def test_a_batch_of_encounters_is_answered_per_encounter_and_refuses_only_the_bad_ones(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    clean, changed_later = encounter_body(tenant), encounter_body(tenant)
    batch = [
        clean,
        encounter_body(tenant, practice_id="prac_other"),
        changed_later,
        encounter_body(tenant, date_of_service_to="2026-10-01"),
        clean,  # the same encounter again in the same batch: unchanged
        {**changed_later, "clinical_note": "Addendum: cough for two weeks."},  # changed within the batch: a new version
    ]
    answer = await coding.post("/v1/encounter-batches", json={"encounters": batch}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    results = body["results"]
    assert [r["outcome"] for r in results] == ["created", "refused", "created", "refused", "unchanged", "created"]
    assert [r["ehr_encounter_id"] for r in results] == [b["ehr_encounter_id"] for b in batch]
    assert (body["created"], body["unchanged"], body["refused"]) == (3, 1, 2)
    assert (results[1]["error"]["status"], results[1]["error"]["error"]) == (404, "PracticeNotFound")
    assert results[3]["error"]["status"] == 400
    assert "date_of_service_to" in results[3]["error"]["detail"]
    assert results[4]["encounter_id"] == results[0]["encounter_id"]
    assert (results[5]["version"], results[0]["status"]) == (2, "coded")

    # Each one as its single post would have left it: the first version of the changed encounter is superseded.
    single = await coding.post("/v1/encounters", json=clean, headers=headers)
    assert (single.status_code, single.json()["id"]) == (200, results[0]["encounter_id"])
    superseded = await coding.get(f"/v1/encounters/{results[2]['encounter_id']}", headers=headers)
    assert superseded.json()["status"] == "superseded"
    current = {e["id"] for e in await json_list(coding, "/v1/encounters", headers)}
    assert current == {results[0]["encounter_id"], results[5]["encounter_id"]}

    # Sent again (a client that timed out and retried): nothing new. (Sent again whole, the batch would make two more
    # versions of the changed encounter, as posting its two versions again one by one would.)
    again = await coding.post("/v1/encounter-batches", json={"encounters": batch[:2] + batch[3:]}, headers=headers)
    assert [r["outcome"] for r in again.json()["results"]] == [
        "unchanged",
        "refused",
        "refused",
        "unchanged",
        "unchanged",
    ]

    wanted = {results[0]["encounter_id"], results[5]["encounter_id"]}

    async def claims() -> set[str] | None:
        found = await json_list(stack.client("claims-svc"), "/v1/claims", tenant.headers(Role.BILLER))
        drafted = {c["encounter_id"] for c in found}
        return drafted if wanted <= drafted else None

    assert await eventually(claims)


async def test_a_malformed_document_refuses_the_whole_batch_and_says_which(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    batch = [encounter_body(tenant), encounter_body(tenant, diagnoses=["not-a-code"])]
    answer = await coding.post("/v1/encounter-batches", json={"encounters": batch}, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][:4] == ["body", "encounters", 1, "diagnoses"]
    too_many = await coding.post(
        "/v1/encounter-batches", json={"encounters": [encounter_body(tenant)] * 201}, headers=headers
    )
    assert too_many.status_code == 422
    refused = await coding.post(
        "/v1/encounter-batches", json={"encounters": [encounter_body(tenant)]}, headers=tenant.headers(Role.BILLER)
    )
    assert refused.status_code == 403
    assert await json_list(coding, "/v1/encounters", headers) == []


async def test_one_encounter_announced_twice_in_one_batch_of_events_makes_one_claim_and_one_check(stack: Stack) -> None:
    """Two events (different ids) for one encounter version, consumed in one batch: the builders read without
    flushing the batch's earlier rows, the unique constraints refuse the second row, and the batch is replayed event
    by event, where the second finds the first."""
    tenant = await stack.create_tenant()
    await stack.stop_worker("claims-svc")
    await stack.stop_worker("eligibility-svc")
    try:
        posted = await stack.client("coding-svc").post(
            "/v1/encounters", json=encounter_body(tenant), headers=tenant.headers(Role.EHR_INTEGRATION)
        )
        assert posted.status_code == 201
        encounter_id = posted.json()["id"]
        catalog = default_catalog()
        database = stack.database("coding-svc")
        try:
            async with database.transaction() as session:
                rows = (
                    await session.exec(select(OutboxMessage).where(col(OutboxMessage.message_key) == encounter_id))
                ).all()
                outbox = Outbox(catalog, "coding-svc")
                again = []
                for row in rows:  # encounter-received and encounter-coded, each again as a new event
                    envelope = EventEnvelope.model_validate_json(row.envelope)
                    again.append(
                        outbox.add(
                            session,
                            catalog.payload(envelope),
                            tenant_id=tenant.id,
                            correlation_id=envelope.correlationid,
                        )
                    )
            assert {row.event_type for row in rows} >= {"claimflow.encounter-received", "claimflow.encounter-coded"}

            async def all_sent() -> bool:
                async with database.transaction() as session:
                    found = (
                        await session.exec(select(OutboxMessage).where(col(OutboxMessage.message_key) == encounter_id))
                    ).all()
                return len(found) == 2 * len(rows) and all(row.sent_at is not None for row in found)

            await eventually(all_sent)
        finally:
            await database.dispose()
    finally:
        await stack.start_worker("eligibility-svc")
        await stack.start_worker("claims-svc")

    async def claims() -> list[dict[str, Any]] | None:
        found = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter_id}", tenant.headers(Role.BILLER)
        )
        return found or None

    async def checks() -> list[dict[str, Any]] | None:
        found = await json_list(
            stack.client("eligibility-svc"),
            f"/v1/eligibility-checks?encounter_id={encounter_id}",
            tenant.headers(Role.BILLER),
        )
        return found or None

    assert len(await eventually(claims)) == 1
    assert len(await eventually(checks)) == 1

    async def consumed(service: str, consumer: str, event_type: str) -> bool:
        """Both events of the pair are in the consumer's inbox: the second was processed too (finding the first)."""
        pair = [row.event_id for row in rows if row.event_type == event_type] + [
            str(envelope.id) for envelope in again if envelope.type == event_type
        ]
        database = stack.database(service)
        try:
            async with database.transaction() as session:
                found = await session.exec(
                    select(InboxRecord.event_id).where(
                        col(InboxRecord.consumer) == consumer, col(InboxRecord.event_id).in_(pair)
                    )
                )
                return len(found.all()) == 2
        finally:
            await database.dispose()

    assert await eventually(lambda: consumed("claims-svc", "claims-svc.claim-builder", "claimflow.encounter-coded"))
    assert await eventually(
        lambda: consumed("eligibility-svc", "eligibility-svc.pre-check", "claimflow.encounter-received")
    )
    assert len(await claims() or []) == 1
    assert len(await checks() or []) == 1


async def test_requests_succeed_while_the_broker_is_down_and_forgotten_events_are_delivered(stack: Stack) -> None:
    if stack.broker.embedded is None:
        pytest.skip("stopping the broker needs the embedded broker")
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    await stack.stop_worker("eligibility-svc")
    try:
        # A: published and accepted by the broker, but nobody consumed it before the broker restarts.
        accepted = await coding.post("/v1/encounters", json=encounter_body(tenant), headers=headers)
        assert accepted.status_code == 201
        database = stack.database("coding-svc")
        try:

            async def sent() -> bool:
                async with database.transaction() as session:
                    rows = (
                        await session.exec(
                            select(OutboxMessage).where(col(OutboxMessage.message_key) == accepted.json()["id"])
                        )
                    ).all()
                    return bool(rows) and all(row.sent_at is not None for row in rows)

            await eventually(sent)
        finally:
            await database.dispose()

        stack.broker.stop()
        # B: the broker is down; the request still succeeds (the event waits in the outbox).
        while_down = await coding.post("/v1/encounters", json=encounter_body(tenant), headers=headers)
        assert while_down.status_code == 201, while_down.text
        ready = await coding.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"] == "unavailable"
        stack.broker.start()  # memory-only: comes back empty
    finally:
        if not stack.broker.embedded.running:
            stack.broker.start()
        await stack.start_worker("eligibility-svc")

    async def both_checked() -> list[dict[str, Any]]:
        found = []
        for encounter_id in (accepted.json()["id"], while_down.json()["id"]):
            found += await json_list(
                stack.client("eligibility-svc"),
                f"/v1/eligibility-checks?encounter_id={encounter_id}",
                tenant.headers(Role.BILLER),
            )
        return found if len(found) == 2 else []

    checks = await eventually(both_checked, within=60)
    assert sorted(c["encounter_id"] for c in checks) == sorted([accepted.json()["id"], while_down.json()["id"]])

    async def ready_again() -> bool:
        return (await coding.get("/readyz")).status_code == 200

    await eventually(ready_again, within=30)


async def test_operational_endpoints_and_trace_context_cross_services(stack: Stack) -> None:
    for name in stack.apps:
        client = stack.client(name)
        assert (await client.get("/healthz")).json() == {"status": "ok", "service": name}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        assert (await client.get("/openapi.json")).json()["paths"]
        assert (await client.get("/docs")).status_code == 200

    tenant = await stack.create_tenant()
    trace_id = uuid.uuid4().hex
    posted = await stack.client("coding-svc").post(
        "/v1/encounters",
        json=encounter_body(tenant),
        headers={
            **tenant.headers(Role.EHR_INTEGRATION),
            "traceparent": f"00-{trace_id}-{'ab' * 8}-01",
            "X-Correlation-ID": "req-123",
        },
    )
    assert posted.headers["X-Correlation-ID"] == "req-123"
    encounter_id = posted.json()["id"]
    database = stack.database("coding-svc")
    try:
        async with database.transaction() as session:
            row = (
                await session.exec(
                    select(OutboxMessage).where(
                        col(OutboxMessage.message_key) == encounter_id,
                        col(OutboxMessage.event_type) == "claimflow.encounter-received",
                    )
                )
            ).one()
    finally:
        await database.dispose()
    envelope = EventEnvelope.model_validate_json(row.envelope)
    assert envelope.traceparent is not None
    assert envelope.traceparent.split("-")[1] == trace_id
    assert envelope.causationid == "req-123"
    assert envelope.correlationid.startswith("cor_")

    async def lag_reported() -> str | None:
        text = (await stack.client("eligibility-svc").get("/metrics")).text
        return text if 'claimflow_consumer_lag{consumer="eligibility-svc.pre-check"' in text else None

    metrics = await eventually(lag_reported)
    assert "claimflow_outbox_backlog" in metrics
    assert 'claimflow_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics
