"""The sandbox's payers, plans and members: a deterministic population generated from a seed.

Everything here is pure data and pure functions (no I/O, no clock): the same seed and plan year always give the
same payers, plans and members, so tests and demos can rely on them. A few *anchor* members are fixed rather
than generated, so documentation, demo encounters and tests can name a patient who is known to exist
(e.g. MARIA LOPEZ, W123456789, payer 60054, the member ClaimFlow's demo encounter uses).

Some people have more than one plan (coordination of benefits): MARIA LOPEZ is also covered as her husband
CARLOS's spouse on the HMO (H10000002), JOHN SMITH has Medicare, a commercial supplement (W555000111) and
Medicaid (100000000002), and a share of the generated Medicare members are dual eligible for Medicaid and of the
commercial members have a second employer plan. ``Population.next_coverage`` says which plan pays next.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

from claimflow_x12.segments import ClaimFilingIndicatorCode, GenderCode
from claimflow_x12.validate import npi_is_valid
from payer_sandbox.domain.codes import PayerKind, ServiceType

__all__ = [
    "CostShare",
    "CoverageStatus",
    "Member",
    "NetworkTier",
    "Payer",
    "Plan",
    "Population",
    "Relationship",
    "generate_population",
    "make_npi",
]

ST = ServiceType


class Relationship(StrEnum):
    """Patient's relationship to the subscriber (SBR02/PAT01 codes)."""

    SELF = "18"
    SPOUSE = "01"
    CHILD = "19"


class CoverageStatus(StrEnum):
    """Coverage state of a member on a given date."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    FUTURE = "future"


@dataclass(frozen=True, slots=True)
class CostShare:
    """What the member pays for one service type: a copay per visit and/or a coinsurance fraction."""

    copay: Decimal | None = None
    coinsurance: Decimal | None = None  # 0.2 = 20 %


@dataclass(frozen=True, slots=True)
class NetworkTier:
    """Benefits for one network tier: deductible, out-of-pocket maximum and cost share by service type.

    Family plans also have family amounts, met by the whole family together (embedded: each person still stops
    at the individual amount, and once the family amount is met nobody in the family pays more)."""

    deductible: Decimal
    out_of_pocket_max: Decimal | None  # None: no stop-loss (Medicare Part B)
    cost_shares: Mapping[ServiceType, CostShare]
    family_deductible: Decimal | None = None  # None: individual coverage only
    family_out_of_pocket_max: Decimal | None = None

    def cost_share(self, service_type: ServiceType) -> CostShare:
        """Cost share of a service type, falling back to the plan-wide (30) one."""
        return self.cost_shares.get(service_type) or self.cost_shares[ST.HEALTH_BENEFIT_PLAN]


@dataclass(frozen=True, slots=True)
class Plan:
    """A benefit plan of one payer."""

    plan_id: str
    name: str  # EB05
    insurance_type: str  # EB04: MB Medicare Part B, MC Medicaid, PR PPO, HM HMO
    in_network: NetworkTier
    out_of_network: NetworkTier | None  # None: no out-of-network benefits (HMO) or not applicable
    network_applies: bool  # False for Medicare/Medicaid fee-for-service: EB12 is W (not applicable)
    prior_auth_procedures: frozenset[str] = frozenset()
    non_covered_procedures: frozenset[str] = frozenset()
    non_covered_service_types: frozenset[ServiceType] = frozenset()

    def tier(self, in_network: bool) -> NetworkTier | None:
        """The benefits that apply for a provider in or out of network (None: not covered)."""
        if in_network or not self.network_applies:
            return self.in_network
        return self.out_of_network


@dataclass(frozen=True, slots=True)
class Payer:
    """A simulated payer."""

    payer_id: str  # NM109 with NM108 = PI
    name: str
    kind: PayerKind
    claim_filing: ClaimFilingIndicatorCode  # CLP06
    member_id_pattern: str  # what a well-formed member id looks like (AAA 72 / 277CA A7:164 otherwise)
    timely_filing_days: int  # CARC 29 after this many days from the date of service
    adjudication_days: int  # days from receipt to the check run that pays the claim
    prompt_pay_days: int  # paying later than this owes interest (PLB L6)
    fee_multiplier: Decimal  # allowed = base fee x multiplier
    plans: tuple[Plan, ...]

    def member_id_valid(self, member_id: str) -> bool:
        """True when ``member_id`` has this payer's format."""
        return re.fullmatch(self.member_id_pattern, member_id) is not None

    def plan(self, plan_id: str) -> Plan:
        """One of this payer's plans."""
        return next(p for p in self.plans if p.plan_id == plan_id)


