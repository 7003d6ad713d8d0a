"""FHIR R4 encounter bundles, as EHRs send them, become the same encounters as the JSON intake."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from claimflow.testing import Stack, json_list
from claimflow_kit.directory import Role
from claimflow_kit.testing import eventually

pytestmark = pytest.mark.integration


def r4_bundle(encounter_id: str) -> dict[str, Any]:
    """An R4 (4.0.1) collection bundle: class is a single Coding, as in R4 (R5 made it a list)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:pat-1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "pat-1",
                    "name": [{"family": "Okafor", "given": ["Chidi"]}],
                    "gender": "male",
                    "birthDate": "1972-05-30",
                    "address": [
                        {
                            "use": "work",
                            "line": ["1 Office Park"],
                            "city": "Peoria",
                            "state": "IL",
                            "postalCode": "61602",
                        },
                        {
                            "use": "home",
                            "line": ["12 Elm St", "Apt 3"],
                            "city": "Springfield",
                            "state": "IL",
                            "postalCode": "62701-1234",
                        },
                    ],
                },
            },
            {
                "resource": {
                    "resourceType": "Coverage",
                    "id": "cov-1",
                    "status": "active",
                    "subscriberId": "ZZ9988776",
                    "beneficiary": {"reference": "Patient/pat-1"},
                    "payor": [{"identifier": {"value": "60054"}}],
                }
            },
            {
                "resource": {
                    "resourceType": "Encounter",
                    "id": encounter_id,
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                    "subject": {"reference": "Patient/pat-1"},
                    "period": {"start": "2026-11-03T09:00:00-05:00", "end": "2026-11-03T09:30:00-05:00"},
                    "serviceProvider": {
                        "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
                    },
                    "participant": [
                        {
                            "individual": {
                                "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1245319599"}
                            }
                        }
                    ],
                    "diagnosis": [
                        {"condition": {"reference": "Condition/c2"}, "rank": 2},
                        {"condition": {"reference": "Condition/c1"}, "rank": 1},
                    ],
                    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Cough.</div>'},
                },
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "Patient/pat-1"},
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J20.9"}]},
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "c2",
                    "subject": {"reference": "Patient/pat-1"},
                    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "R05.9"}]},
                }
            },
            {
                "resource": {
                    "resourceType": "ChargeItem",
                    "id": "ch1",
                    "status": "billable",
                    "subject": {"reference": "Patient/pat-1"},
                    "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]},
                    "quantity": {"value": 1},
                    "priceOverride": {"value": 125.0, "currency": "USD"},
                    "extension": [
                        {"url": "https://claimflow.dev/fhir/StructureDefinition/procedure-modifier", "valueCode": "25"}
                    ],
                }
            },
            {
                "resource": {
                    "resourceType": "Procedure",
                    "id": "pr1",
                    "status": "completed",
                    "subject": {"reference": "Patient/pat-1"},
                    "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "94640"}]},
                }
            },
        ],
    }


