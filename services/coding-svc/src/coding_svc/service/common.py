"""Pieces shared by intake and the work queue: statuses, derived ids, and the encounter-coded event."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import (
    Addressee,
    ClaimParties,
    EncounterCoded,
    OtherCoverage,
    PartyPerson,
    PayerSequence,
    PostalAddress,
    ServiceLine,
)
from claimflow_kit.context import correlation_id_var
from claimflow_kit.identifiers import card_holder_reference, patient_reference
from claimflow_kit.outbox import Outbox
from coding_svc.adapters.tables import Encounter
from coding_svc.api.schemas import AddressIn, EncounterIn, GuarantorIn, PatientIn, SubscriberIn


class EncounterStatus:
    """Where an encounter is in coding."""

    RECEIVED = "received"
    CODED = "coded"
    REVIEW_REQUIRED = "review-required"
    SUPERSEDED = "superseded"


def encounter_correlation_id(tenant_id: str, practice_id: str, ehr_encounter_id: str) -> str:
    """One correlation id per EHR encounter, shared by all its versions and every event of its cycle."""
    digest = hashlib.sha256(f"{tenant_id}|{practice_id}|{ehr_encounter_id}".encode()).hexdigest()
    return f"cor_{digest[:24]}"


def service_lines(document: EncounterIn) -> tuple[ServiceLine, ...]:
    return tuple(
        ServiceLine(
            line_number=number,
            procedure_code=line.procedure_code,
            modifiers=tuple(line.modifiers),
            units=line.units,
            diagnosis_pointers=tuple(line.diagnosis_pointers),
            charge=line.charge,
            revenue_code=line.revenue_code,
        )
        for number, line in enumerate(document.lines, start=1)
    )


def _address(address: AddressIn | None) -> PostalAddress | None:
    return PostalAddress(**address.model_dump()) if address is not None else None


def _card_holder(subscriber: SubscriberIn | None) -> PartyPerson | None:
    if subscriber is None:
        return None
    return PartyPerson(
        first_name=subscriber.first_name,
        last_name=subscriber.last_name,
        birth_date=subscriber.birth_date,
        sex=subscriber.sex,
        address=_address(subscriber.address),
    )


def guarantor_of(tenant_id: str, practice_id: str, patient_id: str, document: EncounterIn) -> str:
    """The account the patient's share is billed to: the EHR's guarantor, else the primary plan's card holder when
    the patient is a dependent (siblings on a parent's card share one account), else the patient's own."""
    if document.ehr_guarantor_id is not None:
        return patient_reference(tenant_id, practice_id, document.ehr_guarantor_id)
    holder = document.subscriber
    if holder is None:
        return patient_id
    return card_holder_reference(
        tenant_id,
        document.payer_id or "",
        document.patient.member_id,
        holder.last_name,
        holder.first_name,
        holder.birth_date.isoformat(),
    )


def statement_addressee(document: EncounterIn) -> Addressee | None:
    """Whom the guarantor's statements are addressed to: the guarantor the EHR described, else whoever
    ``guarantor_of`` made the guarantor (the card holder of a dependent, or the patient). None when the EHR named a
    guarantor other than the patient without describing them."""
    patient = document.patient
    if document.guarantor is not None:
        person: GuarantorIn | SubscriberIn | PatientIn = document.guarantor
    elif document.ehr_guarantor_id is None and document.subscriber is not None:
        person = document.subscriber
    elif document.ehr_guarantor_id in (None, patient.ehr_patient_id):
        person = patient
    else:
        return None
    return Addressee(first_name=person.first_name, last_name=person.last_name, address=_address(person.address))


def claim_parties(document: EncounterIn, guarantor_id: str) -> ClaimParties:
    """The patient, subscriber, the patient's other plans (in payer order) and the guarantor as the claims must
    name them."""
    patient = document.patient
    subscriber = document.subscriber
    return ClaimParties(
        guarantor_id=guarantor_id,
        member_id=patient.member_id,
        group_number=document.group_number,
        patient=PartyPerson(
            first_name=patient.first_name,
            last_name=patient.last_name,
            birth_date=patient.birth_date,
            sex=patient.sex,
            address=_address(patient.address),
        ),
        relationship_to_subscriber=subscriber.relationship if subscriber else "18",
        subscriber=_card_holder(subscriber),
        other_coverages=tuple(
            OtherCoverage(
                payer_sequence=PayerSequence(coverage.payer_sequence),
                payer_id=coverage.payer_id,
                member_id=coverage.member_id,
                group_number=coverage.group_number,
                relationship_to_subscriber=coverage.subscriber.relationship if coverage.subscriber else "18",
                subscriber=_card_holder(coverage.subscriber),
            )
            for coverage in sorted(document.other_coverages, key=lambda c: c.payer_sequence != "secondary")
        ),
        statement_to=statement_addressee(document),
    )


def publish_coded(
    session: AsyncSession, outbox: Outbox, tenant_id: str, encounter: Encounter, document: EncounterIn, coded_by: str
) -> None:
    """Stage encounter-coded for an encounter whose codes are final."""
    outbox.add(
        session,
        EncounterCoded(
            encounter_id=encounter.id,
            encounter_version=encounter.version,
            practice_id=encounter.practice_id,
            patient_id=encounter.patient_id,
            payer_id=encounter.payer_id,
            date_of_service=document.date_of_service,
            date_of_service_to=document.date_of_service_to,
            place_of_service=document.place_of_service,
            claim_kind=document.claim_kind,
            rendering_provider_npi=document.rendering_provider_npi,
            billing_provider_npi=document.billing_provider_npi,
            diagnosis_codes=tuple(document.diagnoses),
            service_lines=service_lines(document),
            coded_by=coded_by,
            coded_at=datetime.now(UTC),
            parties=claim_parties(
                document, guarantor_of(tenant_id, encounter.practice_id, encounter.patient_id, document)
            ),
            institutional=document.institutional,
        ),
        tenant_id=tenant_id,
        correlation_id=encounter_correlation_id(tenant_id, encounter.practice_id, encounter.ehr_encounter_id),
        causation_id=correlation_id_var.get(),
    )