@dataclass(frozen=True, slots=True)
class Member:
    """A covered person. Dependents share the subscriber's member id and differ by person code."""

    member_id: str
    person_code: str  # 00 subscriber, 01.. dependents
    relationship: Relationship
    first_name: str
    last_name: str
    birth_date: date
    sex: GenderCode
    payer_id: str
    plan_id: str
    group_number: str | None
    coverage_start: date
    coverage_end: date | None

    @property
    def key(self) -> str:
        """Unique id of the person within the sandbox (accumulators are kept per person)."""
        return f"{self.payer_id}:{self.member_id}:{self.person_code}"

    @property
    def family_key(self) -> str:
        """Unique id of the subscriber's family (family accumulators are kept per family)."""
        return f"{self.payer_id}:{self.member_id}"

    def covered_on(self, day: date) -> bool:
        """True when coverage is in force on ``day``."""
        return self.coverage_start <= day and (self.coverage_end is None or day <= self.coverage_end)

    def status(self, as_of: date) -> CoverageStatus:
        """Active, inactive (terminated) or future coverage on ``as_of``."""
        if self.covered_on(as_of):
            return CoverageStatus.ACTIVE
        return CoverageStatus.FUTURE if as_of < self.coverage_start else CoverageStatus.INACTIVE


@dataclass(slots=True)
class Population:
    """Payers, plans and members of one sandbox instance."""

    seed: int
    plan_year: int
    payers: dict[str, Payer]
    members: list[Member]
    out_of_network_npis: frozenset[str]
    coverage_order: tuple[tuple[str, ...], ...] = ()  # member keys of one person's plans, in the order they pay
    _index: dict[tuple[str, str], list[Member]] = field(default_factory=dict, repr=False)
    _next: dict[str, Member] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_key = {}
        for member in self.members:
            self._index.setdefault((member.payer_id, member.member_id), []).append(member)
            by_key[member.key] = member
        for order in self.coverage_order:
            for earlier, later in pairwise(order):
                self._next[earlier] = by_key[later]

    def next_coverage(self, member: Member) -> Member | None:
        """The plan that pays after ``member``'s plan for the same person (None: no further plan)."""
        return self._next.get(member.key)

    def following_coverages(self, member: Member) -> list[Member]:
        """Every plan that pays after ``member``'s, in order."""
        found = []
        current = self._next.get(member.key)
        while current is not None:
            found.append(current)
            current = self._next.get(current.key)
        return found

    def family(self, payer_id: str, member_id: str) -> list[Member]:
        """The subscriber and dependents under a member id (subscriber first), or an empty list."""
        return sorted(self._index.get((payer_id, member_id), []), key=lambda m: m.person_code)

    def subscriber(self, payer_id: str, member_id: str) -> Member | None:
        """The subscriber holding ``member_id`` at ``payer_id``."""
        return next((m for m in self.family(payer_id, member_id) if m.person_code == "00"), None)

    def dependent(
        self, payer_id: str, member_id: str, first_name: str | None, birth_date: date | None
    ) -> Member | None:
        """A dependent under ``member_id`` identified by first name and/or birth date."""
        for member in self.family(payer_id, member_id):
            if member.person_code == "00":
                continue
            if first_name and normalize_name(first_name) != member.first_name:
                continue
            if birth_date and birth_date != member.birth_date:
                continue
            if first_name or birth_date:
                return member
        return None

    def plan_of(self, member: Member) -> Plan:
        """The plan a member is enrolled in."""
        return self.payers[member.payer_id].plan(member.plan_id)

    def in_network(self, npi: str | None) -> bool:
        """True unless the provider is one of the population's out-of-network NPIs."""
        return npi not in self.out_of_network_npis