async def test_fhir_bundle_intake_maps_r4_resources(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    ehr_id = f"fhir-{uuid.uuid4().hex[:8]}"
    posted = await coding.post("/v1/fhir/encounter-bundles", json=r4_bundle(ehr_id), headers=headers)
    assert posted.status_code == 201, posted.text
    encounter = posted.json()
    document = encounter["document"]
    assert encounter["ehr_encounter_id"] == ehr_id
    assert encounter["practice_id"] == tenant.practice_id  # found by the serviceProvider NPI
    assert document["diagnoses"] == ["J20.9", "R05.9"]  # ordered by Encounter.diagnosis rank
    assert document["date_of_service"] == "2026-11-03"
    assert document["place_of_service"] == "11"
    assert document["rendering_provider_npi"] == "1245319599"
    assert document["payer_id"] == "60054"
    assert document["patient"] == {
        "ehr_patient_id": "pat-1",
        "first_name": "Chidi",
        "last_name": "Okafor",
        "birth_date": "1972-05-30",
        "sex": "M",
        "member_id": "ZZ9988776",
        "address": {
            "line1": "12 Elm St",
            "line2": "Apt 3",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "627011234",
        },
    }
    assert [(line["procedure_code"], line["modifiers"], line["charge"]) for line in document["lines"]] == [
        ("99213", ["25"], "125.00"),
        ("94640", [], None),
    ]
    assert document["clinical_note"] == "Cough."
    replay = await coding.post("/v1/fhir/encounter-bundles", json=r4_bundle(ehr_id), headers=headers)
    assert replay.status_code == 200
    assert replay.json()["id"] == encounter["id"]

    async def pre_checked() -> list[dict[str, Any]]:
        return await json_list(
            stack.client("eligibility-svc"),
            f"/v1/eligibility-checks?encounter_id={encounter['id']}",
            tenant.headers(Role.BILLER),
        )

    assert len(await eventually(pre_checked)) == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(resourceType="Patient"), "expected a FHIR Bundle"),
        (lambda b: b["entry"].pop(2), "exactly one Encounter"),
        (
            lambda b: b["entry"][3]["resource"]["code"]["coding"][0].update(system="http://snomed.info/sct"),
            "no ICD-10-CM",
        ),
        (
            lambda b: b["entry"][2]["resource"]["serviceProvider"]["identifier"].update(value="1999999984"),
            "must identify a practice",
        ),
        (lambda b: b["entry"][0]["resource"].update(gender=7), "invalid FHIR R4 bundle"),
    ],
)
async def test_bad_fhir_bundles_get_clear_errors(stack: Stack, mutate: Any, message: str) -> None:
    tenant = await stack.create_tenant()
    bundle = copy.deepcopy(r4_bundle("bad"))
    mutate(bundle)
    response = await stack.client("coding-svc").post(
        "/v1/fhir/encounter-bundles", json=bundle, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidInput"
    assert message in response.json()["detail"]


def with_other_plans(bundle: dict[str, Any]) -> dict[str, Any]:
    """The patient's own plan is secondary here: the primary is a parent's plan (order 1), and a cancelled plan
    is listed too. Coverages appear out of order in the bundle, as EHRs send them."""
    own = bundle["entry"][1]["resource"]
    own.update(order=2, relationship={"coding": [{"code": "self"}]})
    parent_plan = {
        "resourceType": "Coverage",
        "id": "cov-parent",
        "status": "active",
        "order": 1,
        "subscriberId": "W123456789",
        "subscriber": {"reference": "RelatedPerson/mom"},
        "beneficiary": {"reference": "Patient/pat-1"},
        "relationship": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": "child"}]
        },
        "payor": [{"identifier": {"value": "87726"}}],
        "class": [
            {
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]
                },
                "value": "GRP87726B",
            }
        ],
    }
    mother = {
        "resourceType": "RelatedPerson",
        "id": "mom",
        "patient": {"reference": "Patient/pat-1"},
        "name": [{"family": "Okafor", "given": ["Ada"]}],
        "gender": "female",
        "birthDate": "1950-02-11",
    }
    cancelled = {
        "resourceType": "Coverage",
        "id": "cov-old",
        "status": "cancelled",
        "subscriberId": "OLD1",
        "beneficiary": {"reference": "Patient/pat-1"},
        "payor": [{"identifier": {"value": "HMO01"}}],
    }
    bundle["entry"] += [{"resource": parent_plan}, {"resource": mother}, {"resource": cancelled}]
    return bundle


