"""Secondary claims end to end, on their own stack and payer-sandbox (the scenario and check runs change):
an encounter with two plans → the primary's 837 → the sandbox's 835 posted by remit-svc → payment-posted →
claims-svc bills the secondary payer with the primary's adjudication in 2320/2430 → the secondary's 835 posted.
A payer that crosses the claim over gets no secondary claim; a payment posted twice bills the secondary once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlmodel import col, select

from claimflow.testing import Stack, TenantFixture, encounter_body, isolated_stack, json_list
from claimflow_events import Adjustment, ClaimDenied, EventEnvelope, EventPayload, PaymentPosted, default_catalog
from claimflow_events.types import ClaimAdjustmentGroup
from claimflow_kit.directory import Role
from claimflow_kit.kafka import new_producer
from claimflow_kit.outbox import kafka_headers
from claimflow_kit.tables import InboxRecord, OutboxMessage
from claimflow_kit.testing import DatabaseFactory, Pyx12Check, eventually
from claimflow_x12 import parse
from claimflow_x12.guides.claim_837p import Claim837P, iter_claims
from claimflow_x12.guides.remittance_835 import ClaimPaymentLoop, Remittance835, iter_claim_payments
from claimflow_x12.segments import Cas

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}
LINES = [
    {"procedure_code": "99213", "units": "1", "diagnosis_pointers": [1, 2], "charge": "125.00"},
    {"procedure_code": "36415", "units": "1", "diagnosis_pointers": [1], "charge": "20.00"},
]
CO = ClaimAdjustmentGroup.CONTRACTUAL
CARLOS = {"relationship": "01", "first_name": "Carlos", "last_name": "Lopez", "birth_date": "1982-05-02", "sex": "M"}


@pytest_asyncio.fixture(scope="module")
async def cob_stack(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with isolated_stack(databases, tmp_path_factory.mktemp("cob-broker"), seed=11) as built:
        yield built


async def sandbox_call(stack: Stack, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.sandbox_url or "") as sandbox:
        response = await sandbox.request(method, path, **kwargs)
    assert response.status_code < 300, response.text
    return response


async def adjudicate_now(stack: Stack) -> None:
    """Today's check run (every payer adjudicates on receipt in this scenario)."""
    await sandbox_call(stack, "POST", "/v1/clock/advance", json={"days": 0})


async def claims_of(stack: Stack, tenant: TenantFixture, encounter_id: str) -> list[dict[str, Any]]:
    return await json_list(
        stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter_id}", tenant.headers(Role.BILLER)
    )


