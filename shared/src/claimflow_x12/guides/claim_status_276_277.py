"""276/277 claim status request and response, implementation guide 005010X212."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, NamedTuple

from claimflow_x12.guides.claim_status_common import StatusSvc, Stc
from claimflow_x12.model import At, Loop
from claimflow_x12.segments import Amt, Bht, Dmg, Dtp, Nm1, Per, Ref, Trn
from claimflow_x12.transaction import Transaction, register_transaction

__all__ = [
    "ClaimStatusRequest276",
    "ClaimStatusResponse277",
    "InquiryServiceLineLoop",
    "ReportedClaim",
    "RequestDependentLoop",
    "RequestSubscriberLoop",
    "ResponseDependentLoop",
    "ResponseSubscriberLoop",
    "StatusInquiryLoop",
    "StatusResultLoop",
    "StatusServiceLineLoop",
    "iter_claim_statuses",
]


@dataclass(slots=True, kw_only=True)
class SourceLevelLoop(Loop):
    """2000A information source (payer) level."""

    loop_id: ClassVar[str] = "2000A"
    hl_level: ClassVar[str | None] = "20"
    payer: Annotated[Nm1, At(1, ("PR",))]  # 2100A NM1*PR
    contacts: Annotated[list[Per], At(2)] = field(default_factory=list)  # PER (277)


# ---------------------------------------------------------------- 276


@dataclass(slots=True, kw_only=True)
class InquiryServiceLineLoop(Loop):
    """2210D/2210E service line the status is asked for."""

    loop_id: ClassVar[str] = "2210D"
    service: Annotated[StatusSvc, At(0)]  # SVC
    references: Annotated[list[Ref], At(1)] = field(default_factory=list)  # REF*FJ
    dates: Annotated[list[Dtp], At(2)] = field(default_factory=list)  # DTP*472


@dataclass(slots=True, kw_only=True)
class StatusInquiryLoop(Loop):
    """2200D/2200E claim status tracking number and what identifies the claim."""

    loop_id: ClassVar[str] = "2200D"
    trace: Annotated[Trn, At(0)]  # TRN*1 (echoed in the 277)
    references: Annotated[list[Ref], At(1)] = field(default_factory=list)  # REF*1K payer claim no, EJ PCN, BLT
    amounts: Annotated[list[Amt], At(2)] = field(default_factory=list)  # AMT*T3 total claim charge
    dates: Annotated[list[Dtp], At(3)] = field(default_factory=list)  # DTP*472 service period
    service_lines: Annotated[list[InquiryServiceLineLoop], At(4)] = field(default_factory=list)  # 2210D


@dataclass(slots=True, kw_only=True)
class RequestDependentLoop(Loop):
    """2000E dependent level of a 276."""

    loop_id: ClassVar[str] = "2000E"
    hl_level: ClassVar[str | None] = "23"
    hl_child_code: ClassVar[bool] = False
    demographics: Annotated[Dmg | None, At(1)] = None  # DMG
    dependent: Annotated[Nm1, At(2, ("QC",))]  # 2100E NM1*QC
    claims: Annotated[list[StatusInquiryLoop], At(3, loop_id="2200E")] = field(default_factory=list)  # 2200E


@dataclass(slots=True, kw_only=True)
class RequestSubscriberLoop(Loop):
    """2000D subscriber level of a 276."""

    loop_id: ClassVar[str] = "2000D"
    hl_level: ClassVar[str | None] = "22"
    demographics: Annotated[Dmg | None, At(1)] = None  # DMG
    subscriber: Annotated[Nm1, At(2, ("IL",))]  # 2100D NM1*IL
    claims: Annotated[list[StatusInquiryLoop], At(3)] = field(default_factory=list)  # 2200D
    dependents: Annotated[list[RequestDependentLoop], At(4)] = field(default_factory=list)  # 2000E


@dataclass(slots=True, kw_only=True)
class RequestProviderLoop(Loop):
    """2000C service provider level of a 276."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "19"
    provider: Annotated[Nm1, At(1, ("1P",))]  # 2100C NM1*1P
    subscribers: Annotated[list[RequestSubscriberLoop], At(2)] = field(default_factory=list)  # 2000D