async def test_fhir_coverages_become_the_primary_plan_and_the_plans_that_pay_after_it(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    bundle = with_other_plans(r4_bundle(f"fhir-{uuid.uuid4().hex[:8]}"))
    posted = await coding.post("/v1/fhir/encounter-bundles", json=bundle, headers=tenant.headers(Role.EHR_INTEGRATION))
    assert posted.status_code == 201, posted.text
    document = posted.json()["document"]
    assert (document["payer_id"], document["patient"]["member_id"], document["group_number"]) == (
        "87726",
        "W123456789",
        "GRP87726B",
    )
    assert document["subscriber"] == {
        "relationship": "19",
        "first_name": "Ada",
        "last_name": "Okafor",
        "birth_date": "1950-02-11",
        "sex": "F",
        "address": None,
    }
    assert document["other_coverages"] == [
        {
            "payer_sequence": "secondary",
            "payer_id": "60054",
            "member_id": "ZZ9988776",
            "group_number": None,
            "subscriber": None,
        }
    ]

    orphan = with_other_plans(r4_bundle(f"fhir-{uuid.uuid4().hex[:8]}"))
    orphan["entry"] = [e for e in orphan["entry"] if e["resource"]["resourceType"] != "RelatedPerson"]
    refused = await coding.post("/v1/fhir/encounter-bundles", json=orphan, headers=tenant.headers(Role.EHR_INTEGRATION))
    assert refused.status_code == 400, refused.text
    assert "Coverage.subscriber must reference the card holder" in refused.json()["detail"]


def with_guarantor(bundle: dict[str, Any], *guarantors: dict[str, Any]) -> dict[str, Any]:
    """An Account naming who answers for the patient's balance, and the grandfather it may name."""
    grandfather = {
        "resourceType": "RelatedPerson",
        "id": "grandpa",
        "patient": {"reference": "Patient/pat-1"},
        "name": [{"family": "Eze", "given": ["Obi"]}],
        "address": [{"use": "home", "line": ["3 Mill Rd"], "city": "Decatur", "state": "IL", "postalCode": "62521"}],
    }
    payer = {"resourceType": "Organization", "id": "employer", "name": "Acme Works"}
    account = {"resourceType": "Account", "id": "acct-1", "status": "active", "guarantor": list(guarantors)}
    bundle["entry"] += [{"resource": grandfather}, {"resource": payer}, {"resource": account}]
    return bundle


async def test_a_fhir_account_guarantor_becomes_the_account_statements_are_addressed_to(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    bundle = with_guarantor(
        r4_bundle(f"fhir-{uuid.uuid4().hex[:8]}"),
        {"party": {"reference": "RelatedPerson/grandpa"}, "onHold": True},  # on hold: skipped
        {"party": {"reference": "Patient/pat-1"}, "period": {"end": "2026-10-31"}},  # ended before the visit
        {"party": {"reference": "RelatedPerson/grandpa"}, "period": {"start": "2026-01-01"}},
    )
    posted = await coding.post("/v1/fhir/encounter-bundles", json=bundle, headers=headers)
    assert posted.status_code == 201, posted.text
    document = posted.json()["document"]
    assert document["ehr_guarantor_id"] == "grandpa"
    assert document["guarantor"] == {
        "first_name": "Obi",
        "last_name": "Eze",
        "address": {"line1": "3 Mill Rd", "line2": None, "city": "Decatur", "state": "IL", "postal_code": "62521"},
    }

    own = with_guarantor(r4_bundle(f"fhir-{uuid.uuid4().hex[:8]}"), {"party": {"reference": "Patient/pat-1"}})
    posted = await coding.post("/v1/fhir/encounter-bundles", json=own, headers=headers)
    assert posted.status_code == 201, posted.text
    assert (posted.json()["document"]["ehr_guarantor_id"], posted.json()["document"].get("guarantor")) == (
        "pat-1",
        None,
    )

    employer = with_guarantor(r4_bundle("fhir-employer"), {"party": {"reference": "Organization/employer"}})
    refused = await coding.post("/v1/fhir/encounter-bundles", json=employer, headers=headers)
    assert refused.status_code == 400, refused.text
    assert "guarantor.party must reference the Patient or a RelatedPerson" in refused.json()["detail"]
