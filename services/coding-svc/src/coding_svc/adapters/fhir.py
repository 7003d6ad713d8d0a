"""FHIR R4 intake: a Bundle of Encounter, Patient, Coverage, Condition and Procedure/ChargeItem → EncounterIn.

Parsed with the R4B models of fhir.resources, which accept R4 (4.0.1) JSON for these resources. The
mapping follows US Core conventions: ICD-10-CM codings on Condition.code, CPT/HCPCS codings on
Procedure.code or ChargeItem.code, NPIs as identifiers with the us-npi system, Encounter.diagnosis
ranks for the order of diagnoses. The patient's active Coverages in ``Coverage.order`` (bundle order when absent)
are the primary plan and the plans that pay after it (coordination of benefits); a Coverage whose
``relationship`` is not ``self`` names its card holder as ``Coverage.subscriber`` (a RelatedPerson). An Account
whose ``guarantor.party`` is the Patient or a RelatedPerson names who answers for the patient's balance (statements
are addressed to them); without one, ClaimFlow's rule applies (the card holder of a dependent, else the patient).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.account import Account
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.chargeitem import ChargeItem
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.relatedperson import RelatedPerson
from pydantic import ValidationError

from claimflow_kit.errors import InvalidInput
from coding_svc.api.schemas import (
    AddressIn,
    EncounterIn,
    GuarantorIn,
    OtherCoverageIn,
    PatientIn,
    ServiceLineIn,
    SubscriberIn,
)

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = {"https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "urn:oid:2.16.840.1.113883.6.285"}
NPI = "http://hl7.org/fhir/sid/us-npi"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
MODIFIER_EXTENSION = "https://claimflow.dev/fhir/StructureDefinition/procedure-modifier"
PRACTICE_SYSTEM = "urn:claimflow:practice"
POS_BY_ENCOUNTER_CLASS = {"AMB": "11", "EMER": "23", "IMP": "21", "HH": "12", "VR": "10", "OBSENC": "22"}
GENDER = {"female": "F", "male": "M"}
# FHIR subscriber-relationship codes → X12 individual relationship codes (2000B SBR02 / 2000C PAT01).
RELATIONSHIP = {"spouse": "01", "common": "53", "child": "19", "parent": "G8", "other": "G8", "injured": "G8"}
PAYS_AFTER_PRIMARY = ("secondary", "tertiary")


def _codes(concept: CodeableConcept | None, systems: Iterable[str]) -> list[str]:
    wanted = set(systems)
    return [c.code for c in (concept.coding or []) if concept and c.system in wanted and c.code] if concept else []


def _identifier(identifiers: Iterable[Identifier] | None, system: str) -> str | None:
    return next((i.value for i in identifiers or () if i.system == system and i.value), None)


def _ref_id(reference: Reference | None) -> str | None:
    if reference is None or not reference.reference:
        return None
    return str(reference.reference).rsplit("/", 1)[-1].removeprefix("urn:uuid:")


def _as_date(value: Any, where: str) -> date:
    if value is None:
        raise InvalidInput(f"{where} is required")
    if isinstance(value, datetime):
        return value.date()  # the date in the encounter's own time zone
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class FhirEncounterBundle:
    """The resources of one encounter bundle, indexed by type and id."""

    def __init__(self, document: dict[str, Any]) -> None:
        if document.get("resourceType") != "Bundle":
            raise InvalidInput("expected a FHIR Bundle (resourceType 'Bundle')")
        try:
            bundle = Bundle.model_validate(document)
        except ValidationError as exc:
            raise InvalidInput(f"invalid FHIR R4 bundle: {exc.error_count()} error(s): {_first_error(exc)}") from None
        except (KeyError, TypeError):  # fhir.resources' answer to an entry whose resourceType it does not know
            raise InvalidInput(
                "invalid FHIR R4 bundle: an entry's resource has a missing or unknown resourceType"
            ) from None
        self.resources: list[Any] = [e.resource for e in bundle.entry or [] if e.resource is not None]
        self.by_id = {f"{type(r).__name__}/{r.id}": r for r in self.resources if getattr(r, "id", None)} | {
            str(e.fullUrl): e.resource for e in bundle.entry or [] if e.fullUrl and e.resource is not None
        }

    def of_type(self, kind: type[Any]) -> list[Any]:
        """Resources of one type, in bundle order."""
        return [r for r in self.resources if isinstance(r, kind)]

    def one(self, kind: type[Any]) -> Any:
        """The single resource of a type; a clear error when missing or repeated."""
        found = self.of_type(kind)
        if len(found) != 1:
            raise InvalidInput(f"the bundle must contain exactly one {kind.__name__} (found {len(found)})")
        return found[0]

    def resolve(self, reference: Reference | None) -> Any:
        """The bundle resource a reference points at, or None."""
        if reference is None or not reference.reference:
            return None
        text = str(reference.reference)
        return self.by_id.get(text) or self.by_id.get(text.rsplit("/", 2)[-2] + "/" + text.rsplit("/", 1)[-1])


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


def _address(patient: Patient | RelatedPerson) -> AddressIn | None:
    """The person's home (or first) US address, when it has street, city, state and ZIP."""
    addresses = sorted(patient.address or [], key=lambda a: a.use != "home")
    for address in addresses:
        lines = [line for line in address.line or [] if line]
        zip_code = (address.postalCode or "").replace("-", "")
        if lines and address.city and address.state and len(address.state) == 2 and zip_code.isdigit():
            return AddressIn(
                line1=lines[0],
                line2=lines[1] if len(lines) > 1 else None,
                city=address.city,
                state=address.state.upper(),
                postal_code=zip_code,
            )
    return None


