"""Scenario control through the HTTP API: denial rate, submissions down (503) and slow submissions."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import httpx

from claimflow_x12.guides.remittance_835 import ClaimPaymentLoop, iter_claim_payments
from payer_sandbox.main import create_app
from payer_sandbox.samples import ClaimRequest, LineRequest, PersonRequest, claim_837p, to_x12
from payer_sandbox.testing import TENANT, SandboxClient, sandbox_fixture, sandbox_settings  # noqa: F401

DOS = date(2025, 2, 24)
MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")
DAVID = PersonRequest("CHEN", "DAVID", date(1979, 11, 30), "W987654321")
JOHN = PersonRequest("SMITH", "JOHN", date(1950, 6, 15), "1EG4TE5MK73")
SCENARIO_REASONS = {"CO-16", "CO-50", "CO-11", "CO-22"}


def office_visit(pcn: str, member: PersonRequest = MARIA, payer: str = "60054", days_before: int = 0) -> ClaimRequest:
    """An office visit with a strep test, payable unless a rule or the scenario denies it."""
    lines = [LineRequest("99213", Decimal("150.00")), LineRequest("87880", Decimal("50.00"))]
    return ClaimRequest(pcn, payer, member, lines, ["J029"], DOS - timedelta(days=days_before))


def reasons(payment: ClaimPaymentLoop) -> set[str]:
    """Every group-reason pair adjusted on the claim's lines."""
    return {
        f"{cas.group_code.value}-{a.reason_code}" for line in payment.service_lines for cas in line.adjustments
        for a in cas.adjustments
    }  # fmt: skip


async def adjudicated(sandbox: SandboxClient) -> dict[str, ClaimPaymentLoop]:
    """The last payment of every claim, by patient control number (each ERA checked to balance)."""
    found = {}
    for era in await sandbox.remittances():
        paid = sum((c.claim.paid_amount for c in iter_claim_payments(era)), Decimal(0))
        assert era.financial_information.total_payment == paid - sum((p.total for p in era.provider_adjustments), 0)
        for payment in iter_claim_payments(era):
            found[payment.claim.patient_control_number] = payment
    return found


async def test_denial_rate_one_denies_every_payable_claim_with_a_common_reason(sandbox: SandboxClient) -> None:
    response = await sandbox.http.put("/v1/scenario", json={"payers": {"60054": {"denial_rate": 1.0}}})
    assert response.status_code == 200, response.text
    claims = [office_visit(f"PCN{i}", days_before=i) for i in range(8)]
    claims.append(office_visit("PCNTERM", member=DAVID))
    claims.append(office_visit("PCNMCARE", member=JOHN, payer="MCARE"))
    await sandbox.submit(claims)
    await sandbox.advance(14)
    paid = await adjudicated(sandbox)
    for i in range(8):
        payment = paid[f"PCN{i}"]
        assert payment.claim.status.value == "4"
        assert payment.claim.paid_amount == 0
        assert payment.claim.patient_responsibility == 0
        (reason,) = reasons(payment)
        assert reason in SCENARIO_REASONS
    assert len({reasons(paid[f"PCN{i}"]).pop() for i in range(8)}) >= 2  # spread over several reasons
    assert reasons(paid["PCNTERM"]) == {"CO-27"}  # a claim the rules deny keeps its own reason
    assert paid["PCNMCARE"].claim.status.value == "1"  # other payers are not affected
    assert reasons(paid["PCNMCARE"]) == {"CO-45", "PR-1"}
    remarks = {lq.remark_code for payment in paid.values() for line in payment.service_lines for lq in line.remarks}
    assert remarks & {"MA130", "M76", "MA04"}
    accumulators = await sandbox.http.get("/v1/population/accumulators/60054/W123456789")
    assert {a["deductible_met"] for a in accumulators.json()} == {"0.00"}  # denied claims charge the patient nothing


async def _denied_with(seed: int, rate: float) -> dict[str, str]:
    """Run 40 payable claims through a fresh sandbox with ``seed``; return the denied ones with their reason."""
    app = create_app(sandbox_settings(seed))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        client = SandboxClient(http, app)
        await http.put("/v1/scenario", json={"default": {"denial_rate": rate}})
        await client.submit([office_visit(f"PCN{i:02d}", days_before=i) for i in range(40)])
        await client.advance(7)
        return {
            pcn: reasons(payment).pop()
            for pcn, payment in (await adjudicated(client)).items()
            if payment.claim.status.value == "4"
        }


async def test_denial_rate_is_a_reproducible_share_of_claims() -> None:
    denied = await _denied_with(7, 0.3)
    assert 4 <= len(denied) <= 20  # about 12 of 40
    assert set(denied.values()) <= SCENARIO_REASONS
    assert len(set(denied.values())) >= 2
    assert await _denied_with(7, 0.3) == denied  # same seed, same requests: the same claims denied
    assert await _denied_with(8, 0.3) != denied
    assert await _denied_with(7, 0.0) == {}


async def test_submission_failure_answers_503_until_the_payer_is_back(sandbox: SandboxClient) -> None:
    await sandbox.http.put("/v1/scenario", json={"payers": {"60054": {"submission_failure": True}}})
    body = to_x12([claim_837p([office_visit("PCNDOWN")])])
    down = await sandbox.http.post(
        "/v1/submissions", params={"tenant": TENANT}, content=body, headers={"X-Filename": "down.837"}
    )
    assert down.status_code == 503
    assert down.json()["error"] == "DependencyUnavailable"
    assert await sandbox.files("999") == []  # nothing was taken
    other = await sandbox.submit([office_visit("PCNUP", member=JOHN, payer="MCARE")])
    assert other["claims_accepted"] == 1
    await sandbox.http.put("/v1/scenario", json={})
    retried = await sandbox.submit_bytes(body, "down.837")
    assert retried["claims_accepted"] == 1
    assert set(await sandbox.acknowledged()) == {"PCNUP", "PCNDOWN"}


async def test_submission_delay_slows_the_answer_for_that_payer(sandbox: SandboxClient) -> None:
    await sandbox.http.put("/v1/scenario", json={"payers": {"60054": {"submission_delay_seconds": 0.3}}})
    started = time.perf_counter()
    receipt = await sandbox.submit([office_visit("PCNSLOW")])
    assert time.perf_counter() - started >= 0.3
    assert receipt["claims_accepted"] == 1


async def test_scenario_values_out_of_range_are_refused(sandbox: SandboxClient) -> None:
    for behaviour in ({"denial_rate": 1.5}, {"submission_delay_seconds": -1}, {"submission_failure": "sometimes"}):
        response = await sandbox.http.put("/v1/scenario", json={"default": behaviour})
        assert response.status_code == 422, behaviour
    assert (await sandbox.http.get("/v1/scenario")).json()["default"]["denial_rate"] == 0.0
