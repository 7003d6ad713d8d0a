"""Cost sharing: how much of an allowed amount the member pays (deductible, coinsurance, copay) and the
accumulators (deductible met, out-of-pocket met) that remember it across claims within a plan year, per person
and, on family plans, per family.

Pure functions over plain data. The book is not thread-safe by itself: the sandbox service applies a whole
claim under one lock, so two concurrent claims can never both spend the same remaining deductible.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from payer_sandbox.domain.codes import Network
from payer_sandbox.domain.population import CostShare, Member, NetworkTier

__all__ = ["Accumulator", "AccumulatorBook", "PatientShare", "patient_share"]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(slots=True)
class Accumulator:
    """What a member has paid toward the deductible and the out-of-pocket maximum this plan year."""

    deductible_met: Decimal = ZERO
    out_of_pocket_met: Decimal = ZERO

    def deductible_remaining(self, tier: NetworkTier) -> Decimal:
        """Deductible still to meet."""
        return max(tier.deductible - self.deductible_met, ZERO)

    def out_of_pocket_remaining(self, tier: NetworkTier) -> Decimal | None:
        """Out-of-pocket still possible before the plan pays 100 % (None: no maximum)."""
        if tier.out_of_pocket_max is None:
            return None
        return max(tier.out_of_pocket_max - self.out_of_pocket_met, ZERO)

    def family_deductible_remaining(self, tier: NetworkTier) -> Decimal | None:
        """Family deductible still to meet, for a family's accumulator (None: the tier has no family amount)."""
        if tier.family_deductible is None:
            return None
        return max(tier.family_deductible - self.deductible_met, ZERO)

    def family_out_of_pocket_remaining(self, tier: NetworkTier) -> Decimal | None:
        """Family out-of-pocket still possible, for a family's accumulator (None: no family maximum)."""
        if tier.family_out_of_pocket_max is None:
            return None
        return max(tier.family_out_of_pocket_max - self.out_of_pocket_met, ZERO)


def _least(own: Decimal | None, family: Decimal | None) -> Decimal | None:
    if own is None:
        return family
    return own if family is None else min(own, family)


@dataclass(frozen=True, slots=True)
class PatientShare:
    """The member's part of one line's allowed amount (CAS PR-1, PR-2, PR-3)."""

    deductible: Decimal = ZERO
    coinsurance: Decimal = ZERO
    copay: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """Everything the member owes for the line."""
        return self.deductible + self.coinsurance + self.copay

    def negated(self) -> PatientShare:
        """The same amounts with the opposite sign (to undo a reversed claim)."""
        return PatientShare(-self.deductible, -self.coinsurance, -self.copay)


def patient_share(
    allowed: Decimal,
    cost_share: CostShare,
    tier: NetworkTier,
    accumulator: Accumulator,
    family: Accumulator | None = None,
) -> PatientShare:
    """Split ``allowed`` into member cost share given what the member's (and family's) accumulators hold.

    Copay services (office visits, ER, urgent care) charge the copay and skip the deductible, as most PPO/HMO
    designs do; other services apply the remaining deductible first, then coinsurance on the rest. The total is
    capped by the remaining out-of-pocket maximum, taking coinsurance back first, then copay, then deductible.
    On a family plan whichever is smaller applies: the member's own remaining amounts or the family's.
    """
    deductible_left: Decimal | None = accumulator.deductible_remaining(tier)
    remaining = accumulator.out_of_pocket_remaining(tier)
    if family is not None:
        deductible_left = _least(deductible_left, family.family_deductible_remaining(tier))
        remaining = _least(remaining, family.family_out_of_pocket_remaining(tier))
    deductible = copay = coinsurance = ZERO
    if cost_share.copay is not None:
        copay = min(cost_share.copay, allowed)
    else:
        deductible = min(deductible_left or ZERO, allowed)
        if cost_share.coinsurance is not None:
            coinsurance = ((allowed - deductible) * cost_share.coinsurance).quantize(CENT)
    if remaining is not None:
        excess = deductible + copay + coinsurance - remaining
        for name in ("coinsurance", "copay", "deductible"):
            if excess <= ZERO:
                break
            value = {"coinsurance": coinsurance, "copay": copay, "deductible": deductible}[name]
            cut = min(value, excess)
            excess -= cut
            if name == "coinsurance":
                coinsurance -= cut
            elif name == "copay":
                copay -= cut
            else:
                deductible -= cut
    return PatientShare(deductible=deductible, coinsurance=coinsurance, copay=copay)


class AccumulatorBook:
    """Accumulators per member and per family (subscriber and dependents), plan year and network tier."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, int, Network], Accumulator] = {}
        self._families: dict[tuple[str, int, Network], Accumulator] = {}

    def get(self, member_key: str, plan_year: int, network: Network) -> Accumulator:
        """A member's live accumulator (created empty on first use)."""
        return self._values.setdefault((member_key, plan_year, network), Accumulator())

    def family(self, family_key: str, plan_year: int, network: Network) -> Accumulator:
        """A family's live accumulator: what all its members paid together (created empty on first use)."""
        return self._families.setdefault((family_key, plan_year, network), Accumulator())

    def apply(self, member: Member, plan_year: int, network: Network, share: PatientShare) -> None:
        """Add a line's cost share to the member and the family (subtract it when negated for a reversal)."""
        for accumulator in (
            self.get(member.key, plan_year, network),
            self.family(member.family_key, plan_year, network),
        ):
            accumulator.deductible_met += share.deductible
            accumulator.out_of_pocket_met += share.total
