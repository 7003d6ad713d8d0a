"""270/271 eligibility inquiry and response, implementation guide 005010X279A1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from claimflow_x12.model import At, E, Loop, Segment
from claimflow_x12.segments import N3, N4, Aaa, Bht, Dmg, Dtp, Msg, Nm1, Per, Prv, Ref, Trn
from claimflow_x12.transaction import Transaction, register_transaction

__all__ = [
    "BenefitEntityLoop",
    "BenefitSummary",
    "Eb",
    "EligibilityBenefitCode",
    "EligibilityBenefitLoop",
    "EligibilityInquiry270",
    "EligibilityResponse271",
    "Eq",
    "InNetworkCode",
    "InquiryDependentLoop",
    "InquiryInformationReceiverLoop",
    "InquiryInformationSourceLoop",
    "InquirySubscriberLoop",
    "Le",
    "Ls",
    "MemberEligibility",
    "MemberNameLoop",
    "ResponseDependentLoop",
    "ResponseInformationReceiverLoop",
    "ResponseInformationSourceLoop",
    "ResponseSubscriberLoop",
    "ServiceTypeInquiryLoop",
    "TimePeriodCode",
    "summarize_eligibility",
]

_PASSTHROUGH = frozenset({"INS", "HI", "MPI", "HSD", "III", "AMT", "PER"})


class EligibilityBenefitCode(StrEnum):
    """EB01 eligibility or benefit information."""

    ACTIVE_COVERAGE = "1"
    ACTIVE_FULL_RISK_CAPITATION = "2"
    ACTIVE_SERVICES_CAPITATED = "3"
    ACTIVE_SERVICES_CAPITATED_TO_PCP = "4"
    ACTIVE_PENDING_INVESTIGATION = "5"
    INACTIVE = "6"
    INACTIVE_PENDING_ELIGIBILITY_UPDATE = "7"
    INACTIVE_PENDING_INVESTIGATION = "8"
    CO_INSURANCE = "A"
    CO_PAYMENT = "B"
    DEDUCTIBLE = "C"
    COVERAGE_BASIS = "CB"
    BENEFIT_DESCRIPTION = "D"
    EXCLUSIONS = "E"
    LIMITATIONS = "F"
    OUT_OF_POCKET_STOP_LOSS = "G"
    UNLIMITED = "H"
    NON_COVERED = "I"
    COST_CONTAINMENT = "J"
    RESERVE = "K"
    PRIMARY_CARE_PROVIDER = "L"
    PRE_EXISTING_CONDITION = "M"
    MANAGED_CARE_COORDINATOR = "MC"
    SERVICES_RESTRICTED_TO_PROVIDER = "N"
    NOT_DEEMED_MEDICAL_NECESSITY = "O"
    BENEFIT_DISCLAIMER = "P"
    SECOND_SURGICAL_OPINION_REQUIRED = "Q"
    OTHER_OR_ADDITIONAL_PAYER = "R"
    PRIOR_YEAR_HISTORY = "S"
    CARD_REPORTED_LOST_STOLEN = "T"
    CONTACT_FOLLOWING_ENTITY = "U"
    CANNOT_PROCESS = "V"
    OTHER_SOURCE_OF_DATA = "W"
    HEALTH_CARE_FACILITY = "X"
    SPEND_DOWN = "Y"


class TimePeriodCode(StrEnum):
    """EB06 time period qualifier."""

    HOUR = "6"
    DAY = "7"
    TWENTY_FOUR_HOURS = "13"
    YEARS = "21"
    SERVICE_YEAR = "22"
    CALENDAR_YEAR = "23"
    YEAR_TO_DATE = "24"
    CONTRACT = "25"
    EPISODE = "26"
    VISIT = "27"
    OUTLIER = "28"
    REMAINING = "29"
    EXCEEDED = "30"
    NOT_EXCEEDED = "31"
    LIFETIME = "32"
    LIFETIME_REMAINING = "33"
    MONTH = "34"
    WEEK = "35"
    ADMISSION = "36"


class InNetworkCode(StrEnum):
    """EB12 in-plan-network indicator."""

    YES = "Y"
    NO = "N"
    UNKNOWN = "U"
    NOT_APPLICABLE = "W"


@dataclass(slots=True, kw_only=True)
class Eq(Segment):
    """Eligibility inquiry for service types. Example: ``EQ*30^98~``"""

    segment_id: ClassVar[str] = "EQ"
    service_type_codes: Annotated[list[str], E(1, repeat=True)] = field(default_factory=list)  # EQ01
    procedure_qualifier: Annotated[str | None, E(2, 1)] = None  # EQ02-1
    procedure_code: Annotated[str | None, E(2, 2)] = None  # EQ02-2
    coverage_level: Annotated[str | None, E(3)] = None  # EQ03


@dataclass(slots=True, kw_only=True)
class Eb(Segment):
    """Eligibility or benefit information. Example: ``EB*B*IND*98*HM*GOLD PLAN*27*25.00*****Y~``"""

    segment_id: ClassVar[str] = "EB"
    benefit_code: Annotated[EligibilityBenefitCode, E(1)]  # EB01
    coverage_level: Annotated[str | None, E(2)] = None  # EB02 (IND individual, FAM family, EMP...)
    service_type_codes: Annotated[list[str], E(3, repeat=True)] = field(default_factory=list)  # EB03
    insurance_type: Annotated[str | None, E(4)] = None  # EB04 (HM HMO, PR PPO, MB Medicare B...)
    plan_description: Annotated[str | None, E(5)] = None  # EB05
    time_period: Annotated[TimePeriodCode | None, E(6)] = None  # EB06
    amount: Annotated[Decimal | None, E(7)] = None  # EB07 (copay, deductible, OOP)
    percent: Annotated[Decimal | None, E(8)] = None  # EB08 (coinsurance as a decimal, .2 = 20%)
    quantity_qualifier: Annotated[str | None, E(9)] = None  # EB09
    quantity: Annotated[Decimal | None, E(10)] = None  # EB10
    authorization_required: Annotated[str | None, E(11)] = None  # EB11
    in_network: Annotated[InNetworkCode | None, E(12)] = None  # EB12
    procedure_qualifier: Annotated[str | None, E(13, 1)] = None  # EB13-1
    procedure_code: Annotated[str | None, E(13, 2)] = None  # EB13-2


@dataclass(slots=True, kw_only=True)
class Ls(Segment):
    """Loop header for 2120C benefit-related entities. Example: ``LS*2120~``"""

    segment_id: ClassVar[str] = "LS"
    loop_id_code: Annotated[str, E(1)]  # LS01


@dataclass(slots=True, kw_only=True)
class Le(Segment):
    """Loop trailer for 2120C. Example: ``LE*2120~``"""

    segment_id: ClassVar[str] = "LE"
    loop_id_code: Annotated[str, E(1)]  # LE01


# ---------------------------------------------------------------- 270


@dataclass(slots=True, kw_only=True)
class ServiceTypeInquiryLoop(Loop):
    """2110C/2110D eligibility inquiry: which service types are asked about."""

    loop_id: ClassVar[str] = "2110C"
    inquiry: Annotated[Eq, At(0)]  # EQ
    references: Annotated[list[Ref], At(1)] = field(default_factory=list)  # REF*9F
    dates: Annotated[list[Dtp], At(2)] = field(default_factory=list)  # DTP*291


@dataclass(slots=True, kw_only=True)
class MemberNameLoop(Loop):
    """2100C/2100D subscriber or dependent name: identifiers, address, demographics, dates."""

    loop_id: ClassVar[str] = "2100C"
    name: Annotated[Nm1, At(0)]  # NM1*IL / NM1*03
    references: Annotated[list[Ref], At(1)] = field(default_factory=list)  # REF*SY, REF*6P group
    address: Annotated[N3 | None, At(2)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(3)] = None  # N4
    validations: Annotated[list[Aaa], At(4)] = field(default_factory=list)  # AAA (271 only)
    specialty: Annotated[Prv | None, At(5)] = None  # PRV
    demographics: Annotated[Dmg | None, At(6)] = None  # DMG
    dates: Annotated[list[Dtp], At(7)] = field(default_factory=list)  # DTP*291 plan / 346 / 347 / 472


@dataclass(slots=True, kw_only=True)
class InquiryDependentLoop(Loop):
    """2000D dependent level of a 270."""

    loop_id: ClassVar[str] = "2000D"
    hl_level: ClassVar[str | None] = "23"
    traces: Annotated[list[Trn], At(1)] = field(default_factory=list)  # TRN
    dependent: Annotated[MemberNameLoop, At(2, ("03",), loop_id="2100D")]  # 2100D
    inquiries: Annotated[list[ServiceTypeInquiryLoop], At(3, loop_id="2110D")] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class InquirySubscriberLoop(Loop):
    """2000C subscriber level of a 270."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "22"
    traces: Annotated[list[Trn], At(1)] = field(default_factory=list)  # TRN*1 (echoed in the 271)
    subscriber: Annotated[MemberNameLoop, At(2, ("IL",))]  # 2100C
    inquiries: Annotated[list[ServiceTypeInquiryLoop], At(3)] = field(default_factory=list)  # 2110C
    dependents: Annotated[list[InquiryDependentLoop], At(4)] = field(default_factory=list)  # 2000D