def encounter_from_bundle(document: dict[str, Any], practices_by_npi: dict[str, str]) -> EncounterIn:
    """Map an encounter bundle to the intake document; ``practices_by_npi`` maps billing NPIs to practices."""
    bundle = FhirEncounterBundle(document)
    encounter: Encounter = bundle.one(Encounter)
    patient: Patient = bundle.one(Patient)
    coverages = _coverages(bundle)
    coverage = coverages[0] if coverages else None

    billing_npi = None
    practice_id = None
    provider = encounter.serviceProvider
    if provider is not None and provider.identifier is not None:
        if provider.identifier.system == NPI:
            billing_npi = provider.identifier.value
        elif provider.identifier.system == PRACTICE_SYSTEM:
            practice_id = provider.identifier.value
    if billing_npi and not practice_id:
        practice_id = practices_by_npi.get(billing_npi)
    if not practice_id:
        raise InvalidInput("Encounter.serviceProvider must identify a practice of this tenant (us-npi identifier)")
    if not billing_npi:
        billing_npi = next((npi for npi, pid in practices_by_npi.items() if pid == practice_id), None)
    rendering_npi = next(
        (
            p.individual.identifier.value
            for p in encounter.participant or []
            if p.individual is not None
            and p.individual.identifier is not None
            and p.individual.identifier.system == NPI
        ),
        billing_npi,
    )

    identifiers = [i.value for i in encounter.identifier or [] if i.value]
    ehr_encounter_id = identifiers[0] if identifiers else encounter.id
    if not ehr_encounter_id:
        raise InvalidInput("Encounter.id or Encounter.identifier is required (the EHR's encounter id)")
    if encounter.period is None:
        raise InvalidInput("Encounter.period.start is required (date of service)")
    start = _as_date(encounter.period.start, "Encounter.period.start")
    end = _as_date(encounter.period.end, "Encounter.period.end") if encounter.period.end else None

    diagnoses = _diagnoses(bundle, encounter)
    names = patient.name or []
    name = names[0] if names else None
    if name is None or not name.family or not name.given:
        raise InvalidInput("Patient.name with family and given names is required")
    if patient.birthDate is None:
        raise InvalidInput("Patient.birthDate is required")
    try:
        return EncounterIn(
            practice_id=practice_id,
            ehr_encounter_id=str(ehr_encounter_id),
            patient=PatientIn(
                ehr_patient_id=patient.id or next((i.value for i in patient.identifier or [] if i.value), ""),
                first_name=name.given[0],
                last_name=name.family,
                birth_date=patient.birthDate,
                sex=GENDER.get(patient.gender or "", "U"),
                member_id=coverage.subscriberId if coverage else None,
                address=_address(patient),
            ),
            payer_id=_payer_id(bundle, coverage),
            group_number=_group_number(coverage),
            subscriber=_subscriber(bundle, coverage),
            **_guarantor(bundle, patient, start),
            other_coverages=[
                OtherCoverageIn(
                    payer_sequence=sequence,
                    payer_id=_payer_id(bundle, other) or "",
                    member_id=other.subscriberId or "",
                    group_number=_group_number(other),
                    subscriber=_subscriber(bundle, other),
                )
                for sequence, other in zip(PAYS_AFTER_PRIMARY, coverages[1:], strict=False)
            ],
            date_of_service=start,
            date_of_service_to=end if end and end != start else None,
            place_of_service=_place_of_service(encounter),
            rendering_provider_npi=rendering_npi or "",
            billing_provider_npi=billing_npi or "",
            diagnoses=diagnoses,
            lines=_lines(bundle, len(diagnoses)),  # inside the try: a line's own model checks its codes too
            clinical_note=_narrative(encounter),
        )
    except ValidationError as exc:
        raise InvalidInput(f"the bundle maps to an invalid encounter: {_first_error(exc)}") from None


