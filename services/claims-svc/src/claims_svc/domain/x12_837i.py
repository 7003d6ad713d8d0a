"""Institutional claims → a 005010X223A2 837I transaction (the hospital/facility claim; UB-04 on paper).

The envelope, parties, subscriber and other-payer loops are the 837P builder's (they are the same segments in
both guides); what differs is the claim: CLM05 carries the facility type from the type of bill (qualifier A),
DTP*434 the statement period, CL1 the admission type and source and the discharge status, HI the principal
diagnosis (ABK) and the others (ABF) in their own segments, 2310A the attending provider, and each line is an
SV2 with its NUBC revenue code beside the HCPCS code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from claimflow_x12.guides.claim_837_common import (
    Clm,
    ProviderNameLoop,
    YesNoCode,
)
from claimflow_x12.guides.claim_837i import (
    Cl1,
    Claim837I,
    InstitutionalBillingProviderLoop,
    InstitutionalClaimLoop,
    InstitutionalPatientLoop,
    InstitutionalServiceLineLoop,
    InstitutionalSubscriberLoop,
    Sv2,
)
from claimflow_x12.segments import (
    ClaimFilingIndicatorCode,
    DateFormatQualifier,
    Dtp,
    EntityTypeQualifier,
    HealthCareCode,
    Hi,
    Lx,
    Nm1,
    Ref,
    St,
)
from claims_svc.domain.claim import BillingProvider, Institutional, ProfessionalClaim
from claims_svc.domain.x12_837p import (
    Parties,
    billing_provider_name,
    billing_specialty,
    claims_beginning,
    line_adjudications,
    line_control_number,
    other_subscriber,
    receiver_loop,
    submitter_loop,
    subscriber_parts,
)

INSTITUTIONAL_GUIDE = "005010X223A2"


def _details(claim: ProfessionalClaim) -> Institutional:
    if claim.institutional is None:
        raise ValueError(f"claim {claim.patient_control_number} is not institutional")
    return claim.institutional


def _claim_loop(claim: ProfessionalClaim) -> InstitutionalClaimLoop:
    details = _details(claim)
    service_dates = [line.service_date or claim.date_of_service for line in claim.lines] or [claim.date_of_service]
    dates = [
        Dtp(qualifier="434", date_format=DateFormatQualifier.RANGE, start=min(service_dates), end=max(service_dates))
    ]
    if details.admission_date is not None:
        dates.append(Dtp(qualifier="435", date_format=DateFormatQualifier.DATE, start=details.admission_date))
    references = []
    if claim.payer_claim_number and claim.frequency_code in ("7", "8"):
        references.append(Ref(qualifier="F8", value=claim.payer_claim_number))
    if claim.prior_authorization:
        references.append(Ref(qualifier="G1", value=claim.prior_authorization))
    diagnoses = [code.replace(".", "") for code in claim.diagnoses]
    codes = [Hi(codes=[HealthCareCode("ABK", diagnoses[0])])] if diagnoses else []
    if diagnoses[1:]:
        codes.append(Hi(codes=[HealthCareCode("ABF", code) for code in diagnoses[1:]]))
    return InstitutionalClaimLoop(
        claim=Clm(
            patient_control_number=claim.patient_control_number,
            total_charge=claim.total_charge,
            place_of_service=details.facility_type,
            facility_code_qualifier="A",
            frequency_code=claim.frequency_code,
            assignment_participation="A",
            benefits_assignment=YesNoCode.YES,
            release_of_information="Y",
        ),
        dates=dates,
        institutional_code=Cl1(
            admission_type=details.admission_type_code,
            admission_source=details.admission_source_code,
            patient_status=details.patient_status_code,
        ),
        references=references,
        health_care_codes=codes,
        attending_provider=ProviderNameLoop(
            name=Nm1(
                entity_identifier="71",
                entity_type=EntityTypeQualifier.PERSON,
                last_name_or_organization=details.attending_last_name.upper(),
                first_name=details.attending_first_name.upper() if details.attending_first_name else None,
                id_qualifier="XX",
                identifier=details.attending_npi,
            )
        ),
        other_subscribers=[other_subscriber(claim, coverage) for coverage in claim.other_coverages],
        service_lines=[
            InstitutionalServiceLineLoop(
                line=Lx(assigned_number=index),
                service=Sv2(
                    revenue_code=line.revenue_code or "",
                    procedure_qualifier="HC",
                    procedure_code=line.procedure_code,
                    modifiers=list(line.modifiers),
                    line_charge=line.charge if line.charge is not None else Decimal(0),
                    units=line.units,
                ),
                dates=[
                    Dtp(
                        qualifier="472",
                        date_format=DateFormatQualifier.DATE,
                        start=line.service_date or claim.date_of_service,
                    )
                ],
                references=[Ref(qualifier="6R", value=line_control_number(claim, line.line_number))],
                adjudications=line_adjudications(claim, line.line_number),
            )
            for index, line in enumerate(claim.lines, start=1)
        ],
    )


def _subscriber_loop(claim: ProfessionalClaim, filing: ClaimFilingIndicatorCode | None) -> InstitutionalSubscriberLoop:
    parts = subscriber_parts(claim, filing)
    loop = InstitutionalSubscriberLoop(
        subscriber_information=parts.information, subscriber=parts.subscriber, payer=parts.payer
    )
    if parts.dependent is None:
        loop.claims.append(_claim_loop(claim))
    else:
        information, patient = parts.dependent
        loop.patients.append(
            InstitutionalPatientLoop(patient_information=information, patient=patient, claims=[_claim_loop(claim)])
        )
    return loop


def build_837i(
    claims: Sequence[ProfessionalClaim],
    parties: Parties,
    *,
    batch_id: str,
    created_at: datetime,
    filing: ClaimFilingIndicatorCode | None = None,
) -> Claim837I:
    """One 837I transaction carrying institutional ``claims`` (all to the same payer, already scrubbed)."""
    if not claims:
        raise ValueError("an 837 needs at least one claim")
    providers: dict[BillingProvider, InstitutionalBillingProviderLoop] = {}
    for claim in claims:
        provider = providers.get(claim.billing)
        if provider is None:
            provider = providers[claim.billing] = InstitutionalBillingProviderLoop(
                specialty=billing_specialty(claim.billing), billing_provider=billing_provider_name(claim.billing)
            )
        provider.subscribers.append(_subscriber_loop(claim, filing))
    return Claim837I(
        header=St(transaction_set_id="837", control_number="0001", implementation_reference=INSTITUTIONAL_GUIDE),
        beginning=claims_beginning(batch_id, created_at),
        submitter=submitter_loop(parties),
        receiver=receiver_loop(parties),
        billing_providers=list(providers.values()),
    )
