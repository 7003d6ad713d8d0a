"""837 institutional claim, implementation guide 005010X223A2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, NamedTuple

from claimflow_x12.guides.claim_837_common import (
    PASSTHROUGH_837,
    BillingProviderNameLoop,
    Clm,
    FacilityNameLoop,
    LineAdjudicationLoop,
    OtherSubscriberLoop,
    PatientNameLoop,
    PayerNameLoop,
    PayToAddressLoop,
    ProviderNameLoop,
    ReceiverLoop,
    SubmitterLoop,
    SubscriberNameLoop,
)
from claimflow_x12.model import At, E, Loop, Segment
from claimflow_x12.segments import Amt, Bht, Dtp, Hi, Lx, Nte, Pat, Prv, Ref, Sbr
from claimflow_x12.transaction import Transaction, register_transaction

__all__ = [
    "Cl1",
    "Claim837I",
    "InstitutionalBillingProviderLoop",
    "InstitutionalClaimContext",
    "InstitutionalClaimLoop",
    "InstitutionalPatientLoop",
    "InstitutionalServiceLineLoop",
    "InstitutionalSubscriberLoop",
    "Sv2",
    "iter_claims",
]


@dataclass(slots=True, kw_only=True)
class Cl1(Segment):
    """Institutional claim code. Example: ``CL1*1*7*01~``"""

    segment_id: ClassVar[str] = "CL1"
    admission_type: Annotated[str, E(1)]  # CL101 (1 emergency, 2 urgent, 3 elective...)
    admission_source: Annotated[str | None, E(2)] = None  # CL102
    patient_status: Annotated[str, E(3)]  # CL103 (01 discharged home...)


@dataclass(slots=True, kw_only=True)
class Sv2(Segment):
    """Institutional service line. Example: ``SV2*0450*HC:99284*850.00*UN*1~``"""

    segment_id: ClassVar[str] = "SV2"
    revenue_code: Annotated[str, E(1)]  # SV201 (NUBC revenue code)
    procedure_qualifier: Annotated[str | None, E(2, 1)] = None  # SV202-1 (HC, HP...)
    procedure_code: Annotated[str | None, E(2, 2)] = None  # SV202-2
    modifiers: Annotated[list[str], E(2, 3, 6)] = field(default_factory=list)  # SV202-3..6
    procedure_description: Annotated[str | None, E(2, 7)] = None  # SV202-7
    line_charge: Annotated[Decimal, E(3)]  # SV203
    unit_basis: Annotated[str, E(4)] = "UN"  # SV204 (UN units, DA days)
    units: Annotated[Decimal, E(5)]  # SV205
    unit_rate: Annotated[Decimal | None, E(6)] = None  # SV206
    non_covered_charge: Annotated[Decimal | None, E(7)] = None  # SV207


@dataclass(slots=True, kw_only=True)
class InstitutionalServiceLineLoop(Loop):
    """2400 institutional service line: LX, SV2, date of service, line control number, COB."""

    loop_id: ClassVar[str] = "2400"
    line: Annotated[Lx, At(0)]  # LX
    service: Annotated[Sv2, At(1)]  # SV2
    dates: Annotated[list[Dtp], At(2)] = field(default_factory=list)  # DTP*472
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*6R
    amounts: Annotated[list[Amt], At(4)] = field(default_factory=list)  # AMT*GT
    notes: Annotated[list[Nte], At(5)] = field(default_factory=list)  # NTE*TPO
    adjudications: Annotated[list[LineAdjudicationLoop], At(6)] = field(default_factory=list)  # 2430

    @property
    def service_date(self) -> date | None:
        """DTP*472 (first date when a range)."""
        return next((d.start for d in self.dates if d.qualifier == "472"), None)


@dataclass(slots=True, kw_only=True)
class InstitutionalClaimLoop(Loop):
    """2300 institutional claim: CLM, statement dates, CL1, codes, attending/operating providers, lines."""

    loop_id: ClassVar[str] = "2300"
    claim: Annotated[Clm, At(0)]  # CLM (CLM05-1 facility type, CLM05-2 A, CLM05-3 frequency)
    dates: Annotated[list[Dtp], At(1)] = field(default_factory=list)  # DTP*434 statement, 435 admission, 096
    institutional_code: Annotated[Cl1 | None, At(2)] = None  # CL1
    amounts: Annotated[list[Amt], At(3)] = field(default_factory=list)  # AMT*F3 patient estimated amount due
    references: Annotated[list[Ref], At(4)] = field(default_factory=list)  # REF*F8, REF*G1, REF*D9, REF*EA
    notes: Annotated[list[Nte], At(5)] = field(default_factory=list)  # NTE
    health_care_codes: Annotated[list[Hi], At(6)] = field(default_factory=list)  # HI*ABK/ABJ/BBR/BH/BE/BG
    attending_provider: Annotated[ProviderNameLoop | None, At(7, ("71",), loop_id="2310A")] = None  # 2310A
    operating_physician: Annotated[ProviderNameLoop | None, At(7, ("72",), loop_id="2310B")] = None  # 2310B
    other_operating_physician: Annotated[ProviderNameLoop | None, At(7, ("ZZ",), loop_id="2310C")] = None
    rendering_provider: Annotated[ProviderNameLoop | None, At(7, ("82",), loop_id="2310D")] = None  # 2310D
    service_facility: Annotated[FacilityNameLoop | None, At(7, loop_id="2310E")] = None  # 2310E
    referring_provider: Annotated[ProviderNameLoop | None, At(7, ("DN",), loop_id="2310F")] = None  # 2310F
    other_subscribers: Annotated[list[OtherSubscriberLoop], At(8)] = field(default_factory=list)  # 2320
    service_lines: Annotated[list[InstitutionalServiceLineLoop], At(9)] = field(default_factory=list)  # 2400

    @property
    def payer_claim_control_number(self) -> str | None:
        """REF*F8: the payer's number of the claim being replaced or voided."""
        return next((r.value for r in self.references if r.qualifier == "F8"), None)

    @property
    def type_of_bill(self) -> str:
        """Facility type code + frequency code (e.g. 131 = hospital outpatient, original)."""
        return self.claim.place_of_service + self.claim.frequency_code


