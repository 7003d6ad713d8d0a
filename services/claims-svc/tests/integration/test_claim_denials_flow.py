"""Remittance outcomes reach claims-svc as remit-svc publishes them (claim-denied, payment-posted on the real
broker): claim statuses, the denial work queue, the automatic CARC 4 correction, appeals and their statistics."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from pypdf import PdfReader
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow.testing import Stack, TenantFixture, encounter_body, json_list
from claimflow_events import Adjustment, ClaimDenied, EventEnvelope, EventPayload, PaymentPosted, default_catalog
from claimflow_events.payloads import LineAdjudication
from claimflow_events.types import ClaimAdjustmentGroup
from claimflow_kit.app import ServiceContext
from claimflow_kit.bulk import write_staged_rows
from claimflow_kit.consumer import EventContext
from claimflow_kit.directory import Role
from claimflow_kit.kafka import new_producer
from claimflow_kit.outbox import kafka_headers
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import eventually, waiting_for_a_lock
from claims_svc.adapters.tables import Claim, DenialWorkItem
from claims_svc.config import ClaimsSettings
from claims_svc.consumers.handlers import AdjudicationHandlers

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}
CO = ClaimAdjustmentGroup.CONTRACTUAL
PR = ClaimAdjustmentGroup.PATIENT_RESPONSIBILITY
HMO_SECONDARY = {
    "payer_sequence": "secondary",
    "payer_id": "HMO01",
    "member_id": "H10000002",
    "group_number": "GRPHMO02",
}


async def ready_claim(stack: Stack, tenant: TenantFixture, **overrides: Any) -> dict[str, Any]:
    """A clean claim for the sandbox's MARIA LOPEZ, scrubbed and ready."""
    body = encounter_body(tenant, date_of_service="2026-11-16", group_number="GRP60054A")
    body["patient"] = {**body["patient"], "address": HOME}
    body.update(overrides)
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text

    async def ready() -> dict[str, Any] | None:
        claims = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={posted.json()['id']}", tenant.headers(Role.BILLER)
        )
        return claims[0] if claims and claims[0]["status"] == "ready" else None

    return await eventually(ready)


async def publish(stack: Stack, envelope: EventEnvelope, payload_type: type[EventPayload]) -> None:
    """Send an envelope to its topic as remit-svc's outbox relay would."""
    producer = new_producer(stack.settings["remit-svc"])
    await producer.start()
    try:
        await producer.send_and_wait(
            payload_type.topic.value,
            envelope.model_dump_json().encode(),
            key=envelope.subject.encode(),
            headers=kafka_headers(envelope.model_dump(mode="json")),
        )
    finally:
        await producer.stop()


async def remit(stack: Stack, tenant: TenantFixture, claim: dict[str, Any], payload: EventPayload) -> EventEnvelope:
    """Publish a remit-svc event about ``claim``; returns its envelope (to deliver again)."""
    envelope = default_catalog().envelope(
        payload, tenant_id=tenant.id, source="/claimflow/remit-svc", correlation_id=f"corr-{claim['id']}"
    )
    await publish(stack, envelope, type(payload))
    return envelope


def denied(
    claim: dict[str, Any],
    *adjustments: tuple[str, str, int | None],
    remarks: tuple[str, ...] = (),
    era_id: str | None = None,
    status_code: str = "4",
    denied_at: datetime | None = None,
    payer_claim_number: str | None = None,
) -> ClaimDenied:
    """claim-denied with CO adjustments given as (CARC, amount, line number or None for the claim)."""
    pcn = claim["patient_control_number"]
    cas = tuple(
        Adjustment(
            group_code=CO, carc=carc, amount=Decimal(amount), line_item_control_number=f"{pcn}-{line}" if line else None
        )
        for carc, amount, line in adjustments
    )
    return ClaimDenied(
        claim_id=claim["id"],
        patient_control_number=pcn,
        payer_id="60054",
        era_id=era_id or f"era_{uuid.uuid4().hex[:12]}",
        payer_claim_control_number=payer_claim_number or f"PCC{uuid.uuid4().hex[:8].upper()}",
        claim_status_code=status_code,
        total_charge=Decimal(claim["total_charge"]),
        denied_amount=sum((a.amount for a in cas), Decimal(0)),
        adjustments=cas,
        remark_codes=remarks,
        denied_at=denied_at or datetime.now(UTC),
    )


async def denials_of(stack: Stack, tenant: TenantFixture, claim_id: str, query: str = "") -> list[dict[str, Any]]:
    items = await json_list(stack.client("claims-svc"), f"/v1/denials?{query}", tenant.headers(Role.BILLER))
    return [item for item in items if item["claim_id"] == claim_id]


