"""FHIR R4 (4.0.1) CoverageEligibilityRequest in, CoverageEligibilityResponse out.

EHRs send the request with its Patient, Coverage and provider as ``contained`` resources (or as references
ClaimFlow cannot follow — those are refused with a clear message). The fhir.resources R4B models read R4
JSON for these resources; they check structure, not value sets, so the codes that matter are checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from pydantic import ValidationError

from claimflow_kit.errors import InvalidInput
from eligibility_svc.api.schemas import EligibilityCheckIn, EligibilityCheckOut, PersonIn

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SERVICE_TYPE_SYSTEM = "https://x12.org/codes/service-type-codes"
BENEFIT_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-type"
NETWORK_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-network"
UNIT_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-unit"
TERM_SYSTEM = "http://terminology.hl7.org/CodeSystem/benefit-term"
AAA_SYSTEM = "https://x12.org/codes/reject-reason-codes"
REQUEST_STATUSES = {"active"}
PURPOSES = {"auth-requirements", "benefits", "discovery", "validation"}
_SEX = {"female": "F", "male": "M", "unknown": "U", "other": "U"}
_BENEFIT_TYPES = {
    "copay": "copay",
    "coinsurance": "copay-percent",
    "deductible": "deductible",
    "out_of_pocket": "benefit",
}


def _contained(request: CoverageEligibilityRequest, reference: str | None, kind: str) -> Any:
    if not reference:
        raise InvalidInput(f"CoverageEligibilityRequest has no {kind} reference")
    if not reference.startswith("#"):
        raise InvalidInput(f"{kind} reference {reference!r} must point to a contained resource (#id)")
    for resource in request.contained or []:
        if resource.get_resource_type() == kind and resource.id == reference[1:]:
            return resource
    raise InvalidInput(f"contained {kind} {reference!r} not found")


def _person(patient: Patient, member_id: str | None) -> PersonIn:
    if not patient.name:
        raise InvalidInput("Patient.name is required (as on the insurance card)")
    name = patient.name[0]
    if not name.family or not name.given:
        raise InvalidInput("Patient.name needs family and given names")
    if patient.birthDate is None:
        raise InvalidInput("Patient.birthDate is required")
    sex = _SEX.get(patient.gender or "")
    return PersonIn(
        first_name=name.given[0], last_name=name.family, birth_date=patient.birthDate, sex=sex, member_id=member_id
    )


def _npi(resource: Practitioner | Organization) -> str:
    for identifier in resource.identifier or []:
        if identifier.system == NPI_SYSTEM and identifier.value:
            return str(identifier.value)
    raise InvalidInput("the provider needs an identifier with system http://hl7.org/fhir/sid/us-npi")


def request_from_fhir(body: dict[str, Any], practice_for_npi: Callable[[str], str]) -> tuple[EligibilityCheckIn, str]:
    """The check a FHIR CoverageEligibilityRequest asks for, and the request's id (echoed in the response)."""
    if body.get("resourceType") != "CoverageEligibilityRequest":
        raise InvalidInput("expected a FHIR R4 CoverageEligibilityRequest resource")
    try:
        request = CoverageEligibilityRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(f"not a valid CoverageEligibilityRequest: {exc.errors()[0]['msg']}") from None
    except (KeyError, TypeError):  # fhir.resources' answer to a contained resource whose resourceType it does not know
        raise InvalidInput(
            "not a valid CoverageEligibilityRequest: a contained resource has a missing or unknown resourceType"
        ) from None
    if request.status not in REQUEST_STATUSES:
        raise InvalidInput(f"CoverageEligibilityRequest.status must be active, got {request.status!r}")
    if not set(request.purpose or []) <= PURPOSES or not request.purpose:
        raise InvalidInput(f"CoverageEligibilityRequest.purpose must be among {sorted(PURPOSES)}")
    if request.servicedDate is None:
        raise InvalidInput("servicedDate is required (the date of service)")
    # R4 requires patient and insurance.coverage; the model package lets a null through, so check here.
    patient: Patient = _contained(request, request.patient.reference if request.patient else None, "Patient")
    if not request.insurance or request.insurance[0].coverage is None:
        raise InvalidInput("insurance[0].coverage is required")
    coverage: Coverage = _contained(request, request.insurance[0].coverage.reference, "Coverage")
    payer_ids = [
        (identifier.value, getattr(payor, "display", None))
        for payor in coverage.payor or []
        for identifier in [payor.identifier]
        if identifier is not None and identifier.value
    ]
    if not payer_ids:
        raise InvalidInput("Coverage.payor needs an identifier (the payer id)")
    payer_id, payer_name = payer_ids[0]
    provider_reference = request.provider.reference if request.provider else None
    try:
        provider: Practitioner | Organization = _contained(request, provider_reference, "Practitioner")
    except InvalidInput:
        provider = _contained(request, provider_reference, "Organization")
    provider_npi = _npi(provider)
    relationship = (
        coverage.relationship.coding[0].code if coverage.relationship and coverage.relationship.coding else "self"
    )
    member_id = coverage.subscriberId
    if relationship == "self":
        subscriber, dependent = _person(patient, member_id), None
    else:
        holder: Patient = _contained(request, coverage.subscriber.reference if coverage.subscriber else None, "Patient")
        subscriber, dependent = _person(holder, member_id), _person(patient, None)
    service_types = [
        coding.code
        for item in request.item or []
        if item.category is not None
        for coding in item.category.coding or []
        if coding.system == SERVICE_TYPE_SYSTEM and coding.code
    ] or ["30"]
    check = EligibilityCheckIn(
        practice_id=practice_for_npi(provider_npi),
        provider_npi=provider_npi,
        payer_id=str(payer_id),
        payer_name=payer_name,
        ehr_patient_id=patient.id or "unknown",
        subscriber=subscriber,
        dependent=dependent,
        date_of_service=request.servicedDate,
        service_type_codes=service_types,
    )
    return check, request.id or ""