@dataclass(slots=True, kw_only=True)
class ReceiverNameLoop(Loop):
    """2100B information receiver (the provider asking)."""

    loop_id: ClassVar[str] = "2100B"
    name: Annotated[Nm1, At(0)]  # NM1*1P / NM1*FA
    references: Annotated[list[Ref], At(1)] = field(default_factory=list)  # REF
    address: Annotated[N3 | None, At(2)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(3)] = None  # N4
    validations: Annotated[list[Aaa], At(4)] = field(default_factory=list)  # AAA (271 only)
    specialty: Annotated[Prv | None, At(5)] = None  # PRV


@dataclass(slots=True, kw_only=True)
class InquiryInformationReceiverLoop(Loop):
    """2000B information receiver level of a 270."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "21"
    receiver: Annotated[ReceiverNameLoop, At(1)]  # 2100B
    subscribers: Annotated[list[InquirySubscriberLoop], At(2)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class SourceNameLoop(Loop):
    """2100A information source (payer)."""

    loop_id: ClassVar[str] = "2100A"
    name: Annotated[Nm1, At(0)]  # NM1*PR
    contacts: Annotated[list[Per], At(1)] = field(default_factory=list)  # PER (271)
    validations: Annotated[list[Aaa], At(2)] = field(default_factory=list)  # AAA (271)


@dataclass(slots=True, kw_only=True)
class InquiryInformationSourceLoop(Loop):
    """2000A information source level of a 270."""

    loop_id: ClassVar[str] = "2000A"
    hl_level: ClassVar[str | None] = "20"
    source: Annotated[SourceNameLoop, At(1)]  # 2100A
    receivers: Annotated[list[InquiryInformationReceiverLoop], At(2)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class EligibilityInquiry270(Transaction):
    """270 eligibility inquiry transaction set (005010X279A1)."""

    transaction_set_id: ClassVar[str] = "270"
    implementation_reference: ClassVar[str] = "005010X279A1"
    functional_id_code: ClassVar[str] = "HS"
    passthrough_segments: ClassVar[frozenset[str]] = _PASSTHROUGH
    beginning: Annotated[Bht, At(1)]  # BHT*0022*13
    sources: Annotated[list[InquiryInformationSourceLoop], At(2)] = field(default_factory=list)  # 2000A


# ---------------------------------------------------------------- 271


@dataclass(slots=True, kw_only=True)
class BenefitEntityLoop(Loop):
    """2120C benefit-related entity (e.g. the primary care provider or another payer)."""

    loop_id: ClassVar[str] = "2120C"
    name: Annotated[Nm1, At(0)]  # NM1
    address: Annotated[N3 | None, At(1)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(2)] = None  # N4
    contacts: Annotated[list[Per], At(3)] = field(default_factory=list)  # PER
    specialty: Annotated[Prv | None, At(4)] = None  # PRV


@dataclass(slots=True, kw_only=True)
class EligibilityBenefitLoop(Loop):
    """2110C/2110D eligibility or benefit information: one EB with its dates, messages and entities."""

    loop_id: ClassVar[str] = "2110C"
    benefit: Annotated[Eb, At(0)]  # EB
    references: Annotated[list[Ref], At(1)] = field(default_factory=list)  # REF
    dates: Annotated[list[Dtp], At(2)] = field(default_factory=list)  # DTP*291 / 346 / 347
    validations: Annotated[list[Aaa], At(3)] = field(default_factory=list)  # AAA
    messages: Annotated[list[Msg], At(4)] = field(default_factory=list)  # MSG
    entities_start: Annotated[Ls | None, At(5)] = None  # LS*2120
    entities: Annotated[list[BenefitEntityLoop], At(6)] = field(default_factory=list)  # 2120C
    entities_end: Annotated[Le | None, At(7)] = None  # LE*2120


@dataclass(slots=True, kw_only=True)
class ResponseDependentLoop(Loop):
    """2000D dependent level of a 271."""

    loop_id: ClassVar[str] = "2000D"
    hl_level: ClassVar[str | None] = "23"
    traces: Annotated[list[Trn], At(1)] = field(default_factory=list)  # TRN
    dependent: Annotated[MemberNameLoop, At(2, ("03",), loop_id="2100D")]  # 2100D
    benefits: Annotated[list[EligibilityBenefitLoop], At(3, loop_id="2110D")] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ResponseSubscriberLoop(Loop):
    """2000C subscriber level of a 271."""

    loop_id: ClassVar[str] = "2000C"
    hl_level: ClassVar[str | None] = "22"
    traces: Annotated[list[Trn], At(1)] = field(default_factory=list)  # TRN*2 (echo) / TRN*1 (payer's)
    subscriber: Annotated[MemberNameLoop, At(2, ("IL",))]  # 2100C
    benefits: Annotated[list[EligibilityBenefitLoop], At(3)] = field(default_factory=list)  # 2110C
    dependents: Annotated[list[ResponseDependentLoop], At(4)] = field(default_factory=list)  # 2000D


@dataclass(slots=True, kw_only=True)
class ResponseInformationReceiverLoop(Loop):
    """2000B information receiver level of a 271."""

    loop_id: ClassVar[str] = "2000B"
    hl_level: ClassVar[str | None] = "21"
    receiver: Annotated[ReceiverNameLoop, At(1)]  # 2100B
    subscribers: Annotated[list[ResponseSubscriberLoop], At(2)] = field(default_factory=list)  # 2000C


@dataclass(slots=True, kw_only=True)
class ResponseInformationSourceLoop(Loop):
    """2000A information source level of a 271."""

    loop_id: ClassVar[str] = "2000A"
    hl_level: ClassVar[str | None] = "20"
    validations: Annotated[list[Aaa], At(1)] = field(default_factory=list)  # AAA (source-level errors)
    source: Annotated[SourceNameLoop, At(2)]  # 2100A
    receivers: Annotated[list[ResponseInformationReceiverLoop], At(3)] = field(default_factory=list)  # 2000B


@register_transaction
@dataclass(slots=True, kw_only=True)
class EligibilityResponse271(Transaction):
    """271 eligibility response transaction set (005010X279A1)."""

    transaction_set_id: ClassVar[str] = "271"
    implementation_reference: ClassVar[str] = "005010X279A1"
    functional_id_code: ClassVar[str] = "HB"
    passthrough_segments: ClassVar[frozenset[str]] = _PASSTHROUGH
    beginning: Annotated[Bht, At(1)]  # BHT*0022*11
    sources: Annotated[list[ResponseInformationSourceLoop], At(2)] = field(default_factory=list)  # 2000A


# ---------------------------------------------------------------- summary


@dataclass(slots=True)
class BenefitSummary:
    """One cost-sharing fact: e.g. office visit (98), in network, copay 25.00 per visit."""

    kind: str  # copay, coinsurance, deductible, out_of_pocket, limitation, non_covered
    service_type_codes: list[str]
    in_network: bool | None  # EB12 Y → True, N → False, otherwise None
    coverage_level: str | None
    time_period: str | None  # EB06 (23 calendar year, 29 remaining...)
    amount: Decimal | None = None
    percent: Decimal | None = None
    messages: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MemberEligibility:
    """The answer a front desk needs: is the member active, on which plan, and what will they owe."""

    member_id: str | None
    last_name: str | None
    first_name: str | None
    is_dependent: bool
    active: bool
    plan_description: str | None
    plan_start: date | None
    plan_end: date | None
    benefits: list[BenefitSummary] = field(default_factory=list)
    request_errors: list[str] = field(default_factory=list)  # AAA03 codes (72 invalid member id, 42 retry...)


_KINDS = {
    EligibilityBenefitCode.CO_PAYMENT: "copay",
    EligibilityBenefitCode.CO_INSURANCE: "coinsurance",
    EligibilityBenefitCode.DEDUCTIBLE: "deductible",
    EligibilityBenefitCode.OUT_OF_POCKET_STOP_LOSS: "out_of_pocket",
    EligibilityBenefitCode.LIMITATIONS: "limitation",
    EligibilityBenefitCode.NON_COVERED: "non_covered",
}
_ACTIVE = {"1", "2", "3", "4", "5"}
# EB01 codes that state whether coverage exists (active 1-5, inactive 6-8): their DTPs date the plan itself.
_COVERAGE_STATUS = _ACTIVE | {"6", "7", "8"}
# DTP01: 291 plan and 292 benefit (a date or an RD8 range), 346 plan begin, 347 plan end.
_PLAN_PERIOD = ("291", "292")


def _plan_window(dates: list[Dtp]) -> tuple[date | None, date | None]:
    """Plan begin and end from one loop's DTPs: 346/347 first, then a 291 (or 292) date or range."""
    start = next((d.start for d in dates if d.qualifier == "346"), None)
    end = next((d.start for d in dates if d.qualifier == "347"), None)
    for qualifier in _PLAN_PERIOD:
        for dtp in dates:
            if dtp.qualifier == qualifier:
                start = start or dtp.start
                end = end or dtp.end
    return start, end