def normalize_name(value: str) -> str:
    """Upper-case letters only, so 'O'Brien' and 'OBRIEN' compare equal."""
    return re.sub(r"[^A-Z]", "", value.upper())


def make_npi(prefix9: str) -> str:
    """A valid NPI from nine digits (adds the Luhn check digit)."""
    return next(prefix9 + str(d) for d in range(10) if npi_is_valid(prefix9 + str(d)))


def _tier(deductible: str, oop: str | None, shares: dict[ServiceType, CostShare], family: bool = False) -> NetworkTier:
    """A tier; ``family``: with family amounts of twice the individual ones, the usual commercial design."""
    individual, stop_loss = Decimal(deductible), Decimal(oop) if oop else None
    return NetworkTier(
        individual,
        stop_loss,
        MappingProxyType(dict(shares)),
        family_deductible=individual * 2 if family else None,
        family_out_of_pocket_max=stop_loss * 2 if family and stop_loss is not None else None,
    )


def _copay(amount: str) -> CostShare:
    return CostShare(copay=Decimal(amount))


def _coins(rate: str) -> CostShare:
    return CostShare(coinsurance=Decimal(rate))


# Procedures that need prior authorization (MRI brain, knee arthroplasty, lumbar fusion) and that plans exclude.
_AUTH_IMAGING_SURGERY = frozenset({"70553", "73721", "27447", "22612"})
_MEDICARE_EXCLUDED = frozenset({"92015", "99387", "99397"})  # refraction, routine preventive exams
_COMMERCIAL_EXCLUDED = frozenset({"15780", "92015"})  # dermabrasion (cosmetic), refraction


