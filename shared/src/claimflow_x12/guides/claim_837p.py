"""837 professional claim, implementation guide 005010X222A1."""

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
    "Claim837P",
    "ClaimContext",
    "ProfessionalBillingProviderLoop",
    "ProfessionalClaimLoop",
    "ProfessionalPatientLoop",
    "ProfessionalServiceLineLoop",
    "ProfessionalSubscriberLoop",
    "Sv1",
    "iter_claims",
]


@dataclass(slots=True, kw_only=True)
class Sv1(Segment):
    """Professional service. Example: ``SV1*HC:99213:25*100.00*UN*1*11**1:2~``"""

    segment_id: ClassVar[str] = "SV1"
    procedure_qualifier: Annotated[str, E(1, 1)]  # SV101-1 (HC HCPCS/CPT)
    procedure_code: Annotated[str, E(1, 2)]  # SV101-2
    modifiers: Annotated[list[str], E(1, 3, 6)] = field(default_factory=list)  # SV101-3..6
    description: Annotated[str | None, E(1, 7)] = None  # SV101-7
    line_charge: Annotated[Decimal, E(2)]  # SV102
    unit_basis: Annotated[str, E(3)] = "UN"  # SV103 (UN units, MJ minutes)
    units: Annotated[Decimal, E(4)]  # SV104
    place_of_service: Annotated[str | None, E(5)] = None  # SV105 (when it differs from CLM05-1)
    diagnosis_pointers: Annotated[list[int], E(7, 1, 4)] = field(default_factory=list)  # SV107-1..4
    emergency_indicator: Annotated[str | None, E(9)] = None  # SV109
    epsdt_indicator: Annotated[str | None, E(11)] = None  # SV111
    family_planning_indicator: Annotated[str | None, E(12)] = None  # SV112
    copay_status: Annotated[str | None, E(15)] = None  # SV115


@dataclass(slots=True, kw_only=True)
class ProfessionalServiceLineLoop(Loop):
    """2400 service line: LX, SV1, date of service, line item control number, line-level COB."""

    loop_id: ClassVar[str] = "2400"
    line: Annotated[Lx, At(0)]  # LX
    service: Annotated[Sv1, At(1)]  # SV1
    dates: Annotated[list[Dtp], At(2)] = field(default_factory=list)  # DTP*472 date of service
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*6R line item control number
    amounts: Annotated[list[Amt], At(4)] = field(default_factory=list)  # AMT*T sales tax
    notes: Annotated[list[Nte], At(5)] = field(default_factory=list)  # NTE*ADD
    rendering_provider: Annotated[ProviderNameLoop | None, At(6, ("82",), loop_id="2420A")] = None  # 2420A
    adjudications: Annotated[list[LineAdjudicationLoop], At(7)] = field(default_factory=list)  # 2430

    @property
    def line_item_control_number(self) -> str | None:
        """REF*6R: the provider's line id, echoed in the 835 REF*6R."""
        return next((r.value for r in self.references if r.qualifier == "6R"), None)

    @property
    def service_date(self) -> date | None:
        """DTP*472 (first date when a range)."""
        return next((d.start for d in self.dates if d.qualifier == "472"), None)


@dataclass(slots=True, kw_only=True)
class ProfessionalClaimLoop(Loop):
    """2300 claim: CLM, dates, references, diagnoses, claim-level providers, other payers and lines."""

    loop_id: ClassVar[str] = "2300"
    claim: Annotated[Clm, At(0)]  # CLM
    dates: Annotated[list[Dtp], At(1)] = field(default_factory=list)  # DTP*431 onset, 454, 304, 439...
    amounts: Annotated[list[Amt], At(2)] = field(default_factory=list)  # AMT*F5 patient amount paid
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*F8, REF*G1, REF*D9, REF*EA
    notes: Annotated[list[Nte], At(4)] = field(default_factory=list)  # NTE*ADD
    health_care_codes: Annotated[list[Hi], At(5)] = field(default_factory=list)  # HI*ABK/ABF diagnoses
    referring_provider: Annotated[ProviderNameLoop | None, At(6, ("DN", "P3"), loop_id="2310A")] = None  # 2310A
    rendering_provider: Annotated[ProviderNameLoop | None, At(6, ("82",), loop_id="2310B")] = None  # 2310B
    service_facility: Annotated[FacilityNameLoop | None, At(6)] = None  # 2310C
    supervising_provider: Annotated[ProviderNameLoop | None, At(6, ("DQ",), loop_id="2310D")] = None  # 2310D
    other_subscribers: Annotated[list[OtherSubscriberLoop], At(7)] = field(default_factory=list)  # 2320
    service_lines: Annotated[list[ProfessionalServiceLineLoop], At(8)] = field(default_factory=list)  # 2400

    def reference(self, qualifier: str) -> str | None:
        """REF02 of the first claim-level REF with this qualifier."""
        return next((r.value for r in self.references if r.qualifier == qualifier), None)

    @property
    def payer_claim_control_number(self) -> str | None:
        """REF*F8: the payer's number of the claim being replaced or voided."""
        return self.reference("F8")

    @property
    def prior_authorization_number(self) -> str | None:
        """REF*G1 prior authorization."""
        return self.reference("G1")

    @property
    def diagnosis_codes(self) -> list[str]:
        """ICD-10-CM codes in pointer order (ABK principal first, then ABF)."""
        return [c.code for hi in self.health_care_codes for c in hi.codes if c.qualifier in ("ABK", "ABF", "BK", "BF")]