@dataclass(slots=True, kw_only=True)
class RequestReceiverLoop(Loop):
    """2000B information receiver level of a 276."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "21"
    receiver: Annotated[Nm1, At(1, ("41",))]  # 2100B NM1*41
    providers: Annotated[list[RequestProviderLoop], At(2)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class RequestSourceLoop(SourceLevelLoop):
    """2000A information source level of a 276."""

    receivers: Annotated[list[RequestReceiverLoop], At(3)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class ClaimStatusRequest276(Transaction):
    """276 claim status request transaction set (005010X212)."""

    transaction_set_id: ClassVar[str] = "276"
    implementation_reference: ClassVar[str] = "005010X212"
    functional_id_code: ClassVar[str] = "HR"
    beginning: Annotated[Bht, At(1)]  # BHT*0010*13
    sources: Annotated[list[RequestSourceLoop], At(2)] = field(default_factory=list)  # 2000A


# ---------------------------------------------------------------- 277


@dataclass(slots=True, kw_only=True)
class StatusServiceLineLoop(Loop):
    """2220D/2220E service line status."""

    loop_id: ClassVar[str] = "2220D"
    service: Annotated[StatusSvc, At(0)]  # SVC
    statuses: Annotated[list[Stc], At(1)] = field(default_factory=list)  # STC
    references: Annotated[list[Ref], At(2)] = field(default_factory=list)  # REF*FJ
    dates: Annotated[list[Dtp], At(3)] = field(default_factory=list)  # DTP*472


@dataclass(slots=True, kw_only=True)
class StatusResultLoop(Loop):
    """2200D/2200E claim status: the trace echoed from the 276, STC, payer claim number, dates."""

    loop_id: ClassVar[str] = "2200D"
    trace: Annotated[Trn, At(0)]  # TRN*2
    statuses: Annotated[list[Stc], At(1)] = field(default_factory=list)  # STC
    references: Annotated[list[Ref], At(2)] = field(default_factory=list)  # REF*1K, EJ, BLT
    dates: Annotated[list[Dtp], At(3)] = field(default_factory=list)  # DTP*472
    service_lines: Annotated[list[StatusServiceLineLoop], At(4)] = field(default_factory=list)  # 2220D


@dataclass(slots=True, kw_only=True)
class ResponseDependentLoop(Loop):
    """2000E dependent level of a 277."""

    loop_id: ClassVar[str] = "2000E"
    hl_level: ClassVar[str | None] = "23"
    hl_child_code: ClassVar[bool] = False
    dependent: Annotated[Nm1, At(1, ("QC",))]  # 2100E NM1*QC
    claims: Annotated[list[StatusResultLoop], At(2, loop_id="2200E")] = field(default_factory=list)  # 2200E


@dataclass(slots=True, kw_only=True)
class ResponseSubscriberLoop(Loop):
    """2000D subscriber level of a 277."""

    loop_id: ClassVar[str] = "2000D"
    hl_level: ClassVar[str | None] = "22"
    subscriber: Annotated[Nm1, At(1, ("IL",))]  # 2100D NM1*IL
    claims: Annotated[list[StatusResultLoop], At(2)] = field(default_factory=list)  # 2200D
    dependents: Annotated[list[ResponseDependentLoop], At(3)] = field(default_factory=list)  # 2000E


@dataclass(slots=True, kw_only=True)
class ResponseProviderLoop(Loop):
    """2000C service provider level of a 277."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "19"
    provider: Annotated[Nm1, At(1, ("1P",))]  # 2100C NM1*1P
    subscribers: Annotated[list[ResponseSubscriberLoop], At(2)] = field(default_factory=list)  # 2000D


@dataclass(slots=True, kw_only=True)
class ResponseReceiverLoop(Loop):
    """2000B information receiver level of a 277."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "21"
    receiver: Annotated[Nm1, At(1, ("41",))]  # 2100B NM1*41
    providers: Annotated[list[ResponseProviderLoop], At(2)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class ResponseSourceLoop(SourceLevelLoop):
    """2000A information source level of a 277."""

    receivers: Annotated[list[ResponseReceiverLoop], At(3)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class ClaimStatusResponse277(Transaction):
    """277 claim status response transaction set (005010X212)."""

    transaction_set_id: ClassVar[str] = "277"
    implementation_reference: ClassVar[str] = "005010X212"
    functional_id_code: ClassVar[str] = "HN"
    beginning: Annotated[Bht, At(1)]  # BHT*0010*08
    sources: Annotated[list[ResponseSourceLoop], At(2)] = field(default_factory=list)  # 2000A


class ReportedClaim(NamedTuple):
    """A claim status from a 277 with the member it belongs to."""

    member: Nm1
    is_dependent: bool
    claim: StatusResultLoop


def iter_claim_statuses(transaction: ClaimStatusResponse277) -> Iterator[ReportedClaim]:
    """Every 2200D/2200E claim status, whether it is under the subscriber or a dependent."""
    for source in transaction.sources:
        for receiver in source.receivers:
            for provider in receiver.providers:
                for subscriber in provider.subscribers:
                    for claim in subscriber.claims:
                        yield ReportedClaim(subscriber.subscriber, False, claim)
                    for dependent in subscriber.dependents:
                        for claim in dependent.claims:
                            yield ReportedClaim(dependent.dependent, True, claim)
