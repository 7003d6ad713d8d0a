"""An institutional encounter (hospital outpatient) becomes an 837I claim the payer-sandbox accepts, through
coding-svc's intake, encounter-coded on the real broker, claims-svc's scrubber and the connector."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from pypdf import PdfReader

from claimflow.testing import Stack, TenantFixture, encounter_body, json_list
from claimflow_kit.directory import Role
from claimflow_kit.testing import Pyx12Check, eventually
from claimflow_x12 import Claim837I, parse, validate

pytestmark = pytest.mark.integration

HOME = {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "postal_code": "627011234"}
OUTPATIENT = {
    "type_of_bill": "131",
    "admission_type_code": "1",
    "admission_source_code": "7",
    "patient_status_code": "01",
    "attending_provider_npi": "1497758544",
    "attending_last_name": "Okafor",
    "attending_first_name": "Chidi",
}


def hospital_visit(tenant: TenantFixture, **overrides: Any) -> dict[str, Any]:
    body = encounter_body(
        tenant,
        date_of_service="2026-11-16",
        group_number="GRP60054A",
        claim_kind="institutional",
        place_of_service="22",
        institutional=OUTPATIENT,
        lines=[
            {"procedure_code": "99284", "revenue_code": "0450", "diagnosis_pointers": [1], "charge": "850.00"},
            {"procedure_code": "71046", "revenue_code": "0320", "diagnosis_pointers": [2], "charge": "300.00"},
        ],
    )
    body["patient"] = {**body["patient"], "address": HOME}
    body.update(overrides)
    return body


async def claim_of(stack: Stack, tenant: TenantFixture, encounter_id: str, states: set[str]) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        found = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={encounter_id}", tenant.headers(Role.BILLER)
        )
        return found[0] if found and found[0]["status"] in states else None

    return await eventually(reached)


async def test_a_hospital_outpatient_encounter_goes_out_as_an_837i_the_payer_accepts(
    stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    tenant = await stack.create_tenant()
    posted = await stack.client("coding-svc").post(
        "/v1/encounters", json=hospital_visit(tenant), headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert posted.status_code == 201, posted.text
    claim = await claim_of(stack, tenant, posted.json()["id"], {"ready", "held"})
    assert claim["status"] == "ready", claim["findings"]
    assert claim["claim_kind"] == "institutional"

    claims = stack.client("claims-svc")
    sent = await claims.post(
        "/v1/claim-submissions",
        json={"claim_ids": [claim["id"]]},
        headers={**tenant.headers(Role.BILLER), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert sent.status_code == 201, sent.text
    (submission,) = sent.json()
    assert submission["filename"].startswith("837I_60054_")

    x12 = await claims.get(f"/v1/claims/{claim['id']}/x12", headers=tenant.headers(Role.BILLER))
    assert x12.status_code == 200
    assert pyx12_errors(x12.text) == []
    result = parse(x12.text)
    assert validate(result) == []
    (transaction,) = result.transactions
    assert isinstance(transaction, Claim837I)
    segments = x12.text.split("~")
    assert f"CLM*{claim['patient_control_number']}*1150.00***13:A:1**A*Y*Y" in segments
    assert "SV2*0450*HC:99284*850.00*UN*1" in segments

    accepted = await claim_of(stack, tenant, posted.json()["id"], {"accepted", "rejected"})
    assert accepted["status"] == "accepted", accepted["rejection"]
    paper = await claims.get(f"/v1/claims/{claim['id']}/cms1500.pdf", headers=tenant.headers(Role.BILLER))
    assert paper.status_code == 409, "an institutional claim's paper form is the UB-04"
    ub04 = await claims.get(f"/v1/claims/{claim['id']}/ub04.pdf", headers=tenant.headers(Role.BILLER))
    assert ub04.status_code == 200
    assert ub04.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(ub04.content)).pages).split())
    for expected in ("TYPE OF BILL 0131", claim["patient_control_number"], "0450 99284", "0001 TOTAL 1150.00"):
        assert expected in text, expected


async def test_an_institutional_encounter_without_its_ub04_data_is_refused_with_the_reason(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    missing = hospital_visit(tenant)
    del missing["institutional"]
    refused = await coding.post("/v1/encounters", json=missing, headers=headers)
    assert refused.status_code == 422
    assert "institutional" in refused.text
    no_revenue = hospital_visit(tenant)
    del no_revenue["lines"][1]["revenue_code"]
    refused = await coding.post("/v1/encounters", json=no_revenue, headers=headers)
    assert refused.status_code == 422
    assert "revenue_code (lines [2])" in refused.text
    professional = encounter_body(tenant, institutional=OUTPATIENT)
    refused = await coding.post("/v1/encounters", json=professional, headers=headers)
    assert refused.status_code == 422


async def test_outpatient_visits_combine_into_one_837i_whose_statement_period_covers_the_series(
    stack: Stack, pyx12_errors: Pyx12Check
) -> None:
    tenant = await stack.create_tenant()
    coding, claims = stack.client("coding-svc"), stack.client("claims-svc")
    ehr, biller = tenant.headers(Role.EHR_INTEGRATION), tenant.headers(Role.BILLER)
    therapy = [{"procedure_code": "97110", "revenue_code": "0420", "diagnosis_pointers": [1], "charge": "120.00"}]
    bodies = [
        hospital_visit(tenant),
        hospital_visit(tenant, date_of_service="2026-11-18", lines=therapy),
        hospital_visit(tenant, date_of_service="2026-11-19", lines=therapy, institutional={
            **OUTPATIENT, "attending_provider_npi": "1245319599", "attending_last_name": "Reyes"}),
    ]  # fmt: skip
    drafts = []
    for body in bodies:
        posted = await coding.post("/v1/encounters", json=body, headers=ehr)
        assert posted.status_code == 201, posted.text
        drafts.append(await claim_of(stack, tenant, posted.json()["id"], {"ready", "held"}))
    assert [d["status"] for d in drafts] == ["ready"] * 3, [d["findings"] for d in drafts]
    first, second, other_attending = drafts

    refused = await claims.post(
        "/v1/claim-combinations", json={"claim_ids": [first["id"], other_attending["id"]]}, headers=biller
    )
    assert refused.status_code == 400
    assert "UB-04 header" in refused.json()["detail"]

    combined = await claims.post(
        "/v1/claim-combinations", json={"claim_ids": [second["id"], first["id"]]}, headers=biller
    )
    assert combined.status_code == 201, combined.text
    claim = combined.json()
    assert claim["id"] == first["id"]
    assert claim["total_charge"] == "1270.00"
    assert [(li["revenue_code"], li["service_date"]) for li in claim["service_lines"]] == [
        ("0450", None),
        ("0320", None),
        ("0420", "2026-11-18"),
    ]
    ready = await claim_of(stack, tenant, first["encounter_id"], {"ready", "held"})
    assert ready["status"] == "ready", ready["findings"]
    sent = await claims.post(
        "/v1/claim-submissions",
        json={"claim_ids": [first["id"]]},
        headers={**biller, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert sent.status_code == 201, sent.text
    x12 = (await claims.get(f"/v1/claims/{first['id']}/x12", headers=biller)).text
    assert pyx12_errors(x12) == []
    segments = x12.split("~")
    assert f"CLM*{first['patient_control_number']}*1270.00***13:A:1**A*Y*Y" in segments
    assert "DTP*434*RD8*20261116-20261118" in segments
    assert [s for s in segments if s.startswith("DTP*472")] == [
        "DTP*472*D8*20261116",
        "DTP*472*D8*20261116",
        "DTP*472*D8*20261118",
    ]
    accepted = await claim_of(stack, tenant, first["encounter_id"], {"accepted", "rejected"})
    assert accepted["status"] == "accepted", accepted["rejection"]
