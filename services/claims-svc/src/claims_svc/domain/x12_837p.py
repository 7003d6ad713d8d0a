"""Claims → a 005010X222A1 837P transaction (typed models; the X12 library's one writer serializes them).

Claims are grouped under their billing provider (2000A) and each subscriber (2000B); a dependent patient gets
a 2000C loop under the subscriber. Line item control numbers (REF*6R) are ``<patient control number>-<line>``
so the 835 comes back matched to the line.

The patient's other plans go in 2320/2330 (one loop per plan, SBR01 its payer sequence). A plan that already
adjudicated the claim (a secondary claim's primary) also reports its claim-level adjustments, paid amount and
the remaining patient liability in 2320, and its line adjudications in 2430 under each line (SVD, CAS, DTP*573).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from claimflow_x12.guides.claim_837_common import (
    BillingProviderNameLoop,
    Clm,
    LineAdjudicationLoop,
    Oi,
    OtherPayerNameLoop,
    OtherSubscriberLoop,
    OtherSubscriberNameLoop,
    PatientNameLoop,
    PayerNameLoop,
    ProviderNameLoop,
    ReceiverLoop,
    SubmitterLoop,
    SubscriberNameLoop,
    Svd,
    YesNoCode,
)
from claimflow_x12.guides.claim_837p import (
    Claim837P,
    ProfessionalBillingProviderLoop,
    ProfessionalClaimLoop,
    ProfessionalPatientLoop,
    ProfessionalServiceLineLoop,
    ProfessionalSubscriberLoop,
    Sv1,
)
from claimflow_x12.segments import (
    N3,
    N4,
    Adjustment,
    Amt,
    Bht,
    Cas,
    ClaimAdjustmentGroupCode,
    ClaimFilingIndicatorCode,
    DateFormatQualifier,
    Dmg,
    Dtp,
    EntityTypeQualifier,
    GenderCode,
    HealthCareCode,
    Hi,
    Lx,
    Nm1,
    Pat,
    PayerResponsibilityCode,
    Per,
    Prv,
    Ref,
    Sbr,
    St,
)
from claims_svc.domain.claim import (
    Address,
    BillingProvider,
    ClaimAdjustment,
    OtherCoverage,
    PayerAdjudication,
    Person,
    ProfessionalClaim,
)

PROFESSIONAL_GUIDE = "005010X222A1"

SBR01 = {
    "primary": PayerResponsibilityCode.PRIMARY,
    "secondary": PayerResponsibilityCode.SECONDARY,
    "tertiary": PayerResponsibilityCode.TERTIARY,
}


@dataclass(frozen=True)
class Parties:
    """Who sends the file (submitter, ETIN) and who receives it (clearinghouse)."""

    submitter_name: str
    submitter_id: str
    contact_name: str
    contact_phone: str
    receiver_name: str
    receiver_id: str


def line_control_number(claim: ProfessionalClaim, line_number: int) -> str:
    """REF*6R of a line: the claim's patient control number and the line number."""
    return f"{claim.patient_control_number}-{line_number}"


def address_segments(address: Address) -> tuple[N3, N4]:
    return (
        N3(address_line_1=address.line1.upper(), address_line_2=address.line2.upper() if address.line2 else None),
        N4(city=address.city.upper(), state=address.state.upper(), postal_code=address.postal_code),
    )


def person_name(entity: str, person: Person, member_id: str | None) -> Nm1:
    """NM1 of a person (NM108 MI with the member id when given), names upper-cased as payers match them."""
    return Nm1(
        entity_identifier=entity,
        entity_type=EntityTypeQualifier.PERSON,
        last_name_or_organization=person.last_name.upper(),
        first_name=person.first_name.upper(),
        id_qualifier="MI" if member_id else None,
        identifier=member_id,
    )


def demographics(person: Person) -> Dmg:
    """DMG: birth date and administrative sex."""
    return Dmg(date_format="D8", birth_date=person.birth_date, gender=GenderCode(person.sex))


