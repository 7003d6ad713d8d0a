"""Segments and loops the professional (X222A1) and institutional (X223A2) 837 guides share."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from claimflow_x12.model import At, E, Loop, Segment
from claimflow_x12.segments import N3, N4, Amt, Cas, Dmg, Dtp, Nm1, Per, Prv, Ref, Sbr

__all__ = [
    "PASSTHROUGH_837",
    "BillingProviderNameLoop",
    "Clm",
    "LineAdjudicationLoop",
    "Moa",
    "Oi",
    "OtherPayerNameLoop",
    "OtherSubscriberLoop",
    "OtherSubscriberNameLoop",
    "PatientNameLoop",
    "PayToAddressLoop",
    "PayerNameLoop",
    "ReceiverLoop",
    "SubmitterLoop",
    "SubscriberNameLoop",
    "Svd",
    "YesNoCode",
]

# Segments the 837 guides allow that these models keep untyped (in ``extra_segments``) without an error.
PASSTHROUGH_837 = frozenset(
    {"CUR", "PWK", "CN1", "K3", "CR1", "CR2", "CR3", "CRC", "HCP", "PS1", "LIN", "CTP", "MEA", "TOO", "FRM", "LQ",
     "SV5", "QTY", "MIA", "HSD"}
)  # fmt: skip


class YesNoCode(StrEnum):
    """Y/N indicators (CLM06 provider signature, CLM08 benefits assignment allows W)."""

    YES = "Y"
    NO = "N"
    NOT_APPLICABLE = "W"


@dataclass(slots=True, kw_only=True)
class Clm(Segment):
    """Claim information. Example: ``CLM*PCN1001*350.00***11:B:1*Y*A*Y*Y~``"""

    segment_id: ClassVar[str] = "CLM"
    patient_control_number: Annotated[str, E(1)]  # CLM01 (returned in 835 CLP01)
    total_charge: Annotated[Decimal, E(2)]  # CLM02 (= Σ line charges)
    place_of_service: Annotated[str, E(5, 1)]  # CLM05-1 (837I: facility type, first two digits of type of bill)
    facility_code_qualifier: Annotated[str, E(5, 2)]  # CLM05-2 (B place of service, A UB-04 facility type)
    frequency_code: Annotated[str, E(5, 3)]  # CLM05-3 (1 original, 7 replacement, 8 void)
    provider_signature: Annotated[YesNoCode | None, E(6)] = None  # CLM06
    assignment_participation: Annotated[str | None, E(7)] = None  # CLM07 (A assigned, B lab only, C not assigned)
    benefits_assignment: Annotated[YesNoCode | None, E(8)] = None  # CLM08
    release_of_information: Annotated[str | None, E(9)] = None  # CLM09 (Y, I informed consent)
    patient_signature_source: Annotated[str | None, E(10)] = None  # CLM10
    related_causes: Annotated[list[str], E(11, 1, 3)] = field(default_factory=list)  # CLM11-1..3 (AA, EM, OA)
    accident_state: Annotated[str | None, E(11, 4)] = None  # CLM11-4
    accident_country: Annotated[str | None, E(11, 5)] = None  # CLM11-5
    special_program: Annotated[str | None, E(12)] = None  # CLM12
    delay_reason: Annotated[str | None, E(20)] = None  # CLM20


@dataclass(slots=True, kw_only=True)
class Svd(Segment):
    """Line adjudication by another payer (2430). Example: ``SVD*OTHERPAYER1*60.00*HC:99213**1~``"""

    segment_id: ClassVar[str] = "SVD"
    other_payer_id: Annotated[str, E(1)]  # SVD01 (matches 2330B NM109)
    paid_amount: Annotated[Decimal, E(2)]  # SVD02
    procedure_qualifier: Annotated[str | None, E(3, 1)] = None  # SVD03-1
    procedure_code: Annotated[str | None, E(3, 2)] = None  # SVD03-2
    modifiers: Annotated[list[str], E(3, 3, 6)] = field(default_factory=list)  # SVD03-3..6
    procedure_description: Annotated[str | None, E(3, 7)] = None  # SVD03-7
    revenue_code: Annotated[str | None, E(4)] = None  # SVD04 (837I)
    paid_units: Annotated[Decimal, E(5)]  # SVD05
    bundled_line_number: Annotated[int | None, E(6)] = None  # SVD06


@dataclass(slots=True, kw_only=True)
class Oi(Segment):
    """Other insurance coverage information (2320). Example: ``OI***Y*P**Y~``"""

    segment_id: ClassVar[str] = "OI"
    benefits_assignment: Annotated[YesNoCode, E(3)]  # OI03
    patient_signature_source: Annotated[str | None, E(4)] = None  # OI04
    release_of_information: Annotated[str, E(6)]  # OI06


@dataclass(slots=True, kw_only=True)
class Moa(Segment):
    """Outpatient adjudication information. Example: ``MOA***MA01~``"""

    segment_id: ClassVar[str] = "MOA"
    reimbursement_rate: Annotated[Decimal | None, E(1)] = None  # MOA01
    hcpcs_payable_amount: Annotated[Decimal | None, E(2)] = None  # MOA02
    remark_code_1: Annotated[str | None, E(3)] = None  # MOA03 (RARC)
    remark_code_2: Annotated[str | None, E(4)] = None  # MOA04
    remark_code_3: Annotated[str | None, E(5)] = None  # MOA05
    remark_code_4: Annotated[str | None, E(6)] = None  # MOA06
    remark_code_5: Annotated[str | None, E(7)] = None  # MOA07
    esrd_payment_amount: Annotated[Decimal | None, E(8)] = None  # MOA08
    nonpayable_professional_component: Annotated[Decimal | None, E(9)] = None  # MOA09


@dataclass(slots=True, kw_only=True)
class SubmitterLoop(Loop):
    """1000A submitter name and contacts."""

    loop_id: ClassVar[str] = "1000A"
    submitter: Annotated[Nm1, At(0, ("41",))]  # NM1*41
    contacts: Annotated[list[Per], At(1)] = field(default_factory=list)  # PER*IC


@dataclass(slots=True, kw_only=True)
class ReceiverLoop(Loop):
    """1000B receiver (clearinghouse or payer) name."""

    loop_id: ClassVar[str] = "1000B"
    receiver: Annotated[Nm1, At(0, ("40",))]  # NM1*40


@dataclass(slots=True, kw_only=True)
class BillingProviderNameLoop(Loop):
    """2010AA billing provider: NPI, address, tax id."""

    loop_id: ClassVar[str] = "2010AA"
    name: Annotated[Nm1, At(0, ("85",))]  # NM1*85 (NM109 = NPI)
    address: Annotated[N3, At(1)]  # N3
    city_state_zip: Annotated[N4, At(2)]  # N4
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*EI tax id, REF*SY SSN
    contacts: Annotated[list[Per], At(4)] = field(default_factory=list)  # PER*IC

    @property
    def tax_id(self) -> str | None:
        """REF*EI employer identification number."""
        return next((r.value for r in self.references if r.qualifier == "EI"), None)


@dataclass(slots=True, kw_only=True)
class PayToAddressLoop(Loop):
    """2010AB pay-to address when payments go elsewhere than the billing address."""

    loop_id: ClassVar[str] = "2010AB"
    name: Annotated[Nm1, At(0, ("87",))]  # NM1*87
    address: Annotated[N3, At(1)]  # N3
    city_state_zip: Annotated[N4, At(2)]  # N4


@dataclass(slots=True, kw_only=True)
class SubscriberNameLoop(Loop):
    """2010BA subscriber: member id, address, birth date and sex."""

    loop_id: ClassVar[str] = "2010BA"
    name: Annotated[Nm1, At(0, ("IL",))]  # NM1*IL (NM109 = member id)
    address: Annotated[N3 | None, At(1)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(2)] = None  # N4
    demographics: Annotated[Dmg | None, At(3)] = None  # DMG
    references: Annotated[list[Ref], At(4)] = field(default_factory=list)  # REF*SY


@dataclass(slots=True, kw_only=True)
class PayerNameLoop(Loop):
    """2010BB payer name and payer id."""

    loop_id: ClassVar[str] = "2010BB"
    name: Annotated[Nm1, At(0, ("PR",))]  # NM1*PR (NM108 PI, NM109 payer id)
    address: Annotated[N3 | None, At(1)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(2)] = None  # N4
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*2U, REF*G2


@dataclass(slots=True, kw_only=True)
class PatientNameLoop(Loop):
    """2010CA patient (when the patient is not the subscriber)."""

    loop_id: ClassVar[str] = "2010CA"
    name: Annotated[Nm1, At(0, ("QC",))]  # NM1*QC
    address: Annotated[N3, At(1)]  # N3
    city_state_zip: Annotated[N4, At(2)]  # N4
    demographics: Annotated[Dmg, At(3)]  # DMG
    references: Annotated[list[Ref], At(4)] = field(default_factory=list)  # REF*Y4, REF*1W


@dataclass(slots=True, kw_only=True)
class OtherSubscriberNameLoop(Loop):
    """2330A subscriber as known to the other payer."""

    loop_id: ClassVar[str] = "2330A"
    name: Annotated[Nm1, At(0, ("IL",))]  # NM1*IL
    address: Annotated[N3 | None, At(1)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(2)] = None  # N4
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*SY


@dataclass(slots=True, kw_only=True)
class OtherPayerNameLoop(Loop):
    """2330B other payer (the one that adjudicated before this payer)."""

    loop_id: ClassVar[str] = "2330B"
    name: Annotated[Nm1, At(0, ("PR",))]  # NM1*PR (NM109 matches SVD01)
    address: Annotated[N3 | None, At(1)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(2)] = None  # N4
    dates: Annotated[list[Dtp], At(3)] = field(default_factory=list)  # DTP*573 claim check or remittance date
    references: Annotated[list[Ref], At(4)] = field(default_factory=list)  # REF*F8, REF*G1


@dataclass(slots=True, kw_only=True)
class OtherSubscriberLoop(Loop):
    """2320 other subscriber information: coverage and claim-level adjudication by another payer."""

    loop_id: ClassVar[str] = "2320"
    subscriber_information: Annotated[Sbr, At(0)]  # SBR
    adjustments: Annotated[list[Cas], At(1)] = field(default_factory=list)  # CAS (claim level)
    amounts: Annotated[list[Amt], At(2)] = field(default_factory=list)  # AMT*D payer paid, A8, EAF
    other_insurance: Annotated[Oi, At(3)]  # OI
    outpatient_adjudication: Annotated[Moa | None, At(4)] = None  # MOA
    other_subscriber: Annotated[OtherSubscriberNameLoop, At(5)]  # 2330A
    other_payer: Annotated[OtherPayerNameLoop, At(6)]  # 2330B

    @property
    def payer_paid_amount(self) -> Decimal | None:
        """AMT*D: what the other payer paid on the claim."""
        return next((a.amount for a in self.amounts if a.qualifier == "D"), None)


@dataclass(slots=True, kw_only=True)
class LineAdjudicationLoop(Loop):
    """2430 how another payer adjudicated this line: SVD, CAS and the adjudication date."""

    loop_id: ClassVar[str] = "2430"
    adjudication: Annotated[Svd, At(0)]  # SVD
    adjustments: Annotated[list[Cas], At(1)] = field(default_factory=list)  # CAS
    dates: Annotated[list[Dtp], At(2)] = field(default_factory=list)  # DTP*573
    amounts: Annotated[list[Amt], At(3)] = field(default_factory=list)  # AMT*EAF


@dataclass(slots=True, kw_only=True)
class ProviderNameLoop(Loop):
    """A named provider on a claim or line (2310x/2420x): NM1, optional taxonomy and secondary ids."""

    loop_id: ClassVar[str] = "2310"
    name: Annotated[Nm1, At(0)]  # NM1
    specialty: Annotated[Prv | None, At(1)] = None  # PRV*PE / PRV*AT
    references: Annotated[list[Ref], At(2)] = field(default_factory=list)  # REF*G2, REF*0B


@dataclass(slots=True, kw_only=True)
class FacilityNameLoop(Loop):
    """Service facility location (2310C professional / 2310E institutional)."""

    loop_id: ClassVar[str] = "2310C"
    name: Annotated[Nm1, At(0, ("77",))]  # NM1*77
    address: Annotated[N3, At(1)]  # N3
    city_state_zip: Annotated[N4, At(2)]  # N4
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*G2
    contacts: Annotated[list[Per], At(4)] = field(default_factory=list)  # PER