def _payers() -> dict[str, Payer]:
    medicare = Plan(
        plan_id="MCARE-B",
        name="MEDICARE PART B",
        insurance_type="MB",
        in_network=_tier("257.00", None, {ST.HEALTH_BENEFIT_PLAN: _coins("0.20")}),
        out_of_network=None,
        network_applies=False,
        non_covered_procedures=_MEDICARE_EXCLUDED,
        non_covered_service_types=frozenset({ST.VISION, ST.PHARMACY}),
    )
    medicaid = Plan(
        plan_id="MCAID-FFS",
        name="STATE MEDICAID",
        insurance_type="MC",
        in_network=_tier(
            "0.00",
            None,
            {
                ST.HEALTH_BENEFIT_PLAN: CostShare(),
                ST.OFFICE_VISIT: _copay("4.00"),
                ST.EMERGENCY: _copay("8.00"),
                ST.PHARMACY: _copay("1.00"),
            },
        ),
        out_of_network=None,
        network_applies=False,
        prior_auth_procedures=_AUTH_IMAGING_SURGERY,
    )
    ppo_in = {
        ST.HEALTH_BENEFIT_PLAN: _coins("0.20"),
        ST.OFFICE_VISIT: _copay("25.00"),
        ST.URGENT_CARE: _copay("75.00"),
        ST.EMERGENCY: _copay("250.00"),
        ST.MENTAL_HEALTH: _copay("30.00"),
        ST.PHARMACY: _copay("10.00"),
        ST.HOSPITAL: _coins("0.20"),
    }
    ppo_out = {ST.HEALTH_BENEFIT_PLAN: _coins("0.40"), ST.EMERGENCY: _copay("250.00")}
    gold = Plan(
        plan_id="PPO-GOLD",
        name="SANDBOX GOLD PPO",
        insurance_type="PR",
        in_network=_tier("1500.00", "6000.00", ppo_in, family=True),
        out_of_network=_tier("3000.00", "12000.00", ppo_out, family=True),
        network_applies=True,
        prior_auth_procedures=_AUTH_IMAGING_SURGERY,
        non_covered_procedures=_COMMERCIAL_EXCLUDED,
    )
    silver = Plan(
        plan_id="PPO-SILVER",
        name="SANDBOX SILVER PPO",
        insurance_type="PR",
        in_network=_tier(
            "3000.00",
            "8000.00",
            {**ppo_in, ST.HEALTH_BENEFIT_PLAN: _coins("0.30"), ST.OFFICE_VISIT: _copay("40.00")},
            family=True,
        ),
        out_of_network=_tier("6000.00", "16000.00", {**ppo_out, ST.HEALTH_BENEFIT_PLAN: _coins("0.50")}, family=True),
        network_applies=True,
        prior_auth_procedures=_AUTH_IMAGING_SURGERY,
        non_covered_procedures=_COMMERCIAL_EXCLUDED,
    )
    hmo = Plan(
        plan_id="HMO-CORE",
        name="SANDBOX CORE HMO",
        insurance_type="HM",
        in_network=_tier(
            "500.00",
            "4000.00",
            {
                ST.HEALTH_BENEFIT_PLAN: _coins("0.10"),
                ST.OFFICE_VISIT: _copay("20.00"),
                ST.URGENT_CARE: _copay("50.00"),
                ST.EMERGENCY: _copay("150.00"),
                ST.MENTAL_HEALTH: _copay("20.00"),
                ST.PHARMACY: _copay("5.00"),
            },
            family=True,
        ),
        out_of_network=None,
        network_applies=True,
        prior_auth_procedures=_AUTH_IMAGING_SURGERY | {"97110", "97140", "97530"},
        non_covered_procedures=_COMMERCIAL_EXCLUDED,
    )
    payers = (
        Payer(
            payer_id="MCARE",
            name="SANDBOX MEDICARE",
            kind=PayerKind.MEDICARE,
            claim_filing=ClaimFilingIndicatorCode.MEDICARE_PART_B,
            member_id_pattern=r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
            r"[AC-HJKMNP-RT-Y]{2}[0-9]{2}",  # Medicare Beneficiary Identifier shape
            timely_filing_days=365,
            adjudication_days=14,
            prompt_pay_days=30,
            fee_multiplier=Decimal("1.00"),
            plans=(medicare,),
        ),
        Payer(
            payer_id="MCAID",
            name="SANDBOX STATE MEDICAID",
            kind=PayerKind.MEDICAID,
            claim_filing=ClaimFilingIndicatorCode.MEDICAID,
            member_id_pattern=r"[0-9]{12}",
            timely_filing_days=365,
            adjudication_days=10,
            prompt_pay_days=45,
            fee_multiplier=Decimal("0.80"),
            plans=(medicaid,),
        ),
        Payer(
            payer_id="60054",
            name="SANDBOX COMMERCIAL PPO",
            kind=PayerKind.COMMERCIAL_PPO,
            claim_filing=ClaimFilingIndicatorCode.COMMERCIAL,
            member_id_pattern=r"W[0-9]{9}",
            timely_filing_days=90,
            adjudication_days=7,
            prompt_pay_days=30,
            fee_multiplier=Decimal("1.40"),
            plans=(gold, silver),
        ),
        Payer(
            payer_id="HMO01",
            name="SANDBOX HEALTH HMO",
            kind=PayerKind.COMMERCIAL_HMO,
            claim_filing=ClaimFilingIndicatorCode.HMO,
            member_id_pattern=r"H[0-9]{8}",
            timely_filing_days=180,
            adjudication_days=7,
            prompt_pay_days=30,
            fee_multiplier=Decimal("1.20"),
            plans=(hmo,),
        ),
    )
    return {p.payer_id: p for p in payers}


