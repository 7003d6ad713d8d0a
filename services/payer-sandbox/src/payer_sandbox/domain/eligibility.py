"""270 → 271: answer an eligibility inquiry from the population and the member's accumulators.

The answer follows 005010X279A1 the way payers use it: request problems are AAA segments at the level they
concern (payer 2100A, subscriber 2100C, dependent 2100D), benefits are EB loops per service type and network tier
with the remaining deductible and out-of-pocket amounts (EB06 = 29) taken from the accumulators: the member's own
(EB02 = IND) and, for a member of a family on a family plan, the family's together (EB02 = FAM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claimflow_x12.guides.eligibility_270_271 import (
    Eb,
    EligibilityBenefitCode,
    EligibilityBenefitLoop,
    EligibilityInquiry270,
    EligibilityResponse271,
    InNetworkCode,
    MemberNameLoop,
    ResponseDependentLoop,
    ResponseInformationReceiverLoop,
    ResponseInformationSourceLoop,
    ResponseSubscriberLoop,
    SourceNameLoop,
    TimePeriodCode,
)
from claimflow_x12.segments import Aaa, Bht, DateFormatQualifier, Dmg, Dtp, EntityTypeQualifier, Msg, Nm1, Per, St, Trn
from payer_sandbox.domain.benefits import AccumulatorBook
from payer_sandbox.domain.codes import AaaReason, Network, ServiceType
from payer_sandbox.domain.population import Member, NetworkTier, Plan, Population, normalize_name

__all__ = ["EligibilityContext", "answer_inquiry"]

ST = ServiceType
# Service types a 30 (health benefit plan coverage) inquiry is answered with.
_GENERAL_ANSWER = (
    ST.HEALTH_BENEFIT_PLAN,
    ST.OFFICE_VISIT,
    ST.URGENT_CARE,
    ST.EMERGENCY,
    ST.HOSPITAL,
    ST.MENTAL_HEALTH,
    ST.PHARMACY,
    ST.VISION,
)
_FOLLOW_UP = {
    AaaReason.UNABLE_TO_RESPOND: "R",  # resubmission allowed
    AaaReason.INVALID_PARTICIPANT: "C",  # correct and resubmit
    AaaReason.SUBSCRIBER_NOT_FOUND: "N",  # resubmission not allowed
    AaaReason.PATIENT_NOT_FOUND: "N",
}


@dataclass(frozen=True, slots=True)
class EligibilityContext:
    """What answering needs besides the inquiry: who is covered, what they spent, today, and failures to inject."""

    population: Population
    accumulators: AccumulatorBook
    today: date
    unable_to_respond: Callable[[str], bool]  # payer id → answer AAA 42 this time (scenario)


def _aaa(reason: AaaReason) -> Aaa:
    return Aaa(valid_request="N", reject_reason_code=reason.value, follow_up_action_code=_FOLLOW_UP.get(reason, "C"))


def _network_code(plan: Plan, network: Network) -> InNetworkCode:
    if not plan.network_applies:
        return InNetworkCode.NOT_APPLICABLE
    return InNetworkCode.YES if network is Network.IN else InNetworkCode.NO


def _eb(
    code: EligibilityBenefitCode,
    plan: Plan,
    service_type: ServiceType,
    *,
    time_period: TimePeriodCode | None = None,
    amount: Decimal | None = None,
    percent: Decimal | None = None,
    in_network: InNetworkCode | None = None,
    plan_description: str | None = None,
    coverage_level: str = "IND",
) -> EligibilityBenefitLoop:
    benefit = Eb(
        benefit_code=code,
        coverage_level=coverage_level,
        service_type_codes=[service_type.value],
        insurance_type=plan.insurance_type,
        plan_description=plan_description,
        time_period=time_period,
        amount=amount,
        percent=percent,
        in_network=in_network,
    )
    return EligibilityBenefitLoop(benefit=benefit)


def _plan_period(member: Member, year: int) -> tuple[date, date]:
    start = max(member.coverage_start, date(year, 1, 1))
    end = min(member.coverage_end or date(year, 12, 31), date(year, 12, 31))
    return start, max(start, end)


def _tier_benefits(
    plan: Plan, tier: NetworkTier, network: Network, service_types: list[ServiceType]
) -> list[EligibilityBenefitLoop]:
    loops: list[EligibilityBenefitLoop] = []
    flag = _network_code(plan, network)
    for service_type in service_types:
        if service_type in plan.non_covered_service_types:
            continue
        share = tier.cost_shares.get(service_type)
        if share is None:
            continue
        if share.copay is not None:
            loops.append(
                _eb(
                    EligibilityBenefitCode.CO_PAYMENT,
                    plan,
                    service_type,
                    time_period=TimePeriodCode.VISIT,
                    amount=share.copay,
                    in_network=flag,
                )
            )
        if share.coinsurance is not None:
            loops.append(
                _eb(
                    EligibilityBenefitCode.CO_INSURANCE,
                    plan,
                    service_type,
                    time_period=TimePeriodCode.VISIT,
                    percent=share.coinsurance,
                    in_network=flag,
                )
            )
    return loops


def _accumulator_benefits(
    plan: Plan, tier: NetworkTier, network: Network, member: Member, context: EligibilityContext
) -> list[EligibilityBenefitLoop]:
    year = context.today.year
    accumulator = context.accumulators.get(member.key, year, network)
    family = context.accumulators.family(member.family_key, year, network)
    on_family_plan = len(context.population.family(member.payer_id, member.member_id)) > 1
    flag = _network_code(plan, network)
    # (benefit, coverage level, yearly amount, remaining amount) for each limit that applies
    limits: list[tuple[EligibilityBenefitCode, str, Decimal, Decimal]] = []
    if tier.deductible > 0:
        limits.append(
            (EligibilityBenefitCode.DEDUCTIBLE, "IND", tier.deductible, accumulator.deductible_remaining(tier))
        )
    remaining = accumulator.out_of_pocket_remaining(tier)
    if tier.out_of_pocket_max is not None and remaining is not None:
        limits.append((EligibilityBenefitCode.OUT_OF_POCKET_STOP_LOSS, "IND", tier.out_of_pocket_max, remaining))
    family_deductible_left = family.family_deductible_remaining(tier)
    if on_family_plan and tier.family_deductible and family_deductible_left is not None:
        limits.append((EligibilityBenefitCode.DEDUCTIBLE, "FAM", tier.family_deductible, family_deductible_left))
    family_stop_loss_left = family.family_out_of_pocket_remaining(tier)
    if on_family_plan and tier.family_out_of_pocket_max is not None and family_stop_loss_left is not None:
        limits.append(
            (
                EligibilityBenefitCode.OUT_OF_POCKET_STOP_LOSS,
                "FAM",
                tier.family_out_of_pocket_max,
                family_stop_loss_left,
            )
        )
    return [
        _eb(
            code,
            plan,
            ST.HEALTH_BENEFIT_PLAN,
            time_period=period,
            amount=amount,
            in_network=flag,
            coverage_level=level,
        )
        for code, level, yearly, left in limits
        for period, amount in ((TimePeriodCode.CALENDAR_YEAR, yearly), (TimePeriodCode.REMAINING, left))
    ]


def member_benefits(
    member: Member, service_types: list[ServiceType], context: EligibilityContext, on: date
) -> list[EligibilityBenefitLoop]:
    """EB loops for a found member: active coverage with cost sharing, or inactive coverage."""
    plan = context.population.plan_of(member)
    start, end = _plan_period(member, on.year)
    if not member.covered_on(on):
        inactive = _eb(EligibilityBenefitCode.INACTIVE, plan, ST.HEALTH_BENEFIT_PLAN)
        return [inactive]
    active = _eb(EligibilityBenefitCode.ACTIVE_COVERAGE, plan, ST.HEALTH_BENEFIT_PLAN, plan_description=plan.name)
    active.dates.append(Dtp(qualifier="291", date_format=DateFormatQualifier.RANGE, start=start, end=end))
    if plan.prior_auth_procedures:
        active.messages.append(Msg(text="PRIOR AUTHORIZATION REQUIRED FOR ADVANCED IMAGING AND ELECTIVE SURGERY"))
    loops = [active]
    wanted = list(_GENERAL_ANSWER) if ST.HEALTH_BENEFIT_PLAN in service_types else service_types
    tiers = [(Network.IN, plan.in_network)]
    if plan.network_applies and plan.out_of_network is not None:
        tiers.append((Network.OUT, plan.out_of_network))
    for network, tier in tiers:
        loops += _tier_benefits(plan, tier, network, wanted)
    for network, tier in tiers:
        loops += _accumulator_benefits(plan, tier, network, member, context)
    for service_type in wanted:
        if service_type in plan.non_covered_service_types:
            loops.append(_eb(EligibilityBenefitCode.NON_COVERED, plan, service_type))
    if plan.network_applies and plan.out_of_network is None:
        no_oon = _eb(EligibilityBenefitCode.NON_COVERED, plan, ST.HEALTH_BENEFIT_PLAN, in_network=InNetworkCode.NO)
        no_oon.messages.append(Msg(text="NO OUT-OF-NETWORK BENEFITS EXCEPT EMERGENCY SERVICES"))
        loops.append(no_oon)
    return loops


def _member_name(member: Member, entity: str) -> MemberNameLoop:
    # Open-ended coverage: plan begin (346). Ended coverage: the eligibility period (291) with its end date.
    if member.coverage_end is None:
        dates = [Dtp(qualifier="346", date_format=DateFormatQualifier.DATE, start=member.coverage_start)]
    else:
        dates = [
            Dtp(
                qualifier="291",
                date_format=DateFormatQualifier.RANGE,
                start=member.coverage_start,
                end=member.coverage_end,
            )
        ]
    subscriber = entity == "IL"
    return MemberNameLoop(
        name=Nm1(
            entity_identifier=entity,
            entity_type=EntityTypeQualifier.PERSON,
            last_name_or_organization=member.last_name,
            first_name=member.first_name,
            id_qualifier="MI" if subscriber else None,
            identifier=member.member_id if subscriber else None,
        ),
        demographics=Dmg(date_format="D8", birth_date=member.birth_date, gender=member.sex),
        dates=dates,
    )


def _echo(request: MemberNameLoop, reason: AaaReason) -> MemberNameLoop:
    """The requester's own name loop back with the reason it could not be matched."""
    return MemberNameLoop(name=request.name, validations=[_aaa(reason)], demographics=request.demographics)