def cas_segments(adjustments: tuple[ClaimAdjustment, ...]) -> list[Cas]:
    """CAS segments: one per group code (in the order the payer used them), at most six reasons each."""
    groups: dict[str, list[Adjustment]] = {}
    for adjustment in adjustments:
        groups.setdefault(adjustment.group_code, []).append(Adjustment(adjustment.reason_code, adjustment.amount))
    return [
        Cas(group_code=ClaimAdjustmentGroupCode(group), adjustments=reasons[start : start + 6])
        for group, reasons in groups.items()
        for start in range(0, len(reasons), 6)
    ]


def payer_name(payer_name: str, payer_id: str) -> Nm1:
    return Nm1(
        entity_identifier="PR",
        entity_type=EntityTypeQualifier.ORGANIZATION,
        last_name_or_organization=payer_name.upper(),
        id_qualifier="PI",
        identifier=payer_id,
    )


def other_subscriber(claim: ProfessionalClaim, coverage: OtherCoverage) -> OtherSubscriberLoop:
    """2320 + 2330A/B for one other plan; with its adjudication when it already paid (CAS, AMT*D, AMT*EAF)."""
    holder = coverage.subscriber or claim.patient
    street, city = address_segments(holder.address) if holder.address else (None, None)
    adjudication = coverage.adjudication
    amounts = []
    dates = []
    if adjudication is not None:
        amounts = [
            Amt(qualifier="D", amount=adjudication.paid),
            Amt(qualifier="EAF", amount=adjudication.remaining_patient_liability),
        ]
        if not adjudication.lines:  # adjudicated as a whole: the date goes here instead of in 2430
            dates = [Dtp(qualifier="573", date_format=DateFormatQualifier.DATE, start=adjudication.adjudication_date)]
    return OtherSubscriberLoop(
        subscriber_information=Sbr(
            payer_responsibility=SBR01[coverage.sequence],
            relationship_code=coverage.relationship_to_subscriber,
            group_number=coverage.group_number,
            claim_filing_indicator=ClaimFilingIndicatorCode(coverage.payer.claim_filing),
        ),
        adjustments=cas_segments(adjudication.adjustments) if adjudication else [],
        amounts=amounts,
        other_insurance=Oi(benefits_assignment=YesNoCode.YES, release_of_information="Y"),
        other_subscriber=OtherSubscriberNameLoop(
            name=person_name("IL", holder, coverage.member_id), address=street, city_state_zip=city
        ),
        other_payer=OtherPayerNameLoop(
            name=payer_name(coverage.payer.name, coverage.payer.payer_id),
            dates=dates,
        ),
    )


def line_adjudications(claim: ProfessionalClaim, line_number: int) -> list[LineAdjudicationLoop]:
    """2430 for one line: each earlier payer's SVD (paid), CAS and adjudication date."""
    loops = []
    for coverage in claim.prior_payers:
        adjudication: PayerAdjudication | None = coverage.adjudication
        found = next((a for a in adjudication.lines if a.line_number == line_number), None) if adjudication else None
        if adjudication is None or found is None:
            continue
        loops.append(
            LineAdjudicationLoop(
                adjudication=Svd(
                    other_payer_id=coverage.payer.payer_id,
                    paid_amount=found.paid,
                    procedure_qualifier="HC",
                    procedure_code=found.procedure_code,
                    modifiers=list(found.modifiers),
                    paid_units=found.units,
                ),
                adjustments=cas_segments(found.adjustments),
                dates=[
                    Dtp(qualifier="573", date_format=DateFormatQualifier.DATE, start=adjudication.adjudication_date)
                ],
            )
        )
    return loops


