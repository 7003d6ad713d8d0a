"""Adjudication: price each line on the fee schedule, apply the member's cost sharing, deny what must be denied.

The result for every line balances by construction: charge - contractual write-off (CO-45) - patient
responsibility (PR-1/2/3) - denial (CO-xx) = paid. Denials follow payer practice:

- timely filing (CO-29): received more than the payer's limit after the date of service;
- coverage terminated (CO-27, N30): the member is not covered on the line's date of service;
- out of network (CO-242): the plan has no out-of-network benefits (HMO), except emergency services;
- duplicate (CO-18): the same member, date, procedure and modifiers were already paid on another claim;
- non-covered (CO-96 N425 for Medicare's statutory exclusions, CO-204 N130 for a commercial plan exclusion);
- prior authorization missing (CO-197, M62) for procedures the plan pre-certifies;
- NCCI procedure-to-procedure pairs: column 2 billed with column 1 the same day, never allowed together
  (CO-97, M15) or allowed only with a distinct-service modifier that is absent (CO-236, M80).

On top of these rules a scenario may deny a share of the claims that would otherwise be paid
(``scenario_denial``), with the reasons payers deny most often for causes the sandbox does not model.

A secondary or tertiary claim (``coordinate``) is paid on what the earlier payers left to the patient: the plan's
own coinsurance applies to that remainder (Medicaid, with none, pays all of it), the earlier payers' payments and
write-offs are adjusted OA-23, and the patient keeps the rest (PR-2). A line without the earlier payer's line
adjudication is denied CO-16 with MA04. A scenario may also have a payer forward a share of the claims it paid to
the member's next plan itself (``crossover``: CLP02 19/20 and NM1*TT).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from claimflow_x12.guides.remittance_835 import ClaimStatusCode
from claimflow_x12.segments import ClaimAdjustmentGroupCode
from payer_sandbox.domain.benefits import ZERO, AccumulatorBook, PatientShare, patient_share
from payer_sandbox.domain.claims import ClaimLine, ReceivedClaim
from payer_sandbox.domain.codes import Carc, Network, PayerKind, Rarc, ServiceType
from payer_sandbox.domain.population import CostShare, Member, Population
from payer_sandbox.domain.reference import (
    DISTINCT_SERVICE_MODIFIERS,
    base_fee,
    institutional_service_type,
    ncci_pair,
    service_type_for,
    unlisted_allowed,
)

__all__ = [
    "Adjudication",
    "Denial",
    "LineAdjustment",
    "LineResult",
    "adjudicate",
    "coordinate",
    "crossover",
    "duplicate_key",
    "reverse",
    "scenario_denial",
]

CO = ClaimAdjustmentGroupCode.CONTRACTUAL
PR = ClaimAdjustmentGroupCode.PATIENT_RESPONSIBILITY
OA = ClaimAdjustmentGroupCode.OTHER
CENT = Decimal("0.01")

DuplicateKey = tuple[str, date, str, tuple[str, ...]]
Denial = tuple[Carc, tuple[Rarc, ...]]

# Denials a scenario spreads over otherwise payable claims, weighted roughly like payers' top denial reasons:
# missing or invalid information, medical necessity, diagnosis/procedure mismatch, another payer primary.
_SCENARIO_DENIALS: tuple[tuple[Denial, int], ...] = (
    ((Carc.LACKS_INFORMATION, (Rarc.INCOMPLETE_CLAIM,)), 35),
    ((Carc.NOT_MEDICALLY_NECESSARY, ()), 25),
    ((Carc.DIAGNOSIS_INCONSISTENT, (Rarc.MISSING_DIAGNOSIS,)), 20),
    ((Carc.OTHER_PAYER_PRIMARY, (Rarc.PRIMARY_PAYER_INFORMATION,)), 20),
)


def scenario_denial(seed: int, payer_claim_control_number: str, rate: float) -> Denial | None:
    """Whether the scenario denies this claim, and why: drawn from the seed and the claim number alone, so the
    same seed and requests deny the same claims whatever else happened in between."""
    if rate <= 0:
        return None
    rng = random.Random(f"{seed}:denial:{payer_claim_control_number}")
    if rng.random() >= rate:
        return None
    denials, weights = zip(*_SCENARIO_DENIALS, strict=True)
    chosen: Denial = rng.choices(denials, weights=weights)[0]
    return chosen


@dataclass(frozen=True, slots=True)
class LineAdjustment:
    """One CAS triple: group, reason and amount."""

    group: ClaimAdjustmentGroupCode
    reason: Carc
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LineResult:
    """How one line was adjudicated."""

    line: ClaimLine
    allowed: Decimal
    paid: Decimal
    adjustments: tuple[LineAdjustment, ...]
    remarks: tuple[Rarc, ...]
    share: PatientShare
    network: Network
    denied: bool

    def negated(self) -> LineResult:
        """The same line with every amount's sign flipped (for a reversal)."""
        return replace(
            self,
            line=replace(self.line, charge=-self.line.charge),
            allowed=-self.allowed,
            paid=-self.paid,
            adjustments=tuple(replace(a, amount=-a.amount) for a in self.adjustments),
            share=self.share.negated(),
        )