def _inquiry_date(loop: MemberNameLoop, today: date) -> date:
    return next((d.start for d in loop.dates if d.qualifier in ("291", "307", "472")), today)


def _service_types(inquiries: list[list[str]]) -> list[ServiceType]:
    wanted: list[ServiceType] = []
    for codes in inquiries:
        for code in codes:
            try:
                service_type = ServiceType(code)
            except ValueError:
                service_type = ST.HEALTH_BENEFIT_PLAN  # answer unknown service types with the general coverage
            if service_type not in wanted:
                wanted.append(service_type)
    return wanted or [ST.HEALTH_BENEFIT_PLAN]


def _match_subscriber(request: MemberNameLoop, payer_id: str, population: Population) -> Member | AaaReason:
    name = request.name
    member_id = name.identifier or ""
    payer = population.payers[payer_id]
    if name.id_qualifier not in (None, "MI") or not payer.member_id_valid(member_id):
        return AaaReason.INVALID_MEMBER_ID
    member = population.subscriber(payer_id, member_id)
    if member is None:
        return AaaReason.SUBSCRIBER_NOT_FOUND
    if request.demographics is not None and request.demographics.birth_date != member.birth_date:
        return AaaReason.BIRTH_DATE_MISMATCH
    if name.last_name_or_organization and normalize_name(name.last_name_or_organization) != member.last_name:
        return AaaReason.INVALID_NAME
    if name.first_name and normalize_name(name.first_name)[:1] != member.first_name[:1]:
        return AaaReason.INVALID_NAME
    return member