@dataclass(slots=True, kw_only=True)
class InstitutionalPatientLoop(Loop):
    """2000C patient hierarchical level (patient ≠ subscriber)."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "23"
    patient_information: Annotated[Pat, At(1)]  # PAT
    patient: Annotated[PatientNameLoop, At(2)]  # 2010CA
    claims: Annotated[list[InstitutionalClaimLoop], At(3)] = field(default_factory=list)  # 2300


@dataclass(slots=True, kw_only=True)
class InstitutionalSubscriberLoop(Loop):
    """2000B subscriber hierarchical level."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "22"
    subscriber_information: Annotated[Sbr, At(1)]  # SBR
    patient_information: Annotated[Pat | None, At(2)] = None  # PAT
    subscriber: Annotated[SubscriberNameLoop, At(3)]  # 2010BA
    payer: Annotated[PayerNameLoop, At(4)]  # 2010BB
    claims: Annotated[list[InstitutionalClaimLoop], At(5)] = field(default_factory=list)  # 2300
    patients: Annotated[list[InstitutionalPatientLoop], At(6)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class InstitutionalBillingProviderLoop(Loop):
    """2000A billing provider hierarchical level."""

    loop_id: ClassVar[str] = "2000A"
    hl_level: ClassVar[str | None] = "20"
    specialty: Annotated[Prv | None, At(1)] = None  # PRV*BI
    billing_provider: Annotated[BillingProviderNameLoop, At(2)]  # 2010AA
    pay_to_address: Annotated[PayToAddressLoop | None, At(3)] = None  # 2010AB
    subscribers: Annotated[list[InstitutionalSubscriberLoop], At(4)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class Claim837I(Transaction):
    """837 institutional claim transaction set (005010X223A2)."""

    transaction_set_id: ClassVar[str] = "837"
    implementation_reference: ClassVar[str] = "005010X223A2"
    functional_id_code: ClassVar[str] = "HC"
    passthrough_segments: ClassVar[frozenset[str]] = PASSTHROUGH_837
    beginning: Annotated[Bht, At(1)]  # BHT*0019
    submitter: Annotated[SubmitterLoop, At(2)]  # 1000A
    receiver: Annotated[ReceiverLoop, At(3)]  # 1000B
    billing_providers: Annotated[list[InstitutionalBillingProviderLoop], At(4)] = field(default_factory=list)


class InstitutionalClaimContext(NamedTuple):
    """A 2300 claim with its billing provider, subscriber and (if not the subscriber) patient."""

    billing_provider: InstitutionalBillingProviderLoop
    subscriber: InstitutionalSubscriberLoop
    patient: InstitutionalPatientLoop | None
    claim: InstitutionalClaimLoop


def iter_claims(transaction: Claim837I) -> Iterator[InstitutionalClaimContext]:
    """Every claim in the transaction, under the subscriber or under a dependent."""
    for provider in transaction.billing_providers:
        for subscriber in provider.subscribers:
            for claim in subscriber.claims:
                yield InstitutionalClaimContext(provider, subscriber, None, claim)
            for patient in subscriber.patients:
                for claim in patient.claims:
                    yield InstitutionalClaimContext(provider, subscriber, patient, claim)
