"""encounter-coded → claim → scrubber → 837P through the sandbox → 999/277CA, through the HTTP APIs."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow.testing import Stack, TenantFixture, encounter_body, json_list
from claimflow_connect.base import Connector
from claimflow_events import EncounterCoded, ServiceLine
from claimflow_kit.app import ServiceContext
from claimflow_kit.consumer import EventContext
from claimflow_kit.control_numbers import SqlControlNumberAllocator
from claimflow_kit.db import Database
from claimflow_kit.directory import Role
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import (
    DatabaseFactory,
    Pyx12Check,
    eventually,
    statements_run,
    tenant_wide_reads,
    waiting_for_a_lock,
    whole_table_reads,
)
from claimflow_x12 import parse, validate
from claimflow_x12.guides.claim_ack_277ca import ClaimAcknowledgment277CA, iter_acknowledged_claims
from claims_svc.adapters.tables import Claim, ClaimSubmission
from claims_svc.api.followup import FOLLOWUP_KEY
from claims_svc.api.routes import PIPELINE_KEY
from claims_svc.consumers.handlers import on_encounter_coded, on_encounters_coded
from claims_svc.service.followup import StatusFollowup
from claims_svc.service.pipeline import ClaimPipeline, StillSending, waiting_for_answer

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}


def billable_encounter(tenant: TenantFixture, **overrides: Any) -> dict[str, Any]:
    """A clean office visit for the sandbox's MARIA LOPEZ, with everything a claim needs."""
    body = encounter_body(tenant, date_of_service="2026-11-16", group_number="GRP60054A")
    body["patient"] = {**body["patient"], "address": HOME}
    body.update(overrides)
    return body


async def claim_for(stack: Stack, tenant: TenantFixture, body: dict[str, Any], until: set[str]) -> dict[str, Any]:
    """Post the encounter and wait for its claim to reach one of ``until``."""
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["status"] == "coded", posted.json()
    encounter_id = posted.json()["id"]

    async def reached() -> dict[str, Any] | None:
        claims = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter_id}", tenant.headers(Role.BILLER)
        )
        return claims[0] if claims and claims[0]["status"] in until else None

    return await eventually(reached)


