"""Dependents' claims and family accumulators through the HTTP API: 835 names the patient, the dependent's own
accumulators move, and family deductible/out-of-pocket amounts are met by the family together (271 EB02 FAM)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from claimflow_x12.guides.eligibility_270_271 import MemberEligibility
from claimflow_x12.guides.remittance_835 import ClaimPaymentLoop, iter_claim_payments
from payer_sandbox.samples import ClaimRequest, LineRequest, PersonRequest
from payer_sandbox.testing import SandboxClient, sandbox_fixture  # noqa: F401 (the sandbox fixture)

DOS = date(2025, 2, 24)
MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")  # subscriber, SANDBOX GOLD PPO
LUCAS = PersonRequest("LOPEZ", "LUCAS", date(2015, 7, 20))  # her son, person code 01
CARLOS = PersonRequest("LOPEZ", "CARLOS", date(1982, 5, 2))  # her husband, person code 02


def injections(pcn: str, units: int, patient: PersonRequest | None = None) -> ClaimRequest:
    """Joint injections (20610: 60.00 x 1.40 = 84.00 allowed per unit), a deductible-then-coinsurance service."""
    line = LineRequest("20610", Decimal(150 * units), units=Decimal(units))
    return ClaimRequest(pcn, "60054", MARIA, [line], ["M25561"], DOS, patient=patient)


async def payments(sandbox: SandboxClient) -> dict[str, ClaimPaymentLoop]:
    """Claim payments of every ERA by patient control number (each ERA checked to balance)."""
    found = {}
    for era in await sandbox.remittances():
        claims = list(iter_claim_payments(era))
        assert era.financial_information.total_payment == sum((c.claim.paid_amount for c in claims), Decimal(0))
        found.update({c.claim.patient_control_number: c for c in claims})
    return found


def patient_share(payment: ClaimPaymentLoop) -> dict[str, Decimal]:
    """PR amounts by reason (1 deductible, 2 coinsurance, 3 copay)."""
    shares: dict[str, Decimal] = {}
    for line in payment.service_lines:
        for cas in line.adjustments:
            for adjustment in cas.adjustments:
                if cas.group_code.value == "PR":
                    shares[adjustment.reason_code] = shares.get(adjustment.reason_code, Decimal(0)) + adjustment.amount
    return shares


def remaining(summary: MemberEligibility, kind: str, level: str) -> Decimal:
    """The in-network remaining (EB06 = 29) deductible or out-of-pocket amount at coverage level IND or FAM."""
    (found,) = [
        b.amount
        for b in summary.benefits
        if b.kind == kind and b.coverage_level == level and b.in_network is True and b.time_period == "29"
    ]
    assert found is not None
    return found


async def in_network(sandbox: SandboxClient, person_code: str) -> dict[str, Any]:
    """The in-network accumulators of one member of the LOPEZ family."""
    response = await sandbox.http.get(
        "/v1/population/accumulators/60054/W123456789", params={"person_code": person_code}
    )
    assert response.status_code == 200, response.text
    (standing,) = [a for a in response.json() if a["network"] == "in"]
    return dict(standing)


async def test_dependents_claim_moves_the_dependents_accumulators_and_the_835_names_the_patient(
    sandbox: SandboxClient,
) -> None:
    await sandbox.submit([injections("PCNLUCAS", 1, patient=LUCAS)])
    await sandbox.advance(7)
    payment = (await payments(sandbox))["PCNLUCAS"]
    assert payment.patient is not None
    assert (payment.patient.last_name_or_organization, payment.patient.first_name) == ("LOPEZ", "LUCAS")
    assert payment.insured is not None
    assert (payment.insured.first_name, payment.insured.identifier) == ("MARIA", "W123456789")
    assert patient_share(payment) == {"1": Decimal("84.00")}
    lucas, maria = await in_network(sandbox, "01"), await in_network(sandbox, "00")
    assert (lucas["deductible_met"], lucas["out_of_pocket_met"]) == ("84.00", "84.00")
    assert (maria["deductible_met"], maria["out_of_pocket_met"]) == ("0.00", "0.00")
    _, dependent = await sandbox.eligibility("60054", MARIA, dependent=LUCAS)
    assert remaining(dependent, "deductible", "IND") == Decimal("1416.00")
    (own,) = await sandbox.eligibility("60054", MARIA)
    assert remaining(own, "deductible", "IND") == Decimal("1500.00")


async def test_two_family_members_claims_move_the_family_remaining_amounts(sandbox: SandboxClient) -> None:
    (before,) = await sandbox.eligibility("60054", MARIA)
    assert remaining(before, "deductible", "FAM") == Decimal("3000.00")
    assert remaining(before, "out_of_pocket", "FAM") == Decimal("12000.00")
    await sandbox.submit([injections("PCNMARIA", 1), injections("PCNSON", 1, patient=LUCAS)])
    await sandbox.advance(7)
    (subscriber,) = await sandbox.eligibility("60054", MARIA)
    assert remaining(subscriber, "deductible", "IND") == Decimal("1416.00")
    assert remaining(subscriber, "deductible", "FAM") == Decimal("2832.00")  # 3000.00 - 84.00 - 84.00
    assert remaining(subscriber, "out_of_pocket", "FAM") == Decimal("11832.00")
    _, spouse = await sandbox.eligibility("60054", MARIA, dependent=CARLOS)
    assert remaining(spouse, "deductible", "IND") == Decimal("1500.00")  # he has not paid anything himself
    assert remaining(spouse, "deductible", "FAM") == Decimal("2832.00")  # but his family has
    carlos = await in_network(sandbox, "02")
    assert (carlos["family_deductible"], carlos["family_deductible_met"]) == ("3000.00", "168.00")


async def test_once_the_family_deductible_is_met_no_member_pays_deductible(sandbox: SandboxClient) -> None:
    # 20 units: 1680.00 allowed each, enough for Maria and Lucas to meet their 1500.00 individual deductibles
    await sandbox.submit([injections("PCNBIGM", 20), injections("PCNBIGL", 20, patient=LUCAS)])
    await sandbox.advance(7)
    met = await payments(sandbox)
    for pcn in ("PCNBIGM", "PCNBIGL"):
        assert patient_share(met[pcn]) == {"1": Decimal("1500.00"), "2": Decimal("36.00")}
    await sandbox.submit([injections("PCNCARLOS", 1, patient=CARLOS)])
    await sandbox.advance(7)
    carlos = (await payments(sandbox))["PCNCARLOS"]
    # the family's 3000.00 is met: Carlos owes only his 20 % coinsurance although his own deductible is untouched
    assert patient_share(carlos) == {"2": Decimal("16.80")}
    assert carlos.claim.paid_amount == Decimal("67.20")
    _, spouse = await sandbox.eligibility("60054", MARIA, dependent=CARLOS)
    assert remaining(spouse, "deductible", "IND") == Decimal("1500.00")
    assert remaining(spouse, "deductible", "FAM") == Decimal("0.00")
    assert (await in_network(sandbox, "02"))["deductible_met"] == "0.00"