_FIRST_F = ("MARIA", "EMMA", "OLIVIA", "AVA", "SOFIA", "MIA", "CHLOE", "GRACE", "NORA", "LILY", "ZOE", "HANNAH")
_FIRST_M = ("JAMES", "LIAM", "NOAH", "ETHAN", "LUCAS", "MASON", "OWEN", "DANIEL", "HENRY", "SAMUEL", "LEO", "ARJUN")
_LAST = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ", "MARTINEZ",
    "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "NGUYEN",
    "KIM", "PATEL", "OKAFOR", "CHEN", "OBRIEN", "ROSSI", "KOWALSKI", "SCHMIDT", "IVANOV", "TANAKA",
)  # fmt: skip
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"


def _anchors(plan_year: int) -> list[Member]:
    """Fixed members that documentation, demo data and tests can rely on (``ANCHOR_COVERAGE_ORDER`` says which of
    them are the same person's plans)."""
    since = date(plan_year - 2, 1, 1)
    lopez = Member(
        member_id="W123456789", payer_id="60054", plan_id="PPO-GOLD", group_number="GRP60054A", person_code="00",
        relationship=Relationship.SELF, first_name="MARIA", last_name="LOPEZ", birth_date=date(1984, 3, 9),
        sex=GenderCode.FEMALE, coverage_start=since, coverage_end=None,
    )  # fmt: skip
    return [
        lopez,
        replace(
            lopez,
            person_code="01",
            relationship=Relationship.CHILD,
            first_name="LUCAS",
            birth_date=date(2015, 7, 20),
            sex=GenderCode.MALE,
        ),
        replace(
            lopez,
            person_code="02",
            relationship=Relationship.SPOUSE,
            first_name="CARLOS",
            birth_date=date(1982, 5, 2),
            sex=GenderCode.MALE,
        ),
        Member(
            member_id="W987654321",
            payer_id="60054",
            plan_id="PPO-SILVER",
            group_number="GRP60054B",
            person_code="00",
            relationship=Relationship.SELF,
            first_name="DAVID",
            last_name="CHEN",
            birth_date=date(1979, 11, 30),
            sex=GenderCode.MALE,
            coverage_start=since,
            coverage_end=date(plan_year - 1, 12, 31),
        ),
        Member(
            member_id="1EG4TE5MK73",
            payer_id="MCARE",
            plan_id="MCARE-B",
            group_number=None,
            person_code="00",
            relationship=Relationship.SELF,
            first_name="JOHN",
            last_name="SMITH",
            birth_date=date(1950, 6, 15),
            sex=GenderCode.MALE,
            coverage_start=date(2015, 6, 1),
            coverage_end=None,
        ),
        Member(
            member_id="100000000001",
            payer_id="MCAID",
            plan_id="MCAID-FFS",
            group_number=None,
            person_code="00",
            relationship=Relationship.SELF,
            first_name="ANA",
            last_name="GARCIA",
            birth_date=date(1992, 2, 14),
            sex=GenderCode.FEMALE,
            coverage_start=since,
            coverage_end=None,
        ),
        Member(
            member_id="H10000002",
            payer_id="HMO01",
            plan_id="HMO-CORE",
            group_number="GRPHMO02",
            person_code="00",
            relationship=Relationship.SELF,
            first_name="CARLOS",
            last_name="LOPEZ",
            birth_date=date(1982, 5, 2),
            sex=GenderCode.MALE,
            coverage_start=since,
            coverage_end=None,
        ),
        Member(
            member_id="H10000002",
            payer_id="HMO01",
            plan_id="HMO-CORE",
            group_number="GRPHMO02",
            person_code="01",
            relationship=Relationship.SPOUSE,
            first_name="MARIA",
            last_name="LOPEZ",
            birth_date=date(1984, 3, 9),
            sex=GenderCode.FEMALE,
            coverage_start=since,
            coverage_end=None,
        ),
        Member(
            member_id="W555000111",
            payer_id="60054",
            plan_id="PPO-SILVER",
            group_number="GRP60054R",
            person_code="00",
            relationship=Relationship.SELF,
            first_name="JOHN",
            last_name="SMITH",
            birth_date=date(1950, 6, 15),
            sex=GenderCode.MALE,
            coverage_start=since,
            coverage_end=None,
        ),
        Member(
            member_id="100000000002",
            payer_id="MCAID",
            plan_id="MCAID-FFS",
            group_number=None,
            person_code="00",
            relationship=Relationship.SELF,
            first_name="JOHN",
            last_name="SMITH",
            birth_date=date(1950, 6, 15),
            sex=GenderCode.MALE,
            coverage_start=since,
            coverage_end=None,
        ),
        Member(
            member_id="H10000001",
            payer_id="HMO01",
            plan_id="HMO-CORE",
            group_number="GRPHMO01",
            person_code="00",
            relationship=Relationship.SELF,
            first_name="KEVIN",
            last_name="PATEL",
            birth_date=date(1988, 9, 9),
            sex=GenderCode.MALE,
            coverage_start=since,
            coverage_end=None,
        ),
    ]