@dataclass(slots=True)
class Adjudication:
    """A processed claim (or the reversal of one) as it goes into an 835."""

    claim: ReceivedClaim
    member: Member
    payer_claim_control_number: str
    status: ClaimStatusCode
    lines: list[LineResult]
    received_on: date
    adjudicated_on: date
    plan_year: int
    reversed_on: date | None = None  # set on an original once a replacement or void has reversed it
    remarks: list[Rarc] = field(default_factory=list)
    crossed_over_to: tuple[str, str] | None = None  # (payer id, name) the claim was forwarded to (NM1*TT)

    @property
    def reversed(self) -> bool:
        """True once a replacement or void has reversed this claim's payment."""
        return self.reversed_on is not None

    @property
    def charge(self) -> Decimal:
        """CLP03: total charge (negative on a reversal)."""
        return sum((r.line.charge for r in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        """CLP04: total paid."""
        return sum((r.paid for r in self.lines), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        """CLP05: total of the PR adjustments."""
        return sum((r.share.total for r in self.lines), ZERO)

    def duplicate_keys(self) -> list[DuplicateKey]:
        """Keys of the paid lines (what a later identical claim would duplicate)."""
        return [duplicate_key(self.member, r.line) for r in self.lines if not r.denied]


def duplicate_key(member: Member, line: ClaimLine) -> DuplicateKey:
    """What makes two lines the same service: patient, date, procedure and modifiers."""
    return member.key, line.service_date, line.procedure_code, tuple(sorted(line.modifiers))


def _denied(line: ClaimLine, reason: Carc, remarks: Iterable[Rarc], network: Network) -> LineResult:
    return LineResult(
        line=line,
        allowed=ZERO,
        paid=ZERO,
        adjustments=(LineAdjustment(CO, reason, line.charge),),
        remarks=tuple(remarks),
        share=PatientShare(),
        network=network,
        denied=True,
    )


def _line_denial(
    line: ClaimLine, claim: ReceivedClaim, member: Member, population: Population, paid_keys: set[DuplicateKey]
) -> tuple[Carc, tuple[Rarc, ...]] | None:
    payer = population.payers[claim.payer_id]
    plan = population.plan_of(member)
    if not member.covered_on(line.service_date):
        return Carc.COVERAGE_TERMINATED, (Rarc.PATIENT_INELIGIBLE,)
    if duplicate_key(member, line) in paid_keys:
        return Carc.DUPLICATE, ()
    if line.procedure_code in plan.non_covered_procedures:
        if payer.kind is PayerKind.MEDICARE:
            return Carc.NON_COVERED, (Rarc.STATUTORILY_EXCLUDED,)
        return Carc.NOT_COVERED_BY_PLAN, (Rarc.CONSULT_PLAN_DOCUMENTS,)
    if line.procedure_code in plan.prior_auth_procedures and not claim.prior_authorization:
        return Carc.PRIOR_AUTHORIZATION, (Rarc.MISSING_AUTHORIZATION,)
    for other in claim.lines:
        if other is line or other.service_date != line.service_date:
            continue
        pair = ncci_pair(other.procedure_code, line.procedure_code)
        if pair is None:
            continue
        if pair.modifier_indicator == 0:
            return Carc.BUNDLED, (Rarc.BUNDLED_COMPONENT,)
        if not DISTINCT_SERVICE_MODIFIERS.intersection(line.modifiers):
            return Carc.NCCI_INCOMPATIBLE, (Rarc.NOT_COVERED_SAME_SESSION,)
    return None


def _allowed(line: ClaimLine, multiplier: Decimal) -> Decimal:
    fee = base_fee(line.procedure_code)
    allowed = unlisted_allowed(line.charge) if fee is None else (fee * multiplier * line.units).quantize(CENT)
    return min(allowed, line.charge)


def _service_type(claim: ReceivedClaim, line: ClaimLine) -> ServiceType:
    if claim.institutional:
        revenue_codes = [code for other in claim.lines if (code := other.billed_revenue_code)]
        return institutional_service_type(revenue_codes, claim.place_of_service)
    return service_type_for(line.procedure_code, claim.place_of_service)


def adjudicate(
    claim: ReceivedClaim,
    *,
    member: Member,
    payer_claim_control_number: str,
    population: Population,
    accumulators: AccumulatorBook,
    paid_keys: set[DuplicateKey],
    received_on: date,
    today: date,
    denial: Denial | None = None,
) -> Adjudication:
    """Adjudicate one accepted claim, moving the member's accumulators by the cost share it assigns.

    ``denial`` (from the scenario) denies every line that the payer's rules would otherwise pay."""
    payer = population.payers[claim.payer_id]
    plan = population.plan_of(member)
    provider_in_network = population.in_network(claim.rendering_npi or claim.billing_npi)
    late = (received_on - claim.first_service_date).days > payer.timely_filing_days
    results: list[LineResult] = []
    # A copay is per visit: what the first lines of a visit did not use is taken from its next lines, never twice.
    copay_left: dict[tuple[ServiceType, date], Decimal] = {}
    for line in claim.lines:
        service_type = _service_type(claim, line)
        emergency = service_type is ServiceType.EMERGENCY
        network = Network.IN if provider_in_network or emergency or not plan.network_applies else Network.OUT
        tier = plan.tier(network is Network.IN)
        if late:
            results.append(_denied(line, Carc.TIMELY_FILING, (), network))
            continue
        line_denial = _line_denial(line, claim, member, population, paid_keys)
        if line_denial is None and tier is None:
            line_denial = Carc.OUT_OF_NETWORK, ()
        if line_denial is None and denial is not None:
            line_denial = denial
        if line_denial is not None or tier is None:
            reason, remarks = line_denial or (Carc.OUT_OF_NETWORK, ())
            results.append(_denied(line, reason, remarks, network))
            continue
        allowed = _allowed(line, payer.fee_multiplier)
        accumulator = accumulators.get(member.key, line.service_date.year, network)
        family = accumulators.family(member.family_key, line.service_date.year, network)
        cost_share = tier.cost_share(service_type)
        if cost_share.copay is not None:
            visit = (service_type, line.service_date)
            cost_share = CostShare(copay=copay_left.get(visit, cost_share.copay))
        share = patient_share(allowed, cost_share, tier, accumulator, family)
        if cost_share.copay is not None:
            copay_left[visit] = cost_share.copay - share.copay
        accumulators.apply(member, line.service_date.year, network, share)
        adjustments = []
        if line.charge > allowed:
            adjustments.append(LineAdjustment(CO, Carc.FEE_SCHEDULE, line.charge - allowed))
        for reason, amount in (
            (Carc.DEDUCTIBLE, share.deductible),
            (Carc.COINSURANCE, share.coinsurance),
            (Carc.COPAY, share.copay),
        ):
            if amount:
                adjustments.append(LineAdjustment(PR, reason, amount))
        results.append(
            LineResult(
                line=line,
                allowed=allowed,
                paid=allowed - share.total,
                adjustments=tuple(adjustments),
                remarks=(),
                share=share,
                network=network,
                denied=False,
            )
        )
        paid_keys.add(duplicate_key(member, line))
    denied = all(r.denied for r in results)
    return Adjudication(
        claim=claim,
        member=member,
        payer_claim_control_number=payer_claim_control_number,
        status=ClaimStatusCode.DENIED if denied else ClaimStatusCode.PROCESSED_AS_PRIMARY,
        lines=results,
        received_on=received_on,
        adjudicated_on=today,
        plan_year=today.year,
    )


_FORWARDED = {
    ClaimStatusCode.PROCESSED_AS_PRIMARY: ClaimStatusCode.PRIMARY_FORWARDED,
    ClaimStatusCode.PROCESSED_AS_SECONDARY: ClaimStatusCode.SECONDARY_FORWARDED,
    ClaimStatusCode.PROCESSED_AS_TERTIARY: ClaimStatusCode.TERTIARY_FORWARDED,
}


def crossover(
    adjudication: Adjudication, population: Population, seed: int, rate: float
) -> tuple[ClaimStatusCode, tuple[str, str]] | None:
    """Whether the payer forwards this processed claim to the member's next plan itself (a crossover), drawn
    from the seed and the claim number alone; returns the forwarded status (19/20/21) and the next payer."""
    forwarded = _FORWARDED.get(adjudication.status)
    following = population.next_coverage(adjudication.member)
    if rate <= 0 or forwarded is None or following is None:
        return None
    if random.Random(f"{seed}:crossover:{adjudication.payer_claim_control_number}").random() >= rate:
        return None
    payer = population.payers[following.payer_id]
    return forwarded, (payer.payer_id, payer.name)


def coordinate(
    claim: ReceivedClaim,
    *,
    member: Member,
    payer_claim_control_number: str,
    population: Population,
    received_on: date,
    today: date,
) -> Adjudication:
    """Adjudicate a secondary or tertiary claim on what the earlier payers left to the patient."""
    plan = population.plan_of(member)
    coinsurance = plan.in_network.cost_share(ServiceType.HEALTH_BENEFIT_PLAN).coinsurance or ZERO
    results: list[LineResult] = []
    for line in claim.lines:
        if not member.covered_on(line.service_date):
            results.append(_denied(line, Carc.COVERAGE_TERMINATED, (Rarc.PATIENT_INELIGIBLE,), Network.IN))
            continue
        if line.remaining_patient_share is None:
            results.append(_denied(line, Carc.LACKS_INFORMATION, (Rarc.PRIMARY_PAYER_INFORMATION,), Network.IN))
            continue
        remaining = min(line.remaining_patient_share, line.charge)
        paid = (remaining * (1 - coinsurance)).quantize(CENT)
        adjustments = []
        if line.charge > remaining:
            adjustments.append(LineAdjustment(OA, Carc.PRIOR_PAYER, line.charge - remaining))
        if remaining > paid:
            adjustments.append(LineAdjustment(PR, Carc.COINSURANCE, remaining - paid))
        results.append(
            LineResult(
                line=line,
                allowed=remaining,
                paid=paid,
                adjustments=tuple(adjustments),
                remarks=(),
                share=PatientShare(coinsurance=remaining - paid),
                network=Network.IN,
                denied=False,
            )
        )
    processed = (
        ClaimStatusCode.PROCESSED_AS_TERTIARY if claim.payer_sequence == "T" else ClaimStatusCode.PROCESSED_AS_SECONDARY
    )
    return Adjudication(
        claim=claim,
        member=member,
        payer_claim_control_number=payer_claim_control_number,
        status=ClaimStatusCode.DENIED if all(r.denied for r in results) else processed,
        lines=results,
        received_on=received_on,
        adjudicated_on=today,
        plan_year=today.year,
    )


def reverse(
    original: Adjudication, accumulators: AccumulatorBook, paid_keys: set[DuplicateKey], today: date
) -> Adjudication:
    """The CLP02 = 22 reversal of ``original``: every amount negated, its cost share taken back off the
    accumulators and its lines no longer counted as paid (so the corrected claim is not a duplicate)."""
    for result in original.lines:
        if not result.denied:
            accumulators.apply(original.member, result.line.service_date.year, result.network, result.share.negated())
            paid_keys.discard(duplicate_key(original.member, result.line))
    original.reversed_on = today
    return Adjudication(
        claim=original.claim,
        member=original.member,
        payer_claim_control_number=original.payer_claim_control_number,
        status=ClaimStatusCode.REVERSAL,
        lines=[r.negated() for r in original.lines],
        received_on=original.received_on,
        adjudicated_on=today,
        plan_year=original.plan_year,
    )
