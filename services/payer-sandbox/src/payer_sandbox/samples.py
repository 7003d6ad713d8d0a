"""Builders of the requests a provider sends the sandbox (270, 276, 837P, 837I), for demos, tests and integrators.

They produce typed models written by the one X12 writer, so what a demo sends is what ClaimFlow would send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from claimflow_x12 import Envelope, write_interchange
from claimflow_x12.guides.claim_837_common import (
    BillingProviderNameLoop,
    Clm,
    PatientNameLoop,
    PayerNameLoop,
    ProviderNameLoop,
    ReceiverLoop,
    SubmitterLoop,
    SubscriberNameLoop,
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
from claimflow_x12.guides.claim_837p import (
    Claim837P,
    ProfessionalBillingProviderLoop,
    ProfessionalClaimLoop,
    ProfessionalPatientLoop,
    ProfessionalServiceLineLoop,
    ProfessionalSubscriberLoop,
    Sv1,
)
from claimflow_x12.guides.claim_status_276_277 import (
    ClaimStatusRequest276,
    RequestDependentLoop,
    RequestProviderLoop,
    RequestReceiverLoop,
    RequestSourceLoop,
    RequestSubscriberLoop,
    StatusInquiryLoop,
)
from claimflow_x12.guides.eligibility_270_271 import (
    EligibilityInquiry270,
    Eq,
    InquiryDependentLoop,
    InquiryInformationReceiverLoop,
    InquiryInformationSourceLoop,
    InquirySubscriberLoop,
    MemberNameLoop,
    ReceiverNameLoop,
    ServiceTypeInquiryLoop,
    SourceNameLoop,
)
from claimflow_x12.segments import (
    N3,
    N4,
    Amt,
    Bht,
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
    Ref,
    Sbr,
    St,
    Trn,
)
from claimflow_x12.transaction import Transaction
from payer_sandbox.domain.acknowledgment import SANDBOX_ID

__all__ = [
    "BillingProvider",
    "ClaimRequest",
    "LineRequest",
    "PersonRequest",
    "StatusQuery",
    "claim_837i",
    "claim_837p",
    "inquiry_270",
    "status_request_276",
    "to_x12",
]

DEMO_BILLING_NPI = "1234567893"
DEMO_RENDERING_NPI = "1497758544"


@dataclass(frozen=True, slots=True)
class PersonRequest:
    """A person as the provider knows them (what goes into NM1/DMG)."""

    last_name: str
    first_name: str
    birth_date: date | None
    member_id: str | None = None
    sex: GenderCode = GenderCode.UNKNOWN


@dataclass(frozen=True, slots=True)
class BillingProvider:
    """The practice that bills."""

    name: str = "SUNRISE FAMILY MEDICINE"
    npi: str = DEMO_BILLING_NPI
    tax_id: str = "371234567"


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One service line."""

    procedure_code: str  # CPT/HCPCS (empty on a revenue-code-only institutional line)
    charge: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    service_date: date | None = None  # defaults to the claim's date of service
    revenue_code: str | None = None  # SV201, required on an 837I line


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One claim for a subscriber (or, with ``patient``, a dependent), written as an 837P or an 837I."""

    patient_control_number: str
    payer_id: str
    subscriber: PersonRequest
    lines: Sequence[LineRequest]
    diagnoses: Sequence[str]
    service_date: date
    patient: PersonRequest | None = None
    place_of_service: str = "11"  # CLM05-1: place of service (837P) or facility type code (837I)
    frequency_code: str = "1"
    original_claim_number: str | None = None  # REF*F8 for replacement (7) / void (8)
    prior_authorization: str | None = None  # REF*G1
    rendering_npi: str | None = DEMO_RENDERING_NPI
    billing: BillingProvider = field(default_factory=BillingProvider)
    filing_indicator: ClaimFilingIndicatorCode = ClaimFilingIndicatorCode.COMMERCIAL


@dataclass(frozen=True, slots=True)
class StatusQuery:
    """One claim a 276 asks about: its trace number and what identifies it (every criterion given must match)."""

    trace: str  # TRN02, echoed in the 277
    total_charge: Decimal  # AMT*T3
    service_from: date  # DTP*472
    service_to: date | None = None
    patient_control_number: str | None = None  # REF*EJ
    payer_claim_control_number: str | None = None  # REF*1K


def _nm1(entity: str, person: PersonRequest, with_id: bool) -> Nm1:
    return Nm1(
        entity_identifier=entity,
        entity_type=EntityTypeQualifier.PERSON,
        last_name_or_organization=person.last_name,
        first_name=person.first_name,
        id_qualifier="MI" if with_id and person.member_id else None,
        identifier=person.member_id if with_id else None,
    )


def _dmg(person: PersonRequest) -> Dmg | None:
    return Dmg(date_format="D8", birth_date=person.birth_date, gender=person.sex) if person.birth_date else None


def inquiry_270(
    payer_id: str,
    subscriber: PersonRequest,
    *,
    dependent: PersonRequest | None = None,
    service_types: Sequence[str] = ("30",),
    trace: str = "TRACE0001",
    provider_npi: str = DEMO_BILLING_NPI,
    service_date: date | None = None,
) -> EligibilityInquiry270:
    """A 270 asking about a subscriber, or about a dependent under the subscriber."""
    dates = [Dtp(qualifier="291", date_format=DateFormatQualifier.DATE, start=service_date)] if service_date else []
    inquiries = [ServiceTypeInquiryLoop(inquiry=Eq(service_type_codes=list(service_types)))]
    asked = MemberNameLoop(name=_nm1("IL", subscriber, True), demographics=_dmg(subscriber))
    dependents = []
    if dependent is None:
        asked.dates = dates
    else:
        dependents.append(
            InquiryDependentLoop(
                traces=[Trn(trace_type_code="1", reference_id=f"{trace}D", originating_company_id="9877281234")],
                dependent=MemberNameLoop(name=_nm1("03", dependent, False), demographics=_dmg(dependent), dates=dates),
                inquiries=inquiries,
            )
        )
    return EligibilityInquiry270(
        header=St(transaction_set_id="270", control_number="0001", implementation_reference="005010X279A1"),
        beginning=Bht(structure_code="0022", purpose_code="13", reference_id=trace, created_date=date(2024, 1, 4)),
        sources=[
            InquiryInformationSourceLoop(
                source=SourceNameLoop(
                    name=Nm1(
                        entity_identifier="PR",
                        entity_type=EntityTypeQualifier.ORGANIZATION,
                        last_name_or_organization="PAYER",
                        id_qualifier="PI",
                        identifier=payer_id,
                    )
                ),
                receivers=[
                    InquiryInformationReceiverLoop(
                        receiver=ReceiverNameLoop(
                            name=Nm1(
                                entity_identifier="1P",
                                entity_type=EntityTypeQualifier.ORGANIZATION,
                                last_name_or_organization="SUNRISE FAMILY MEDICINE",
                                id_qualifier="XX",
                                identifier=provider_npi,
                            )
                        ),
                        subscribers=[
                            InquirySubscriberLoop(
                                traces=[
                                    Trn(trace_type_code="1", reference_id=trace, originating_company_id="9877281234")
                                ],
                                subscriber=asked,
                                inquiries=inquiries if dependent is None else [],
                                dependents=dependents,
                            )
                        ],
                    )
                ],
            )
        ],
    )


def _status_inquiry(query: StatusQuery) -> StatusInquiryLoop:
    references = []
    if query.payer_claim_control_number:
        references.append(Ref(qualifier="1K", value=query.payer_claim_control_number))
    if query.patient_control_number:
        references.append(Ref(qualifier="EJ", value=query.patient_control_number))
    return StatusInquiryLoop(
        trace=Trn(trace_type_code="1", reference_id=query.trace),
        references=references,
        amounts=[Amt(qualifier="T3", amount=query.total_charge)],
        dates=[
            Dtp(
                qualifier="472",
                date_format=DateFormatQualifier.RANGE,
                start=query.service_from,
                end=query.service_to or query.service_from,
            )
        ],
    )


def status_request_276(
    payer_id: str,
    subscriber: PersonRequest,
    claims: Sequence[StatusQuery],
    *,
    dependent: PersonRequest | None = None,
    provider_npi: str = DEMO_BILLING_NPI,
    reference: str = "STATUS0001",
) -> ClaimStatusRequest276:
    """A 276 asking about claims of a subscriber, or (with ``dependent``) of a dependent under the subscriber."""
    inquiries = [_status_inquiry(query) for query in claims]
    asked = RequestSubscriberLoop(
        demographics=_dmg(subscriber) if dependent is None else None,
        subscriber=_nm1("IL", subscriber, True),
        claims=inquiries if dependent is None else [],
    )
    if dependent is not None:
        asked.dependents.append(
            RequestDependentLoop(demographics=_dmg(dependent), dependent=_nm1("QC", dependent, False), claims=inquiries)
        )
    return ClaimStatusRequest276(
        header=St(transaction_set_id="276", control_number="0001", implementation_reference="005010X212"),
        beginning=Bht(
            structure_code="0010",
            purpose_code="13",
            reference_id=reference,
            created_date=date(2024, 1, 5),
            created_time="1200",
        ),
        sources=[
            RequestSourceLoop(
                payer=Nm1(
                    entity_identifier="PR",
                    entity_type=EntityTypeQualifier.ORGANIZATION,
                    last_name_or_organization="PAYER",
                    id_qualifier="PI",
                    identifier=payer_id,
                ),
                receivers=[
                    RequestReceiverLoop(
                        receiver=Nm1(
                            entity_identifier="41",
                            entity_type=EntityTypeQualifier.ORGANIZATION,
                            last_name_or_organization="SUNRISE BILLING LLC",
                            id_qualifier="46",
                            identifier="CLAIMFLOW",
                        ),
                        providers=[
                            RequestProviderLoop(
                                provider=Nm1(
                                    entity_identifier="1P",
                                    entity_type=EntityTypeQualifier.ORGANIZATION,
                                    last_name_or_organization="SUNRISE FAMILY MEDICINE",
                                    id_qualifier="XX",
                                    identifier=provider_npi,
                                ),
                                subscribers=[asked],
                            )
                        ],
                    )
                ],
            )
        ],
    )


def _claim_references(request: ClaimRequest) -> list[Ref]:
    references = []
    if request.original_claim_number:
        references.append(Ref(qualifier="F8", value=request.original_claim_number))
    if request.prior_authorization:
        references.append(Ref(qualifier="G1", value=request.prior_authorization))
    return references


def _diagnoses(request: ClaimRequest) -> list[HealthCareCode]:
    return [HealthCareCode("ABK" if i == 0 else "ABF", code) for i, code in enumerate(request.diagnoses)]


def _provider(entity: str, npi: str | None) -> ProviderNameLoop | None:
    if npi is None:
        return None
    return ProviderNameLoop(
        name=Nm1(
            entity_identifier=entity,
            entity_type=EntityTypeQualifier.PERSON,
            last_name_or_organization="OKAFOR",
            first_name="CHIDI",
            id_qualifier="XX",
            identifier=npi,
        )
    )


def _clm(request: ClaimRequest, facility_code_qualifier: str) -> Clm:
    return Clm(
        patient_control_number=request.patient_control_number,
        total_charge=sum((line.charge for line in request.lines), Decimal(0)),
        place_of_service=request.place_of_service,
        facility_code_qualifier=facility_code_qualifier,
        frequency_code=request.frequency_code,
        provider_signature=YesNoCode.YES,
        assignment_participation="A",
        benefits_assignment=YesNoCode.YES,
        release_of_information="Y",
    )


def _line_extras(request: ClaimRequest, number: int, line: LineRequest) -> tuple[list[Dtp], list[Ref]]:
    """DTP*472 and REF*6R of a service line."""
    day = line.service_date or request.service_date
    return (
        [Dtp(qualifier="472", date_format=DateFormatQualifier.DATE, start=day)],
        [Ref(qualifier="6R", value=f"{request.patient_control_number}L{number}")],
    )


def _claim(request: ClaimRequest) -> ProfessionalClaimLoop:
    codes = _diagnoses(request)
    pointers = list(range(1, min(len(codes), 4) + 1))
    lines = []
    for number, line in enumerate(request.lines, start=1):
        dates, references = _line_extras(request, number, line)
        lines.append(
            ProfessionalServiceLineLoop(
                line=Lx(assigned_number=number),
                service=Sv1(
                    procedure_qualifier="HC",
                    procedure_code=line.procedure_code,
                    modifiers=list(line.modifiers),
                    line_charge=line.charge,
                    units=line.units,
                    diagnosis_pointers=pointers,
                ),
                dates=dates,
                references=references,
            )
        )
    return ProfessionalClaimLoop(
        claim=_clm(request, "B"),
        references=_claim_references(request),
        health_care_codes=[Hi(codes=codes)] if codes else [],
        rendering_provider=_provider("82", request.rendering_npi),
        service_lines=lines,
    )


def _institutional_claim(request: ClaimRequest) -> InstitutionalClaimLoop:
    codes = _diagnoses(request)
    days = [line.service_date or request.service_date for line in request.lines]
    lines = []
    for number, line in enumerate(request.lines, start=1):
        if not line.revenue_code:
            raise ValueError(f"line {number} of {request.patient_control_number} needs a revenue code for an 837I")
        dates, references = _line_extras(request, number, line)
        lines.append(
            InstitutionalServiceLineLoop(
                line=Lx(assigned_number=number),
                service=Sv2(
                    revenue_code=line.revenue_code,
                    procedure_qualifier="HC" if line.procedure_code else None,
                    procedure_code=line.procedure_code or None,
                    modifiers=list(line.modifiers),
                    line_charge=line.charge,
                    units=line.units,
                ),
                dates=dates,
                references=references,
            )
        )
    return InstitutionalClaimLoop(
        claim=_clm(request, "A"),
        dates=[Dtp(qualifier="434", date_format=DateFormatQualifier.RANGE, start=min(days), end=max(days))],
        institutional_code=Cl1(admission_type="1", admission_source="7", patient_status="01")
        if request.place_of_service in ("11", "12")
        else None,
        references=_claim_references(request),
        health_care_codes=[Hi(codes=codes)] if codes else [],
        attending_provider=_provider("71", request.rendering_npi),
        service_lines=lines,
    )


def _address() -> tuple[N3, N4]:
    return N3(address_line_1="100 MAIN STREET"), N4(city="SPRINGFIELD", state="IL", postal_code="627011234")


def _billing_provider(billing: BillingProvider) -> BillingProviderNameLoop:
    street, city = _address()
    return BillingProviderNameLoop(
        name=Nm1(
            entity_identifier="85",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization=billing.name,
            id_qualifier="XX",
            identifier=billing.npi,
        ),
        address=street,
        city_state_zip=city,
        references=[Ref(qualifier="EI", value=billing.tax_id)],
    )


def _subscriber_parts(request: ClaimRequest) -> tuple[Sbr, SubscriberNameLoop, PayerNameLoop]:
    """SBR, 2010BA subscriber and 2010BB payer of a claim's subscriber loop."""
    return (
        Sbr(
            payer_responsibility=PayerResponsibilityCode.PRIMARY,
            relationship_code=None if request.patient else "18",
            claim_filing_indicator=request.filing_indicator,
        ),
        SubscriberNameLoop(name=_nm1("IL", request.subscriber, True), demographics=_dmg(request.subscriber)),
        PayerNameLoop(
            name=Nm1(
                entity_identifier="PR",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization="PAYER",
                id_qualifier="PI",
                identifier=request.payer_id,
            )
        ),
    )