async def claim_in(stack: Stack, tenant: TenantFixture, claim_id: str, statuses: set[str]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        response = await stack.client("claims-svc").get(f"/v1/claims/{claim_id}", headers=tenant.headers(Role.BILLER))
        claim: dict[str, Any] = response.json()
        return claim if claim["status"] in statuses else None

    return await eventually(reached, within=60)


async def submitted_and_accepted(stack: Stack, tenant: TenantFixture, claim_id: str) -> dict[str, Any]:
    await claim_in(stack, tenant, claim_id, {"ready"})
    response = await stack.client("claims-svc").post(
        "/v1/claim-submissions",
        json={"claim_ids": [claim_id]},
        headers={**tenant.headers(Role.BILLER), "Idempotency-Key": f"cob-{uuid.uuid4().hex}"},
    )
    assert response.status_code == 201, response.text
    claim = await claim_in(stack, tenant, claim_id, {"accepted", "rejected"})
    assert claim["status"] == "accepted", claim["rejection"]
    return claim


async def primary_claim(stack: Stack, tenant: TenantFixture, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text
    encounter_id = str(posted.json()["id"])

    async def built() -> dict[str, Any] | None:
        found = await claims_of(stack, tenant, encounter_id)
        return found[0] if found and found[0]["status"] in ("ready", "held") else None

    claim = await eventually(built)
    assert claim["status"] == "ready", claim["findings"]
    return encounter_id, await submitted_and_accepted(stack, tenant, claim["id"])


async def era_claim_payment(stack: Stack, tenant: TenantFixture, patient_control_number: str) -> ClaimPaymentLoop:
    """The claim's CLP loop in the 835s the sandbox released to the tenant."""
    page = (await sandbox_call(stack, "GET", "/v1/mailbox", params={"tenant": tenant.id, "limit": 500})).json()
    for item in page["items"]:
        if item["kind"] != "835":
            continue
        content = (await sandbox_call(stack, "GET", f"/v1/mailbox/{item['id']}", params={"tenant": tenant.id})).content
        for transaction in parse(content).transactions:
            assert isinstance(transaction, Remittance835)
            for payment in iter_claim_payments(transaction):
                if payment.claim.patient_control_number == patient_control_number:
                    return payment
    raise AssertionError(f"no 835 claim payment for {patient_control_number}")


def cas_triples(segments: list[Cas]) -> list[tuple[str, str, Decimal]]:
    return [(cas.group_code.value, a.reason_code, a.amount) for cas in segments for a in cas.adjustments]


async def claim_837(stack: Stack, tenant: TenantFixture, claim_id: str) -> str:
    response = await stack.client("claims-svc").get(f"/v1/claims/{claim_id}/x12", headers=tenant.headers(Role.BILLER))
    assert response.status_code == 200, response.text
    return response.text


async def test_the_secondary_payer_is_billed_with_the_primary_835_and_pays_what_is_left(
    cob_stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    stack = cob_stack
    tenant = await stack.create_tenant("cob")
    await sandbox_call(stack, "PUT", "/v1/scenario", json={"default": {"adjudication_days": 0}})
    today = date.fromisoformat((await sandbox_call(stack, "GET", "/v1/clock")).json()["today"])
    body = encounter_body(
        tenant,
        date_of_service=(today - timedelta(days=2)).isoformat(),
        group_number="GRP60054A",
        lines=LINES,
        other_coverages=[
            {
                "payer_sequence": "secondary",
                "payer_id": "HMO01",
                "member_id": "H10000002",
                "group_number": "GRPHMO02",
                "subscriber": {**CARLOS, "address": HOME},
            }
        ],
    )
    body["patient"] = {**body["patient"], "address": HOME}
    encounter_id, primary = await primary_claim(stack, tenant, body)
    assert (primary["payer_sequence"], primary["prior_claim_id"]) == ("primary", None)
    primary_x12 = await claim_837(stack, tenant, primary["id"])
    assert pyx12_errors(primary_x12) == []
    assert "SBR*S*01*GRPHMO02******HM" in primary_x12, "the primary's 837 names the plan that pays next"

    await adjudicate_now(stack)
    paid = await claim_in(stack, tenant, primary["id"], {"paid", "partially_paid"})

    async def secondary_ready() -> dict[str, Any] | None:
        found = [c for c in await claims_of(stack, tenant, encounter_id) if c["payer_sequence"] == "secondary"]
        return found[0] if found and found[0]["status"] in ("ready", "held") else None

    secondary = await eventually(secondary_ready, within=60)
    assert secondary["status"] == "ready", secondary["findings"]
    assert (secondary["payer_id"], secondary["prior_claim_id"]) == ("HMO01", primary["id"])
    assert secondary["total_charge"] == "145.00"

    # What the primary's 835 said is what the secondary's 837 reports: claim level (2320) and per line (2430).
    era = await era_claim_payment(stack, tenant, primary["patient_control_number"])
    assert era.claim.status.value == "1"
    assert Decimal(paid["paid_amount"]) == era.claim.paid_amount
    await submitted_and_accepted(stack, tenant, secondary["id"])
    text = await claim_837(stack, tenant, secondary["id"])
    assert pyx12_errors(text) == []
    (transaction,) = parse(text).transactions
    assert isinstance(transaction, Claim837P)
    (context,) = list(iter_claims(transaction))
    assert context.subscriber.subscriber_information.payer_responsibility.value == "S"
    assert context.subscriber.payer.name.identifier == "HMO01"
    assert context.subscriber.subscriber.name.first_name == "CARLOS"
    (other,) = context.claim.other_subscribers
    assert other.subscriber_information.payer_responsibility.value == "P"
    assert other.other_payer.name.identifier == "60054"
    assert other.other_subscriber.name.identifier == "W123456789"
    amounts = {a.qualifier: a.amount for a in other.amounts}
    assert amounts == {"D": era.claim.paid_amount, "EAF": era.claim.patient_responsibility}
    assert cas_triples(other.adjustments) == cas_triples(era.adjustments)
    remitted = {line.line_item_control_number: line for line in era.service_lines}
    pcn = primary["patient_control_number"]
    for number, line in enumerate(context.claim.service_lines, start=1):
        (adjudication,) = line.adjudications
        answer = remitted[f"{pcn}-{number}"]
        assert adjudication.adjudication.other_payer_id == "60054"
        assert adjudication.adjudication.paid_amount == answer.service.paid_amount
        assert adjudication.adjudication.procedure_code == answer.service.procedure_code
        assert cas_triples(adjudication.adjustments) == cas_triples(answer.adjustments)
        assert [d.start for d in adjudication.dates] == [today], "DTP*573: the 835's check date (today's run)"

    # The HMO pays 90 % (its 10 % coinsurance) of what the PPO left to the patient on each line.
    await adjudicate_now(stack)
    secondary_paid = await claim_in(stack, tenant, secondary["id"], {"paid", "partially_paid", "denied"})
    secondary_era = await era_claim_payment(stack, tenant, secondary["patient_control_number"])
    assert secondary_era.claim.status.value == "2", "processed as secondary"
    left = [
        sum((a for g, _, a in cas_triples(remitted[f"{pcn}-{n}"].adjustments) if g == "PR"), Decimal(0)) for n in (1, 2)
    ]
    expected = sum(((share * Decimal("0.9")).quantize(Decimal("0.01")) for share in left), Decimal(0))
    assert secondary_era.claim.paid_amount == expected
    assert Decimal(secondary_paid["paid_amount"]) == expected
    assert len(await claims_of(stack, tenant, encounter_id)) == 2, "no tertiary plan: nothing more to bill"
    # remit-svc: the patient owes what neither plan paid, the charge is on the books once, and the ledger balances.
    owed = sum(left, Decimal(0)) - expected

    async def patient_owes() -> dict[str, Any] | None:
        response = await stack.client("remit-svc").get(
            f"/v1/patients/{primary['patient_id']}/balance", headers=tenant.headers(Role.BILLER)
        )
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and Decimal(body["balance"]) == owed else None

    await eventually(patient_owes, within=60)
    for claim_id, outstanding in ((primary["id"], Decimal(0)), (secondary["id"], owed)):
        claim_ledger = await stack.client("remit-svc").get(
            f"/v1/claims/{claim_id}/ledger", headers=tenant.headers(Role.BILLER)
        )
        assert Decimal(claim_ledger.json()["outstanding"]) == outstanding, claim_ledger.text
        assert Decimal(claim_ledger.json()["balances"].get("insurance_ar", 0)) == 0
    charges = await stack.client("remit-svc").get(
        f"/v1/claims/{secondary['id']}/ledger", headers=tenant.headers(Role.BILLER)
    )
    assert "charges" not in charges.json()["balances"], "the charges were booked once, with the primary"

    # The same payment posted again (a new event for the same remittance): still one secondary claim.
    envelope = await remit_event(stack, primary["id"])
    again = envelope.model_copy(update={"id": uuid.uuid4()})
    await publish(stack, again)
    await eventually(lambda: consumed(stack, str(again.id)), within=60)
    secondaries = [c for c in await claims_of(stack, tenant, encounter_id) if c["payer_sequence"] == "secondary"]
    assert [c["id"] for c in secondaries] == [secondary["id"]]

    detail = await stack.client("claims-svc").get(
        f"/v1/fhir/Claim/{secondary['id']}", headers=tenant.headers(Role.BILLER)
    )
    resource = detail.json()
    assert [(i["sequence"], i["focal"]) for i in resource["insurance"]] == [(1, False), (2, True)]
    assert resource["related"][0]["claim"]["identifier"]["value"] == primary["id"]


async def test_a_claim_the_primary_crossed_over_gets_no_secondary_claim(cob_stack: Stack) -> None:
    stack = cob_stack
    tenant = await stack.create_tenant("xover")
    scenario = {"default": {"adjudication_days": 0}, "payers": {"MCARE": {"adjudication_days": 0, "crossover_rate": 1}}}
    await sandbox_call(stack, "PUT", "/v1/scenario", json=scenario)
    today = date.fromisoformat((await sandbox_call(stack, "GET", "/v1/clock")).json()["today"])
    body = encounter_body(
        tenant,
        patient={
            "ehr_patient_id": "P-SMITH",
            "first_name": "John",
            "last_name": "Smith",
            "birth_date": "1950-06-15",
            "sex": "M",
            "member_id": "1EG4TE5MK73",
            "address": HOME,
        },
        payer_id="MCARE",
        date_of_service=(today - timedelta(days=2)).isoformat(),
        lines=LINES,
        other_coverages=[
            {
                "payer_sequence": "secondary",
                "payer_id": "60054",
                "member_id": "W555000111",
                "group_number": "GRP60054R",
            },
            {"payer_sequence": "tertiary", "payer_id": "MCAID", "member_id": "100000000002"},
        ],
    )
    encounter_id, primary = await primary_claim(stack, tenant, body)
    await adjudicate_now(stack)
    era = await eventually(lambda: crossed_era(stack, tenant, primary["patient_control_number"]), within=60)
    assert era.claim.status.value == "19"
    assert era.crossover_carrier is not None
    assert era.crossover_carrier.identifier == "60054"

    async def recorded() -> dict[str, Any] | None:
        response = await stack.client("claims-svc").get(
            f"/v1/claims/{primary['id']}", headers=tenant.headers(Role.BILLER)
        )
        claim: dict[str, Any] = response.json()
        return claim if claim["crossed_over_to"] else None

    claim = await eventually(recorded, within=60)
    assert claim["crossed_over_to"] == "SANDBOX COMMERCIAL PPO"
    assert claim["status"] in ("paid", "partially_paid")
    timeline = await json_list(
        stack.client("claims-svc"), f"/v1/claims/{primary['id']}/timeline", tenant.headers(Role.OPS)
    )
    notes = [e["summary"] for e in timeline if e["event_type"] == "claimflow.claim-crossed-over"]
    assert notes == ["crossed over to SANDBOX COMMERCIAL PPO: no secondary claim is billed"]
    assert [c["id"] for c in await claims_of(stack, tenant, encounter_id)] == [primary["id"]]


async def crossed_era(stack: Stack, tenant: TenantFixture, patient_control_number: str) -> ClaimPaymentLoop | None:
    try:
        return await era_claim_payment(stack, tenant, patient_control_number)
    except AssertionError:
        return None


async def remit_event(stack: Stack, claim_id: str) -> EventEnvelope:
    """The payment-posted remit-svc published for the claim (from its outbox)."""
    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            row = (
                await session.exec(
                    select(OutboxMessage).where(
                        col(OutboxMessage.message_key) == claim_id,
                        col(OutboxMessage.event_type) == "claimflow.payment-posted",
                    )
                )
            ).one()
    finally:
        await database.dispose()
    return EventEnvelope.model_validate_json(row.envelope)


async def publish(stack: Stack, envelope: EventEnvelope, payload_type: type[EventPayload] = PaymentPosted) -> None:
    """Send an envelope to its topic as remit-svc's relay would."""
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


async def consumed(stack: Stack, event_id: str) -> bool:
    """claims-svc's adjudication consumer has processed the event."""
    database = stack.database("claims-svc")
    try:
        async with database.transaction() as session:
            rows = (await session.exec(select(InboxRecord).where(col(InboxRecord.event_id) == event_id))).all()
            return any("adjudication" in row.consumer for row in rows)
    finally:
        await database.dispose()


async def test_a_service_the_primary_plan_excludes_is_billed_to_the_secondary_with_the_denial(
    cob_stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    stack = cob_stack
    tenant = await stack.create_tenant("excl")
    today = date.fromisoformat((await sandbox_call(stack, "GET", "/v1/clock")).json()["today"])
    body = encounter_body(
        tenant,
        date_of_service=(today - timedelta(days=2)).isoformat(),
        group_number="GRP60054A",
        lines=LINES,
        other_coverages=[
            {
                "payer_sequence": "secondary",
                "payer_id": "HMO01",
                "member_id": "H10000002",
                "group_number": "GRPHMO02",
                "subscriber": {**CARLOS, "address": HOME},
            }
        ],
    )
    body["patient"] = {**body["patient"], "address": HOME}
    encounter_id, primary = await primary_claim(stack, tenant, body)
    # The PPO excludes both services from the plan (CO-204, N130): remit-svc's claim-denied for the whole claim.
    pcn = primary["patient_control_number"]
    denial = ClaimDenied(
        claim_id=primary["id"],
        patient_control_number=pcn,
        payer_id="60054",
        era_id=f"era_{uuid.uuid4().hex[:12]}",
        payer_claim_control_number=primary["payer_claim_number"],
        claim_status_code="4",
        total_charge=Decimal("145.00"),
        denied_amount=Decimal("145.00"),
        adjustments=(
            Adjustment(group_code=CO, carc="204", amount=Decimal("125.00"), line_item_control_number=f"{pcn}-1"),
            Adjustment(group_code=CO, carc="204", amount=Decimal("20.00"), line_item_control_number=f"{pcn}-2"),
        ),
        remark_codes=("N130",),
        denied_at=datetime.now(UTC),
    )
    envelope = default_catalog().envelope(
        denial, tenant_id=tenant.id, source="/claimflow/remit-svc", correlation_id=f"corr-{primary['id']}"
    )
    await publish(stack, envelope, ClaimDenied)
    await claim_in(stack, tenant, primary["id"], {"denied"})

    async def secondary_ready() -> dict[str, Any] | None:
        found = [c for c in await claims_of(stack, tenant, encounter_id) if c["payer_sequence"] == "secondary"]
        return found[0] if found and found[0]["status"] in ("ready", "held") else None

    secondary = await eventually(secondary_ready, within=60)
    assert secondary["status"] == "ready", secondary["findings"]
    (adjudication,) = secondary["prior_adjudications"]
    assert (adjudication["paid"], adjudication["remaining_patient_liability"]) == ("0.00", "0.00")
    assert [line["adjustments"] for line in adjudication["lines"]] == [
        [{"group_code": "CO", "reason_code": "204", "amount": "125.00"}],
        [{"group_code": "CO", "reason_code": "204", "amount": "20.00"}],
    ]
    await submitted_and_accepted(stack, tenant, secondary["id"])
    text = await claim_837(stack, tenant, secondary["id"])
    assert pyx12_errors(text) == []
    assert "AMT*D*0.00" in text
    assert "SVD*60054*0.00*HC:99213**1~CAS*CO*204*125.00~" in text


async def test_medicare_then_a_supplement_then_medicaid_each_billed_with_every_earlier_payers_835(
    cob_stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    """JOHN SMITH: Medicare pays first, his commercial supplement second, Medicaid last. The tertiary claim
    reports both earlier payers (2320 P and S, each line's 2430 from each 835) and Medicaid pays as tertiary."""
    stack = cob_stack
    tenant = await stack.create_tenant("tertiary")
    scenario = {"default": {"adjudication_days": 0}, "payers": {"MCARE": {"adjudication_days": 0, "crossover_rate": 0}}}
    await sandbox_call(stack, "PUT", "/v1/scenario", json=scenario)
    today = date.fromisoformat((await sandbox_call(stack, "GET", "/v1/clock")).json()["today"])
    body = encounter_body(
        tenant,
        patient={"ehr_patient_id": "P-SMITH3", "first_name": "John", "last_name": "Smith", "birth_date": "1950-06-15",
                 "sex": "M", "member_id": "1EG4TE5MK73", "address": HOME},
        payer_id="MCARE",
        date_of_service=(today - timedelta(days=3)).isoformat(),  # not the crossover test's visit (a duplicate)
        lines=LINES,
        other_coverages=[
            {"payer_sequence": "secondary", "payer_id": "60054", "member_id": "W555000111",
             "group_number": "GRP60054R"},
            {"payer_sequence": "tertiary", "payer_id": "MCAID", "member_id": "100000000002"},
        ],
    )  # fmt: skip
    encounter_id, primary = await primary_claim(stack, tenant, body)

    async def billed(sequence: str) -> dict[str, Any] | None:
        found = [c for c in await claims_of(stack, tenant, encounter_id) if c["payer_sequence"] == sequence]
        return found[0] if found and found[0]["status"] in ("ready", "held") else None

    await adjudicate_now(stack)
    secondary = await eventually(lambda: billed("secondary"), within=60)
    assert (secondary["status"], secondary["payer_id"]) == ("ready", "60054"), secondary["findings"]
    await submitted_and_accepted(stack, tenant, secondary["id"])
    await adjudicate_now(stack)
    tertiary = await eventually(lambda: billed("tertiary"), within=60)
    assert (tertiary["status"], tertiary["payer_id"], tertiary["prior_claim_id"]) == (
        "ready",
        "MCAID",
        secondary["id"],
    ), tertiary["findings"]
    assert [a["payer_sequence"] for a in tertiary["prior_adjudications"]] == ["primary", "secondary"]

    await submitted_and_accepted(stack, tenant, tertiary["id"])
    text = await claim_837(stack, tenant, tertiary["id"])
    assert pyx12_errors(text) == []
    (transaction,) = parse(text).transactions
    assert isinstance(transaction, Claim837P)
    (context,) = list(iter_claims(transaction))
    assert context.subscriber.subscriber_information.payer_responsibility.value == "T"
    others = {o.subscriber_information.payer_responsibility.value: o for o in context.claim.other_subscribers}
    assert {k: o.other_payer.name.identifier for k, o in others.items()} == {"P": "MCARE", "S": "60054"}
    for responsibility, claim in (("P", primary), ("S", secondary)):
        era = await era_claim_payment(stack, tenant, claim["patient_control_number"])
        assert {a.qualifier: a.amount for a in others[responsibility].amounts}["D"] == era.claim.paid_amount
        remitted = {s.line_item_control_number: s.service.paid_amount for s in era.service_lines}
        payer = str(others[responsibility].other_payer.name.identifier)
        for number, line in enumerate(context.claim.service_lines, start=1):
            paid_by = {a.adjudication.other_payer_id: a.adjudication.paid_amount for a in line.adjudications}
            assert paid_by[payer] == remitted[f"{claim['patient_control_number']}-{number}"], (payer, number)

    await adjudicate_now(stack)
    await claim_in(stack, tenant, tertiary["id"], {"paid", "partially_paid", "denied"})
    tertiary_era = await era_claim_payment(stack, tenant, tertiary["patient_control_number"])
    assert tertiary_era.claim.status.value == "3", "processed as tertiary"
    assert len(await claims_of(stack, tenant, encounter_id)) == 3, "no fourth plan"
