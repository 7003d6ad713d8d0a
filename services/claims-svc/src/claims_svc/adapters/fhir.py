"""A claim as a FHIR R4 (4.0.1) ``Claim`` resource, for EHRs and patient-record systems that read FHIR.

Minimum necessary: the patient is referenced by ClaimFlow's patient id, not by name; codes, amounts, dates,
payer and provider identifiers are included. Validated with the fhir.resources R4B model before it is returned.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.claim import Claim as FhirClaim

from claimflow_events import ServiceLine
from claims_svc.adapters.tables import Claim
from claims_svc.domain.claim import PAYER_ORDER
from claims_svc.domain.cob import coverages_of

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NPI = "http://hl7.org/fhir/sid/us-npi"
_STATUS = {"voided": "cancelled"}


def _money(value: Any) -> dict[str, Any]:
    return {"value": float(value), "currency": "USD"}


def _insurance(claim: Claim) -> list[dict[str, Any]]:
    """Every plan of the patient in payer order; the one this claim bills is focal, earlier payers carry the
    claim number of their adjudication."""
    adjudicated = {str(a["payer_sequence"]): a for a in claim.prior_adjudications}
    plans = [(claim.payer_sequence, claim.payer_id or "")] + [
        (str(c["payer_sequence"]), str(c["payer_id"])) for c in coverages_of(claim.parties)
    ]
    entries = []
    for sequence, payer_id in sorted(plans, key=lambda plan: PAYER_ORDER.index(plan[0])):
        focal = sequence == claim.payer_sequence
        number = claim.payer_claim_number if focal else adjudicated.get(sequence, {}).get("payer_claim_number")
        entries.append(
            {
                "sequence": PAYER_ORDER.index(sequence) + 1,
                "focal": focal,
                "coverage": {"display": f"payer {payer_id} ({sequence})"},
                **({"claimResponse": {"identifier": {"value": number}}} if number else {}),
            }
        )
    return entries


def claim_resource(claim: Claim) -> dict[str, Any]:
    """The FHIR R4 Claim for a stored claim (professional claims: type ``professional``)."""
    lines = [ServiceLine.model_validate(line) for line in claim.service_lines]
    resource: dict[str, Any] = {
        "resourceType": "Claim",
        "id": claim.id.replace("_", "-"),
        "identifier": [
            {"system": "urn:claimflow:claim", "value": claim.id},
            {"system": "urn:claimflow:patient-control-number", "value": claim.patient_control_number or claim.id},
        ],
        "status": "cancelled" if claim.frequency_code == "8" else "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "institutional" if claim.claim_kind == "institutional" else "professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"identifier": {"system": "urn:claimflow:patient", "value": claim.patient_id}},
        "created": claim.created_at.isoformat(),
        "provider": {"identifier": {"system": NPI, "value": claim.billing_npi or ""}},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurer": {"identifier": {"system": "urn:claimflow:payer", "value": claim.payer_id or ""}},
        "insurance": _insurance(claim),
        "diagnosis": [
            {"sequence": index, "diagnosisCodeableConcept": {"coding": [{"system": ICD10CM, "code": code}]}}
            for index, code in enumerate(claim.diagnosis_codes, start=1)
        ],
        "item": [
            {
                "sequence": line.line_number,
                "diagnosisSequence": list(line.diagnosis_pointers),
                "productOrService": {
                    "coding": [
                        {
                            "system": CPT if line.procedure_code[0].isdigit() else HCPCS,
                            "code": line.procedure_code,
                        }
                    ]
                },
                **(
                    {"modifier": [{"coding": [{"code": modifier}]} for modifier in line.modifiers]}
                    if line.modifiers
                    else {}
                ),
                "servicedDate": claim.date_of_service.isoformat(),
                "locationCodeableConcept": {
                    "coding": [
                        {
                            "system": "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
                            "code": claim.place_of_service or "11",
                        }
                    ]
                },
                "quantity": {"value": float(line.units)},
                **({"net": _money(line.charge)} if line.charge is not None else {}),
            }
            for line in lines
        ],
        "total": _money(claim.total_charge),
    }
    related: list[dict[str, Any]] = []
    if claim.original_claim_id:
        related.append({"claim": {"identifier": {"system": "urn:claimflow:claim", "value": claim.original_claim_id}}})
    if claim.prior_claim_id:  # the earlier payer's claim for the same services
        related.append(
            {
                "claim": {"identifier": {"system": "urn:claimflow:claim", "value": claim.prior_claim_id}},
                "relationship": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship", "code": "prior"}
                    ]
                },
            }
        )
    if related:
        resource["related"] = related
    FhirClaim.model_validate(resource)
    return resource