@dataclass(slots=True, kw_only=True)
class ProfessionalPatientLoop(Loop):
    """2000C patient hierarchical level, present only when the patient is not the subscriber."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "23"
    patient_information: Annotated[Pat, At(1)]  # PAT
    patient: Annotated[PatientNameLoop, At(2)]  # 2010CA
    claims: Annotated[list[ProfessionalClaimLoop], At(3)] = field(default_factory=list)  # 2300


@dataclass(slots=True, kw_only=True)
class ProfessionalSubscriberLoop(Loop):
    """2000B subscriber hierarchical level: SBR, subscriber and payer names, claims or dependents."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "22"
    subscriber_information: Annotated[Sbr, At(1)]  # SBR
    patient_information: Annotated[Pat | None, At(2)] = None  # PAT (subscriber is the patient: death/pregnancy)
    subscriber: Annotated[SubscriberNameLoop, At(3)]  # 2010BA
    payer: Annotated[PayerNameLoop, At(4)]  # 2010BB
    claims: Annotated[list[ProfessionalClaimLoop], At(5)] = field(default_factory=list)  # 2300 (patient = subscriber)
    patients: Annotated[list[ProfessionalPatientLoop], At(6)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class ProfessionalBillingProviderLoop(Loop):
    """2000A billing provider hierarchical level."""

    loop_id: ClassVar[str] = "2000A"
    hl_level: ClassVar[str | None] = "20"
    specialty: Annotated[Prv | None, At(1)] = None  # PRV*BI
    billing_provider: Annotated[BillingProviderNameLoop, At(2)]  # 2010AA
    pay_to_address: Annotated[PayToAddressLoop | None, At(3)] = None  # 2010AB
    subscribers: Annotated[list[ProfessionalSubscriberLoop], At(4)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class Claim837P(Transaction):
    """837 professional claim transaction set (005010X222A1)."""

    transaction_set_id: ClassVar[str] = "837"
    implementation_reference: ClassVar[str] = "005010X222A1"
    functional_id_code: ClassVar[str] = "HC"
    passthrough_segments: ClassVar[frozenset[str]] = PASSTHROUGH_837
    beginning: Annotated[Bht, At(1)]  # BHT*0019
    submitter: Annotated[SubmitterLoop, At(2)]  # 1000A
    receiver: Annotated[ReceiverLoop, At(3)]  # 1000B
    billing_providers: Annotated[list[ProfessionalBillingProviderLoop], At(4)] = field(default_factory=list)  # 2000A


class ClaimContext(NamedTuple):
    """A 2300 claim with the loops above it that say who billed, who is covered and who was treated."""

    billing_provider: ProfessionalBillingProviderLoop
    subscriber: ProfessionalSubscriberLoop
    patient: ProfessionalPatientLoop | None  # None when the subscriber is the patient
    claim: ProfessionalClaimLoop


def iter_claims(transaction: Claim837P) -> Iterator[ClaimContext]:
    """Every claim in the transaction, whether it sits under the subscriber (2000B) or a dependent (2000C)."""
    for provider in transaction.billing_providers:
        for subscriber in provider.subscribers:
            for claim in subscriber.claims:
                yield ClaimContext(provider, subscriber, None, claim)
            for patient in subscriber.patients:
                for claim in patient.claims:
                    yield ClaimContext(provider, subscriber, patient, claim)