def _patient(dependent: PersonRequest) -> tuple[Pat, PatientNameLoop]:
    """PAT and 2010CA of a dependent patient."""
    street, city = _address()
    return Pat(relationship_code="19"), PatientNameLoop(
        name=_nm1("QC", dependent, False),
        address=street,
        city_state_zip=city,
        demographics=_dmg(dependent) or Dmg(date_format="D8", birth_date=date(2000, 1, 1)),
    )


def _beginning(batch_id: str) -> Bht:
    return Bht(
        structure_code="0019",
        purpose_code="00",
        reference_id=batch_id,
        created_date=date(2024, 1, 5),
        created_time="1200",
        transaction_type_code="CH",
    )


def _submitter() -> SubmitterLoop:
    return SubmitterLoop(
        submitter=Nm1(
            entity_identifier="41",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization="SUNRISE BILLING LLC",
            id_qualifier="46",
            identifier="CLAIMFLOW",
        ),
        contacts=[Per(function_code="IC", name="BILLING DESK", number_qualifier_1="TE", number_1="5555550100")],
    )


def _receiver() -> ReceiverLoop:
    return ReceiverLoop(
        receiver=Nm1(
            entity_identifier="40",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization="CLAIMFLOW PAYER SANDBOX",
            id_qualifier="46",
            identifier=SANDBOX_ID,
        )
    )