async def claim_in(stack: Stack, tenant: TenantFixture, claim_id: str, statuses: set[str]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        response = await stack.client("claims-svc").get(f"/v1/claims/{claim_id}", headers=tenant.headers(Role.BILLER))
        claim: dict[str, Any] = response.json()
        return claim if claim["status"] in statuses else None

    return await eventually(reached)


async def taken_in(stack: Stack, claim_id: str, payer_claim_number: str) -> None:
    """The payer took the claim in (its 277CA) under ``payer_claim_number``."""
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            row = await session.get(Claim, claim_id)
            assert row is not None
            row.status, row.payer_claim_number = "accepted", payer_claim_number
            session.add(row)
    finally:
        await database.dispose()


async def test_denials_become_one_work_item_each_and_are_worked_from_the_queue(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await ready_claim(stack, tenant)
    biller = tenant.headers(Role.BILLER)
    client = stack.client("claims-svc")
    denial = denied(claim, ("50", "125.00", 1), remarks=("N115",), payer_claim_number="PCC-NEC-1")
    envelope = await remit(stack, tenant, claim, denial)

    (item,) = await eventually(lambda: denials_of(stack, tenant, claim["id"]))
    assert (item["root_cause"], item["owner"], item["carc"], item["group_code"]) == (
        "medical_necessity",
        "biller",
        "50",
        "CO",
    )
    assert (item["status"], item["appealable"], item["correctable"], item["overdue"]) == ("open", True, False, False)
    assert "medical necessity" in item["recommended_action"]
    assert item["appeal_deadline"] == (denial.denied_at.date() + timedelta(days=180)).isoformat()
    assert item["reasons"] == [
        {
            "group_code": "CO",
            "carc": "50",
            "amount": "125.00",
            "meaning": "Non-covered: the payer does not deem the services a medical necessity.",
            "root_cause": "medical_necessity",
        }
    ]
    assert item["remarks"][0]["code"] == "N115"
    assert (item["patient_control_number"], item["denied_amount"]) == (claim["patient_control_number"], "125.00")
    after = await claim_in(stack, tenant, claim["id"], {"denied"})
    assert after["payer_claim_number"] == "PCC-NEC-1"

    # The same envelope again (the inbox drops it) and a new envelope for the same claim and remittance (the
    # handler's own guard), then an old denial of the same claim on another remittance: the claim's events are
    # consumed in order, so once that one is in the queue the two repeats were handled.
    await publish(stack, envelope, ClaimDenied)
    await remit(stack, tenant, claim, denial.model_copy(update={"denied_at": datetime.now(UTC)}))
    old = denied(claim, ("29", "125.00", None), era_id="era_old", denied_at=datetime(2025, 1, 2, tzinfo=UTC))
    await remit(stack, tenant, claim, old)

    async def both() -> list[dict[str, Any]] | None:
        items = await denials_of(stack, tenant, claim["id"])
        return items if len(items) >= 2 else None

    items = await eventually(both)
    assert sorted((i["era_id"], i["root_cause"]) for i in items) == sorted(
        [(denial.era_id, "medical_necessity"), ("era_old", "timely_filing")]
    ), "one work item per claim and remittance"
    late = next(i for i in items if i["era_id"] == "era_old")
    assert (late["appeal_deadline"], late["overdue"]) == ("2025-07-01", True)
    assert [i["id"] for i in items] == [late["id"], item["id"]], "most urgent (earliest deadline) first"

    # Filters.
    async def ids(query: str) -> list[str]:
        return [i["id"] for i in await denials_of(stack, tenant, claim["id"], query)]

    assert await ids("overdue=true") == [late["id"]]
    assert await ids("overdue=false") == [item["id"]]
    assert await ids("root_cause=medical_necessity&owner=biller&payer_id=60054&status=open") == [item["id"]]
    assert await ids(f"practice_id={tenant.practice_id}&root_cause=timely_filing") == [late["id"]]
    assert await ids("root_cause=coding") == []
    assert await ids("owner=front_desk") == []
    assert (await client.get("/v1/denials?root_cause=typo", headers=biller)).status_code == 422

    # Assignment and outcome.
    assigned = await client.post(f"/v1/denials/{item['id']}/assignment", json={"assignee": "jane"}, headers=biller)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "jane"
    assert await ids("assignee=jane") == [item["id"]]
    coder = await client.post(
        f"/v1/denials/{late['id']}/outcome",
        json={"outcome": "written_off", "note": "no proof of timely filing"},
        headers=tenant.headers(Role.CODER),
    )
    assert coder.status_code == 200, coder.text
    closed = coder.json()
    assert (closed["status"], closed["outcome"], closed["outcome_note"]) == (
        "resolved",
        "written_off",
        "no proof of timely filing",
    )
    assert closed["resolved_by"]
    assert closed["resolved_at"]
    assert closed["overdue"] is False, "a resolved denial is no longer overdue"
    again = await client.post(f"/v1/denials/{late['id']}/outcome", json={"outcome": "no_action"}, headers=biller)
    assert again.status_code == 409
    assert again.json()["error"] == "Conflict"
    assert (
        await client.post(f"/v1/denials/{late['id']}/assignment", json={"assignee": "x"}, headers=biller)
    ).status_code == 409
    assert await ids("status=resolved") == [late["id"]]
    automatic = await client.post(
        f"/v1/denials/{item['id']}/outcome", json={"outcome": "auto_corrected"}, headers=biller
    )
    assert automatic.status_code == 422, "only the automatic correction records auto_corrected"
    not_a_correction = await client.post(
        f"/v1/denials/{item['id']}/outcome",
        json={"outcome": "corrected_resubmitted", "corrected_claim_id": claim["id"]},
        headers=biller,
    )
    assert not_a_correction.status_code == 400
    detail = await client.get(f"/v1/denials/{item['id']}", headers=biller)
    assert (detail.json()["status"], detail.json()["appeals"]) == ("open", [])

    other = await stack.create_tenant()
    assert (await client.get(f"/v1/denials/{item['id']}", headers=other.headers(Role.BILLER))).status_code == 404
    assert await json_list(client, "/v1/denials", other.headers(Role.BILLER)) == []


async def test_carc_4_on_a_telehealth_claim_is_replaced_with_95_without_a_person(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    client = stack.client("claims-svc")
    biller = tenant.headers(Role.BILLER)
    telehealth = await ready_claim(stack, tenant, place_of_service="10")
    assert telehealth["service_lines"][0]["modifiers"] == []
    await remit(stack, tenant, telehealth, denied(telehealth, ("4", "125.00", 1), payer_claim_number="PCC-TH-1"))

    async def corrected() -> dict[str, Any] | None:
        items = await denials_of(stack, tenant, telehealth["id"])
        return items[0] if items and items[0]["status"] == "resolved" else None

    item = await eventually(corrected)
    assert (item["root_cause"], item["outcome"], item["resolved_by"]) == ("coding", "auto_corrected", "auto")
    assert "telehealth modifier 95 added to line(s) 1" in item["outcome_note"]
    replacement = await claim_in(stack, tenant, item["corrected_claim_id"], {"ready", "held"})
    assert replacement["status"] == "ready", replacement["findings"]
    assert (replacement["frequency_code"], replacement["payer_claim_number"]) == ("7", "PCC-TH-1")
    assert replacement["original_claim_id"] == telehealth["id"]
    assert [line["modifiers"] for line in replacement["service_lines"]] == [["95"]]
    original = (await client.get(f"/v1/claims/{telehealth['id']}", headers=biller)).json()
    assert (original["status"], original["corrected_by"]) == ("denied", replacement["id"])

    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            resubmitted = (
                await session.exec(
                    select(OutboxMessage.event_type).where(col(OutboxMessage.message_key) == replacement["id"])
                )
            ).all()
    finally:
        await database.dispose()
    assert list(resubmitted) == ["claimflow.claim-resubmitted"]

    # The same denial of an office visit: the claim does not say which modifier is missing, so a coder decides.
    office = await ready_claim(stack, tenant, date_of_service="2026-11-17")  # another visit, not a duplicate
    await remit(stack, tenant, office, denied(office, ("4", "125.00", 1)))
    (waiting,) = await eventually(lambda: denials_of(stack, tenant, office["id"]))
    assert (waiting["status"], waiting["owner"], waiting["corrected_claim_id"]) == ("open", "coder", None)
    assert "modifier" in waiting["recommended_action"]
    assert (await client.get(f"/v1/claims/{office['id']}", headers=biller)).json()["corrected_by"] is None

    # A coder fixes it by hand: the outcome links the replacement found on the denied claim.
    fixed = await client.post(
        f"/v1/claims/{office['id']}/corrections",
        json={
            "kind": "replacement",
            "reason": "modifier 25 on the visit",
            "service_lines": [
                {
                    "line_number": 1,
                    "procedure_code": "99213",
                    "modifiers": ["25"],
                    "units": "1",
                    "charge": "125.00",
                    "diagnosis_pointers": [1, 2],
                }
            ],
        },
        headers=biller,
    )
    assert fixed.status_code == 201, fixed.text
    closed = await client.post(
        f"/v1/denials/{waiting['id']}/outcome", json={"outcome": "corrected_resubmitted"}, headers=biller
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["outcome"], closed.json()["corrected_claim_id"]) == (
        "corrected_resubmitted",
        fixed.json()["id"],
    )


async def test_payments_mark_claims_paid_partially_paid_and_reversals_undo_them(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await ready_claim(stack, tenant)
    pcn = claim["patient_control_number"]

    def payment(paid: str, status_code: str, *adjustments: Adjustment, reversal: bool = False) -> PaymentPosted:
        return PaymentPosted(
            claim_id=claim["id"],
            patient_control_number=pcn,
            payer_id="60054",
            era_id=f"era_{uuid.uuid4().hex[:12]}",
            trace_number="EFT100",
            payer_claim_control_number="PCC-PAY-1",
            claim_status_code=status_code,
            total_charge=Decimal("125.00") * (-1 if reversal else 1),
            paid_amount=Decimal(paid),
            patient_responsibility=sum((a.amount for a in adjustments if a.group_code is PR), Decimal(0)),
            adjustments=adjustments,
            is_reversal=reversal,
            posted_at=datetime.now(UTC),
        )

    def cas(group: ClaimAdjustmentGroup, carc: str, amount: str) -> Adjustment:
        return Adjustment(group_code=group, carc=carc, amount=Decimal(amount), line_item_control_number=f"{pcn}-1")

    await remit(stack, tenant, claim, payment("80.00", "1", cas(CO, "45", "25.00"), cas(PR, "2", "20.00")))
    paid = await claim_in(stack, tenant, claim["id"], {"paid"})
    assert (paid["paid_amount"], paid["payer_claim_number"]) == ("80.00", "PCC-PAY-1")

    await remit(
        stack, tenant, claim, payment("-80.00", "22", cas(CO, "45", "-25.00"), cas(PR, "2", "-20.00"), reversal=True)
    )
    reversed_ = await claim_in(stack, tenant, claim["id"], {"accepted"})
    assert reversed_["paid_amount"] == "0.00"

    await remit(stack, tenant, claim, payment("60.00", "1", cas(CO, "45", "25.00"), cas(CO, "97", "40.00")))
    partly = await claim_in(stack, tenant, claim["id"], {"partially_paid"})
    assert partly["paid_amount"] == "60.00"


async def test_denial_leaves_the_queue_when_a_later_remittance_pays_the_claim(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claim = await ready_claim(stack, tenant)
    pcn = claim["patient_control_number"]

    def paid_on(era_id: str, paid: str, *adjustments: Adjustment) -> PaymentPosted:
        return PaymentPosted(
            claim_id=claim["id"],
            patient_control_number=pcn,
            payer_id="60054",
            era_id=era_id,
            trace_number=f"EFT-{era_id}",
            claim_status_code="1",
            total_charge=Decimal("125.00"),
            paid_amount=Decimal(paid),
            patient_responsibility=Decimal(0),
            adjustments=adjustments,
            posted_at=datetime.now(UTC),
        )

    # The first remittance pays line 1 and denies line 2 (CO 16: information missing): one open denial.
    first_era = f"era_{uuid.uuid4().hex[:12]}"
    await remit(stack, tenant, claim, denied(claim, ("16", "25.00", 2), era_id=first_era, status_code="1"))
    cas = Adjustment(group_code=CO, carc="16", amount=Decimal("25.00"), line_item_control_number=f"{pcn}-2")
    await remit(stack, tenant, claim, paid_on(first_era, "100.00", cas))
    await claim_in(stack, tenant, claim["id"], {"partially_paid"})
    (item,) = await eventually(lambda: denials_of(stack, tenant, claim["id"]))
    assert item["status"] == "open", "the same remittance's payment is what left the denial unpaid"

    # The biller sends the missing information; the payer pays the line on a later remittance.
    await remit(stack, tenant, claim, paid_on(f"era_{uuid.uuid4().hex[:12]}", "25.00"))

    async def settled() -> dict[str, Any] | None:
        (current,) = await denials_of(stack, tenant, claim["id"])
        return current if current["status"] == "resolved" else None

    closed = await eventually(settled)
    assert (closed["outcome"], closed["resolved_by"]) == ("paid_later", "auto")
    assert closed["outcome_note"].startswith("paid 25.00 on remittance EFT-era_")
    assert await denials_of(stack, tenant, claim["id"], "status=open") == []


async def test_appeal_packets_letters_decisions_and_overturn_rates(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    client = stack.client("claims-svc")
    biller = tenant.headers(Role.BILLER)
    necessity = await ready_claim(stack, tenant)
    denial = denied(necessity, ("50", "125.00", 1), remarks=("N115",), payer_claim_number="PCC-AP-1")
    await remit(stack, tenant, necessity, denial)
    (item,) = await eventually(lambda: denials_of(stack, tenant, necessity["id"]))

    created = await client.post(f"/v1/denials/{item['id']}/appeals", headers=biller)
    assert created.status_code == 201, created.text
    appeal = created.json()
    assert (appeal["level"], appeal["status"], appeal["root_cause"]) == (1, "drafted", "medical_necessity")
    assert "Letter of medical necessity from the treating provider" in appeal["attachments"]
    assert "Remittance advice (835/EOB) showing the denial" in appeal["attachments"]
    assert (await client.post(f"/v1/denials/{item['id']}/appeals", headers=biller)).status_code == 409
    coder = await client.post(f"/v1/denials/{item['id']}/appeals", headers=tenant.headers(Role.CODER))
    assert coder.status_code == 403

    letter = await client.get(appeal["letter_url"], headers=biller)
    assert letter.status_code == 200
    assert letter.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(letter.content), strict=True)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for expected in (
        f"Patient control number: {necessity['patient_control_number']}",
        "Payer claim number: PCC-AP-1",
        "Date of service: 2026-11-16",
        "Billed amount: $125.00; denied amount: $125.00",
        "CO-50 ($125.00): Non-covered: the payer does not deem the services a medical necessity.",
        "N115: This decision was based on a Local Coverage Determination (LCD).",
        "Patient: Maria Lopez (born 1984-03-09), member id W123456789",
        "Sandbox Commercial PPO (payer id 60054)",
        "Practice One",
        "The service was medically necessary for this patient's condition.",
        "Letter of medical necessity from the treating provider",
    ):
        assert expected in text, expected

    url = f"/v1/appeals/{appeal['id']}"
    early = await client.post(f"{url}/outcome", json={"outcome": "upheld"}, headers=biller)
    assert early.status_code == 409, "the payer decides only after the appeal was sent"
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    ahead = await client.post(f"{url}/submission", json={"sent_on": future, "method": "fax"}, headers=biller)
    assert ahead.status_code == 400
    today = datetime.now(UTC).date().isoformat()
    sent = await client.post(f"{url}/submission", json={"sent_on": today, "method": "fax"}, headers=biller)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["submitted_on"], sent.json()["submission_method"]) == (
        "submitted",
        today,
        "fax",
    )
    queued = (await client.get(f"/v1/denials/{item['id']}", headers=biller)).json()
    assert (queued["status"], queued["outcome"]) == ("resolved", "appealed")
    assert [a["id"] for a in queued["appeals"]] == [appeal["id"]]

    too_much = await client.post(
        f"{url}/outcome", json={"outcome": "partially_overturned", "amount": "125.00"}, headers=biller
    )
    assert too_much.status_code == 400
    partial = {"outcome": "partially_overturned", "amount": "50.00"}
    partly = await client.post(f"{url}/outcome", json=partial, headers=biller)
    assert partly.status_code == 200, partly.text
    assert (partly.json()["outcome"], partly.json()["recovered_amount"]) == ("partially_overturned", "50.00")
    reopened = (await client.get(f"/v1/denials/{item['id']}", headers=biller)).json()
    assert (reopened["status"], reopened["outcome"]) == ("open", None), "the rest goes back to the queue"

    second = await client.post(f"/v1/denials/{item['id']}/appeals", headers=biller)
    assert second.status_code == 201, second.text
    assert second.json()["level"] == 2
    second_url = f"/v1/appeals/{second.json()['id']}"
    by_portal = {"sent_on": today, "method": "portal"}
    assert (await client.post(f"{second_url}/submission", json=by_portal, headers=biller)).status_code == 200
    upheld = await client.post(f"{second_url}/outcome", json={"outcome": "upheld"}, headers=biller)
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["recovered_amount"] == "0.00"

    late = await ready_claim(stack, tenant, date_of_service="2026-11-17")
    await remit(stack, tenant, late, denied(late, ("29", "125.00", None)))
    (late_item,) = await eventually(lambda: denials_of(stack, tenant, late["id"]))
    late_appeal = (await client.post(f"/v1/denials/{late_item['id']}/appeals", headers=biller)).json()
    assert any(a.startswith("Proof of timely filing") for a in late_appeal["attachments"])
    late_url = f"/v1/appeals/{late_appeal['id']}"
    by_mail = {"sent_on": today, "method": "mail"}
    assert (await client.post(f"{late_url}/submission", json=by_mail, headers=biller)).status_code == 200
    overturned = await client.post(f"{late_url}/outcome", json={"outcome": "overturned"}, headers=biller)
    assert overturned.json()["recovered_amount"] == "125.00", "overturned: the whole denied amount"
    assert (await client.get(f"/v1/denials/{late_item['id']}", headers=biller)).json()["status"] == "resolved"

    rates = await json_list(client, "/v1/appeals/overturn-rates", tenant.headers(Role.OPS))
    assert rates == [
        {
            "payer_id": "60054",
            "root_cause": "medical_necessity",
            "appeals": 2,
            "decided": 2,
            "overturned": 0,
            "partially_overturned": 1,
            "upheld": 1,
            "overturn_rate": "0.5000",
            "denied_amount": "250.00",
            "recovered_amount": "50.00",
        },
        {
            "payer_id": "60054",
            "root_cause": "timely_filing",
            "appeals": 1,
            "decided": 1,
            "overturned": 1,
            "partially_overturned": 0,
            "upheld": 0,
            "overturn_rate": "1.0000",
            "denied_amount": "125.00",
            "recovered_amount": "125.00",
        },
    ]
    assert date.fromisoformat(late_item["appeal_deadline"]) > datetime.now(UTC).date()


def cob_payment(
    primary: dict[str, Any], paid: str, patient: str, *, reversal: bool = False, number: str = "PCC-COB-1"
) -> PaymentPosted:
    """The primary payer's payment (or its reversal) of ``primary``'s one 125.00 line: 25.00 contractual."""
    pcn = primary["patient_control_number"]
    sign = -1 if reversal else 1
    line = f"{pcn}-1"
    return PaymentPosted(
        claim_id=primary["id"], patient_control_number=pcn, payer_id="60054", era_id=f"era_{uuid.uuid4().hex[:12]}",
        trace_number="EFT200", payer_claim_control_number=number, claim_status_code="22" if reversal else "1",
        total_charge=Decimal("125.00") * sign, paid_amount=Decimal(paid) * sign,
        patient_responsibility=Decimal(patient) * sign,
        adjustments=(
            Adjustment(group_code=CO, carc="45", amount=Decimal("25.00") * sign, line_item_control_number=line),
            Adjustment(group_code=PR, carc="2", amount=Decimal(patient) * sign, line_item_control_number=line),
        ),
        lines=(LineAdjudication(line_item_control_number=line, procedure_code="99213",
                                charge=Decimal("125.00") * sign, paid_amount=Decimal(paid) * sign),),
        is_reversal=reversal, adjudicated_on=date(2026, 11, 20), posted_at=datetime.now(UTC),
    )  # fmt: skip


async def test_a_primary_reversal_holds_the_secondary_and_its_corrected_payment_rebuilds_or_replaces_it(
    stack: Stack,
) -> None:
    """The primary paid 80.00, the secondary was drafted from it; the primary reverses (CLP02 22): the secondary,
    not sent, waits (the scrubber says why); the primary's corrected payment (70.00) rebuilds it. Once the secondary
    payer has taken the claim in, another re-adjudication of the primary replaces it (frequency 7)."""
    tenant = await stack.create_tenant()
    primary = await ready_claim(stack, tenant, other_coverages=[HMO_SECONDARY])
    claims, biller = stack.client("claims-svc"), tenant.headers(Role.BILLER)

    def payment(paid: str, patient: str, *, reversal: bool = False, number: str = "PCC-COB-1") -> PaymentPosted:
        return cob_payment(primary, paid, patient, reversal=reversal, number=number)

    async def secondary_in(statuses: set[str]) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            listed = await json_list(claims, f"/v1/claims?encounter_id={primary['encounter_id']}", biller)
            live = [c for c in listed if c["payer_sequence"] == "secondary" and c["corrected_by"] is None]
            return live[0] if live and live[0]["status"] in statuses else None

        return await eventually(found)

    async def paid_by_primary(claim_id: str) -> str:
        detail = (await claims.get(f"/v1/claims/{claim_id}", headers=biller)).json()
        return str(detail["prior_adjudications"][0]["paid"])

    await remit(stack, tenant, primary, payment("80.00", "20.00"))
    secondary = await secondary_in({"ready", "held"})
    assert secondary["status"] == "ready", secondary["findings"]
    assert await paid_by_primary(secondary["id"]) == "80.00"

    await remit(stack, tenant, primary, payment("80.00", "20.00", reversal=True))
    held = await secondary_in({"held"})
    assert [f["code"] for f in held["findings"]] == ["OTHER_PAYER_REVERSED"]

    await remit(stack, tenant, primary, payment("70.00", "30.00", number="PCC-COB-2"))
    rebuilt = await secondary_in({"ready"})
    assert rebuilt["id"] == secondary["id"]
    assert await paid_by_primary(secondary["id"]) == "70.00"

    await taken_in(stack, secondary["id"], "PCC-HMO-1")  # the secondary payer's 277CA
    await remit(stack, tenant, primary, payment("70.00", "30.00", reversal=True, number="PCC-COB-2"))
    await remit(stack, tenant, primary, payment("75.00", "25.00", number="PCC-COB-3"))
    replacement = await secondary_in({"draft", "held", "ready"})
    assert (replacement["frequency_code"], replacement["payer_claim_number"], replacement["original_claim_id"]) == (
        "7",
        "PCC-HMO-1",
        secondary["id"],
    )
    assert await paid_by_primary(replacement["id"]) == "75.00"
    notes = (await claims.get(f"/v1/claims/{secondary['id']}/timeline", headers=biller)).json()
    assert any("reversed its payment after this claim was sent" in str(n) for n in notes)


async def test_a_primary_reversal_handled_while_the_secondary_is_being_sent_leaves_it_sending(stack: Stack) -> None:
    """The pipeline moves the ready secondary to "submitting" (its 837 is being stored and sent) while the worker
    handles the primary's reversal. The worker used to read the claim as ready and write "draft" over "submitting":
    the 837 still went out, the claim was never recorded as submitted, and it would be scrubbed and sent again."""
    database = stack.database("claims-svc")
    if database.dialect != "postgresql":
        await database.dispose()
        pytest.skip("SQLite runs one write transaction at a time: the two cannot overlap")
    tenant = await stack.create_tenant()
    primary = await ready_claim(stack, tenant, other_coverages=[HMO_SECONDARY])
    claims, biller = stack.client("claims-svc"), tenant.headers(Role.BILLER)
    await remit(stack, tenant, primary, cob_payment(primary, "80.00", "20.00"))

    async def drafted() -> dict[str, Any] | None:
        listed = await json_list(claims, f"/v1/claims?encounter_id={primary['encounter_id']}", biller)
        found = [c for c in listed if c["payer_sequence"] == "secondary" and c["status"] in ("ready", "held")]
        return found[0] if found else None

    secondary = await eventually(drafted)
    assert secondary["status"] == "ready", secondary["findings"]

    try:
        async with database.transaction() as session:  # the pipeline storing the secondary's interchange
            row = await session.get(Claim, secondary["id"])
            assert row is not None
            row.status = "submitting"
            session.add(row)
            await session.flush()
            await remit(stack, tenant, primary, cob_payment(primary, "80.00", "20.00", reversal=True))
            await eventually(lambda: waiting_for_a_lock(database))
    finally:
        await database.dispose()

    async def noted() -> list[str] | None:
        timeline = (await claims.get(f"/v1/claims/{secondary['id']}/timeline", headers=biller)).json()
        notes = [str(entry) for entry in timeline if "reversed its payment" in str(entry)]
        return notes or None

    (note,) = await eventually(noted)
    assert "after this claim was sent" in note
    detail = (await claims.get(f"/v1/claims/{secondary['id']}", headers=biller)).json()
    assert detail["status"] == "submitting", "still the pipeline's to record as submitted"


async def test_a_secondary_claim_is_corrected_whole_and_never_split(stack: Stack) -> None:
    """Sandbox Medicare takes corrected lines on a claim of their own, but billed second its claim reports the
    primary's adjudication of every line (2320, 2430) and the patient balance of one primary claim: a correction of
    one line replaces the whole claim (frequency 7), and splitting it is refused."""
    tenant = await stack.create_tenant()
    other = {"payer_sequence": "secondary", "payer_id": "MCARE", "member_id": "1EG4TE5MK73"}
    lines = [
        {"procedure_code": "99213", "units": "1", "diagnosis_pointers": [1, 2], "charge": "125.00"},
        {"procedure_code": "94640", "units": "1", "diagnosis_pointers": [2], "charge": "60.00"},
    ]
    primary = await ready_claim(stack, tenant, other_coverages=[other], lines=lines)
    pcn, claims, biller = primary["patient_control_number"], stack.client("claims-svc"), tenant.headers(Role.BILLER)
    adjudicated = [
        ("1", "99213", "125.00", "80.00", "25.00", "20.00"),
        ("2", "94640", "60.00", "40.00", "10.00", "10.00"),
    ]
    await remit(stack, tenant, primary, PaymentPosted(
        claim_id=primary["id"], patient_control_number=pcn, payer_id="60054", era_id=f"era_{uuid.uuid4().hex[:12]}",
        trace_number="EFT300", payer_claim_control_number="PCC-MSP-1", claim_status_code="1",
        total_charge=Decimal("185.00"), paid_amount=Decimal("120.00"), patient_responsibility=Decimal("30.00"),
        adjustments=tuple(
            Adjustment(group_code=group, carc=carc, amount=Decimal(amount), line_item_control_number=f"{pcn}-{n}")
            for n, _, _, _, contractual, coinsurance in adjudicated
            for group, carc, amount in ((CO, "45", contractual), (PR, "2", coinsurance))
        ),
        lines=tuple(
            LineAdjudication(line_item_control_number=f"{pcn}-{n}", procedure_code=code, charge=Decimal(charge),
                             paid_amount=Decimal(paid))
            for n, code, charge, paid, _, _ in adjudicated
        ),
        adjudicated_on=date(2026, 11, 20), posted_at=datetime.now(UTC),
    ))  # fmt: skip

    async def secondary() -> dict[str, Any] | None:
        listed = await json_list(claims, f"/v1/claims?encounter_id={primary['encounter_id']}", biller)
        drafted = [c for c in listed if c["payer_sequence"] == "secondary" and c["status"] in ("ready", "held")]
        return drafted[0] if drafted else None

    drafted = await eventually(secondary)
    assert drafted["status"] == "ready", drafted["findings"]
    split = await claims.post(f"/v1/claims/{drafted['id']}/split", json={"line_numbers": [2]}, headers=biller)
    assert split.status_code == 409, split.text
    assert "only primary claims are split" in split.json()["detail"]

    await taken_in(stack, drafted["id"], "MCR-1")  # Medicare's 277CA
    line_2 = {**lines[1], "line_number": 2, "modifiers": ["59"]}
    request = {"kind": "replacement", "reason": "distinct service", "line_numbers": [2], "service_lines": [line_2]}
    response = await claims.post(f"/v1/claims/{drafted['id']}/corrections", json=request, headers=biller)
    assert response.status_code == 201, response.text
    new = response.json()
    assert (new["frequency_code"], new["payer_claim_number"], new["corrected_lines"], new["total_charge"]) == (
        "7",
        "MCR-1",
        [],
        "185.00",
    )
    assert [line["modifiers"] for line in new["service_lines"]] == [[], ["59"]]
    scrubbed = await claim_in(stack, tenant, new["id"], {"ready", "held"})
    assert scrubbed["status"] == "ready", "the primary's adjudication still balances every line"


def _handling(stack: Stack, session: AsyncSession, tenant: TenantFixture, event: EventPayload) -> EventContext:
    """What the claims worker hands a handler for ``event`` (from remit-svc) inside ``session``'s transaction."""
    context: ServiceContext = stack.apps["claims-svc"].state.services
    envelope = context.outbox.catalog.envelope(
        event, tenant_id=tenant.id, source="/claimflow/remit-svc", correlation_id="corr-run"
    )
    return EventContext(session, envelope, context.outbox, "claims-test")


async def _claims_state(
    session: AsyncSession, tenant: TenantFixture, names: dict[str, str], since: datetime
) -> dict[str, Any]:
    """The tenant's claims, denial items and the events staged ``since``, as ``session`` sees them (before the
    pipeline's background rounds scrub a new claim), with the claims' ids replaced by ``names`` (a claim made
    while the run was handled is named by its prior claim and payer)."""
    await write_staged_rows(session)  # the events staged by the handlers, written now rather than at the commit
    claims = (await session.exec(select(Claim).where(Claim.tenant_id == tenant.id))).all()
    items = (await session.exec(select(DenialWorkItem).where(DenialWorkItem.tenant_id == tenant.id))).all()
    events = (await session.exec(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))).all()
    known = {claim.id: claim for claim in claims}
    names = {**names}
    for claim in claims:
        if claim.id not in names:
            names[claim.id] = f"{names.get(claim.prior_claim_id or '', '?')}'s {claim.payer_sequence} claim"

    def plain(value: Any) -> str:
        text = str(value)
        for claim_id, name in names.items():
            text = text.replace(claim_id, name)
        return text

    return {
        "claims": sorted(
            plain((c.id, c.status, c.paid_amount, c.payer_claim_number, [f["code"] for f in c.findings or []]))
            for c in known.values()
        ),
        "denials": sorted(plain((i.claim_id, i.status, i.outcome, i.outcome_note, i.resolved_by)) for i in items),
        "events": sorted(plain((m.event_type, m.message_key)) for m in events if m.created_at >= since),
    }


async def test_a_run_of_payments_handled_at_once_ends_as_handled_one_at_a_time(stack: Stack) -> None:
    """The claims worker's batch handler for payment-posted reads the run's claims and their open denials in two
    statements, then records each payment in turn: an ERA that settles a denial, pays, reverses and pays a claim
    again, and pays a claim with a secondary plan leaves the same claims, denials and events as one event at a
    time."""
    handlers = AdjudicationHandlers(cast(ClaimsSettings, stack.settings["claims-svc"]))
    states = []
    for at_once in (False, True):
        tenant = await stack.create_tenant()
        denied_claim = await ready_claim(stack, tenant, date_of_service="2026-11-16")
        paid_twice = await ready_claim(stack, tenant, date_of_service="2026-11-17")
        with_secondary = await ready_claim(stack, tenant, date_of_service="2026-11-18", other_coverages=[HMO_SECONDARY])
        names = {denied_claim["id"]: "denied", paid_twice["id"]: "paid twice", with_secondary["id"]: "primary"}
        first_era = f"era_{uuid.uuid4().hex[:12]}"
        denial = denied(denied_claim, ("16", "25.00", 1), era_id=first_era, status_code="1", payer_claim_number="PCC1")
        later_payment = PaymentPosted(
            claim_id=denied_claim["id"], patient_control_number=denied_claim["patient_control_number"],
            payer_id="60054", era_id=f"era_{uuid.uuid4().hex[:12]}", trace_number="EFT-LATER", claim_status_code="1",
            total_charge=Decimal("125.00"), paid_amount=Decimal("25.00"), patient_responsibility=Decimal(0),
            posted_at=datetime.now(UTC),
        )  # fmt: skip
        run = [
            later_payment,
            cob_payment(paid_twice, "80.00", "20.00"),
            cob_payment(paid_twice, "80.00", "20.00", reversal=True),
            cob_payment(paid_twice, "70.00", "30.00", number="PCC-COB-2"),
            cob_payment(with_secondary, "80.00", "20.00"),
        ]
        database = stack.database("claims-svc")
        try:
            async with database.transaction() as session:
                await handlers.on_claim_denied(_handling(stack, session, tenant, denial), denial)
            started = datetime.now(UTC)
            async with database.transaction() as session:
                items = [(_handling(stack, session, tenant, event), event) for event in run]
                if at_once:
                    await handlers.on_payments_posted(items)
                else:
                    for context, event in items:
                        await handlers.on_payment_posted(context, event)
                states.append(await _claims_state(session, tenant, names, started))
        finally:
            await database.dispose()
    one_at_a_time, at_once_state = states
    for part, value in at_once_state.items():
        assert value == one_at_a_time[part], part
    assert any("'denied', 'resolved', 'paid_later'" in item for item in at_once_state["denials"])
    assert any("primary's secondary claim" in claim for claim in at_once_state["claims"])
    assert any("'paid twice'" in claim and "70.00" in claim for claim in at_once_state["claims"])