def _claim_loop(claim: ProfessionalClaim) -> ProfessionalClaimLoop:
    references = []
    if claim.payer_claim_number and claim.frequency_code in ("7", "8"):
        references.append(Ref(qualifier="F8", value=claim.payer_claim_number))
    if claim.prior_authorization:
        references.append(Ref(qualifier="G1", value=claim.prior_authorization))
    codes = [
        HealthCareCode("ABK" if index == 0 else "ABF", code.replace(".", ""))
        for index, code in enumerate(claim.diagnoses)
    ]
    rendering = None
    if claim.rendering_npi != claim.billing.npi:
        rendering = ProviderNameLoop(
            name=Nm1(
                entity_identifier="82",
                entity_type=EntityTypeQualifier.PERSON,
                last_name_or_organization="RENDERING PROVIDER",
                id_qualifier="XX",
                identifier=claim.rendering_npi,
            )
        )
    return ProfessionalClaimLoop(
        claim=Clm(
            patient_control_number=claim.patient_control_number,
            total_charge=claim.total_charge,
            place_of_service=claim.place_of_service,
            facility_code_qualifier="B",
            frequency_code=claim.frequency_code,
            provider_signature=YesNoCode.YES,
            assignment_participation="A",
            benefits_assignment=YesNoCode.YES,
            release_of_information="Y",
        ),
        references=references,
        health_care_codes=[Hi(codes=codes)],
        rendering_provider=rendering,
        other_subscribers=[other_subscriber(claim, coverage) for coverage in claim.other_coverages],
        service_lines=[
            ProfessionalServiceLineLoop(
                line=Lx(assigned_number=index),
                service=Sv1(
                    procedure_qualifier="HC",
                    procedure_code=line.procedure_code,
                    modifiers=list(line.modifiers),
                    line_charge=line.charge if line.charge is not None else Decimal(0),
                    units=line.units,
                    diagnosis_pointers=list(line.diagnosis_pointers),
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


def billing_provider_name(billing: BillingProvider) -> BillingProviderNameLoop:
    """2010AA: the billing provider's name, NPI, address and tax id."""
    if billing.address is None:
        raise ValueError("a billing provider without an address cannot be written (the scrubber holds it)")
    street, city = address_segments(billing.address)
    return BillingProviderNameLoop(
        name=Nm1(
            entity_identifier="85",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization=billing.name.upper(),
            id_qualifier="XX",
            identifier=billing.npi,
        ),
        address=street,
        city_state_zip=city,
        references=[Ref(qualifier="EI", value=billing.tax_id)],
    )


def billing_specialty(billing: BillingProvider) -> Prv | None:
    """PRV*BI: the billing provider's taxonomy, when the practice has one."""
    if not billing.taxonomy_code:
        return None
    return Prv(provider_code="BI", reference_qualifier="PXC", taxonomy_code=billing.taxonomy_code)


def _billing_loop(billing: BillingProvider) -> ProfessionalBillingProviderLoop:
    return ProfessionalBillingProviderLoop(
        specialty=billing_specialty(billing), billing_provider=billing_provider_name(billing)
    )


@dataclass(frozen=True)
class SubscriberParts:
    """The 2000B/2010BA/2010BB segments and, for a dependent patient, the 2000C/2010CA ones — the same in the
    837P and the 837I; each builder wraps them in its own loop types."""

    information: Sbr
    subscriber: SubscriberNameLoop
    payer: PayerNameLoop
    dependent: tuple[Pat, PatientNameLoop] | None


def subscriber_parts(claim: ProfessionalClaim, filing: ClaimFilingIndicatorCode | None) -> SubscriberParts:
    """Who holds the card, who pays, and (when the patient is a dependent) who the patient is."""
    holder = claim.card_holder
    street, city = address_segments(holder.address) if holder.address else (None, None)
    dependent = None
    if claim.subscriber is not None:
        if claim.patient.address is None:
            raise ValueError("a dependent without an address cannot be written (the scrubber holds it)")
        patient_street, patient_city = address_segments(claim.patient.address)
        dependent = (
            Pat(relationship_code=claim.relationship_to_subscriber),
            PatientNameLoop(
                name=person_name("QC", claim.patient, None),
                address=patient_street,
                city_state_zip=patient_city,
                demographics=demographics(claim.patient),
            ),
        )
    return SubscriberParts(
        information=Sbr(
            payer_responsibility=SBR01[claim.payer_sequence],
            relationship_code=None if dependent else "18",
            group_number=claim.group_number,
            claim_filing_indicator=filing or ClaimFilingIndicatorCode(claim.payer.claim_filing),
        ),
        subscriber=SubscriberNameLoop(
            name=person_name("IL", holder, claim.member_id),
            address=street,
            city_state_zip=city,
            demographics=demographics(holder),
        ),
        payer=PayerNameLoop(name=payer_name(claim.payer.name, claim.payer.payer_id)),
        dependent=dependent,
    )


def _subscriber_loop(claim: ProfessionalClaim, filing: ClaimFilingIndicatorCode | None) -> ProfessionalSubscriberLoop:
    parts = subscriber_parts(claim, filing)
    loop = ProfessionalSubscriberLoop(
        subscriber_information=parts.information, subscriber=parts.subscriber, payer=parts.payer
    )
    if parts.dependent is None:
        loop.claims.append(_claim_loop(claim))
    else:
        information, patient = parts.dependent
        loop.patients.append(
            ProfessionalPatientLoop(patient_information=information, patient=patient, claims=[_claim_loop(claim)])
        )
    return loop


def claims_beginning(batch_id: str, created_at: datetime) -> Bht:
    """BHT of an 837 batch: original (00), chargeable (CH)."""
    return Bht(
        structure_code="0019",
        purpose_code="00",
        reference_id=batch_id,
        created_date=created_at.date(),
        created_time=created_at.strftime("%H%M"),
        transaction_type_code="CH",
    )


def submitter_loop(parties: Parties) -> SubmitterLoop:
    """1000A: who sends the file (name, ETIN, contact)."""
    return SubmitterLoop(
        submitter=Nm1(
            entity_identifier="41",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization=parties.submitter_name.upper(),
            id_qualifier="46",
            identifier=parties.submitter_id,
        ),
        contacts=[
            Per(function_code="IC", name=parties.contact_name.upper(), number_qualifier_1="TE",
                number_1=parties.contact_phone)
        ],
    )  # fmt: skip


def receiver_loop(parties: Parties) -> ReceiverLoop:
    """1000B: the clearinghouse that receives the file."""
    return ReceiverLoop(
        receiver=Nm1(
            entity_identifier="40",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization=parties.receiver_name.upper(),
            id_qualifier="46",
            identifier=parties.receiver_id,
        )
    )


def build_837p(
    claims: Sequence[ProfessionalClaim],
    parties: Parties,
    *,
    batch_id: str,
    created_at: datetime,
    filing: ClaimFilingIndicatorCode | None = None,
) -> Claim837P:
    """One 837P transaction carrying ``claims`` (all to the same payer, already scrubbed); SBR09 is each claim's
    payer's claim filing indicator unless ``filing`` overrides it."""
    if not claims:
        raise ValueError("an 837 needs at least one claim")
    providers: dict[BillingProvider, ProfessionalBillingProviderLoop] = {}
    for claim in claims:
        provider = providers.get(claim.billing)
        if provider is None:
            provider = providers[claim.billing] = _billing_loop(claim.billing)
        provider.subscribers.append(_subscriber_loop(claim, filing))
    return Claim837P(
        header=St(transaction_set_id="837", control_number="0001", implementation_reference=PROFESSIONAL_GUIDE),
        beginning=claims_beginning(batch_id, created_at),
        submitter=submitter_loop(parties),
        receiver=receiver_loop(parties),
        billing_providers=list(providers.values()),
    )