async def claim_status(stack: Stack, tenant: TenantFixture, claim_id: str, until: set[str]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        response = await stack.client("claims-svc").get(f"/v1/claims/{claim_id}", headers=tenant.headers(Role.BILLER))
        claim: dict[str, Any] = response.json()
        return claim if claim["status"] in until else None

    return await eventually(reached)


async def outbox_types(stack: Stack, claim_id: str) -> list[str]:
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            rows = await session.exec(
                select(OutboxMessage.event_type)
                .where(col(OutboxMessage.message_key) == claim_id)
                .order_by(col(OutboxMessage.id))
            )
            return list(rows.all())
    finally:
        await database.dispose()


async def submit(stack: Stack, tenant: TenantFixture, claim_ids: list[str], key: str) -> Any:
    return await stack.client("claims-svc").post(
        "/v1/claim-submissions",
        json={"claim_ids": claim_ids},
        headers={**tenant.headers(Role.BILLER), "Idempotency-Key": key},
    )


async def test_clean_claim_is_submitted_accepted_and_its_837_passes_pyx12(
    stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    assert claim["patient_control_number"].startswith("CF")

    key = f"submit-{uuid.uuid4().hex}"
    first = await submit(stack, tenant, [claim["id"]], key)
    assert first.status_code == 201, first.text
    (submission,) = first.json()
    assert submission["status"] == "sent"
    assert submission["receipt_id"]
    again = await submit(stack, tenant, [claim["id"]], key)
    assert again.status_code == 200
    assert [s["id"] for s in again.json()] == [submission["id"]], "same Idempotency-Key, same submission"

    x12 = await stack.client("claims-svc").get(f"/v1/claims/{claim['id']}/x12", headers=tenant.headers(Role.BILLER))
    assert x12.status_code == 200
    assert validate(parse(x12.text)) == []
    assert pyx12_errors(x12.text) == []
    assert f"CLM*{claim['patient_control_number']}*125" in x12.text
    assert "NM1*IL*1*LOPEZ*MARIA****MI*W123456789" in x12.text

    accepted = await claim_status(stack, tenant, claim["id"], {"accepted", "rejected"})
    assert accepted["status"] == "accepted", accepted["rejection"]
    assert accepted["payer_claim_number"]
    assert accepted["interchange_control_number"] == submission["interchange_control_number"]
    assert await outbox_types(stack, claim["id"]) == ["claimflow.claim-submitted", "claimflow.claim-accepted"]

    expected = [
        "claimflow.encounter-received",
        "claimflow.encounter-coded",
        "claimflow.claim-submitted",
        "claimflow.claim-accepted",
    ]

    async def full_timeline() -> list[dict[str, Any]] | None:
        response = await stack.client("claims-svc").get(
            f"/v1/claims/{claim['id']}/timeline", headers=tenant.headers(Role.OPS)
        )
        entries: list[dict[str, Any]] = response.json()
        return entries if [e["event_type"] for e in entries] == expected else None

    fhir = await stack.client("claims-svc").get(f"/v1/fhir/Claim/{claim['id']}", headers=tenant.headers(Role.BILLER))
    assert fhir.status_code == 200, fhir.text
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    resource = fhir.json()
    assert (resource["resourceType"], resource["total"]["value"]) == ("Claim", 125.0)
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in resource["diagnosis"]] == ["J20.9", "R05.9"]
    assert resource["patient"]["identifier"]["value"] == claim["patient_id"]
    assert "Lopez" not in fhir.text, "the FHIR claim names the patient by id only"
    assert resource["insurance"][0]["claimResponse"]["identifier"]["value"] == accepted["payer_claim_number"]

    timeline = await eventually(full_timeline)
    assert [e["source"].rsplit("/", 1)[-1] for e in timeline] == [
        "coding-svc",
        "coding-svc",
        "claims-svc",
        "claims-svc",
    ]
    other = await stack.create_tenant()
    hidden = await stack.client("claims-svc").get(f"/v1/claims/{claim['id']}/timeline", headers=other.headers(Role.OPS))
    assert hidden.status_code == 404


async def test_claim_missing_billing_data_is_held_with_the_fix(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant)
    body["patient"] = {**body["patient"], "address": None, "member_id": "12345"}
    claim = await claim_for(stack, tenant, body, {"ready", "held"})
    assert claim["status"] == "held"
    codes = {f["code"] for f in claim["findings"]}
    assert codes == {"PATIENT_ADDRESS_MISSING", "MEMBER_ID_FORMAT"}
    assert all(f["fix"] for f in claim["findings"])
    queue = await json_list(stack.client("claims-svc"), "/v1/claims?status=held", tenant.headers(Role.BILLER))
    assert [c["id"] for c in queue] == [claim["id"]]
    refused = await submit(stack, tenant, [claim["id"]], f"k-{uuid.uuid4().hex}")
    assert refused.status_code == 409
    assert claim["id"] in refused.json()["detail"]


async def test_277ca_rejection_reaches_the_claim_with_its_reason(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant)
    body["patient"] = {**body["patient"], "member_id": "W000000000"}  # well-formed, but no such member
    claim = await claim_for(stack, tenant, body, {"ready"})
    sent = await submit(stack, tenant, [claim["id"]], f"k-{uuid.uuid4().hex}")
    assert sent.status_code == 201, sent.text
    rejected = await claim_status(stack, tenant, claim["id"], {"accepted", "rejected"})
    assert rejected["status"] == "rejected"
    (reason,) = rejected["rejection"]
    assert reason["source"] == "277CA"
    assert reason["code"].startswith("A7")
    types = await outbox_types(stack, claim["id"])
    assert types == ["claimflow.claim-submitted", "claimflow.claim-rejected"]
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            envelope = (
                await session.exec(
                    select(OutboxMessage.envelope).where(
                        col(OutboxMessage.message_key) == claim["id"],
                        OutboxMessage.event_type == "claimflow.claim-rejected",
                    )
                )
            ).one()
    finally:
        await database.dispose()
    assert json.loads(envelope)["data"]["reasons"][0]["code"] == reason["code"]


async def test_other_tenant_cannot_see_or_submit_the_claim(stack: Stack) -> None:
    owner = await stack.create_tenant()
    other = await stack.create_tenant()
    claim = await claim_for(stack, owner, billable_encounter(owner), {"ready"})
    client = stack.client("claims-svc")
    for path in (f"/v1/claims/{claim['id']}", f"/v1/claims/{claim['id']}/x12"):
        assert (await client.get(path, headers=other.headers(Role.BILLER))).status_code == 404
    assert (await client.post(f"/v1/claims/{claim['id']}/scrub", headers=other.headers(Role.BILLER))).status_code == 404
    refused = await submit(stack, other, [claim["id"]], f"k-{uuid.uuid4().hex}")
    assert refused.status_code == 409
    still = await client.get(f"/v1/claims/{claim['id']}", headers=owner.headers(Role.BILLER))
    assert still.json()["status"] == "ready"


async def correction(stack: Stack, tenant: TenantFixture, claim_id: str, body: dict[str, Any]) -> Any:
    return await stack.client("claims-svc").post(
        f"/v1/claims/{claim_id}/corrections", json=body, headers=tenant.headers(Role.BILLER)
    )


async def test_rejected_claim_is_fixed_and_resubmitted_then_accepted(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant)
    body["patient"] = {**body["patient"], "member_id": "W000000000"}
    claim = await claim_for(stack, tenant, body, {"ready"})
    assert (await submit(stack, tenant, [claim["id"]], f"k-{uuid.uuid4().hex}")).status_code == 201
    await claim_status(stack, tenant, claim["id"], {"rejected"})

    void_refused = await correction(stack, tenant, claim["id"], {"kind": "void", "reason": "wrong patient"})
    assert void_refused.status_code == 409, "a claim the payer never accepted cannot be voided"
    fixed = await correction(
        stack,
        tenant,
        claim["id"],
        {"kind": "resubmission", "reason": "member id from the card", "member_id": "W123456789"},
    )
    assert fixed.status_code == 201, fixed.text
    new = fixed.json()
    assert (new["frequency_code"], new["original_claim_id"], new["status"]) == ("1", claim["id"], "draft")
    assert new["patient_control_number"] != claim["patient_control_number"]
    again = await correction(stack, tenant, claim["id"], {"kind": "resubmission", "reason": "twice"})
    assert again.status_code == 409

    ready = await claim_status(stack, tenant, new["id"], {"ready", "held"})
    assert ready["status"] == "ready", ready["findings"]
    assert (await submit(stack, tenant, [new["id"]], f"k-{uuid.uuid4().hex}")).status_code == 201
    accepted = await claim_status(stack, tenant, new["id"], {"accepted", "rejected"})
    assert accepted["status"] == "accepted", accepted["rejection"]
    original = (
        await stack.client("claims-svc").get(f"/v1/claims/{claim['id']}", headers=tenant.headers(Role.BILLER))
    ).json()
    assert original["corrected_by"] == new["id"]
    assert await outbox_types(stack, new["id"]) == [
        "claimflow.claim-resubmitted",
        "claimflow.claim-submitted",
        "claimflow.claim-accepted",
    ]


async def test_accepted_claim_is_replaced_and_the_replacement_voided(stack: Stack, pyx12_errors: Pyx12Check) -> None:
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready"})
    assert (await submit(stack, tenant, [claim["id"]], f"k-{uuid.uuid4().hex}")).status_code == 201
    accepted = await claim_status(stack, tenant, claim["id"], {"accepted", "rejected"})
    assert accepted["status"] == "accepted"

    lines = [
        {"line_number": 1, "procedure_code": "99214", "units": "1", "diagnosis_pointers": [1, 2], "charge": "180.00"}
    ]
    replaced = await correction(
        stack,
        tenant,
        claim["id"],
        {"kind": "replacement", "reason": "level of service corrected", "service_lines": lines},
    )
    assert replaced.status_code == 201, replaced.text
    replacement = replaced.json()
    assert (replacement["frequency_code"], replacement["payer_claim_number"]) == ("7", accepted["payer_claim_number"])
    assert replacement["total_charge"] == "180.00"
    await claim_status(stack, tenant, replacement["id"], {"ready"})
    assert (await submit(stack, tenant, [replacement["id"]], f"k-{uuid.uuid4().hex}")).status_code == 201
    x12 = await stack.client("claims-svc").get(
        f"/v1/claims/{replacement['id']}/x12", headers=tenant.headers(Role.BILLER)
    )
    assert f"REF*F8*{accepted['payer_claim_number']}" in x12.text
    assert "*11:B:7*" in x12.text
    assert pyx12_errors(x12.text) == []
    replacement_accepted = await claim_status(stack, tenant, replacement["id"], {"accepted", "rejected"})
    assert replacement_accepted["status"] == "accepted", replacement_accepted["rejection"]

    voided = await correction(stack, tenant, replacement["id"], {"kind": "void", "reason": "billed to the wrong payer"})
    assert voided.status_code == 201, voided.text
    assert voided.json()["frequency_code"] == "8"
    changes_on_void = await correction(
        stack, tenant, claim["id"], {"kind": "void", "reason": "oops", "member_id": "W123456789"}
    )
    assert changes_on_void.status_code == 400


async def test_missing_charges_come_from_the_practice_fee_schedule(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant)
    body["lines"] = [{"procedure_code": "99213", "units": "1", "diagnosis_pointers": [1, 2]}]
    held = await claim_for(stack, tenant, body, {"ready", "held"})
    assert [f["code"] for f in held["findings"]] == ["CHARGE_MISSING"]
    client = stack.client("claims-svc")
    biller = tenant.headers(Role.BILLER)
    url = f"/v1/practices/{tenant.practice_id}/fee-schedule"
    entries = [
        {"procedure_code": "99213", "amount": "100.00", "effective_from": "2026-01-01"},
        {"procedure_code": "99213", "amount": "110.00", "effective_from": "2026-01-01", "payer_id": "60054"},
    ]
    stored = await client.put(url, json={"entries": entries}, headers=biller)
    assert stored.status_code == 200, stored.text
    assert {(e["payer_id"], e["amount"]) for e in stored.json()} == {(None, "100.00"), ("60054", "110.00")}
    rescrubbed = await client.post(f"/v1/claims/{held['id']}/scrub", headers=biller)
    assert rescrubbed.status_code == 200, rescrubbed.text
    claim = rescrubbed.json()
    assert claim["status"] == "ready", claim["findings"]
    assert claim["total_charge"] == "110.00"
    assert claim["service_lines"][0]["charge"] == "110.00"
    other = await stack.create_tenant()
    assert (await client.get(url, headers=other.headers(Role.BILLER))).status_code == 404


async def test_claims_are_filtered_by_age_since_the_date_of_service(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    age = (datetime.now(UTC).date() - date.fromisoformat(claim["date_of_service"])).days

    async def listed(query: str) -> list[str]:
        found = await json_list(stack.client("claims-svc"), f"/v1/claims?{query}", tenant.headers(Role.BILLER))
        return [c["id"] for c in found]

    assert await listed(f"min_age_days={age}&max_age_days={age}") == [claim["id"]]
    assert await listed(f"min_age_days={age + 1}") == []
    if age > 0:
        assert await listed(f"max_age_days={age - 1}") == []
    refused = await stack.client("claims-svc").get("/v1/claims?min_age_days=-1", headers=tenant.headers(Role.BILLER))
    assert refused.status_code == 422


async def visit_and_follow_up(
    stack: Stack, tenant: TenantFixture
) -> tuple[dict[str, Any], tuple[dict[str, Any], dict[str, Any]]]:
    """Ready claims for an office visit and, three days later, a nebulizer follow-up of the same patient (and the
    follow-up's encounter document)."""
    visit = await claim_for(stack, tenant, billable_encounter(tenant, date_of_service="2026-11-13"), {"ready", "held"})
    follow_up_body = billable_encounter(
        tenant,
        date_of_service="2026-11-16",
        diagnoses=["R05.9", "J45.909"],
        lines=[{"procedure_code": "94640", "units": "1", "diagnosis_pointers": [2, 1], "charge": "60.00"}],
    )
    follow_up = await claim_for(stack, tenant, follow_up_body, {"ready", "held"})
    assert (visit["status"], follow_up["status"]) == ("ready", "ready"), (visit["findings"], follow_up["findings"])
    return visit, (follow_up, follow_up_body)


async def test_two_encounters_of_a_patient_are_combined_into_one_claim_and_sent_as_one(
    stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    tenant, other = await stack.create_tenant(), await stack.create_tenant()
    visit, (follow_up, _) = await visit_and_follow_up(stack, tenant)
    claims = stack.client("claims-svc")
    biller = tenant.headers(Role.BILLER)
    ids = {"claim_ids": [follow_up["id"], visit["id"]]}

    assert (
        await claims.post("/v1/claim-combinations", json=ids, headers=other.headers(Role.BILLER))
    ).status_code == 404
    combined = await claims.post("/v1/claim-combinations", json=ids, headers=biller)
    assert combined.status_code == 201, combined.text
    claim = combined.json()
    assert claim["id"] == visit["id"], "the earliest claim takes the others"
    assert claim["combined_encounter_ids"] == [follow_up["encounter_id"]]
    assert claim["diagnosis_codes"] == ["J20.9", "R05.9", "J45.909"]
    assert [(li["procedure_code"], li["diagnosis_pointers"], li["service_date"]) for li in claim["service_lines"]] == [
        ("99213", [1, 2], None),
        ("94640", [3, 2], "2026-11-16"),
    ]
    assert claim["total_charge"] == "185.00"
    absorbed = (await claims.get(f"/v1/claims/{follow_up['id']}", headers=biller)).json()
    assert (absorbed["status"], absorbed["combined_into"]) == ("combined", visit["id"])
    again = await claims.post("/v1/claim-combinations", json=ids, headers=biller)
    assert again.status_code == 409, "a combined claim cannot be combined again"

    ready = await claim_status(stack, tenant, visit["id"], {"ready", "held"})
    assert ready["status"] == "ready", ready["findings"]
    sent = await submit(stack, tenant, [visit["id"]], f"combined-{uuid.uuid4().hex}")
    assert sent.status_code == 201, sent.text
    x12 = (await claims.get(f"/v1/claims/{visit['id']}/x12", headers=biller)).text
    assert pyx12_errors(x12) == []
    segments = x12.split("~")
    assert f"CLM*{visit['patient_control_number']}*185" in x12
    assert [s for s in segments if s.startswith("DTP*472")] == ["DTP*472*D8*20261113", "DTP*472*D8*20261116"]
    published = await outbox_types(stack, visit["id"])  # the sandbox's 277CA may have been read already
    assert published[:1] == ["claimflow.claim-submitted"], published
    assert set(published[1:]) <= {"claimflow.claim-accepted"}, published


async def test_claims_of_different_payers_are_not_combined(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    first = await claim_for(stack, tenant, billable_encounter(tenant, date_of_service="2026-11-13"), {"ready", "held"})
    second = await claim_for(stack, tenant, billable_encounter(tenant, payer_id="87726"), {"ready", "held"})
    refused = await stack.client("claims-svc").post(
        "/v1/claim-combinations", json={"claim_ids": [first["id"], second["id"]]}, headers=tenant.headers(Role.BILLER)
    )
    assert refused.status_code == 400
    assert "differ in payer_id" in refused.json()["detail"]


async def test_lines_of_a_claim_are_split_off_to_a_claim_of_their_own(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = billable_encounter(
        tenant,
        diagnoses=["J20.9", "R05.9", "J45.909"],
        lines=[
            {"procedure_code": "99213", "units": "1", "diagnosis_pointers": [1, 2], "charge": "125.00"},
            {"procedure_code": "94640", "units": "1", "diagnosis_pointers": [3], "charge": "60.00"},
        ],
    )
    claim = await claim_for(stack, tenant, body, {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    claims = stack.client("claims-svc")
    biller = tenant.headers(Role.BILLER)
    split = await claims.post(f"/v1/claims/{claim['id']}/split", json={"line_numbers": [2]}, headers=biller)
    assert split.status_code == 201, split.text
    new = split.json()
    assert (new["encounter_id"], new["part"], new["total_charge"]) == (claim["encounter_id"], 1, "60.00")
    assert new["diagnosis_codes"] == ["J45.909"]
    assert new["patient_control_number"] != claim["patient_control_number"]
    kept = await claim_status(stack, tenant, claim["id"], {"ready", "held"})
    assert (kept["total_charge"], kept["diagnosis_codes"]) == ("125.00", ["J20.9", "R05.9"])
    assert (await claim_status(stack, tenant, new["id"], {"ready", "held"}))["status"] == "ready"
    whole = await claims.post(f"/v1/claims/{claim['id']}/split", json={"line_numbers": [1]}, headers=biller)
    assert whole.status_code == 400, "a one-line claim has nothing to split off"


TWO_LINES = {
    "diagnoses": ["J20.9", "R05.9", "J45.909"],
    "lines": [
        {"procedure_code": "99213", "units": "1", "diagnosis_pointers": [1, 2], "charge": "125.00"},
        {"procedure_code": "94640", "units": "1", "diagnosis_pointers": [3], "charge": "60.00"},
    ],
}
CORRECTED_LINE_2 = {
    "line_number": 2,
    "procedure_code": "94640",
    "units": "2",
    "diagnosis_pointers": [3],
    "charge": "120.00",
}


async def accepted_claim(stack: Stack, tenant: TenantFixture, body: dict[str, Any]) -> dict[str, Any]:
    claim = await claim_for(stack, tenant, body, {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    assert (await submit(stack, tenant, [claim["id"]], f"k-{uuid.uuid4().hex}")).status_code == 201
    accepted = await claim_status(stack, tenant, claim["id"], {"accepted", "rejected"})
    assert accepted["status"] == "accepted", accepted["rejection"]
    return accepted


async def test_a_payer_that_takes_corrected_lines_gets_a_new_claim_of_only_those_lines(
    stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    """Sandbox Medicare takes corrected lines on a claim of their own: the line it paid is not sent again."""
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant, payer_id="MCARE", **TWO_LINES)
    body["patient"] = {
        **body["patient"],
        "first_name": "John",
        "last_name": "Smith",
        "birth_date": "1950-06-15",
        "sex": "M",
        "member_id": "1EG4TE5MK73",
    }
    original = await accepted_claim(stack, tenant, body)
    request = {"kind": "replacement", "reason": "units", "line_numbers": [2], "service_lines": [CORRECTED_LINE_2]}
    response = await correction(stack, tenant, original["id"], request)
    assert response.status_code == 201, response.text
    new = response.json()
    assert (new["frequency_code"], new["payer_claim_number"], new["corrected_lines"]) == ("1", None, [2])
    assert (new["diagnosis_codes"], new["total_charge"], new["original_claim_id"]) == (
        ["J45.909"],
        "120.00",
        original["id"],
    )
    claims, biller = stack.client("claims-svc"), tenant.headers(Role.BILLER)
    standing = (await claims.get(f"/v1/claims/{original['id']}", headers=biller)).json()
    assert (standing["corrected_by"], standing["status"]) == (None, "accepted"), "line 1 stands"

    again = await correction(stack, tenant, original["id"], request)
    assert again.status_code == 409, "line 2 was already corrected"
    whole = await correction(stack, tenant, original["id"], {"kind": "replacement", "reason": "all of it"})
    assert whole.status_code == 409, "a whole replacement would bill line 2 twice"
    unknown = await correction(stack, tenant, original["id"], {**request, "line_numbers": [7]})
    assert unknown.status_code == 400
    stray = await correction(stack, tenant, original["id"], {**request, "line_numbers": [1]})
    assert stray.status_code == 400, "line 2 is sent but only line 1 is named"

    resubmitted = await _resubmitted_event(stack, new["id"])
    assert resubmitted["corrected_lines"] == [f"{original['patient_control_number']}-2"]
    assert resubmitted["claim_frequency_code"] == "1"
    ready = await claim_status(stack, tenant, new["id"], {"ready", "held"})
    assert ready["status"] == "ready", ready["findings"]
    assert (await submit(stack, tenant, [new["id"]], f"k-{uuid.uuid4().hex}")).status_code == 201
    x12 = (await claims.get(f"/v1/claims/{new['id']}/x12", headers=biller)).text
    assert "*11:B:1*" in x12
    assert "REF*F8" not in x12
    assert "SV1*HC:94640*120.00*UN*2" in x12
    assert "99213" not in x12
    assert pyx12_errors(x12) == []


async def test_a_payer_without_line_corrections_gets_the_whole_claim_replaced_with_the_line_changed(
    stack: Stack,
) -> None:
    tenant = await stack.create_tenant()
    original = await accepted_claim(stack, tenant, billable_encounter(tenant, **TWO_LINES))
    request = {"kind": "replacement", "reason": "units", "line_numbers": [2], "service_lines": [CORRECTED_LINE_2]}
    response = await correction(stack, tenant, original["id"], request)
    assert response.status_code == 201, response.text
    new = response.json()
    assert (new["frequency_code"], new["payer_claim_number"], new["corrected_lines"]) == (
        "7",
        original["payer_claim_number"],
        [],
    )
    assert (new["total_charge"], new["diagnosis_codes"]) == ("245.00", TWO_LINES["diagnoses"])
    claims, biller = stack.client("claims-svc"), tenant.headers(Role.BILLER)
    assert (await claims.get(f"/v1/claims/{original['id']}", headers=biller)).json()["corrected_by"] == new["id"]
    assert (await _resubmitted_event(stack, new["id"]))["corrected_lines"] == []


async def _resubmitted_event(stack: Stack, claim_id: str) -> dict[str, Any]:
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            row = (
                await session.exec(
                    select(OutboxMessage).where(
                        col(OutboxMessage.message_key) == claim_id,
                        col(OutboxMessage.event_type) == "claimflow.claim-resubmitted",
                    )
                )
            ).one()
    finally:
        await database.dispose()
    data: dict[str, Any] = json.loads(row.envelope)["data"]
    return data


async def test_concurrent_combinations_naming_the_same_claim_never_bill_an_encounter_twice(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claims, biller = stack.client("claims-svc"), tenant.headers(Role.BILLER)
    made = [
        await claim_for(stack, tenant, billable_encounter(tenant, date_of_service=day), {"ready", "held"})
        for day in ("2026-11-12", "2026-11-13", "2026-11-16")
    ]
    assert [c["status"] for c in made] == ["ready"] * 3, [c["findings"] for c in made]
    first, middle, last = (c["id"] for c in made)
    answers = await asyncio.gather(
        claims.post("/v1/claim-combinations", json={"claim_ids": [first, middle]}, headers=biller),
        claims.post("/v1/claim-combinations", json={"claim_ids": [middle, last]}, headers=biller),
    )
    assert sorted(a.status_code for a in answers) in ([201, 201], [201, 409]), [a.text for a in answers]
    live = [
        c
        for c in await json_list(claims, "/v1/claims?limit=100", biller)
        if c["status"] != "combined" and c["id"] in (first, middle, last)
    ]
    billed = [e for c in live for e in (c["encounter_id"], *c["combined_encounter_ids"])]
    assert sorted(billed) == sorted(c["encounter_id"] for c in made), "each encounter is on exactly one live claim"


async def test_two_replicas_submitting_at_once_send_each_claim_in_one_interchange(stack: Stack) -> None:
    # Every claims-svc API replica runs the pipeline; a second one shares the database but not the first's lock.
    pipeline = cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    replica = ClaimPipeline(
        pipeline.context, pipeline.config, pipeline.connectors, SqlControlNumberAllocator(pipeline.context.database)
    )
    tenant = await stack.create_tenant()
    made = [
        await claim_for(stack, tenant, billable_encounter(tenant, date_of_service=day), {"ready", "held"})
        for day in ("2026-11-10", "2026-11-12", "2026-11-16")
    ]
    assert [c["status"] for c in made] == ["ready"] * 3, [c["findings"] for c in made]
    (first, _), (second, _) = await asyncio.gather(pipeline.submit(tenant.id), replica.submit(tenant.id))
    sent = [claim_id for submission in (*first, *second) for claim_id in submission.claim_ids]
    assert sorted(sent) == sorted(c["id"] for c in made), "each claim in exactly one interchange"
    for claim in made:
        submitted = await claim_status(stack, tenant, claim["id"], {"submitted", "accepted"})
        assert submitted["submission_id"] in {s.id for s in (*first, *second)}


@pytest.mark.parametrize("left_by", ["a crash", "a failed attempt"])
async def test_an_interchange_left_sending_is_sent_again_after_a_failed_attempt_or_once_its_senders_lease_ran_out(
    stack: Stack, left_by: str
) -> None:
    pipeline = cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    # The replica stored the interchange and died before the connector call: the claim waits in "submitting".
    (stored,) = await pipeline._prepare(tenant.id, [claim["id"]], None)
    assert stored.status == "sending"
    assert await pipeline.resend_pending() == 0  # too young: it may be on its way right now
    assert (await claim_status(stack, tenant, claim["id"], {"submitting"}))["submission_id"] == stored.id

    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            row = await session.get(ClaimSubmission, stored.id)
            assert row is not None
            if left_by == "a crash":  # no attempt recorded: sent again once the sender's lease ran out
                row.send_lease_until = datetime.now(UTC) - timedelta(seconds=1)
            else:  # the connector refused it (an outage): nothing is in flight, so at once
                row.error = "ConnectorUnavailable: the clearinghouse did not answer"
                row.send_lease_until = None
            session.add(row)
    finally:
        await database.dispose()
    # The pipeline's background round (every 0.1 s here) now sends it.
    submitted = await claim_status(stack, tenant, claim["id"], {"submitted", "accepted"})
    assert submitted["submission_id"] == stored.id
    assert await pipeline.resend_pending() == 0  # sent: nothing left


async def test_two_replicas_resending_a_waiting_interchange_send_it_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    replica = ClaimPipeline(
        pipeline.context, pipeline.config, pipeline.connectors, SqlControlNumberAllocator(pipeline.context.database)
    )
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    (stored,) = await pipeline._prepare(tenant.id, [claim["id"]], None)
    sends: list[str] = []  # the connector is looked up once per send, right before the file goes out
    for_payer = pipeline.connectors.for_payer

    def counted(tenant_id: str, payer_id: str) -> Connector:
        if tenant_id == tenant.id:
            sends.append(payer_id)
        return for_payer(tenant_id, payer_id)

    monkeypatch.setattr(pipeline.connectors, "for_payer", counted)
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            row = await session.get(ClaimSubmission, stored.id)
            assert row is not None
            row.send_lease_until = datetime.now(UTC) - timedelta(seconds=1)  # its sender crashed
            session.add(row)
    finally:
        await database.dispose()
    # Both replicas' rounds (and the app's background round) find it waiting at the same moment.
    await asyncio.gather(pipeline.resend_pending(), replica.resend_pending())
    submitted = await claim_status(stack, tenant, claim["id"], {"submitted", "accepted"})
    assert submitted["submission_id"] == stored.id
    assert sends == [stored.payer_id], "one replica sends the interchange, the others leave it"


async def test_a_277ca_read_while_the_claims_payment_is_posted_leaves_it_paid(stack: Stack) -> None:
    """The payer's acceptance and its 835 can come close together. The pipeline reads the 277CA while the worker's
    transaction marks the claim paid: the acceptance must not turn a paid claim back into an accepted one (nor be
    published a second time, as two replicas reading the same 277CA would)."""
    pipeline = cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    assert (await submit(stack, tenant, [claim["id"]], f"race-{uuid.uuid4().hex}")).status_code == 201
    await claim_status(stack, tenant, claim["id"], {"accepted"})
    acknowledgment = await sandbox_277ca(stack, tenant, claim["patient_control_number"])

    database = stack.database("claims-svc")
    if database.dialect != "postgresql":
        await database.dispose()
        pytest.skip("SQLite runs one write transaction at a time: the two cannot overlap")

    try:
        async with database.transaction() as session:  # as if the 277CA had not been read yet
            row = await session.get(Claim, claim["id"])
            assert row is not None
            row.status = "submitted"
            session.add(row)
        async with database.transaction() as session:  # the worker posting the payment, not committed yet
            row = await session.get(Claim, claim["id"])
            assert row is not None
            row.status = "paid"
            session.add(row)
            await session.flush()
            reading = asyncio.create_task(pipeline._apply_277ca(tenant.id, acknowledgment))
            await eventually(lambda: _waits_or_is_done(database, reading))
        assert await reading == 0, "the claim is no longer waiting for an acknowledgment"
    finally:
        await database.dispose()
    assert (await claim_status(stack, tenant, claim["id"], {"paid", "accepted"}))["status"] == "paid"
    assert (await outbox_types(stack, claim["id"])).count("claimflow.claim-accepted") == 1


async def test_a_277ca_naming_a_claim_not_yet_recorded_as_sent_waits_for_it(stack: Stack) -> None:
    """Scrubbing, sending and reading acknowledgments run side by side, and the clearinghouse can answer before the
    sender has recorded its claims as sent. A 277CA read then must not skip them (its answer would be lost): it is
    left unread until they are, and then applied."""
    pipeline = cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    tenant = await stack.create_tenant()
    claim = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    assert (await submit(stack, tenant, [claim["id"]], f"early-{uuid.uuid4().hex}")).status_code == 201
    await claim_status(stack, tenant, claim["id"], {"accepted"})
    acknowledgment = await sandbox_277ca(stack, tenant, claim["patient_control_number"])
    database = stack.database("claims-svc")

    async def set_status(status: str) -> None:
        async with database.transaction() as session:
            row = await session.get(Claim, claim["id"])
            assert row is not None
            row.status = status
            session.add(row)

    try:
        await set_status("submitting")  # as if the sender were between the clearinghouse's answer and its commit
        with pytest.raises(StillSending):
            await pipeline._apply_277ca(tenant.id, acknowledgment)
        async with database.transaction() as session:
            row = await session.get(Claim, claim["id"])
            assert row is not None
            assert row.status == "submitting", "nothing was applied to the claim"
        await set_status("submitted")  # the sender's commit
        assert await pipeline._apply_277ca(tenant.id, acknowledgment) == 1
    finally:
        await database.dispose()
    assert (await claim_status(stack, tenant, claim["id"], {"accepted"}))["status"] == "accepted"


async def test_a_second_claim_for_a_visit_already_sent_is_held_as_a_duplicate(stack: Stack) -> None:
    """The scrubber reads the claims already sent for a round's patients at once; a claim for the same patient,
    date of service, payer and procedures as one sent is held, one for another date is not."""
    tenant = await stack.create_tenant()
    first = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert first["status"] == "ready", first["findings"]
    assert (await submit(stack, tenant, [first["id"]], f"dup-{uuid.uuid4().hex}")).status_code == 201
    await claim_status(stack, tenant, first["id"], {"submitted", "accepted"})

    again = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})  # another EHR encounter
    assert again["status"] == "held"
    assert [f["code"] for f in again["findings"]] == ["DUPLICATE"]
    assert first["id"] in again["findings"][0]["message"]
    other_day = await claim_for(
        stack, tenant, billable_encounter(tenant, date_of_service="2026-11-17"), {"ready", "held"}
    )
    assert other_day["status"] == "ready", other_day["findings"]


async def sandbox_277ca(stack: Stack, tenant: TenantFixture, patient_control_number: str) -> ClaimAcknowledgment277CA:
    """The 277CA the payer-sandbox released to the tenant for the claim."""
    async with httpx.AsyncClient(base_url=stack.sandbox_url or "") as sandbox:
        page = (await sandbox.get("/v1/mailbox", params={"tenant": tenant.id})).json()
        for item in page["items"]:
            if item["kind"] != "277CA":
                continue
            content = (await sandbox.get(f"/v1/mailbox/{item['id']}", params={"tenant": tenant.id})).content
            for transaction in parse(content).transactions:
                if isinstance(transaction, ClaimAcknowledgment277CA) and any(
                    a.patient_control_number == patient_control_number for a in iter_acknowledged_claims(transaction)
                ):
                    return transaction
    raise AssertionError(f"no 277CA for {patient_control_number}")


async def _waits_or_is_done(database: Database, task: asyncio.Task[int]) -> bool:
    return task.done() or await waiting_for_a_lock(database)


async def test_a_changed_encounter_supersedes_its_claim_not_yet_sent_and_is_held_once_one_was_sent(
    stack: Stack,
) -> None:
    """The EHR sends a visit again, changed: the claim of the earlier version is superseded while it is not sent (the
    visit is billed once, with the latest codes); once a version's claim was sent, the next version's claim is held,
    whatever its procedures, and the sent one stays."""
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant)

    def with_charge(charge: str) -> dict[str, Any]:
        return {**body, "lines": [{**body["lines"][0], "charge": charge}]}

    first = await claim_for(stack, tenant, body, {"ready", "held"})
    assert first["status"] == "ready", first["findings"]
    second = await claim_for(stack, tenant, with_charge("140.00"), {"ready", "held"})
    assert second["status"] == "ready", second["findings"]
    assert second["encounter_version"] == 2
    superseded = await claim_status(stack, tenant, first["id"], {"superseded"})
    assert [f["code"] for f in superseded["findings"]] == ["SUPERSEDED"]
    assert second["id"] in superseded["findings"][0]["message"]
    refused = await submit(stack, tenant, [first["id"]], f"old-{uuid.uuid4().hex}")
    assert refused.status_code == 409, refused.text  # a superseded claim is never sent

    assert (await submit(stack, tenant, [second["id"]], f"v2-{uuid.uuid4().hex}")).status_code == 201
    await claim_status(stack, tenant, second["id"], {"submitted", "accepted"})
    third = await claim_for(stack, tenant, {**with_charge("150.00"), "diagnoses": ["J20.9", "R05.9", "R50.9"]},
                            {"ready", "held"})  # fmt: skip
    assert third["status"] == "held"
    assert [f["code"] for f in third["findings"]] == ["EARLIER_VERSION_SENT"]
    assert second["id"] in third["findings"][0]["message"]
    assert (await claim_status(stack, tenant, second["id"], {"submitted", "accepted"}))["id"] == second["id"]

    # The biller sends the change as a replacement of the sent claim and withdraws the held one.
    claims, biller = stack.client("claims-svc"), tenant.headers(Role.BILLER)
    cancel = f"/v1/claims/{third['id']}/cancellation"
    assert (await claims.post(cancel, json={"reason": ""}, headers=biller)).status_code == 422
    cancelled = await claims.post(cancel, json={"reason": "billed as a replacement of the sent claim"}, headers=biller)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert "billed as a replacement" in cancelled.json()["findings"][0]["message"]
    assert (await claims.post(cancel, json={"reason": "again"}, headers=biller)).status_code == 409
    sent = await claims.post(f"/v1/claims/{second['id']}/cancellation", json={"reason": "too late"}, headers=biller)
    assert sent.status_code == 409, "a sent claim is voided with a correction, not cancelled"
    assert "void" in sent.json()["detail"]
    refused = await submit(stack, tenant, [third["id"]], f"cancelled-{uuid.uuid4().hex}")
    assert refused.status_code == 409, "a cancelled claim is never sent"


async def test_a_changed_encounter_is_held_when_an_earlier_version_was_sent_even_to_another_date_or_payer(
    stack: Stack,
) -> None:
    """The EHR corrects the date of service, then the payer, of a visit already sent: the payer that has it would be
    billed a second time (the duplicate check compares patient, date and payer, so it missed both). The new claim is
    held; when the payer changed, the fix is to void the claim the other payer has, after which it goes."""
    tenant = await stack.create_tenant()
    body = billable_encounter(tenant)
    first = await claim_for(stack, tenant, body, {"ready", "held"})
    assert first["status"] == "ready", first["findings"]
    assert (await submit(stack, tenant, [first["id"]], f"v1-{uuid.uuid4().hex}")).status_code == 201
    assert (await claim_status(stack, tenant, first["id"], {"accepted", "rejected"}))["status"] == "accepted"

    moved = await claim_for(stack, tenant, {**body, "date_of_service": "2026-11-17"}, {"ready", "held"})
    assert moved["status"] == "held"
    assert [f["code"] for f in moved["findings"]] == ["EARLIER_VERSION_SENT"]
    assert moved["findings"][0]["fix"].startswith(f"Send a replacement (frequency 7) of claim {first['id']}")

    medicare = {**body, "payer_id": "MCARE", "patient": {**body["patient"], "member_id": "1EG4TE5MK73"}}
    other_payer = await claim_for(stack, tenant, medicare, {"ready", "held"})
    assert other_payer["encounter_version"] == 3
    (finding,) = [f for f in other_payer["findings"] if f["code"] == "EARLIER_VERSION_SENT"]
    assert "to payer 60054, and this claim goes to payer MCARE" in finding["message"]
    assert finding["fix"].startswith(f"Void claim {first['id']} (frequency 8)")
    superseded = await claim_status(stack, tenant, moved["id"], {"superseded"})
    assert other_payer["id"] in superseded["findings"][0]["message"]

    voided = await correction(stack, tenant, first["id"], {"kind": "void", "reason": "the patient is on Medicare"})
    assert voided.status_code == 201, voided.text
    rescrubbed = await stack.client("claims-svc").post(
        f"/v1/claims/{other_payer['id']}/scrub", headers=tenant.headers(Role.BILLER)
    )
    assert rescrubbed.status_code == 200, rescrubbed.text
    assert "EARLIER_VERSION_SENT" not in [f["code"] for f in rescrubbed.json()["findings"]]


async def test_two_claims_for_one_visit_not_yet_sent_go_out_once_and_a_second_visit_with_its_modifier_goes(
    stack: Stack,
) -> None:
    """A claim ready to go counts for the duplicate check as a sent one (both would go out in the next batch, and the
    payer denies the second as a duplicate), also within one scrubbing round; the same procedure with a modifier
    saying it is a separate service is not a duplicate."""
    tenant = await stack.create_tenant()
    visit = billable_encounter(tenant, date_of_service="2026-11-18")
    same = billable_encounter(tenant, date_of_service="2026-11-18")  # another EHR encounter of the same services
    separate = billable_encounter(tenant, date_of_service="2026-11-18")
    separate["lines"] = [{**separate["lines"][0], "modifiers": ["25"]}]
    answer = await stack.client("coding-svc").post(
        "/v1/encounter-batches",
        json={"encounters": [visit, same, separate]},
        headers=tenant.headers(Role.EHR_INTEGRATION),
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["coded"] * 3, results

    async def scrubbed() -> dict[str, dict[str, Any]] | None:
        found = await json_list(stack.client("claims-svc"), "/v1/claims?limit=50", tenant.headers(Role.BILLER))
        by_encounter = {c["encounter_id"]: c for c in found if c["status"] in ("ready", "held")}
        return by_encounter if len(by_encounter) == 3 else None

    claims = await eventually(scrubbed)
    first, second, third = (claims[r["encounter_id"]] for r in results)
    held, ready = sorted((first, second), key=lambda c: c["status"])
    assert (held["status"], ready["status"]) == ("held", "ready"), (first, second)
    assert [f["code"] for f in held["findings"]] == ["DUPLICATE"]
    assert ready["id"] in held["findings"][0]["message"]
    assert third["status"] == "ready", third["findings"]


async def test_a_changed_encounter_billed_within_a_combination_is_held_for_a_biller(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    visit, (follow_up, follow_up_body) = await visit_and_follow_up(stack, tenant)
    combined = await stack.client("claims-svc").post(
        "/v1/claim-combinations",
        json={"claim_ids": [visit["id"], follow_up["id"]]},
        headers=tenant.headers(Role.BILLER),
    )
    assert combined.status_code == 201, combined.text

    changed = {**follow_up_body, "lines": [{**follow_up_body["lines"][0], "charge": "65.00"}]}
    again = await claim_for(stack, tenant, changed, {"ready", "held"})
    assert again["status"] == "held"
    assert [f["code"] for f in again["findings"]] == ["EARLIER_VERSION_COMBINED"]
    assert visit["id"] in again["findings"][0]["message"]
    kept = await claim_status(stack, tenant, visit["id"], {"draft", "ready", "held"})
    assert kept["combined_encounter_ids"] == [follow_up["encounter_id"]], "the combination is left as it was"


async def test_the_background_rounds_find_claims_by_status_without_reading_the_whole_table(stack: Stack) -> None:
    """The pipeline's rounds and the status follow-up run all day, and the claims table only grows: each of their
    queries must go through an index (at 300,000 claims a full read took about 70 ms a query on SQLite)."""
    pipeline = cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    followup = cast(StatusFollowup, stack.apps["claims-svc"].state.services.extras[FOLLOWUP_KEY])
    database = pipeline.context.database
    tenant = await stack.create_tenant()
    await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    with statements_run(database, "claim", "claim_submission") as queries:
        await pipeline.scrub_drafts()
        await pipeline.send_round()
        await pipeline.poll_acknowledgments()
        await followup.run_once()
    assert queries
    assert await whole_table_reads(database, queries, "claim", "claim_submission") == []


async def test_a_277ca_finds_its_claims_by_number_not_by_reading_every_claim_of_the_tenant(
    databases: DatabaseFactory,
) -> None:
    """On SQLite (the embedded default) the lookup went through the index on (tenant_id, id), which gives the rows
    in the order asked for, and so read all of the tenant's claims for every 277CA; its plan comes from the fixed
    statistics the migrations pin, and is the same whatever the database holds."""
    async with databases.migrated("ack-lookup", "sqlite", "claims_svc") as database:
        claims = [
            Claim(
                id=new_id("clm"), tenant_id="ten_acks", encounter_id=new_id("enc"), encounter_version=1,
                practice_id="prac", patient_id=f"pat_{n}", payer_id="60054", claim_kind="professional",
                date_of_service=date(2026, 11, 2), status="submitted" if n % 2 else "paid",
                total_charge=Decimal("125.00"), diagnosis_codes=["J20.9"], service_lines=[],
                correlation_id=new_id("cor"), patient_control_number=f"PCN{n:04d}",
            )
            for n in range(40)
        ]  # fmt: skip
        async with database.transaction() as session:
            session.add_all(claims)
        numbers = ["PCN0003", "PCN0004", "PCN0001", "PCN0999"]
        with statements_run(database, "claim") as queries:
            async with database.transaction() as session:
                found = (await session.exec(waiting_for_answer("ten_acks", numbers))).all()

        waiting = sorted((c for c in claims if c.patient_control_number in {"PCN0001", "PCN0003"}), key=lambda c: c.id)
        assert [c.id for c in found] == [c.id for c in waiting], "the waiting ones, in id order"
        assert len(queries) == 1
        assert await tenant_wide_reads(database, queries, "claim") == []


def _coded(tenant: TenantFixture, encounter_id: str, version: int) -> EncounterCoded:
    """encounter-coded of one office visit (99213, 125.00) of version ``version`` of ``encounter_id``."""
    return EncounterCoded(
        encounter_id=encounter_id, encounter_version=version, practice_id=tenant.practice_id, patient_id="pat_run",
        payer_id="60054", date_of_service=date(2026, 11, 2), place_of_service="11",
        rendering_provider_npi="1234567893", billing_provider_npi="1234567893", diagnosis_codes=("J20.9",),
        service_lines=(ServiceLine(line_number=1, procedure_code="99213", units=Decimal(1), charge=Decimal(125)),),
        coded_by="auto", coded_at=datetime.now(UTC),
    )  # fmt: skip


async def test_a_run_of_encounters_coded_handled_at_once_ends_as_handled_one_at_a_time(stack: Stack) -> None:
    """The claim builder's batch handler reads and locks the claims of a run's encounters in one statement, then
    drafts each claim in turn. Two versions of one encounter in the run, a new version of an encounter drafted
    before, a version coded after a later one and another tenant's encounter leave the same claims either way."""
    context: ServiceContext = stack.apps["claims-svc"].state.services
    states = []
    for at_once in (False, True):
        tenant, other = await stack.create_tenant(), await stack.create_tenant()
        suffix = uuid.uuid4().hex[:8]

        def item(
            session: AsyncSession, owner: TenantFixture, name: str, version: int, suffix: str = suffix
        ) -> tuple[EventContext, Any]:
            event = _coded(owner, f"enc_{suffix}_{name}", version)
            envelope = context.outbox.catalog.envelope(
                event, tenant_id=owner.id, source="/claimflow/coding-svc", correlation_id=f"corr-{suffix}-{name}"
            )
            return EventContext(session, envelope, context.outbox, "claims-test"), event

        database = stack.database("claims-svc")
        try:
            # One transaction, so that the pipeline's background rounds do not scrub the drafts while they are read.
            async with database.transaction() as session:
                for context_, event in [item(session, tenant, "changed", 1), item(session, tenant, "late", 2)]:
                    await on_encounter_coded(context_, event)
                await session.flush()  # drafted before the run: stored, as the run reads them
                run = [
                    item(session, tenant, "twice", 1),
                    item(session, tenant, "twice", 2),
                    item(session, tenant, "changed", 2),
                    item(session, tenant, "late", 1),
                    item(session, tenant, "plain", 1),
                    item(session, other, "other", 1),
                ]
                if at_once:
                    await on_encounters_coded(run)
                else:
                    for context_, event in run:
                        await on_encounter_coded(context_, event)
                claims = (
                    await session.exec(select(Claim).where(col(Claim.tenant_id).in_([tenant.id, other.id])))
                ).all()
        finally:
            await database.dispose()
        states.append(
            sorted(
                (
                    c.correlation_id.replace(suffix, "S"),
                    c.encounter_version,
                    c.tenant_id == tenant.id,
                    c.status,
                    [f["code"] for f in c.findings or []],
                )
                for c in claims
            )
        )
    one_at_a_time, at_once_state = states
    assert at_once_state == one_at_a_time
    assert [(name, version, status) for name, version, _, status, _ in at_once_state] == [
        ("corr-S-changed", 1, "superseded"),
        ("corr-S-changed", 2, "draft"),
        ("corr-S-late", 1, "superseded"),
        ("corr-S-late", 2, "draft"),
        ("corr-S-other", 1, "draft"),
        ("corr-S-plain", 1, "draft"),
        ("corr-S-twice", 1, "superseded"),
        ("corr-S-twice", 2, "draft"),
    ]


async def test_a_draft_naming_no_patient_is_held_and_the_drafts_after_it_are_scrubbed(stack: Stack) -> None:
    """encounter-coded may come without the patient and subscriber (the event allows it). Its claim cannot be
    billed: the scrubber holds it with the fix, and the drafts behind it in the round go on (the round used to fail
    on it, every time, for every tenant)."""
    tenant = await stack.create_tenant()
    context: ServiceContext = stack.apps["claims-svc"].state.services
    event = _coded(tenant, f"enc_{uuid.uuid4().hex[:8]}", 1)
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            envelope = context.outbox.catalog.envelope(
                event, tenant_id=tenant.id, source="/claimflow/coding-svc", correlation_id=f"corr-{event.encounter_id}"
            )
            await on_encounter_coded(EventContext(session, envelope, context.outbox, "claims-test"), event)
    finally:
        await database.dispose()
    clean = await claim_for(stack, tenant, billable_encounter(tenant), {"ready", "held"})
    assert clean["status"] == "ready", clean["findings"]
    (nameless,) = await json_list(
        stack.client("claims-svc"), f"/v1/claims?encounter_id={event.encounter_id}", tenant.headers(Role.BILLER)
    )
    assert nameless["status"] == "held"
    assert [f["code"] for f in nameless["findings"]] == ["PATIENT_UNKNOWN"]