def _money(value: str | None) -> dict[str, Any] | None:
    return {"value": float(Decimal(value)), "currency": "USD"} if value is not None else None


def response_to_fhir(check: EligibilityCheckOut, request_id: str) -> dict[str, Any]:
    """The CoverageEligibilityResponse for a stored check (validated against the R4B model before return)."""
    answered = check.status in ("active", "inactive")
    items = []
    for benefit in check.benefits:
        if benefit.kind not in _BENEFIT_TYPES:
            continue
        remaining = benefit.time_period == "29"
        amount: dict[str, Any] = {
            "type": {"coding": [{"system": BENEFIT_TYPE_SYSTEM, "code": _BENEFIT_TYPES[benefit.kind]}]}
        }
        if benefit.kind == "coinsurance" and benefit.percent is not None:
            amount["allowedString"] = f"{Decimal(benefit.percent).normalize()}%"
        elif remaining:
            amount["allowedString"] = f"remaining {benefit.amount}"
        else:
            money = _money(benefit.amount)
            if money is None:
                continue
            amount["allowedMoney"] = money
        item: dict[str, Any] = {
            "category": {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": benefit.service_type_code}]},
            "name": f"{benefit.kind.replace('_', ' ')}{' remaining' if remaining else ''}",
            "benefit": [amount],
        }
        if benefit.in_network is not None:
            item["network"] = {"coding": [{"system": NETWORK_SYSTEM, "code": "in" if benefit.in_network else "out"}]}
        if benefit.coverage_level in ("IND", "FAM"):
            code = "individual" if benefit.coverage_level == "IND" else "family"
            item["unit"] = {"coding": [{"system": UNIT_SYSTEM, "code": code}]}
        items.append(item)
    response: dict[str, Any] = {
        "resourceType": "CoverageEligibilityResponse",
        "id": check.id.replace("_", "-"),
        "identifier": [{"system": "urn:claimflow:eligibility-check", "value": check.id}],
        "status": "active",
        "purpose": ["benefits", "validation"],
        "patient": {"identifier": {"system": "urn:claimflow:patient", "value": check.patient_id}},
        "servicedDate": check.date_of_service.isoformat(),
        "created": (check.completed_at or check.created_at).isoformat(),
        "request": {"reference": f"CoverageEligibilityRequest/{request_id}"} if request_id else {"display": "inline"},
        "outcome": "complete" if answered else "error",
        "disposition": _disposition(check),
        "insurer": {"identifier": {"value": check.payer_id or ""}},
    }
    if answered:
        insurance: dict[str, Any] = {
            "coverage": {"display": check.plan_name or "coverage"},
            "inforce": check.status == "active",
            "item": items,
        }
        if check.coverage_start:
            period: dict[str, str] = {"start": check.coverage_start.isoformat()}
            if check.coverage_end:
                period["end"] = check.coverage_end.isoformat()
            insurance["benefitPeriod"] = period
        response["insurance"] = [insurance]
    errors = [{"code": {"coding": [{"system": AAA_SYSTEM, "code": p.code}], "text": p.message}} for p in check.problems]
    if errors:
        response["error"] = errors
    CoverageEligibilityResponse.model_validate(response)
    return response


def _disposition(check: EligibilityCheckOut) -> str:
    if check.status == "active":
        return f"Coverage active: {check.plan_name or 'plan'}"
    if check.status == "inactive":
        return f"Coverage not active on {check.date_of_service.isoformat()}"
    if check.problems:
        return "; ".join(p.message for p in check.problems)
    return f"No answer from the payer ({check.status})"