def _plan_dates(name: MemberNameLoop, benefits: list[EligibilityBenefitLoop]) -> tuple[date | None, date | None]:
    """Plan dates of the member (2100C/D); whatever is missing there comes from the benefit loops (2110C/D).

    Coverage-status EBs (active or inactive) are read before cost-sharing ones, whose dates may be a benefit year.
    """
    start, end = _plan_window(name.dates)
    ordered = [b for b in benefits if b.benefit.benefit_code.value in _COVERAGE_STATUS]
    ordered += [b for b in benefits if b.benefit.benefit_code.value not in _COVERAGE_STATUS]
    for loop in ordered:
        if start is not None and end is not None:
            break
        loop_start, loop_end = _plan_window(loop.dates)
        start = start or loop_start
        end = end or loop_end
    return start, end


def _summarize(
    name: MemberNameLoop, benefits: list[EligibilityBenefitLoop], is_dependent: bool, errors: list[str]
) -> MemberEligibility:
    plan_start, plan_end = _plan_dates(name, benefits)
    summary = MemberEligibility(
        member_id=name.name.identifier,
        last_name=name.name.last_name_or_organization,
        first_name=name.name.first_name,
        is_dependent=is_dependent,
        active=False,
        plan_description=None,
        plan_start=plan_start,
        plan_end=plan_end,
        request_errors=[*errors, *(a.reject_reason_code or "" for a in name.validations)],
    )
    for loop in benefits:
        eb = loop.benefit
        if eb.benefit_code.value in _ACTIVE:
            summary.active = True
            summary.plan_description = summary.plan_description or eb.plan_description
        kind = _KINDS.get(eb.benefit_code)
        if kind is None:
            continue
        summary.benefits.append(
            BenefitSummary(
                kind=kind,
                service_type_codes=list(eb.service_type_codes),
                in_network=None if eb.in_network is None else {"Y": True, "N": False}.get(eb.in_network.value),
                coverage_level=eb.coverage_level,
                time_period=eb.time_period.value if eb.time_period else None,
                amount=eb.amount,
                percent=eb.percent,
                messages=[m.text for m in loop.messages],
            )
        )
    return summary