ANCHOR_COVERAGE_ORDER = (
    ("60054:W123456789:00", "HMO01:H10000002:01"),  # MARIA: her own PPO, then her husband's HMO
    ("MCARE:1EG4TE5MK73:00", "60054:W555000111:00", "MCAID:100000000002:00"),  # JOHN: Medicare, supplement, Medicaid
)


def _member_id(rng: random.Random, payer: Payer) -> str:
    if payer.kind is PayerKind.MEDICARE:
        pick = rng.choice
        letters, alnum = _MBI_LETTERS, _MBI_LETTERS + "0123456789"
        return (
            str(rng.randint(1, 9)) + pick(letters) + pick(alnum) + str(rng.randint(0, 9)) + pick(letters)
            + pick(alnum) + str(rng.randint(0, 9)) + pick(letters) + pick(letters) + f"{rng.randint(0, 99):02d}"
        )  # fmt: skip
    if payer.kind is PayerKind.MEDICAID:
        return f"{rng.randint(0, 10**12 - 1):012d}"
    prefix = "W" if payer.kind is PayerKind.COMMERCIAL_PPO else "H"
    width = 9 if prefix == "W" else 8
    return prefix + f"{rng.randint(0, 10**width - 1):0{width}d}"


def _birth_date(rng: random.Random, low_age: int, high_age: int, plan_year: int) -> date:
    return date(plan_year - rng.randint(low_age, high_age), rng.randint(1, 12), rng.randint(1, 28))


def _person(rng: random.Random, sex: GenderCode) -> str:
    return rng.choice(_FIRST_F if sex is GenderCode.FEMALE else _FIRST_M)


