"""Fuzzing the intake APIs with mutated valid bodies: every answer is a 2xx that stored what it says, or a clean 4xx.

The bodies start from documents the services accept (an 835 file, an encounter in JSON and as a FHIR R4 bundle, an
eligibility check in JSON and as a FHIR CoverageEligibilityRequest, a batch; for the payer-sandbox, the 270, 276,
837P and 837I it takes) and are mutated: X12 segment by segment (``claimflow_x12.testing``), JSON value by value
(types swapped, keys dropped or added, edge-case numbers and strings). Checked for every input:

- no 5xx; a 4xx carries the one error document ``{"error": <code>, "detail": ...}``;
- nothing lost: an accepted encounter, eligibility check, batch or ERA can be read back by the id it was given.

Runs on the session stack (real broker and databases); inputs go through the services' ASGI apps in-process.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimflow.testing import Stack, TenantFixture, encounter_body
from claimflow_kit.directory import Role
from claimflow_x12.testing import element_values, mutated_documents
from payer_sandbox.config import SandboxSettings
from payer_sandbox.main import create_app as sandbox_app

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parents[2] / "shared" / "tests" / "x12" / "samples"
EXAMPLES = 25
# The default run replays the same inputs every time (a CI run fails only on a change, not on a draw);
# the long run (CLAIMFLOW_LONG_TESTS=1) explores new ones.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CLAIMFLOW_LONG_TESTS") != "1",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TALLY: Counter[str] = Counter()  # inputs tried per endpoint, printed at the end of the module
STATUSES: Counter[tuple[str, int]] = Counter()

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    element_values,
    st.text(max_size=30),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)

Path_ = tuple[str | int, ...]


def _similar(value: object) -> st.SearchStrategy[Any]:
    """Values of the same JSON type as ``value`` (a string stays a string), so that more mutants get past the
    schema and into the handlers."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(min_value=-(2**70), max_value=2**70)
    if isinstance(value, float):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(value, str):
        near = [value.lower(), value.upper(), value[:-1], value + value[-1:], f" {value}", value[::-1]]
        return st.sampled_from(near) | element_values
    return json_values


def _paths(value: object, prefix: Path_ = ()) -> list[Path_]:
    """Every path to a value inside a JSON document (the root excluded)."""
    items: list[tuple[str | int, object]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    found: list[Path_] = []
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key)))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, document: dict[str, Any], max_edits: int = 3) -> dict[str, Any]:
    """A copy of a valid JSON body with 1 to ``max_edits`` values replaced, removed or added."""
    body = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(body)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = body
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        kind = draw(st.sampled_from(["similar", "similar", "similar", "replace", "remove", "add"]))
        if kind == "similar":
            parent[last] = draw(_similar(parent[last]))
        elif kind == "remove":
            del parent[last]
        elif kind == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(json_values)
        elif kind == "add":
            parent.insert(last, draw(json_values))
        else:
            parent[last] = draw(json_values)
    return body


def sample(name: str) -> str:
    """A golden X12 sample of the shared library's tests."""
    return (SAMPLES / name).read_bytes().decode()


def clean_answer(endpoint: str, response: httpx.Response) -> None:
    """No server error; a client error in the one error format."""
    TALLY[endpoint] += 1
    STATUSES[(endpoint, response.status_code)] += 1
    assert response.status_code < 500, f"{endpoint}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        document = response.json()
        assert isinstance(document, dict), response.text
        assert isinstance(document.get("error"), str), response.text
        assert document["error"], response.text
        assert "detail" in document, response.text


