"""Every endpoint refuses the unauthenticated (401), the wrong role (403) and other tenants' data (404)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from claimflow.testing import OPS_HEADERS, Stack, TenantFixture, encounter_body, json_list
from claimflow_events import Adjustment, ClaimDenied, default_catalog
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory, Role
from claimflow_kit.outbox import Outbox
from claimflow_kit.testing import eventually
from claims_svc.adapters.tables import Claim, StatusInquiry
from claims_svc.service.denials import record_denial
from remit_svc.adapters.tables import LedgerEntry, OpenClaim

pytestmark = pytest.mark.integration

PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/oauth/token"}
# Installation-level (not tenant-level): only the ops token opens them, never a tenant's key of any role.
INSTALLATION_ROUTES: dict[tuple[str, str, str], str] = {
    **{(service, "GET", "/ops/status"): "" for service in ("coding-svc", "eligibility-svc", "claims-svc", "remit-svc")},
    ("claims-svc", "GET", "/ops/stuck-claims"): "",
    ("claims-svc", "GET", "/ops/timeline"): "q=anything",
    ("eligibility-svc", "GET", "/ops/payer-latency"): "",
}


@dataclass(frozen=True)
class Case:
    """How to call one endpoint and which roles may."""

    allowed: frozenset[Role]
    object_kind: str | None = None  # which of tenant A's objects fills the path parameter
    body: bool = False
    body_kind: str | None = None
    reference: bool = False  # serves reference data, not a tenant's
    query: str = ""
    tenant_data: Callable[[Any], object] | None = None  # a summary: the part that shows tenant A's data (empty for B)


ENCOUNTER_READERS = frozenset({Role.EHR_INTEGRATION, Role.CODER, Role.BILLER})
DENIAL_WORKERS = frozenset({Role.BILLER, Role.CODER})
CASES: dict[tuple[str, str, str], Case] = {
    ("coding-svc", "POST", "/v1/encounters"): Case(frozenset({Role.EHR_INTEGRATION}), body=True),
    ("coding-svc", "POST", "/v1/fhir/encounter-bundles"): Case(frozenset({Role.EHR_INTEGRATION}), body=True),
    ("coding-svc", "POST", "/v1/encounter-batches"): Case(frozenset({Role.EHR_INTEGRATION}), body_kind="encounters"),
    ("coding-svc", "GET", "/v1/encounters"): Case(ENCOUNTER_READERS),
    ("coding-svc", "GET", "/v1/encounters/{encounter_id}"): Case(ENCOUNTER_READERS, "encounter"),
    ("coding-svc", "GET", "/v1/work-queue"): Case(frozenset({Role.CODER, Role.BILLER})),
    ("coding-svc", "GET", "/v1/work-queue/{item_id}"): Case(frozenset({Role.CODER, Role.BILLER}), "work_item"),
    ("coding-svc", "POST", "/v1/work-queue/{item_id}/claim"): Case(frozenset({Role.CODER}), "work_item"),
    ("coding-svc", "PUT", "/v1/work-queue/{item_id}/codes"): Case(
        frozenset({Role.CODER}), "work_item", body_kind="correction"
    ),
    ("coding-svc", "POST", "/v1/work-queue/{item_id}/queries"): Case(
        frozenset({Role.CODER}), "work_item", body_kind="question"
    ),
    ("coding-svc", "POST", "/v1/work-queue/{item_id}/resolve"): Case(frozenset({Role.CODER}), "work_item"),
    ("coding-svc", "POST", "/v1/physician-queries/{query_id}/answer"): Case(
        frozenset({Role.EHR_INTEGRATION, Role.CODER}), "query", body_kind="answer"
    ),
    ("coding-svc", "POST", "/v1/encounter-checks"): Case(frozenset({Role.EHR_INTEGRATION, Role.CODER}), body=True),
    ("coding-svc", "GET", "/v1/encounters/{encounter_id}/code-suggestions"): Case(
        frozenset({Role.CODER, Role.BILLER}), "encounter"
    ),
    # Reference data (the same for every tenant): only roles are checked.
    ("coding-svc", "GET", "/v1/code-sets"): Case(frozenset({Role.CODER, Role.BILLER, Role.OPS}), reference=True),
    ("coding-svc", "GET", "/v1/code-search/icd10cm"): Case(
        frozenset({Role.CODER, Role.BILLER}), reference=True, query="q=asthma"
    ),
    ("coding-svc", "POST", "/v1/code-suggestions"): Case(frozenset({Role.CODER}), body_kind="note", reference=True),
    ("eligibility-svc", "GET", "/v1/eligibility-checks"): Case(ENCOUNTER_READERS),
    ("eligibility-svc", "GET", "/v1/eligibility-checks/{check_id}"): Case(ENCOUNTER_READERS, "check"),
    ("eligibility-svc", "GET", "/v1/eligibility-checks/{check_id}/x12-271"): Case(frozenset({Role.BILLER}), "check"),
    ("eligibility-svc", "POST", "/v1/eligibility-checks"): Case(
        frozenset({Role.EHR_INTEGRATION, Role.BILLER}), body_kind="eligibility"
    ),
    ("eligibility-svc", "POST", "/v1/fhir/CoverageEligibilityRequest"): Case(
        frozenset({Role.EHR_INTEGRATION, Role.BILLER}), body_kind="fhir_eligibility"
    ),
    ("eligibility-svc", "POST", "/v1/eligibility-batches"): Case(
        frozenset({Role.EHR_INTEGRATION, Role.BILLER}), body_kind="batch"
    ),
    ("eligibility-svc", "GET", "/v1/eligibility-batches/{batch_id}"): Case(ENCOUNTER_READERS, "batch"),
    ("claims-svc", "GET", "/v1/claims"): Case(ENCOUNTER_READERS),
    ("claims-svc", "GET", "/v1/claims/{claim_id}"): Case(ENCOUNTER_READERS, "claim"),
    ("claims-svc", "GET", "/v1/claims/{claim_id}/x12"): Case(frozenset({Role.BILLER}), "claim"),
    ("claims-svc", "GET", "/v1/claims/{claim_id}/cms1500.pdf"): Case(frozenset({Role.BILLER}), "claim"),
    ("claims-svc", "GET", "/v1/claims/{claim_id}/ub04.pdf"): Case(frozenset({Role.BILLER}), "claim"),
    ("claims-svc", "GET", "/v1/fhir/Claim/{claim_id}"): Case(ENCOUNTER_READERS, "claim"),
    ("claims-svc", "GET", "/v1/claims/{claim_id}/timeline"): Case(
        frozenset({Role.BILLER, Role.CODER, Role.OPS}), "claim"
    ),
    ("claims-svc", "POST", "/v1/claims/{claim_id}/scrub"): Case(frozenset({Role.BILLER}), "claim"),
    ("claims-svc", "GET", "/v1/claims/stuck"): Case(ENCOUNTER_READERS),
    ("claims-svc", "GET", "/v1/claims/{claim_id}/status-inquiries"): Case(ENCOUNTER_READERS, "claim"),
    ("claims-svc", "POST", "/v1/claims/{claim_id}/status-inquiries"): Case(frozenset({Role.BILLER}), "claim"),
    ("claims-svc", "POST", "/v1/claims/{claim_id}/corrections"): Case(
        frozenset({Role.BILLER}), "claim", body_kind="claim_correction"
    ),
    ("claims-svc", "POST", "/v1/claims/{claim_id}/cancellation"): Case(
        frozenset({Role.BILLER}), "claim", body_kind="cancellation"
    ),
    ("claims-svc", "POST", "/v1/claim-submissions"): Case(frozenset({Role.BILLER}), body_kind="submit"),
    ("claims-svc", "POST", "/v1/claim-combinations"): Case(frozenset({Role.BILLER}), body_kind="combine"),
    ("claims-svc", "POST", "/v1/claims/{claim_id}/split"): Case(frozenset({Role.BILLER}), "claim", body_kind="split"),
    ("claims-svc", "GET", "/v1/practices/{practice_id}/fee-schedule"): Case(frozenset({Role.BILLER}), "practice"),
    ("claims-svc", "PUT", "/v1/practices/{practice_id}/fee-schedule"): Case(
        frozenset({Role.BILLER}), "practice", body_kind="fees"
    ),
    ("remit-svc", "GET", "/v1/open-claims"): Case(frozenset({Role.BILLER, Role.OPS})),
    ("remit-svc", "GET", "/v1/open-claims/{claim_id}"): Case(frozenset({Role.BILLER, Role.OPS}), "open_claim"),
    ("remit-svc", "POST", "/v1/remittances"): Case(frozenset({Role.BILLER}), body=True),
    ("remit-svc", "GET", "/v1/remittances"): Case(frozenset({Role.BILLER, Role.OPS})),
    ("remit-svc", "GET", "/v1/remittances/{remittance_id}"): Case(frozenset({Role.BILLER, Role.OPS}), "remittance"),
    ("remit-svc", "GET", "/v1/remittances/{remittance_id}/x12"): Case(frozenset({Role.BILLER, Role.OPS}), "remittance"),
    ("remit-svc", "GET", "/v1/unmatched-payments"): Case(frozenset({Role.BILLER, Role.OPS})),
    ("remit-svc", "POST", "/v1/unmatched-payments/{payment_id}/match"): Case(
        frozenset({Role.BILLER}), "claim_payment", body_kind="match"
    ),
    ("remit-svc", "GET", "/v1/claims/{claim_id}/ledger"): Case(frozenset({Role.BILLER, Role.OPS}), "open_claim"),
    ("remit-svc", "POST", "/v1/deposits"): Case(frozenset({Role.BILLER}), body_kind="deposit"),
    ("remit-svc", "GET", "/v1/deposits"): Case(frozenset({Role.BILLER, Role.OPS})),
    ("remit-svc", "GET", "/v1/reconciliation"): Case(
        frozenset({Role.BILLER, Role.OPS}), tenant_data=lambda r: r["matched"] + r["unreconciled_remittances"]
    ),
    ("remit-svc", "POST", "/v1/patient-payments"): Case(frozenset({Role.BILLER}), "patient", body_kind="payment"),
    ("remit-svc", "POST", "/v1/patient-refunds"): Case(frozenset({Role.BILLER}), "patient", body_kind="refund"),
    ("remit-svc", "GET", "/v1/patients/{patient_id}/balance"): Case(frozenset({Role.BILLER, Role.OPS}), "patient"),
    ("remit-svc", "POST", "/v1/statement-runs"): Case(frozenset({Role.BILLER}), body_kind="statement_run"),
    ("remit-svc", "GET", "/v1/statement-runs"): Case(frozenset({Role.BILLER, Role.OPS})),
    ("remit-svc", "GET", "/v1/statement-runs/{run_id}"): Case(frozenset({Role.BILLER, Role.OPS}), "statement_run"),
    ("remit-svc", "GET", "/v1/patients/{patient_id}/statements"): Case(frozenset({Role.BILLER, Role.OPS}), "patient"),
    ("remit-svc", "GET", "/v1/statements/{statement_id}.pdf"): Case(frozenset({Role.BILLER, Role.OPS}), "statement"),
    ("remit-svc", "GET", "/v1/patients/{patient_id}/statement"): Case(frozenset({Role.BILLER, Role.OPS}), "patient"),
    ("remit-svc", "GET", "/v1/patients/{patient_id}/statement.pdf"): Case(
        frozenset({Role.BILLER, Role.OPS}), "patient"
    ),
    ("remit-svc", "GET", "/v1/patient-statements"): Case(frozenset({Role.BILLER, Role.OPS})),
    ("remit-svc", "GET", "/v1/guarantors/{guarantor_id}/balance"): Case(
        frozenset({Role.BILLER, Role.OPS}), "guarantor"
    ),
    ("remit-svc", "GET", "/v1/guarantors/{guarantor_id}/statement"): Case(
        frozenset({Role.BILLER, Role.OPS}), "guarantor"
    ),
    ("remit-svc", "GET", "/v1/guarantors/{guarantor_id}/statement.pdf"): Case(
        frozenset({Role.BILLER, Role.OPS}), "guarantor"
    ),
    ("remit-svc", "GET", "/v1/guarantors/{guarantor_id}/statements"): Case(
        frozenset({Role.BILLER, Role.OPS}), "guarantor"
    ),
    ("remit-svc", "GET", "/v1/ar/aging"): Case(frozenset({Role.BILLER, Role.OPS}), tenant_data=lambda r: r["groups"]),
    ("remit-svc", "GET", "/v1/kpis"): Case(
        frozenset({Role.BILLER, Role.OPS}), tenant_data=lambda r: int(r["days_to_submission"]["denominator"])
    ),
    ("claims-svc", "GET", "/v1/denials"): Case(DENIAL_WORKERS),
    ("claims-svc", "GET", "/v1/denials/{denial_id}"): Case(DENIAL_WORKERS, "denial"),
    ("claims-svc", "POST", "/v1/denials/{denial_id}/assignment"): Case(
        DENIAL_WORKERS, "denial", body_kind="assignment"
    ),
    ("claims-svc", "POST", "/v1/denials/{denial_id}/outcome"): Case(
        DENIAL_WORKERS, "denial", body_kind="denial_outcome"
    ),
    ("claims-svc", "POST", "/v1/denials/{denial_id}/appeals"): Case(frozenset({Role.BILLER}), "denial"),
    ("claims-svc", "GET", "/v1/appeals/{appeal_id}/letter.pdf"): Case(frozenset({Role.BILLER}), "appeal"),
    ("claims-svc", "POST", "/v1/appeals/{appeal_id}/submission"): Case(
        frozenset({Role.BILLER}), "appeal", body_kind="appeal_submission"
    ),
    ("claims-svc", "POST", "/v1/appeals/{appeal_id}/outcome"): Case(
        frozenset({Role.BILLER}), "appeal", body_kind="appeal_outcome"
    ),
    ("claims-svc", "GET", "/v1/appeals/overturn-rates"): Case(frozenset({Role.BILLER, Role.OPS})),
}


@dataclass
class World:
    """Two tenants; tenant A owns one object of every kind."""

    a: TenantFixture
    b: TenantFixture
    objects: dict[str, str]


def eligibility_body(tenant: TenantFixture) -> dict[str, Any]:
    """An eligibility inquiry for a seeded sandbox member."""
    return {
        "practice_id": tenant.practice_id,
        "provider_npi": "1234567893",
        "payer_id": "60054",
        "ehr_patient_id": "P-1",
        "subscriber": {
            "first_name": "Maria",
            "last_name": "Lopez",
            "birth_date": "1984-03-09",
            "member_id": "W123456789",
        },
        "date_of_service": "2026-11-02",
    }


FHIR_ELIGIBILITY: dict[str, Any] = {
    "resourceType": "CoverageEligibilityRequest",
    "id": "tenancy",
    "contained": [
        {
            "resourceType": "Patient",
            "id": "p",
            "name": [{"family": "Lopez", "given": ["Maria"]}],
            "birthDate": "1984-03-09",
        },
        {
            "resourceType": "Coverage",
            "id": "c",
            "status": "active",
            "subscriberId": "W123456789",
            "beneficiary": {"reference": "#p"},
            "payor": [{"identifier": {"value": "60054"}}],
        },
        {
            "resourceType": "Practitioner",
            "id": "dr",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
        },
    ],
    "status": "active",
    "purpose": ["validation"],
    "patient": {"reference": "#p"},
    "servicedDate": "2026-11-02",
    "created": "2026-11-01T09:00:00Z",
    "provider": {"reference": "#dr"},
    "insurer": {"identifier": {"value": "60054"}},
    "insurance": [{"coverage": {"reference": "#c"}}],
}


# Two claim-level payments for patient control numbers nobody billed: both wait in the unmatched queue.
UNMATCHED_835 = (
    "~".join(
        [
            "ISA*00*          *00*          *ZZ*PAYERSANDBOX   *ZZ*CLAIMFLOW      *261120*1200*^*00501*000000777*0*P*:",
            "GS*HP*PAYERSANDBOX*CLAIMFLOW*20261120*1200*777*X*005010X221A1",
            "ST*835*0001*005010X221A1",
            "BPR*I*150.00*C*ACH*CCP*01*071000013*DA*900000001*1999999999**01*071000039*DA*800000001*20261120",
            "TRN*1*TENANCY777*1999999999",
            "N1*PR*SANDBOX HEALTH PLAN",
            "N3*PO BOX 1000",
            "N4*SANDBOX CITY*IL*60601",
            "REF*2U*60054",
            "N1*PE*PRACTICE ONE*XX*1234567893",
            "LX*1",
            "CLP*UNKNOWN01*1*100.00*80.00**12*PAYU1*11*1",
            "CAS*CO*45*20.00",
            "NM1*QC*1*DOE*JANE****MI*W1",
            "CLP*UNKNOWN02*1*100.00*70.00**12*PAYU2*11*1",
            "CAS*CO*45*30.00",
            "NM1*QC*1*DOE*JOHN****MI*W2",
            "SE*16*0001",
            "GE*1*777",
            "IEA*1*000000777",
        ]
    )
    + "~"
)


def stuck_claim(tenant_id: str) -> Claim:
    """A claim accepted by the payer 40 days ago with no 835 since."""
    submitted = datetime.now(UTC) - timedelta(days=40)
    return Claim(
        id=f"clm_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        encounter_id="enc_stuck",
        encounter_version=1,
        practice_id="prac_stuck",
        patient_id="pat_x",
        payer_id="60054",
        claim_kind="professional",
        date_of_service=submitted.date(),
        status="accepted",
        total_charge=Decimal("80.00"),
        diagnosis_codes=["J20.9"],
        service_lines=[],
        correlation_id=uuid.uuid4().hex,
        patient_control_number=f"CFSTUCK{uuid.uuid4().hex[:8].upper()}",
        submitted_at=submitted,
    )


@pytest_asyncio.fixture(scope="module")
async def world(stack: Stack) -> World:
    a = await stack.create_tenant("a")
    b = await stack.create_tenant("b")
    coding = stack.client("coding-svc")
    posted = await coding.post("/v1/encounters", json=encounter_body(a), headers=a.headers(Role.EHR_INTEGRATION))
    assert posted.status_code == 201, posted.text
    encounter_id = posted.json()["id"]
    coded = posted  # clean, so coded at intake and a claim follows
    needs_review = await coding.post(
        "/v1/encounters",
        json=encounter_body(a, lines=[{"procedure_code": "99213", "diagnosis_pointers": [9]}]),
        headers=a.headers(Role.EHR_INTEGRATION),
    )
    queue = await json_list(coding, "/v1/work-queue", a.headers(Role.CODER))
    item_id = next(i["id"] for i in queue if i["encounter_id"] == needs_review.json()["id"])
    claimed = await coding.post(f"/v1/work-queue/{item_id}/claim", headers=a.headers(Role.CODER))
    assert claimed.status_code == 200
    asked = await coding.post(
        f"/v1/work-queue/{item_id}/queries", json={"question": "Which diagnosis?"}, headers=a.headers(Role.CODER)
    )
    assert asked.status_code == 201

    async def check_id() -> str | None:
        items = await json_list(
            stack.client("eligibility-svc"),
            f"/v1/eligibility-checks?encounter_id={encounter_id}",
            a.headers(Role.BILLER),
        )
        return items[0]["id"] if items else None

    async def claim_id() -> str | None:
        items = await json_list(
            stack.client("claims-svc"), f"/v1/claims?encounter_id={coded.json()['id']}", a.headers(Role.BILLER)
        )
        return items[0]["id"] if items else None

    batch = await stack.client("eligibility-svc").post(
        "/v1/eligibility-batches",
        json={"practice_id": a.practice_id, "items": [eligibility_body(a)]},
        headers=a.headers(Role.BILLER),
    )
    assert batch.status_code == 202, batch.text
    open_claim_id = f"clm_{uuid.uuid4().hex}"
    remit = stack.database("remit-svc")
    try:
        async with remit.transaction() as session:
            session.add(
                OpenClaim(
                    id=open_claim_id,
                    tenant_id=a.id,
                    patient_control_number=f"PCN{uuid.uuid4().hex[:10]}",
                    payer_id="60054",
                    patient_id="pat_x",
                    guarantor_id="gtr_x",
                    total_charge=Decimal("100.00"),
                    submitted_at=datetime.now(UTC),
                )
            )
            # Its charge, then 20.00 of it left to the patient: AR and a balance due for the summaries and lists.
            for journal, account, amount in [
                ("jnl_tenancy_1", "insurance_ar", "100.00"),
                ("jnl_tenancy_1", "charges", "-100.00"),
                ("jnl_tenancy_2", "patient_ar", "20.00"),
                ("jnl_tenancy_2", "insurance_ar", "-20.00"),
            ]:
                session.add(
                    LedgerEntry(
                        tenant_id=a.id,
                        journal_id=journal,
                        account=account,
                        kind="charge" if journal.endswith("1") else "coinsurance",
                        amount=Decimal(amount),
                        claim_id=open_claim_id,
                        patient_id="pat_x",
                        guarantor_id="gtr_x",
                        payer_id="60054",
                        effective_date=datetime.now(UTC).date(),
                    )
                )
    finally:
        await remit.dispose()
    uploaded = await stack.client("remit-svc").post(
        "/v1/remittances",
        content=UNMATCHED_835.encode(),
        headers={**a.headers(Role.BILLER), "Content-Type": "application/edi-x12"},
    )
    assert uploaded.status_code == 201, uploaded.text
    deposited = await stack.client("remit-svc").post(
        "/v1/deposits",
        json={"trace_number": "TENANCY777", "amount": "150.00", "deposit_date": "2026-11-20"},
        headers=a.headers(Role.BILLER),
    )
    assert deposited.status_code == 201, deposited.text
    unmatched = await json_list(stack.client("remit-svc"), "/v1/unmatched-payments", a.headers(Role.BILLER))
    assert len(unmatched) == 2, "one to match by hand, one left in the queue for the list check"
    claim = await eventually(claim_id)
    claims_db = stack.database("claims-svc")
    try:
        async with claims_db.transaction() as session:
            # A claim accepted 40 days ago whose payer never answered the 276: the stuck-claims list has it.
            stuck = stuck_claim(a.id)
            session.add(stuck)
            session.add(
                StatusInquiry(
                    id=f"sti_{uuid.uuid4().hex}",
                    tenant_id=a.id,
                    claim_id=stuck.id,
                    payer_id="60054",
                    trace_number=f"TENANCY{uuid.uuid4().hex[:8]}-S1",
                    interchange_control_number="000000001",
                    status="failed",
                    sent_at=datetime.now(UTC),
                    answered_at=datetime.now(UTC),
                    error="ConnectorUnavailable: payer down",
                )
            )
            denial = await record_denial(
                session,
                Outbox(default_catalog(), "/claimflow/tests"),
                a.id,
                ClaimDenied(
                    claim_id=claim,
                    patient_control_number="CFTENANCY",
                    payer_id="60054",
                    era_id="era_tenancy",
                    claim_status_code="4",
                    total_charge=Decimal("125.00"),
                    denied_amount=Decimal("125.00"),
                    adjustments=(Adjustment(group_code="CO", carc="50", amount=Decimal("125.00")),),
                    denied_at=datetime.now(UTC),
                ),
                appeal_window_days=180,
                payers={},
            )
    finally:
        await claims_db.dispose()
    assert denial is not None
    appeal = await stack.client("claims-svc").post(f"/v1/denials/{denial.id}/appeals", headers=a.headers(Role.BILLER))
    assert appeal.status_code == 201, appeal.text
    run = await stack.client("remit-svc").post("/v1/statement-runs", json={}, headers=a.headers(Role.BILLER))
    assert run.status_code == 201, run.text
    assert run.json()["issued"], "pat_x owes the 20.00 left to the patient"
    objects = {
        "encounter": encounter_id,
        "check": await eventually(check_id),
        "claim": claim,
        "denial": denial.id,
        "appeal": appeal.json()["id"],
        "open_claim": open_claim_id,
        "work_item": item_id,
        "query": asked.json()["id"],
        "batch": batch.json()["id"],
        "practice": a.practice_id,
        "remittance": uploaded.json()["remittances"][0]["remittance_id"],
        "claim_payment": unmatched[0]["id"],
        "patient": "pat_x",
        "guarantor": "gtr_x",
        "statement_run": run.json()["id"],
        "statement": run.json()["issued"][0]["id"],
    }
    return World(a, b, objects)


def _path(template: str, case: Case, world: World) -> str:
    if case.object_kind is None or "{" not in template:  # no path parameter: the object is named in the body
        return template
    name = template[template.index("{") + 1 : template.index("}")]
    return template.replace("{" + name + "}", world.objects[case.object_kind])


async def _call(stack: Stack, key: tuple[str, str, str], world: World, headers: dict[str, str]) -> Any:
    service, method, template = key
    case = CASES[key]
    bodies: dict[str | None, Any] = {
        None: encounter_body(world.a) if case.body else None,
        "correction": {
            "diagnoses": ["J20.9"],
            "lines": [{"procedure_code": "99213", "diagnosis_pointers": [1]}],
            "reason": "tenant check",
        },
        "question": {"question": "Was the cough acute?"},
        "answer": {"answer": "Yes, acute."},
        "note": {"note": "Acute bronchitis with cough.", "date_of_service": "2026-01-15"},
        "eligibility": eligibility_body(world.a),
        "batch": {"practice_id": world.a.practice_id, "items": [eligibility_body(world.a)]},
        "encounters": {"encounters": [encounter_body(world.a)]},
        "fhir_eligibility": FHIR_ELIGIBILITY,
        "submit": {"claim_ids": []},
        "combine": {"claim_ids": [world.objects["claim"], world.objects["open_claim"]]},
        "split": {"line_numbers": [1]},
        "cancellation": {"reason": "tenant check"},
        "match": {"claim_id": world.objects["open_claim"]},
        "claim_correction": {"kind": "resubmission", "reason": "tenant check"},
        "fees": {"entries": [{"procedure_code": "99213", "amount": "100.00", "effective_from": "2026-01-01"}]},
        "deposit": {"trace_number": "TENANCY-DEP", "amount": "10.00", "deposit_date": "2026-11-20"},
        "payment": {"patient_id": "pat_x", "amount": "5.00", "method": "cash", "reference": "TENANCY-PAY"},
        "refund": {"patient_id": "pat_x", "amount": "5.00", "method": "cash", "reference": "TENANCY-REFUND"},
        "assignment": {"assignee": "tenancy-check"},
        "denial_outcome": {"outcome": "no_action", "note": "tenant check"},
        "appeal_submission": {"sent_on": "2024-06-03", "method": "fax"},
        "appeal_outcome": {"outcome": "upheld"},
        "statement_run": {"min_balance": "1.00"},
    }
    body = bodies[case.body_kind]
    path = _path(template, case, world) + (f"?{case.query}" if case.query else "")
    return await stack.client(service).request(method, path, json=body, headers=headers)


def test_every_endpoint_has_a_case(stack: Stack) -> None:
    """A new endpoint without an isolation case (or an installation-level one) fails here: none escapes the checks."""
    routes = {
        (service, method.upper(), path)
        for service, app in stack.apps.items()
        for path, operations in app.openapi()["paths"].items()
        if path not in PUBLIC_PATHS
        for method in operations
    }
    assert routes == set(CASES) | set(INSTALLATION_ROUTES)
    assert not set(CASES) & set(INSTALLATION_ROUTES)


@pytest.mark.parametrize("key", sorted(INSTALLATION_ROUTES), ids=lambda k: f"{k[1]} {k[0]}{k[2]}")
async def test_installation_routes_take_only_the_ops_token(
    stack: Stack, world: World, key: tuple[str, str, str]
) -> None:
    service, method, path = key
    url = f"{path}?{INSTALLATION_ROUTES[key]}" if INSTALLATION_ROUTES[key] else path
    client = stack.client(service)
    for role in Role:  # a tenant's admin is no installation operator
        response = await client.request(method, url, headers=world.a.headers(role))
        assert response.status_code == 401, (role, response.text)
        assert response.json()["error"] == "NotAuthenticated"
    assert (await client.request(method, url)).status_code == 401
    assert (await client.request(method, url, headers=OPS_HEADERS)).status_code == 200


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[1]} {k[0]}{k[2]}")
async def test_unauthenticated_requests_get_401(stack: Stack, world: World, key: tuple[str, str, str]) -> None:
    for headers in ({}, {"Authorization": "Bearer cfk_nope_nope"}, {"Authorization": "Bearer not.a.jwt"}):
        response = await _call(stack, key, world, headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"] == "NotAuthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[1]} {k[0]}{k[2]}")
async def test_wrong_role_gets_403(stack: Stack, world: World, key: tuple[str, str, str]) -> None:
    denied = [role for role in Role if role not in CASES[key].allowed and role is not Role.ADMIN]
    assert denied, "every endpoint restricts some role"
    for role in denied:
        response = await _call(stack, key, world, world.a.headers(role))
        assert response.status_code == 403, (role, response.text)
        assert response.json()["error"] == "PermissionDenied"


@pytest.mark.parametrize(
    "key", sorted(k for k, c in CASES.items() if c.object_kind), ids=lambda k: f"{k[1]} {k[0]}{k[2]}"
)
async def test_other_tenants_objects_answer_404(stack: Stack, world: World, key: tuple[str, str, str]) -> None:
    for role in sorted(CASES[key].allowed | {Role.ADMIN}):
        response = await _call(stack, key, world, world.b.headers(role))
        assert response.status_code == 404, (role, response.text)
        assert response.json()["error"].endswith("NotFound")
    own = await _call(stack, key, world, world.a.headers(Role.ADMIN))
    # The owner reaches it: a state change may conflict (409) or not apply to the object as it is now (400, e.g.
    # splitting a one-line claim the worker has not submitted yet); never 404, 403 or a server error.
    assert own.status_code in (200, 201, 400, 409), own.text
    if own.status_code == 400:
        assert own.json()["error"] == "InvalidInput", own.text


@pytest.mark.parametrize(
    "key",
    sorted(
        k
        for k, c in CASES.items()
        if c.object_kind is None and not c.body and c.body_kind is None and not c.reference and not c.tenant_data
    ),
    ids=lambda k: k[2],
)
async def test_lists_show_only_the_callers_tenant(stack: Stack, world: World, key: tuple[str, str, str]) -> None:
    ours = await _call(stack, key, world, world.a.headers(Role.ADMIN))
    theirs = await _call(stack, key, world, world.b.headers(Role.ADMIN))
    assert ours.status_code == theirs.status_code == 200
    assert ours.json(), "tenant A has data in every list"
    assert theirs.json() == []


@pytest.mark.parametrize("key", sorted(k for k, c in CASES.items() if c.tenant_data), ids=lambda k: k[2])
async def test_summaries_count_only_the_callers_tenant(stack: Stack, world: World, key: tuple[str, str, str]) -> None:
    extract = CASES[key].tenant_data
    assert extract is not None
    ours = await _call(stack, key, world, world.a.headers(Role.ADMIN))
    theirs = await _call(stack, key, world, world.b.headers(Role.ADMIN))
    assert ours.status_code == theirs.status_code == 200
    assert extract(ours.json()), "tenant A's data shows in its summary"
    assert not extract(theirs.json()), theirs.text


async def test_other_tenants_practice_cannot_receive_encounters(stack: Stack, world: World) -> None:
    body = encounter_body(world.a)
    response = await stack.client("coding-svc").post(
        "/v1/encounters", json=body, headers=world.b.headers(Role.EHR_INTEGRATION)
    )
    assert response.status_code == 404
    assert response.json()["error"] == "PracticeNotFound"
    batch = await stack.client("coding-svc").post(
        "/v1/encounter-batches", json={"encounters": [body]}, headers=world.b.headers(Role.EHR_INTEGRATION)
    )
    assert batch.status_code == 200
    assert [(r["outcome"], r["error"]["error"]) for r in batch.json()["results"]] == [("refused", "PracticeNotFound")]


async def test_oauth2_client_credentials_token_grants_the_keys_tenant_and_role(stack: Stack, world: World) -> None:
    coding = stack.client("coding-svc")
    key_id, secret = world.a.keys[Role.CODER].split("_", 2)[1:]
    form = await coding.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": key_id, "client_secret": secret}
    )
    assert form.status_code == 200, form.text
    token = form.json()["access_token"]
    assert form.json()["token_type"] == "bearer"
    basic = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
    via_basic = await coding.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert via_basic.status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    # The token works on every service (stateless verification) with the key's tenant and role.
    own = await stack.client("claims-svc").get(f"/v1/claims/{world.objects['claim']}", headers=bearer)
    assert own.status_code == 200
    denied = await stack.client("remit-svc").get("/v1/open-claims", headers=bearer)
    assert denied.status_code == 403
    wrong = await coding.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": key_id, "client_secret": "x" + secret}
    )
    assert wrong.status_code == 401
    unsupported = await coding.post("/oauth/token", data={"grant_type": "password"})
    assert unsupported.status_code == 401


async def test_revoked_key_is_refused(stack: Stack, world: World) -> None:
    directory = Database(stack.directory_url, pool_size=1)
    try:
        async with directory.transaction() as session:
            issued = await Directory(session).issue_key(world.a.id, Role.BILLER, "to revoke")
        async with directory.transaction() as session:
            await Directory(session).revoke_key(issued.key_id)
    finally:
        await directory.dispose()
    response = await stack.client("claims-svc").get("/v1/claims", headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 401
