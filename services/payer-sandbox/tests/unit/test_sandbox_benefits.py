"""Cost sharing: copay, deductible then coinsurance, the out-of-pocket cap."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from payer_sandbox.domain.benefits import Accumulator, patient_share
from payer_sandbox.domain.codes import ServiceType
from payer_sandbox.domain.population import CostShare, NetworkTier

TIER = NetworkTier(
    Decimal("1000.00"),
    Decimal("1500.00"),
    MappingProxyType({ServiceType.HEALTH_BENEFIT_PLAN: CostShare(coinsurance=Decimal("0.20"))}),
)


def test_copay_services_charge_the_copay_and_skip_the_deductible() -> None:
    share = patient_share(Decimal("120.00"), CostShare(copay=Decimal("25.00")), TIER, Accumulator())
    assert (share.copay, share.deductible, share.coinsurance) == (Decimal("25.00"), Decimal(0), Decimal(0))


def test_copay_never_exceeds_the_allowed_amount() -> None:
    share = patient_share(Decimal("10.00"), CostShare(copay=Decimal("25.00")), TIER, Accumulator())
    assert share.copay == Decimal("10.00")


def test_deductible_applies_first_then_coinsurance_on_the_rest() -> None:
    accumulator = Accumulator(deductible_met=Decimal("900.00"), out_of_pocket_met=Decimal("900.00"))
    share = patient_share(Decimal("300.00"), CostShare(coinsurance=Decimal("0.20")), TIER, accumulator)
    assert share.deductible == Decimal("100.00")
    assert share.coinsurance == Decimal("40.00")


def test_out_of_pocket_maximum_caps_what_the_member_pays() -> None:
    accumulator = Accumulator(deductible_met=Decimal("1000.00"), out_of_pocket_met=Decimal("1490.00"))
    share = patient_share(Decimal("500.00"), CostShare(coinsurance=Decimal("0.20")), TIER, accumulator)
    assert share.total == Decimal("10.00")
    met = Accumulator(deductible_met=Decimal("1000.00"), out_of_pocket_met=Decimal("1500.00"))
    assert patient_share(Decimal("500.00"), CostShare(copay=Decimal("25.00")), TIER, met).total == 0


FAMILY_TIER = NetworkTier(
    Decimal("1000.00"),
    Decimal("1500.00"),
    TIER.cost_shares,
    family_deductible=Decimal("2000.00"),
    family_out_of_pocket_max=Decimal("3000.00"),
)
COINSURANCE = CostShare(coinsurance=Decimal("0.20"))


def test_family_deductible_caps_the_members_own_deductible() -> None:
    own = Accumulator(deductible_met=Decimal("200.00"), out_of_pocket_met=Decimal("200.00"))
    family = Accumulator(deductible_met=Decimal("1950.00"), out_of_pocket_met=Decimal("1950.00"))
    share = patient_share(Decimal("300.00"), COINSURANCE, FAMILY_TIER, own, family)
    assert share.deductible == Decimal("50.00")  # the family's last 50.00, not the member's remaining 800.00
    assert share.coinsurance == Decimal("50.00")


def test_family_out_of_pocket_maximum_caps_what_any_member_pays() -> None:
    own = Accumulator(deductible_met=Decimal("1000.00"), out_of_pocket_met=Decimal("1000.00"))
    family = Accumulator(deductible_met=Decimal("2000.00"), out_of_pocket_met=Decimal("2980.00"))
    assert patient_share(Decimal("500.00"), COINSURANCE, FAMILY_TIER, own, family).total == Decimal("20.00")


def test_individual_amounts_still_apply_within_a_family() -> None:
    own = Accumulator(deductible_met=Decimal("1000.00"), out_of_pocket_met=Decimal("1000.00"))
    share = patient_share(Decimal("300.00"), COINSURANCE, FAMILY_TIER, own, Accumulator())
    assert (share.deductible, share.coinsurance) == (Decimal(0), Decimal("60.00"))
