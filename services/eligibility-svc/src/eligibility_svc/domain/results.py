"""What a front desk can act on: coverage status, plan, and cost sharing per service type and network.

Pure domain: built from the X12 library's 271 summary (``MemberEligibility``), independent of transport.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from claimflow_x12.guides.eligibility_270_271 import BenefitSummary, MemberEligibility


class CoverageStatus(StrEnum):
    """Outcome of one eligibility check."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    NOT_FOUND = "not-found"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class RequestProblem:
    """An AAA rejection turned into something a person can fix."""

    code: str  # AAA03
    message: str
    retry: bool  # the payer asks to try again later (AAA 42, 80...)


AAA_MESSAGES: dict[str, tuple[str, bool]] = {
    "15": ("required application data missing — check the request fields", False),
    "41": ("authorization/access restrictions — the provider is not enrolled with this payer", False),
    "42": ("the payer cannot respond right now — retry shortly", True),
    "43": ("invalid or missing provider identification — check the NPI", False),
    "45": ("invalid or missing provider specialty", False),
    "47": ("invalid or missing provider state", False),
    "48": ("invalid or missing referring provider id", False),
    "51": ("provider not on file with the payer", False),
    "52": ("service dates not within the provider plan enrollment", False),
    "56": ("inappropriate date — check the date of service", False),
    "57": ("invalid or missing date(s) of service", False),
    "58": ("invalid or missing date of birth — check the birth date against the card", False),
    "60": ("date of birth follows date(s) of service", False),
    "61": ("date of death precedes date(s) of service", False),
    "62": ("date of service not within allowable inquiry period", False),
    "63": ("date of service in the future", False),
    "71": ("patient birth date does not match the payer's records — check the birth date", False),
    "72": ("invalid or missing subscriber/member id — check the card", False),
    "73": ("invalid or missing subscriber name — check the spelling on the card", False),
    "74": ("invalid or missing subscriber gender", False),
    "75": ("subscriber/insured not found — check the member id and the payer", False),
    "76": ("duplicate subscriber/insured id number", False),
    "78": ("subscriber/insured not in group/plan identified", False),
    "79": ("invalid participant identification — check the provider and payer ids", False),
    "80": ("no response received — transaction terminated; retry", True),
}


def request_problem(code: str) -> RequestProblem:
    """The actionable form of an AAA03 reject reason code."""
    message, retry = AAA_MESSAGES.get(code, (f"the payer rejected the request (AAA {code})", False))
    return RequestProblem(code=code, message=message, retry=retry)


@dataclass(frozen=True)
class Benefit:
    """One cost-sharing fact for a service type and network."""

    kind: str  # copay, coinsurance, deductible, out_of_pocket, limitation, non_covered
    service_type_code: str
    in_network: bool | None
    coverage_level: str | None
    time_period: str | None  # EB06: 23 calendar year, 29 remaining, ...
    amount: Decimal | None
    percent: Decimal | None  # coinsurance as a percentage (EB08 .2 → 20)
    notes: tuple[str, ...] = ()

    @property
    def is_remaining(self) -> bool:
        """True for "remaining" amounts (deductible or out-of-pocket left to meet)."""
        return self.time_period == "29"


@dataclass
class EligibilityResult:
    """The stored, parsed result of one check."""

    status: CoverageStatus
    plan_name: str | None = None
    insurance_type_code: str | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    benefits: list[Benefit] = field(default_factory=list)
    problems: list[RequestProblem] = field(default_factory=list)

    def figure(
        self, kind: str, service_type: str, *, in_network: bool = True, remaining: bool = False
    ) -> Decimal | None:
        """A key figure (copay, coinsurance %, deductible, out-of-pocket) for a service type and network."""
        candidates = [
            b
            for b in self.benefits
            if b.kind == kind
            and b.in_network in (in_network, None)
            and (b.is_remaining == remaining or kind in ("copay", "coinsurance"))
        ]
        for wanted in (service_type, "30"):  # 30 = health benefit plan coverage, the plan-wide figure
            for benefit in candidates:
                if benefit.service_type_code == wanted:
                    return benefit.percent if kind == "coinsurance" else benefit.amount
        return None


def _benefits(summaries: Iterable[BenefitSummary]) -> list[Benefit]:
    benefits = []
    for summary in summaries:
        for service_type in summary.service_type_codes or ["30"]:
            benefits.append(
                Benefit(
                    kind=summary.kind,
                    service_type_code=service_type,
                    in_network=summary.in_network,
                    coverage_level=summary.coverage_level,
                    time_period=summary.time_period,
                    amount=summary.amount,
                    percent=summary.percent * 100 if summary.percent is not None else None,
                    notes=tuple(summary.messages),
                )
            )
    return benefits


def result_from_271(member: MemberEligibility, insurance_type_code: str | None = None) -> EligibilityResult:
    """Interpret the 271 summary of the member that was asked about."""
    problems = [request_problem(code) for code in member.request_errors if code]
    if problems:
        codes = {p.code for p in problems}
        if any(p.retry for p in problems):
            status = CoverageStatus.UNAVAILABLE
        elif codes & {"75", "72", "73", "58", "71", "78"}:
            status = CoverageStatus.NOT_FOUND
        else:
            status = CoverageStatus.REJECTED
        return EligibilityResult(status=status, problems=problems)
    return EligibilityResult(
        status=CoverageStatus.ACTIVE if member.active else CoverageStatus.INACTIVE,
        plan_name=member.plan_description,
        insurance_type_code=insurance_type_code,
        coverage_start=member.plan_start,
        coverage_end=member.plan_end,
        benefits=_benefits(member.benefits),
    )