async def readable(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
    """What an intake accepted can be read back."""
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, f"accepted but not readable: {url} {response.status_code} {response.text}"


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """Print how many inputs each endpoint was sent, and its answers, at the end of the module."""
    yield
    print(f"\n[intake-fuzz] {sum(TALLY.values())} inputs:")
    for endpoint, count in sorted(TALLY.items()):
        statuses = {status: n for (name, status), n in sorted(STATUSES.items()) if name == endpoint}
        print(f"[intake-fuzz]   {endpoint}: {count} inputs, statuses {statuses}")


@pytest_asyncio.fixture(scope="module")
async def tenant(stack: Stack) -> TenantFixture:
    """The tenant the module's inputs are sent for."""
    return await stack.create_tenant("intake-fuzz")


@pytest_asyncio.fixture(scope="module")
async def sandbox() -> AsyncIterator[httpx.AsyncClient]:
    """A private payer-sandbox (in-process): the fuzzed files must not reach the session's payers."""
    app = sandbox_app(SandboxSettings(seed=11))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payer-sandbox") as client:
        yield client


@FUZZ
@given(document=mutated_documents(sample("835_multi_claim_reversal_plb.x12")))
async def test_mutated_835_uploads(stack: Stack, tenant: TenantFixture, document: str) -> None:
    client = stack.client("remit-svc")
    headers = tenant.headers(Role.ADMIN)
    response = await client.post(
        "/v1/remittances", content=document.encode(), headers={**headers, "Content-Type": "application/edi-x12"}
    )
    clean_answer("remit-svc POST /v1/remittances", response)
    if response.status_code < 300:
        for era in response.json()["remittances"]:
            if era["remittance_id"]:
                await readable(client, f"/v1/remittances/{era['remittance_id']}", headers)


def fhir_bundle() -> dict[str, Any]:
    """A FHIR R4 encounter bundle for the practice every test tenant has (NPI 1234567893)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "pat-1",
                    "name": [{"family": "Okafor", "given": ["Chidi"]}],
                    "gender": "male",
                    "birthDate": "1972-05-30",
                    "address": [{"line": ["12 Elm St"], "city": "Springfield", "state": "IL", "postalCode": "62701"}],
                }
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
                    "id": "enc-1",
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                    "subject": {"reference": "Patient/pat-1"},
                    "period": {"start": "2026-11-03T09:00:00-05:00", "end": "2026-11-03T09:30:00-05:00"},
                    "serviceProvider": {
                        "identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
                    },
                    "diagnosis": [{"condition": {"reference": "Condition/c1"}, "rank": 1}],
                }
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
                    "resourceType": "ChargeItem",
                    "id": "ch1",
                    "status": "billable",
                    "subject": {"reference": "Patient/pat-1"},
                    "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]},
                    "quantity": {"value": 1},
                    "priceOverride": {"value": 125.0, "currency": "USD"},
                }
            },
        ],
    }


@FUZZ
@given(data=st.data())
async def test_mutated_encounters(stack: Stack, tenant: TenantFixture, data: st.DataObject) -> None:
    client = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    body = data.draw(mutated_json(encounter_body(tenant)), label="body")
    response = await client.post("/v1/encounters", json=body, headers=headers)
    clean_answer("coding-svc POST /v1/encounters", response)
    if response.status_code < 300:
        await readable(client, f"/v1/encounters/{response.json()['id']}", tenant.headers(Role.ADMIN))


@FUZZ
@given(data=st.data())
async def test_mutated_fhir_encounter_bundles(stack: Stack, tenant: TenantFixture, data: st.DataObject) -> None:
    client = stack.client("coding-svc")
    headers = tenant.headers(Role.EHR_INTEGRATION)
    body = data.draw(mutated_json(fhir_bundle()), label="bundle")
    response = await client.post("/v1/fhir/encounter-bundles", json=body, headers=headers)
    clean_answer("coding-svc POST /v1/fhir/encounter-bundles", response)
    if response.status_code < 300:
        await readable(client, f"/v1/encounters/{response.json()['id']}", tenant.headers(Role.ADMIN))


def eligibility_body(tenant: TenantFixture) -> dict[str, Any]:
    """A real-time eligibility check as the front desk sends it."""
    return {
        "practice_id": tenant.practice_id,
        "provider_npi": "1234567893",
        "payer_id": "60054",
        "ehr_patient_id": "P-1",
        "subscriber": {"first_name": "Maria", "last_name": "Lopez", "birth_date": "1984-03-09", "member_id": "W1234"},
        "dependent": {"first_name": "Lucas", "last_name": "Lopez", "birth_date": "2015-07-20", "sex": "M"},
        "date_of_service": "2026-11-02",
        "service_type_codes": ["30", "98"],
    }


def fhir_eligibility_request() -> dict[str, Any]:
    """A FHIR R4 CoverageEligibilityRequest with its Patient, Coverage and provider contained."""
    return {
        "resourceType": "CoverageEligibilityRequest",
        "id": "req-1",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "maria",
                "name": [{"family": "Lopez", "given": ["Maria"]}],
                "birthDate": "1984-03-09",
                "gender": "female",
            },
            {
                "resourceType": "Coverage",
                "id": "cov",
                "status": "active",
                "subscriberId": "W123456789",
                "subscriber": {"reference": "#maria"},
                "beneficiary": {"reference": "#maria"},
                "payor": [{"identifier": {"value": "60054"}}],
            },
            {
                "resourceType": "Practitioner",
                "id": "dr",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
            },
        ],
        "status": "active",
        "purpose": ["benefits"],
        "patient": {"reference": "#maria"},
        "servicedDate": "2026-11-02",
        "created": "2026-11-01T09:00:00Z",
        "provider": {"reference": "#dr"},
        "insurer": {"identifier": {"value": "60054"}},
        "insurance": [{"focal": True, "coverage": {"reference": "#cov"}}],
        "item": [{"category": {"coding": [{"system": "https://x12.org/codes/service-type-codes", "code": "98"}]}}],
    }


@FUZZ
@given(data=st.data())
async def test_mutated_eligibility_checks(stack: Stack, tenant: TenantFixture, data: st.DataObject) -> None:
    client = stack.client("eligibility-svc")
    headers = tenant.headers(Role.BILLER)
    body = data.draw(mutated_json(eligibility_body(tenant)), label="body")
    response = await client.post("/v1/eligibility-checks", json=body, headers=headers, params={"refresh": "true"})
    clean_answer("eligibility-svc POST /v1/eligibility-checks", response)
    if response.status_code < 300:
        await readable(client, f"/v1/eligibility-checks/{response.json()['id']}", headers)


@FUZZ
@given(data=st.data())
async def test_mutated_fhir_eligibility_requests(stack: Stack, tenant: TenantFixture, data: st.DataObject) -> None:
    client = stack.client("eligibility-svc")
    body = data.draw(mutated_json(fhir_eligibility_request()), label="request")
    response = await client.post(
        "/v1/fhir/CoverageEligibilityRequest", json=body, headers=tenant.headers(Role.BILLER), params={"refresh": "1"}
    )
    clean_answer("eligibility-svc POST /v1/fhir/CoverageEligibilityRequest", response)
    if response.status_code < 300:
        assert response.json()["resourceType"] == "CoverageEligibilityResponse"


@FUZZ
@given(data=st.data())
async def test_mutated_eligibility_batches(stack: Stack, tenant: TenantFixture, data: st.DataObject) -> None:
    client = stack.client("eligibility-svc")
    headers = tenant.headers(Role.BILLER)
    item = {key: value for key, value in eligibility_body(tenant).items() if key != "practice_id"}
    body = data.draw(mutated_json({"practice_id": tenant.practice_id, "items": [item, copy.deepcopy(item)]}))
    response = await client.post("/v1/eligibility-batches", json=body, headers=headers)
    clean_answer("eligibility-svc POST /v1/eligibility-batches", response)
    if response.status_code < 300:
        await readable(client, f"/v1/eligibility-batches/{response.json()['id']}", headers)


SANDBOX_INTAKE: list[tuple[str, str, Callable[[], dict[str, str]]]] = [
    ("/v1/eligibility", "270_subscriber_dependent.x12", dict),
    ("/v1/claim-status", "276_status_request.x12", lambda: {"tenant": "fuzz"}),
    ("/v1/submissions", "837p_dependent_corrected.x12", lambda: {"tenant": "fuzz"}),
    ("/v1/submissions", "837i_outpatient.x12", lambda: {"tenant": "fuzz"}),
    ("/v1/submissions", "276_status_request.x12", lambda: {"tenant": "fuzz"}),
]


@pytest.mark.parametrize(("path", "sample_name", "params"), SANDBOX_INTAKE, ids=[s for _, s, _ in SANDBOX_INTAKE])
@FUZZ
@given(data=st.data())
async def test_mutated_files_sent_to_the_payer_sandbox(
    sandbox: httpx.AsyncClient,
    tenant: TenantFixture,
    path: str,
    sample_name: str,
    params: Callable[[], dict[str, str]],
    data: st.DataObject,
) -> None:
    document = data.draw(mutated_documents(sample(sample_name)), label="document")
    response = await sandbox.post(path, content=document.encode(), params=params())
    clean_answer(f"payer-sandbox POST {path} ({sample_name[:4].rstrip('_')})", response)


async def test_the_unmutated_bodies_are_accepted(
    stack: Stack, tenant: TenantFixture, sandbox: httpx.AsyncClient
) -> None:
    ehr, biller = tenant.headers(Role.EHR_INTEGRATION), tenant.headers(Role.BILLER)
    coding, eligibility = stack.client("coding-svc"), stack.client("eligibility-svc")
    answers = {
        "encounter": await coding.post("/v1/encounters", json=encounter_body(tenant), headers=ehr),
        "bundle": await coding.post("/v1/fhir/encounter-bundles", json=fhir_bundle(), headers=ehr),
        "check": await eligibility.post("/v1/eligibility-checks", json=eligibility_body(tenant), headers=biller),
        "fhir check": await eligibility.post(
            "/v1/fhir/CoverageEligibilityRequest", json=fhir_eligibility_request(), headers=biller
        ),
    }
    answers["835"] = await stack.client("remit-svc").post(
        "/v1/remittances",
        content=sample("835_multi_claim_reversal_plb.x12").encode(),
        headers={**tenant.headers(Role.ADMIN), "Content-Type": "application/edi-x12"},
    )
    for path, name, params in SANDBOX_INTAKE:
        answers[name] = await sandbox.post(path, content=sample(name).encode(), params=params())
    assert {name: r.status_code for name, r in answers.items() if r.status_code >= 300} == {}, {
        name: r.text[:300] for name, r in answers.items() if r.status_code >= 300
    }
