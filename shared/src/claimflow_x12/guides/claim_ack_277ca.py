"""277CA health care claim acknowledgment, implementation guide 005010X214."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, NamedTuple

from claimflow_x12.guides.claim_status_common import StatusSvc, Stc
from claimflow_x12.model import At, Loop
from claimflow_x12.segments import Amt, Bht, Dtp, Nm1, Qty, Ref, Trn
from claimflow_x12.transaction import Transaction, register_transaction

__all__ = [
    "AcknowledgedClaim",
    "BillingProviderLevelLoop",
    "ClaimAcknowledgment277CA",
    "ClaimStatusTrackingLoop",
    "InformationReceiverLevelLoop",
    "InformationSourceLevelLoop",
    "PatientLevelLoop",
    "ServiceLineStatusLoop",
    "iter_acknowledged_claims",
]


@dataclass(slots=True, kw_only=True)
class ServiceLineStatusLoop(Loop):
    """2220D service line: SVC, its status, line item control number and date."""

    loop_id: ClassVar[str] = "2220D"
    service: Annotated[StatusSvc, At(0)]  # SVC
    statuses: Annotated[list[Stc], At(1)] = field(default_factory=list)  # STC
    references: Annotated[list[Ref], At(2)] = field(default_factory=list)  # REF*FJ line item control number
    dates: Annotated[list[Dtp], At(3)] = field(default_factory=list)  # DTP*472


@dataclass(slots=True, kw_only=True)
class ClaimStatusTrackingLoop(Loop):
    """2200D claim status tracking: TRN (patient control number), STC, payer claim number, dates, lines."""

    loop_id: ClassVar[str] = "2200D"
    trace: Annotated[Trn, At(0)]  # TRN*2 (TRN02 = CLM01)
    statuses: Annotated[list[Stc], At(1)] = field(default_factory=list)  # STC
    references: Annotated[list[Ref], At(2)] = field(default_factory=list)  # REF*1K payer claim number, D9, BLT
    dates: Annotated[list[Dtp], At(3)] = field(default_factory=list)  # DTP*472 claim service period
    service_lines: Annotated[list[ServiceLineStatusLoop], At(4)] = field(default_factory=list)  # 2220D

    @property
    def payer_claim_control_number(self) -> str | None:
        """REF*1K: the payer's claim number (present when accepted)."""
        return next((r.value for r in self.references if r.qualifier == "1K"), None)


@dataclass(slots=True, kw_only=True)
class PatientLevelLoop(Loop):
    """2000D patient level: the patient and one 2200D per acknowledged claim."""

    loop_id: ClassVar[str] = "2000D"
    hl_level: ClassVar[str | None] = "PT"
    hl_child_code: ClassVar[bool] = False
    patient: Annotated[Nm1, At(1, ("QC",))]  # 2100D NM1*QC
    claims: Annotated[list[ClaimStatusTrackingLoop], At(2)] = field(default_factory=list)  # 2200D


@dataclass(slots=True, kw_only=True)
class ProviderTrackingLoop(Loop):
    """2200C provider of service tracking: TRN, status, accepted/rejected quantities and amounts."""

    loop_id: ClassVar[str] = "2200C"
    trace: Annotated[Trn, At(0)]  # TRN*1
    statuses: Annotated[list[Stc], At(1)] = field(default_factory=list)  # STC
    references: Annotated[list[Ref], At(2)] = field(default_factory=list)  # REF*TJ
    quantities: Annotated[list[Qty], At(3)] = field(default_factory=list)  # QTY*QA accepted / QC rejected
    amounts: Annotated[list[Amt], At(4)] = field(default_factory=list)  # AMT*YU accepted / YY rejected


@dataclass(slots=True, kw_only=True)
class BillingProviderLevelLoop(Loop):
    """2000C billing provider of service level."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "19"
    provider: Annotated[Nm1, At(1, ("85",))]  # 2100C NM1*85
    tracking: Annotated[ProviderTrackingLoop | None, At(2)] = None  # 2200C
    patients: Annotated[list[PatientLevelLoop], At(3)] = field(default_factory=list)  # 2000D


@dataclass(slots=True, kw_only=True)
class ReceiverTrackingLoop(Loop):
    """2200B information receiver application trace: batch status and totals."""

    loop_id: ClassVar[str] = "2200B"
    trace: Annotated[Trn, At(0)]  # TRN*2 (BHT03 / batch id of the 837)
    statuses: Annotated[list[Stc], At(1)] = field(default_factory=list)  # STC
    quantities: Annotated[list[Qty], At(2)] = field(default_factory=list)  # QTY*90 accepted / AA rejected
    amounts: Annotated[list[Amt], At(3)] = field(default_factory=list)  # AMT*YU / YY


@dataclass(slots=True, kw_only=True)
class InformationReceiverLevelLoop(Loop):
    """2000B information receiver (the submitter of the 837)."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "21"
    receiver: Annotated[Nm1, At(1, ("41",))]  # 2100B NM1*41
    tracking: Annotated[ReceiverTrackingLoop | None, At(2)] = None  # 2200B
    providers: Annotated[list[BillingProviderLevelLoop], At(3)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class SourceTrackingLoop(Loop):
    """2200A transmission receipt: TRN, received and processed dates."""

    loop_id: ClassVar[str] = "2200A"
    trace: Annotated[Trn, At(0)]  # TRN*1
    dates: Annotated[list[Dtp], At(1)] = field(default_factory=list)  # DTP*050 received, DTP*009 processed


@dataclass(slots=True, kw_only=True)
class InformationSourceLevelLoop(Loop):
    """2000A information source (payer or clearinghouse)."""

    loop_id: ClassVar[str] = "2000A"
    hl_level: ClassVar[str | None] = "20"
    source: Annotated[Nm1, At(1, ("PR", "AY"))]  # 2100A NM1*PR / NM1*AY
    tracking: Annotated[SourceTrackingLoop | None, At(2)] = None  # 2200A
    receivers: Annotated[list[InformationReceiverLevelLoop], At(3)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class ClaimAcknowledgment277CA(Transaction):
    """277CA claim acknowledgment transaction set (005010X214)."""

    transaction_set_id: ClassVar[str] = "277"
    implementation_reference: ClassVar[str] = "005010X214"
    functional_id_code: ClassVar[str] = "HN"
    beginning: Annotated[Bht, At(1)]  # BHT*0085*08
    sources: Annotated[list[InformationSourceLevelLoop], At(2)] = field(default_factory=list)  # 2000A


class AcknowledgedClaim(NamedTuple):
    """One claim's acknowledgment with the patient and billing provider it was filed under."""

    provider: BillingProviderLevelLoop
    patient: PatientLevelLoop
    claim: ClaimStatusTrackingLoop

    @property
    def patient_control_number(self) -> str:
        """TRN02: the 837 CLM01."""
        return self.claim.trace.reference_id

    @property
    def accepted(self) -> bool:
        """True when the first STC says the claim was accepted into adjudication."""
        return bool(self.claim.statuses) and self.claim.statuses[0].accepted


def iter_acknowledged_claims(transaction: ClaimAcknowledgment277CA) -> Iterator[AcknowledgedClaim]:
    """Every acknowledged claim (2200D) in document order."""
    for source in transaction.sources:
        for receiver in source.receivers:
            for provider in receiver.providers:
                for patient in provider.patients:
                    for claim in patient.claims:
                        yield AcknowledgedClaim(provider, patient, claim)
