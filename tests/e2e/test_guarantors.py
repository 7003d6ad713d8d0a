"""The patient's share billed to the person responsible for it, end to end (coding-svc → claims-svc → payer-sandbox
→ remit-svc): a family on one card where the mother is the subscriber. Her son's claims go to the card holder's
account, her husband's to hers because the EHR names her as his guarantor, and her own to hers; statements, balances
and payments are per account, each claim on a statement naming its patient."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import col, select

from claimflow.testing import Stack, TenantFixture, encounter_body, isolated_stack
from claimflow_kit.directory import Role
from claimflow_kit.identifiers import card_holder_reference, patient_reference
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import DatabaseFactory, eventually

from .test_secondary_claims import adjudicate_now, claim_in, primary_claim, sandbox_call

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}
MARIA = {"first_name": "Maria", "last_name": "Lopez", "birth_date": "1984-03-09", "sex": "F", "address": HOME}
# The sandbox's anchor family on Maria's PPO card W123456789: her son Lucas and her husband Carlos.
LUCAS = {"ehr_patient_id": "P-LUCAS", "first_name": "Lucas", "last_name": "Lopez", "birth_date": "2015-07-20"}
CARLOS = {"ehr_patient_id": "P-CARLOS", "first_name": "Carlos", "last_name": "Lopez", "birth_date": "1982-05-02"}


@pytest_asyncio.fixture(scope="module")
async def family_stack(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with isolated_stack(databases, tmp_path_factory.mktemp("guarantor-broker"), seed=11) as built:
        yield built


def _encounter(
    tenant: TenantFixture, day: date, patient: dict[str, Any] | None, relationship: str, **extra: Any
) -> Any:
    body = encounter_body(tenant, date_of_service=day.isoformat(), group_number="GRP60054A", **extra)
    if patient is None:  # Maria, the card holder
        body["patient"] = {**body["patient"], "address": HOME}
        return body
    body["patient"] = {**body["patient"], **patient, "sex": "M", "address": HOME}
    body["subscriber"] = {"relationship": relationship, **MARIA}
    return body


async def remit_get(stack: Stack, tenant: TenantFixture, url: str) -> Any:
    response = await stack.client("remit-svc").get(url, headers=tenant.headers(Role.BILLER))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_family_is_billed_per_guarantor_account(family_stack: Stack) -> None:
    stack = family_stack
    tenant = await stack.create_tenant("family")
    await sandbox_call(stack, "PUT", "/v1/scenario", json={"default": {"adjudication_days": 0}})
    today = date.fromisoformat((await sandbox_call(stack, "GET", "/v1/clock")).json()["today"])
    day = today - timedelta(days=2)
    encounters = {
        "lucas": _encounter(tenant, day, LUCAS, "19"),
        "carlos": _encounter(tenant, day, CARLOS, "01", ehr_guarantor_id="P-1"),  # the EHR: Maria answers for him
        "maria": _encounter(tenant, day, None, "18"),
    }
    claims = {who: (await primary_claim(stack, tenant, body))[1] for who, body in encounters.items()}
    await adjudicate_now(stack)
    for claim in claims.values():
        await claim_in(stack, tenant, claim["id"], {"paid", "partially_paid"})

    patient = {who: patient_reference(tenant.id, tenant.practice_id, body["patient"]["ehr_patient_id"])
               for who, body in encounters.items()}  # fmt: skip
    card_holder = card_holder_reference(tenant.id, "60054", "W123456789", "Lopez", "Maria", "1984-03-09")
    maria = patient["maria"]
    assert {claims[who]["patient_id"] for who in claims} == set(patient.values())

    # What the 835s left to each patient, as remit-svc posted it (each claim's patient AR).
    owed: dict[str, Decimal] = {}
    for who, claim in claims.items():

        async def posted(claim_id: str = claim["id"]) -> Any:
            ledger = await remit_get(stack, tenant, f"/v1/claims/{claim_id}/ledger")
            return ledger if Decimal(ledger["balances"].get("insurance_ar", "0")) == 0 else None

        owed[who] = Decimal((await eventually(posted))["balances"].get("patient_ar", "0"))
    assert all(amount > 0 for amount in owed.values()), owed

    # Balances: Lucas's share is on the card holder's account, Carlos's and Maria's on Maria's.
    balances = {who: await remit_get(stack, tenant, f"/v1/patients/{patient[who]}/balance") for who in claims}
    assert {who: b["guarantor_id"] for who, b in balances.items()} == {
        "lucas": card_holder,
        "carlos": maria,
        "maria": maria,
    }
    assert Decimal(balances["lucas"]["balance"]) == owed["lucas"]
    assert (
        Decimal(balances["carlos"]["balance"])
        == Decimal(balances["maria"]["balance"])
        == owed["carlos"] + owed["maria"]
    )
    by_account = await remit_get(stack, tenant, f"/v1/guarantors/{maria}/balance")
    assert (by_account["patient_id"], Decimal(by_account["balance"])) == (None, owed["carlos"] + owed["maria"])

    # Maria's statement shows both claims, each naming its patient; the statement run mails two statements.
    statement = await remit_get(stack, tenant, f"/v1/guarantors/{maria}/statement")
    assert statement["patient_ids"] == sorted([patient["carlos"], maria])
    # Addressed to Maria at home (her own claim said so; Carlos's named her account without describing her).
    assert statement["mail_to"] == {"first_name": "Maria", "last_name": "Lopez", "address": {**HOME, "line2": None}}
    assert sorted(c["patient_name"] for c in statement["claims"]) == ["Carlos Lopez", "Maria Lopez"]
    assert sorted((c["patient_id"], Decimal(c["balance"])) for c in statement["claims"]) == sorted(
        [(patient["carlos"], owed["carlos"]), (maria, owed["maria"])]
    )
    assert statement == await remit_get(stack, tenant, f"/v1/patients/{patient['carlos']}/statement")
    run = await stack.client("remit-svc").post("/v1/statement-runs", json={}, headers=tenant.headers(Role.BILLER))
    assert run.status_code == 201, run.text
    issued = {s["guarantor_id"]: s for s in run.json()["issued"]}
    assert set(issued) == {maria, card_holder}
    assert issued[maria]["patient_ids"] == sorted([patient["carlos"], maria])
    assert (issued[maria]["claims"], Decimal(issued[maria]["amount_due"])) == (2, owed["carlos"] + owed["maria"])
    assert issued[card_holder]["patient_ids"] == [patient["lucas"]]
    # The card holder's account is addressed to the card holder, as Lucas's encounter described her.
    assert issued[card_holder]["mail_to"] == statement["mail_to"]
    assert run.json()["not_mailable"] == []
    history = await remit_get(stack, tenant, f"/v1/guarantors/{card_holder}/statements")
    assert [s["id"] for s in history] == [issued[card_holder]["id"]]

    # A payment on Maria's account (the statement's account number, no patient named) pays its oldest claims.
    paid = await stack.client("remit-svc").post(
        "/v1/patient-payments",
        json={"guarantor_id": maria, "amount": str(owed["maria"]), "method": "check", "reference": "FAMILY-1"},
        headers=tenant.headers(Role.BILLER),
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["patient_id"], Decimal(paid.json()["balance"])) == (None, owed["carlos"])
    after = await remit_get(stack, tenant, f"/v1/patients/{patient['lucas']}/balance")
    assert Decimal(after["balance"]) == owed["lucas"], "another account: untouched"
    elsewhere = await stack.client("remit-svc").post(
        "/v1/patient-payments",
        json={"guarantor_id": maria, "patient_id": patient["lucas"], "amount": "5.00", "method": "cash"},
        headers=tenant.headers(Role.BILLER),
    )
    assert elsewhere.status_code == 400, elsewhere.text  # Lucas's claims are on the card holder's account
    assert "no claim on account" in elsewhere.json()["detail"]
    neither = await stack.client("remit-svc").post(
        "/v1/patient-payments", json={"amount": "5.00", "method": "cash"}, headers=tenant.headers(Role.BILLER)
    )
    assert neither.status_code == 422, neither.text
    unknown = await stack.client("remit-svc").get(
        "/v1/guarantors/gtr_nobody/balance", headers=tenant.headers(Role.BILLER)
    )
    assert unknown.status_code == 404, unknown.text

    # patient-balance-updated is keyed by the account and names the patient whose claim or payment moved it.
    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            rows = await session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.tenant_id) == tenant.id,
                    col(OutboxMessage.event_type) == "claimflow.patient-balance-updated",
                )
            )
            updates = [json.loads(row.envelope)["data"] for row in rows.all()]
    finally:
        await database.dispose()
    assert sorted((u["guarantor_id"], u["patient_id"] or "") for u in updates) == sorted(
        [(card_holder, patient["lucas"]), (maria, patient["carlos"]), (maria, maria), (maria, "")]
    ), "the payment on the whole account names no patient"