def claim_837p(claims: Sequence[ClaimRequest], batch_id: str = "BATCH0001") -> Claim837P:
    """An 837P with one subscriber loop per claim (grouped under each claim's billing provider)."""
    providers: dict[BillingProvider, ProfessionalBillingProviderLoop] = {}
    for request in claims:
        provider = providers.get(request.billing)
        if provider is None:
            provider = ProfessionalBillingProviderLoop(billing_provider=_billing_provider(request.billing))
            providers[request.billing] = provider
        claim = _claim(request)
        sbr, subscriber_name, payer = _subscriber_parts(request)
        subscriber = ProfessionalSubscriberLoop(
            subscriber_information=sbr,
            subscriber=subscriber_name,
            payer=payer,
            claims=[] if request.patient else [claim],
        )
        if request.patient is not None:
            pat, patient = _patient(request.patient)
            subscriber.patients.append(
                ProfessionalPatientLoop(patient_information=pat, patient=patient, claims=[claim])
            )
        provider.subscribers.append(subscriber)
    return Claim837P(
        header=St(transaction_set_id="837", control_number="0001", implementation_reference="005010X222A1"),
        beginning=_beginning(batch_id),
        submitter=_submitter(),
        receiver=_receiver(),
        billing_providers=list(providers.values()),
    )


