"""Coder work queue: encounters with errors wait for a coder; resolving them publishes encounter-coded once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from claimflow.testing import Stack, encounter_body, json_list
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory, Role
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration


async def second_coder(stack: Stack, tenant_id: str) -> dict[str, str]:
    directory = Database(stack.directory_url, pool_size=1)
    try:
        async with directory.transaction() as session:
            issued = await Directory(session).issue_key(tenant_id, Role.CODER, "second coder")
    finally:
        await directory.dispose()
    return {"Authorization": f"Bearer {issued.token}"}


async def event_types(stack: Stack, encounter_id: str) -> list[str]:
    database = stack.database("coding-svc")
    try:
        async with database.transaction() as session:
            rows = await session.exec(
                select(OutboxMessage.event_type)
                .where(col(OutboxMessage.message_key) == encounter_id)
                .order_by(col(OutboxMessage.id))
            )
            return list(rows.all())
    finally:
        await database.dispose()


def errors(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocking findings (warnings, such as a carried-forward code set, do not stop billing)."""
    return [f for f in findings if f["severity"] == "error"]


async def test_work_queue_lifecycle_with_physician_query(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    coder = tenant.headers(Role.CODER)
    body = encounter_body(
        tenant,
        diagnoses=["J20.9", "R05.9"],
        lines=[
            {"procedure_code": "99213", "diagnosis_pointers": [1, 3], "charge": "125.00"},
            {"procedure_code": "94640", "diagnosis_pointers": [], "charge": "40.00"},
        ],
    )
    posted = await coding.post("/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION))
    assert posted.status_code == 201
    encounter = posted.json()
    assert encounter["status"] == "review-required"
    assert await event_types(stack, encounter["id"]) == [
        "claimflow.encounter-received",
        "claimflow.coding-review-required",
    ]

    by_edit = await json_list(coding, "/v1/work-queue?edit_code=DX_POINTER_OUT_OF_RANGE", coder)
    assert [i["encounter_id"] for i in by_edit] == [encounter["id"]]
    assert await json_list(coding, "/v1/work-queue?edit_code=NCCI_PTP", coder) == []
    assert await json_list(coding, "/v1/work-queue?practice_id=prac_other", coder) == []
    assert await json_list(coding, "/v1/work-queue?older_than_hours=1", coder) == []
    item = by_edit[0]
    assert {(f["code"], f["line_number"]) for f in errors(item["findings"])} == {
        ("DX_POINTER_OUT_OF_RANGE", 1),
        ("DX_POINTER_MISSING", 2),
    }
    assert all(f["suggested_fix"] for f in item["findings"])
    url = f"/v1/work-queue/{item['id']}"

    other = await second_coder(stack, tenant.id)
    not_claimed = await coding.post(f"{url}/queries", json={"question": "Which diagnosis?"}, headers=coder)
    assert not_claimed.status_code == 403
    assert (await coding.post(f"{url}/claim", headers=coder)).json()["status"] == "claimed"
    taken = await coding.post(f"{url}/claim", headers=other)
    assert taken.status_code == 409

    asked = await coding.post(
        f"{url}/queries", json={"question": "Line 1 points to a third diagnosis: what was it?"}, headers=coder
    )
    assert asked.status_code == 201
    assert (await coding.get(url, headers=coder)).json()["status"] == "awaiting-physician"
    waiting = await coding.post(f"{url}/resolve", headers=coder)
    assert waiting.status_code == 409
    assert "physician query" in waiting.json()["detail"]

    answered = await coding.post(
        f"/v1/physician-queries/{asked.json()['id']}/answer",
        json={"answer": "Wheezing, R06.2."},
        headers=tenant.headers(Role.EHR_INTEGRATION),
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "answered"
    assert (await coding.get(url, headers=coder)).json()["status"] == "claimed"

    still_wrong = await coding.post(f"{url}/resolve", headers=coder)
    assert still_wrong.status_code == 409
    assert {f["code"] for f in errors(still_wrong.json()["extra"]["findings"])} == {
        "DX_POINTER_OUT_OF_RANGE",
        "DX_POINTER_MISSING",
    }

    corrected = await coding.put(
        f"{url}/codes",
        json={
            "diagnoses": ["J20.9", "R05.9", "R06.2"],
            "lines": [
                {"procedure_code": "99213", "diagnosis_pointers": [1, 3], "charge": "125.00"},
                {"procedure_code": "94640", "diagnosis_pointers": [3], "charge": "40.00"},
            ],
            "reason": "Physician confirmed wheezing (query answered)",
        },
        headers=coder,
    )
    assert corrected.status_code == 200, corrected.text
    detail = corrected.json()
    assert errors(detail["findings"]) == [], detail["findings"]
    assert [(h["reason"], h["before"]["diagnoses"], h["after"]["diagnoses"]) for h in detail["history"]] == [
        ("Physician confirmed wheezing (query answered)", ["J20.9", "R05.9"], ["J20.9", "R05.9", "R06.2"])
    ]
    assert [q["answer"] for q in detail["queries"]] == ["Wheezing, R06.2."]

    resolved = await coding.post(f"{url}/resolve", headers=coder)
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert (await coding.post(f"{url}/resolve", headers=coder)).status_code == 409
    assert (await coding.get(f"/v1/encounters/{encounter['id']}", headers=coder)).json()["status"] == "coded"

    async def claim() -> list[dict[str, Any]]:
        return await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter['id']}", tenant.headers(Role.BILLER)
        )

    claims = await eventually(claim)
    assert claims[0]["diagnosis_codes"] == ["J20.9", "R05.9", "R06.2"]
    assert await event_types(stack, encounter["id"]) == [
        "claimflow.encounter-received",
        "claimflow.coding-review-required",
        "claimflow.encounter-coded",
    ]
    assert len(await claim()) == 1
    assert await json_list(coding, "/v1/work-queue", coder) == []


async def test_a_new_version_supersedes_the_open_work_item(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    bad = encounter_body(tenant, lines=[{"procedure_code": "99213", "diagnosis_pointers": [5]}])
    first = await coding.post("/v1/encounters", json=bad, headers=headers)
    assert first.json()["status"] == "review-required"
    fixed = {**bad, "lines": [{"procedure_code": "99213", "diagnosis_pointers": [1]}]}
    second = await coding.post("/v1/encounters", json=fixed, headers=headers)
    assert second.json()["status"] == "coded"
    assert await json_list(coding, "/v1/work-queue", tenant.headers(Role.CODER)) == []
    superseded = await json_list(coding, "/v1/work-queue?status=superseded", tenant.headers(Role.CODER))
    assert [i["encounter_id"] for i in superseded] == [first.json()["id"]]


async def test_corrected_codes_that_break_the_encounter_are_refused_with_the_reason(stack: Stack) -> None:
    """A hospital visit held for a diagnosis pointer: a correction whose lines lose their revenue codes is a 400
    naming them, and the encounter keeps its codes; the same correction with them goes through."""
    tenant = await stack.create_tenant()
    coding, coder = stack.client("coding-svc"), tenant.headers(Role.CODER)
    body = encounter_body(
        tenant,
        claim_kind="institutional",
        place_of_service="23",
        institutional={"type_of_bill": "131", "admission_type_code": "1", "admission_source_code": "7",
                       "patient_status_code": "01", "attending_provider_npi": "1497758544",
                       "attending_last_name": "Okafor"},
        lines=[{"procedure_code": "99284", "revenue_code": "0450", "diagnosis_pointers": [5], "charge": "850.00"}],
    )  # fmt: skip
    posted = await coding.post("/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION))
    assert posted.status_code == 201, posted.text
    (item,) = [i for i in await json_list(coding, "/v1/work-queue", coder) if i["encounter_id"] == posted.json()["id"]]
    url = f"/v1/work-queue/{item['id']}"
    assert (await coding.post(f"{url}/claim", headers=coder)).status_code == 200
    line = {"procedure_code": "99284", "diagnosis_pointers": [1], "charge": "850.00"}
    refused = await coding.put(
        f"{url}/codes", json={"diagnoses": ["J20.9"], "lines": [line], "reason": "pointer"}, headers=coder
    )
    assert refused.status_code == 400, refused.text
    assert "revenue_code (lines [1])" in refused.json()["detail"]
    kept = (await coding.get(f"/v1/encounters/{posted.json()['id']}", headers=coder)).json()
    assert kept["document"]["lines"][0]["diagnosis_pointers"] == [5]
    fixed = await coding.put(
        f"{url}/codes",
        json={"diagnoses": ["J20.9"], "lines": [{**line, "revenue_code": "0450"}], "reason": "pointer"},
        headers=coder,
    )
    assert fixed.status_code == 200, fixed.text