def _match_dependent(request: MemberNameLoop, subscriber: Member, population: Population) -> Member | AaaReason:
    first = request.name.first_name
    birth = request.demographics.birth_date if request.demographics else None
    member = population.dependent(subscriber.payer_id, subscriber.member_id, first, None)
    if member is None:
        return AaaReason.PATIENT_NOT_FOUND
    if birth is not None and birth != member.birth_date:
        return AaaReason.BIRTH_DATE_MISMATCH
    last = request.name.last_name_or_organization
    if last and normalize_name(last) != member.last_name:
        return AaaReason.INVALID_NAME
    return member


def answer_inquiry(inquiry: EligibilityInquiry270, context: EligibilityContext) -> EligibilityResponse271:
    """The 271 for a 270 (one answer per subscriber/dependent asked about)."""
    population = context.population
    sources: list[ResponseInformationSourceLoop] = []
    for source in inquiry.sources:
        payer_id = source.source.name.identifier or ""
        payer = population.payers.get(payer_id)
        if payer is None or context.unable_to_respond(payer_id):
            reason = AaaReason.INVALID_PARTICIPANT if payer is None else AaaReason.UNABLE_TO_RESPOND
            sources.append(
                ResponseInformationSourceLoop(
                    source=SourceNameLoop(name=source.source.name, validations=[_aaa(reason)])
                )
            )
            continue
        receivers = []
        for receiver in source.receivers:
            subscribers = []
            for asked in receiver.subscribers:
                traces = [
                    Trn(
                        trace_type_code="2",
                        reference_id=t.reference_id,
                        originating_company_id=t.originating_company_id,
                    )
                    for t in asked.traces
                ]
                found = _match_subscriber(asked.subscriber, payer_id, population)
                if isinstance(found, AaaReason):
                    subscribers.append(ResponseSubscriberLoop(traces=traces, subscriber=_echo(asked.subscriber, found)))
                    continue
                answer = ResponseSubscriberLoop(traces=traces, subscriber=_member_name(found, "IL"))
                if not asked.dependents:
                    on = _inquiry_date(asked.subscriber, context.today)
                    wanted = _service_types([i.inquiry.service_type_codes for i in asked.inquiries])
                    answer.benefits = member_benefits(found, wanted, context, on)
                for dependent in asked.dependents:
                    dependent_traces = [
                        Trn(
                            trace_type_code="2",
                            reference_id=t.reference_id,
                            originating_company_id=t.originating_company_id,
                        )
                        for t in dependent.traces
                    ]
                    match = _match_dependent(dependent.dependent, found, population)
                    if isinstance(match, AaaReason):
                        answer.dependents.append(
                            ResponseDependentLoop(traces=dependent_traces, dependent=_echo(dependent.dependent, match))
                        )
                        continue
                    on = _inquiry_date(dependent.dependent, context.today)
                    wanted = _service_types([i.inquiry.service_type_codes for i in dependent.inquiries])
                    answer.dependents.append(
                        ResponseDependentLoop(
                            traces=dependent_traces,
                            dependent=_member_name(match, "03"),
                            benefits=member_benefits(match, wanted, context, on),
                        )
                    )
                subscribers.append(answer)
            receivers.append(ResponseInformationReceiverLoop(receiver=receiver.receiver, subscribers=subscribers))
        sources.append(
            ResponseInformationSourceLoop(
                source=SourceNameLoop(
                    name=Nm1(
                        entity_identifier="PR",
                        entity_type=EntityTypeQualifier.ORGANIZATION,
                        last_name_or_organization=payer.name,
                        id_qualifier="PI",
                        identifier=payer.payer_id,
                    ),
                    contacts=[
                        Per(function_code="IC", name="ELIGIBILITY DESK", number_qualifier_1="TE", number_1="8005550100")
                    ],
                ),
                receivers=receivers,
            )
        )
    return EligibilityResponse271(
        header=St(transaction_set_id="271", control_number="0001", implementation_reference="005010X279A1"),
        beginning=Bht(
            structure_code="0022",
            purpose_code="11",
            reference_id=inquiry.beginning.reference_id,
            created_date=context.today,
            created_time="1200",
        ),
        sources=sources,
    )