def _unanswered(errors: list[str]) -> MemberEligibility:
    """The summary of a 271 that names nobody: the payer or the receiver was rejected (AAA in 2000A/2100A/2100B)."""
    return MemberEligibility(
        member_id=None,
        last_name=None,
        first_name=None,
        is_dependent=False,
        active=False,
        plan_description=None,
        plan_start=None,
        plan_end=None,
        request_errors=errors,
    )


def summarize_eligibility(transaction: EligibilityResponse271) -> Iterator[MemberEligibility]:
    """Turn a 271 into one summary per subscriber/dependent: active?, plan, dates, cost sharing, AAA errors.

    A source or receiver whose AAA errors left it without any subscriber loop yields one summary of its own
    (no member, not active) carrying those errors, so "cannot answer" is never an empty result.
    """
    for source in transaction.sources:
        source_errors = [a.reject_reason_code or "" for a in [*source.validations, *source.source.validations]]
        if not source.receivers and source_errors:
            yield _unanswered(source_errors)
        for receiver in source.receivers:
            receiver_errors = source_errors + [a.reject_reason_code or "" for a in receiver.receiver.validations]
            if not receiver.subscribers and receiver_errors:
                yield _unanswered(receiver_errors)
            for subscriber in receiver.subscribers:
                yield _summarize(subscriber.subscriber, subscriber.benefits, False, receiver_errors)
                for dependent in subscriber.dependents:
                    yield _summarize(dependent.dependent, dependent.benefits, True, receiver_errors)