def claim_837i(claims: Sequence[ClaimRequest], batch_id: str = "BATCH0001") -> Claim837I:
    """An 837I (UB-04) with one subscriber loop per claim: ``place_of_service`` is the facility type code
    (13 hospital outpatient, 11 inpatient), every line needs a revenue code, ``rendering_npi`` is the attending."""
    providers: dict[BillingProvider, InstitutionalBillingProviderLoop] = {}
    for request in claims:
        provider = providers.get(request.billing)
        if provider is None:
            provider = InstitutionalBillingProviderLoop(billing_provider=_billing_provider(request.billing))
            providers[request.billing] = provider
        claim = _institutional_claim(request)
        sbr, subscriber_name, payer = _subscriber_parts(request)
        subscriber = InstitutionalSubscriberLoop(
            subscriber_information=sbr,
            subscriber=subscriber_name,
            payer=payer,
            claims=[] if request.patient else [claim],
        )
        if request.patient is not None:
            pat, patient = _patient(request.patient)
            subscriber.patients.append(
                InstitutionalPatientLoop(patient_information=pat, patient=patient, claims=[claim])
            )
        provider.subscribers.append(subscriber)
    return Claim837I(
        header=St(transaction_set_id="837", control_number="0001", implementation_reference="005010X223A2"),
        beginning=_beginning(batch_id),
        submitter=_submitter(),
        receiver=_receiver(),
        billing_providers=list(providers.values()),
    )


def to_x12(transactions: Sequence[Transaction], *, sender_id: str = "CLAIMFLOW", control_number: int = 1) -> bytes:
    """Wrap transactions in an interchange to the sandbox."""
    envelope = Envelope(
        sender_id=sender_id,
        receiver_id=SANDBOX_ID,
        interchange_control_number=control_number,
        group_control_number=control_number,
        created_at=datetime(2024, 1, 5, 12, 0, tzinfo=UTC),
    )
    return write_interchange(envelope, transactions).encode()