def _diagnoses(bundle: FhirEncounterBundle, encounter: Encounter) -> list[str]:
    ranked = sorted(encounter.diagnosis or [], key=lambda d: d.rank or 99)
    conditions: list[Condition] = [c for d in ranked if isinstance(c := bundle.resolve(d.condition), Condition)]
    if not conditions:
        conditions = bundle.of_type(Condition)
    codes = []
    for condition in conditions:
        found = _codes(condition.code, [ICD10CM])
        if not found:
            raise InvalidInput(f"Condition/{condition.id} has no ICD-10-CM coding ({ICD10CM})")
        codes.append(found[0])
    return codes


def _lines(bundle: FhirEncounterBundle, diagnosis_count: int) -> list[ServiceLineIn]:
    pointers = list(range(1, min(diagnosis_count, 4) + 1))
    lines: list[ServiceLineIn] = []
    for resource in [*bundle.of_type(ChargeItem), *bundle.of_type(Procedure)]:
        codes = _codes(resource.code, [CPT, *HCPCS])
        if not codes:
            raise InvalidInput(f"{type(resource).__name__}/{resource.id} has no CPT or HCPCS coding")
        if isinstance(resource, Procedure) and any(line.procedure_code == codes[0] for line in lines):
            continue  # the ChargeItem for this procedure already made the line
        modifiers = [e.valueCode for e in resource.extension or [] if e.url == MODIFIER_EXTENSION and e.valueCode]
        units = Decimal(1)
        charge = None
        if isinstance(resource, ChargeItem):
            if resource.quantity is not None and resource.quantity.value is not None:
                units = Decimal(str(resource.quantity.value))
            if resource.priceOverride is not None and resource.priceOverride.value is not None:
                charge = Decimal(str(resource.priceOverride.value))
        lines.append(
            ServiceLineIn(
                procedure_code=codes[0], modifiers=modifiers, units=units, diagnosis_pointers=pointers, charge=charge
            )
        )
    return lines


def _coverages(bundle: FhirEncounterBundle) -> list[Coverage]:
    """The patient's plans in the order they pay: active Coverages by ``order``, bundle order when it is absent."""
    active = [c for c in bundle.of_type(Coverage) if c.status == "active"]
    ranked = sorted(enumerate(active), key=lambda item: (item[1].order or 99, item[0]))
    if len(ranked) > 1 + len(PAYS_AFTER_PRIMARY):
        raise InvalidInput(
            f"the bundle has {len(ranked)} active Coverages; at most 3 plans are billed (primary to tertiary)"
        )
    return [coverage for _, coverage in ranked]


def _group_number(coverage: Coverage | None) -> str | None:
    """The plan's group number (Coverage.class of type ``group``)."""
    for plan_class in (coverage.class_fhir if coverage else None) or []:
        if any(coding.code == "group" for coding in plan_class.type.coding or []) and plan_class.value:
            return str(plan_class.value)
    return None


