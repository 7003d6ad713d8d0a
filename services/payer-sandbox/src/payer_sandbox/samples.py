"""Builders of the requests a provider sends the sandbox (270, 837P), for demos, tests and integrators.

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
from claimflow_x12.guides.claim_837p import (
    Claim837P,
    ProfessionalBillingProviderLoop,
    ProfessionalClaimLoop,
    ProfessionalPatientLoop,
    ProfessionalServiceLineLoop,
    ProfessionalSubscriberLoop,
    Sv1,
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

__all__ = ["BillingProvider", "ClaimRequest", "LineRequest", "PersonRequest", "claim_837p", "inquiry_270", "to_x12"]

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

    procedure_code: str
    charge: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    service_date: date | None = None  # defaults to the claim's date of service


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One professional claim for a subscriber (or, with ``patient``, a dependent)."""

    patient_control_number: str
    payer_id: str
    subscriber: PersonRequest
    lines: Sequence[LineRequest]
    diagnoses: Sequence[str]
    service_date: date
    patient: PersonRequest | None = None
    place_of_service: str = "11"
    frequency_code: str = "1"
    original_claim_number: str | None = None  # REF*F8 for replacement (7) / void (8)
    prior_authorization: str | None = None  # REF*G1
    rendering_npi: str | None = DEMO_RENDERING_NPI
    billing: BillingProvider = field(default_factory=BillingProvider)
    filing_indicator: ClaimFilingIndicatorCode = ClaimFilingIndicatorCode.COMMERCIAL


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


def _claim(request: ClaimRequest) -> ProfessionalClaimLoop:
    references = []
    if request.original_claim_number:
        references.append(Ref(qualifier="F8", value=request.original_claim_number))
    if request.prior_authorization:
        references.append(Ref(qualifier="G1", value=request.prior_authorization))
    codes = [HealthCareCode("ABK" if i == 0 else "ABF", code) for i, code in enumerate(request.diagnoses)]
    rendering = None
    if request.rendering_npi is not None:
        rendering = ProviderNameLoop(
            name=Nm1(
                entity_identifier="82",
                entity_type=EntityTypeQualifier.PERSON,
                last_name_or_organization="OKAFOR",
                first_name="CHIDI",
                id_qualifier="XX",
                identifier=request.rendering_npi,
            )
        )
    pointers = list(range(1, min(len(codes), 4) + 1))
    return ProfessionalClaimLoop(
        claim=Clm(
            patient_control_number=request.patient_control_number,
            total_charge=sum((line.charge for line in request.lines), Decimal(0)),
            place_of_service=request.place_of_service,
            facility_code_qualifier="B",
            frequency_code=request.frequency_code,
            provider_signature=YesNoCode.YES,
            assignment_participation="A",
            benefits_assignment=YesNoCode.YES,
            release_of_information="Y",
        ),
        references=references,
        health_care_codes=[Hi(codes=codes)] if codes else [],
        rendering_provider=rendering,
        service_lines=[
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
                dates=[
                    Dtp(
                        qualifier="472",
                        date_format=DateFormatQualifier.DATE,
                        start=line.service_date or request.service_date,
                    )
                ],
                references=[Ref(qualifier="6R", value=f"{request.patient_control_number}L{number}")],
            )
            for number, line in enumerate(request.lines, start=1)
        ],
    )


def _address() -> tuple[N3, N4]:
    return N3(address_line_1="100 MAIN STREET"), N4(city="SPRINGFIELD", state="IL", postal_code="627011234")


def claim_837p(claims: Sequence[ClaimRequest], batch_id: str = "BATCH0001") -> Claim837P:
    """An 837P with one subscriber loop per claim (grouped under each claim's billing provider)."""
    providers: dict[BillingProvider, ProfessionalBillingProviderLoop] = {}
    for request in claims:
        provider = providers.get(request.billing)
        if provider is None:
            street, city = _address()
            provider = ProfessionalBillingProviderLoop(
                billing_provider=BillingProviderNameLoop(
                    name=Nm1(
                        entity_identifier="85",
                        entity_type=EntityTypeQualifier.ORGANIZATION,
                        last_name_or_organization=request.billing.name,
                        id_qualifier="XX",
                        identifier=request.billing.npi,
                    ),
                    address=street,
                    city_state_zip=city,
                    references=[Ref(qualifier="EI", value=request.billing.tax_id)],
                )
            )
            providers[request.billing] = provider
        claim = _claim(request)
        dependent = request.patient
        subscriber = ProfessionalSubscriberLoop(
            subscriber_information=Sbr(
                payer_responsibility=PayerResponsibilityCode.PRIMARY,
                relationship_code=None if dependent else "18",
                claim_filing_indicator=request.filing_indicator,
            ),
            subscriber=SubscriberNameLoop(
                name=_nm1("IL", request.subscriber, True), demographics=_dmg(request.subscriber)
            ),
            payer=PayerNameLoop(
                name=Nm1(
                    entity_identifier="PR",
                    entity_type=EntityTypeQualifier.ORGANIZATION,
                    last_name_or_organization="PAYER",
                    id_qualifier="PI",
                    identifier=request.payer_id,
                )
            ),
            claims=[] if dependent else [claim],
        )
        if dependent is not None:
            street, city = _address()
            subscriber.patients.append(
                ProfessionalPatientLoop(
                    patient_information=Pat(relationship_code="19"),
                    patient=PatientNameLoop(
                        name=_nm1("QC", dependent, False),
                        address=street,
                        city_state_zip=city,
                        demographics=_dmg(dependent) or Dmg(date_format="D8", birth_date=date(2000, 1, 1)),
                    ),
                    claims=[claim],
                )
            )
        provider.subscribers.append(subscriber)
    return Claim837P(
        header=St(transaction_set_id="837", control_number="0001", implementation_reference="005010X222A1"),
        beginning=Bht(
            structure_code="0019",
            purpose_code="00",
            reference_id=batch_id,
            created_date=date(2024, 1, 5),
            created_time="1200",
            transaction_type_code="CH",
        ),
        submitter=SubmitterLoop(
            submitter=Nm1(
                entity_identifier="41",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization="SUNRISE BILLING LLC",
                id_qualifier="46",
                identifier="CLAIMFLOW",
            ),
            contacts=[Per(function_code="IC", name="BILLING DESK", number_qualifier_1="TE", number_1="5555550100")],
        ),
        receiver=ReceiverLoop(
            receiver=Nm1(
                entity_identifier="40",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization="CLAIMFLOW PAYER SANDBOX",
                id_qualifier="46",
                identifier=SANDBOX_ID,
            )
        ),
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