def generate_population(seed: int, plan_year: int, subscribers_per_payer: int = 20) -> Population:
    """The population for ``seed``: anchors plus generated subscribers, dependents and coverage histories."""
    rng = random.Random(seed)
    payers = _payers()
    members = _anchors(plan_year)
    taken = {m.member_id for m in members}
    for payer in payers.values():
        for _ in range(subscribers_per_payer):
            member_id = _member_id(rng, payer)
            while member_id in taken:
                member_id = _member_id(rng, payer)
            taken.add(member_id)
            plan = rng.choice(payer.plans)
            roll = rng.random()
            start = date(plan_year - rng.randint(0, 3), 1, 1)
            end: date | None = None
            if roll < 0.12:
                end = date(plan_year - 1, rng.randint(1, 12), 28)
            elif roll < 0.18:
                start = date(plan_year + 1, 1, 1)
            if payer.kind is PayerKind.MEDICARE:
                age = (65, 90)
            elif payer.kind is PayerKind.MEDICAID:
                age = (1, 60)
            else:
                age = (22, 63)
            sex = rng.choice((GenderCode.FEMALE, GenderCode.MALE))
            last = rng.choice(_LAST)
            group = None if payer.kind in (PayerKind.MEDICARE, PayerKind.MEDICAID) else f"GRP{rng.randint(1000, 9999)}"
            subscriber = Member(
                member_id=member_id, payer_id=payer.payer_id, plan_id=plan.plan_id, group_number=group,
                coverage_start=start, coverage_end=end, last_name=last, person_code="00",
                relationship=Relationship.SELF, first_name=_person(rng, sex),
                birth_date=_birth_date(rng, *age, plan_year), sex=sex,
            )  # fmt: skip
            members.append(subscriber)
            if payer.kind not in (PayerKind.COMMERCIAL_PPO, PayerKind.COMMERCIAL_HMO):
                continue
            dependents: list[tuple[Relationship, GenderCode, tuple[int, int]]] = []
            if rng.random() < 0.5:
                dependents.append((Relationship.SPOUSE, rng.choice((GenderCode.FEMALE, GenderCode.MALE)), (22, 63)))
            for _ in range(rng.randint(0, 2)):
                dependents.append((Relationship.CHILD, rng.choice((GenderCode.FEMALE, GenderCode.MALE)), (0, 21)))
            used: set[str] = set()
            for number, (relationship, dep_sex, dep_age) in enumerate(dependents, start=1):
                first = _person(rng, dep_sex)
                while first in used:
                    first = _person(rng, dep_sex)
                used.add(first)
                members.append(
                    replace(
                        subscriber, person_code=f"{number:02d}", relationship=relationship, first_name=first,
                        birth_date=_birth_date(rng, *dep_age, plan_year), sex=dep_sex,
                    )
                )  # fmt: skip
    out_of_network = frozenset(make_npi(f"19{rng.randint(0, 10**7 - 1):07d}") for _ in range(3))
    second_plans, order = _second_plans(seed, payers, members, taken)
    return Population(seed, plan_year, payers, members + second_plans, out_of_network, ANCHOR_COVERAGE_ORDER + order)


def _second_plans(
    seed: int, payers: dict[str, Payer], members: list[Member], taken: set[str]
) -> tuple[list[Member], tuple[tuple[str, ...], ...]]:
    """Second plans of generated subscribers: a quarter of Medicare members are dual eligible (Medicaid pays
    after Medicare), a sixth of the commercial PPO members also have an HMO plan of their own (it pays second).

    Drawn from their own random stream, so the rest of the population stays what it was for the seed."""
    rng = random.Random(f"{seed}:coordination-of-benefits")
    added: list[Member] = []
    order: list[tuple[str, ...]] = []
    anchored = {key for keys in ANCHOR_COVERAGE_ORDER for key in keys}
    for member in members:
        if member.person_code != "00" or member.key in anchored:
            continue
        if member.payer_id == "MCARE" and rng.random() < 0.25:
            second_payer, plan_id, group = payers["MCAID"], "MCAID-FFS", None
        elif member.payer_id == "60054" and rng.random() < 1 / 6:
            second_payer, plan_id, group = payers["HMO01"], "HMO-CORE", f"GRP{rng.randint(1000, 9999)}"
        else:
            continue
        member_id = _member_id(rng, second_payer)
        while member_id in taken:
            member_id = _member_id(rng, second_payer)
        taken.add(member_id)
        second = replace(
            member, member_id=member_id, payer_id=second_payer.payer_id, plan_id=plan_id, group_number=group
        )
        added.append(second)
        order.append((member.key, second.key))
    return added, tuple(order)