def _subscriber(bundle: FhirEncounterBundle, coverage: Coverage | None) -> SubscriberIn | None:
    """The card holder when it is not the patient (Coverage.relationship other than ``self``)."""
    codes = (
        [c.code for c in (coverage.relationship.coding or []) if c.code] if coverage and coverage.relationship else []
    )
    if coverage is None or not codes or codes[0] == "self":
        return None
    relationship = RELATIONSHIP.get(str(codes[0]), "G8")
    holder = bundle.resolve(coverage.subscriber)
    names = getattr(holder, "name", None) or []
    name = names[0] if names else None
    if not isinstance(holder, RelatedPerson | Patient) or name is None or not name.family or not name.given:
        raise InvalidInput(
            f"Coverage/{coverage.id}: the patient is not the card holder ({codes[0]}), so Coverage.subscriber must "
            "reference the card holder (a RelatedPerson with name and birthDate) in the bundle"
        )
    if holder.birthDate is None:
        raise InvalidInput(f"Coverage/{coverage.id}: the card holder's birthDate is required")
    return SubscriberIn(
        relationship=relationship,
        first_name=name.given[0],
        last_name=name.family,
        birth_date=holder.birthDate,
        sex=GENDER.get(holder.gender or "", "U"),
        address=_address(holder),
    )


def _guarantor(bundle: FhirEncounterBundle, patient: Patient, day: date) -> dict[str, Any]:
    """``ehr_guarantor_id`` and ``guarantor`` from the bundle's Account: its first guarantor not on hold whose period
    covers the date of service. The party must be the patient or a RelatedPerson with a name (an Organization cannot
    receive a patient statement)."""
    accounts = bundle.of_type(Account)
    if len(accounts) > 1:
        raise InvalidInput(f"the bundle may contain one Account (found {len(accounts)})")
    if not accounts:
        return {}
    account: Account = accounts[0]
    for guarantor in account.guarantor or []:
        period = guarantor.period
        if guarantor.onHold or (period is not None and not _covers(period.start, period.end, day)):
            continue
        party = bundle.resolve(guarantor.party)
        if party is patient:
            return {"ehr_guarantor_id": patient.id or None}
        names = getattr(party, "name", None) or []
        name = names[0] if names else None
        if not isinstance(party, RelatedPerson) or not party.id or name is None or not name.family or not name.given:
            raise InvalidInput(
                f"Account/{account.id}: guarantor.party must reference the Patient or a RelatedPerson (with id and "
                "name) in the bundle"
            )
        return {
            "ehr_guarantor_id": party.id,
            "guarantor": GuarantorIn(first_name=name.given[0], last_name=name.family, address=_address(party)),
        }
    return {}


def _covers(start: Any, end: Any, day: date) -> bool:
    """Whether a FHIR period (either end open) includes ``day``."""
    return (start is None or _as_date(start, "Account.guarantor.period.start") <= day) and (
        end is None or day <= _as_date(end, "Account.guarantor.period.end")
    )


def _payer_id(bundle: FhirEncounterBundle, coverage: Coverage | None) -> str | None:
    if coverage is None:
        return None
    for payor in coverage.payor or []:
        if payor.identifier is not None and payor.identifier.value:
            return str(payor.identifier.value)
        organization = bundle.resolve(payor)
        if organization is not None and getattr(organization, "identifier", None):
            return str(organization.identifier[0].value)
    return None


def _place_of_service(encounter: Encounter) -> str:
    concepts = [*(encounter.type or []), encounter.serviceType]
    for location in encounter.location or []:
        concepts.append(location.physicalType)
    for concept in concepts:
        codes = _codes(concept, [PLACE_OF_SERVICE])
        if codes:
            return codes[0]
    encounter_class = encounter.class_fhir.code if encounter.class_fhir is not None else None
    return POS_BY_ENCOUNTER_CLASS.get(encounter_class or "", "11")


def _narrative(encounter: Encounter) -> str | None:
    if encounter.text is None or not encounter.text.div:
        return None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(encounter.text.div))).strip() or None
