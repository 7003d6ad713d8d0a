"""837 → 999 + 277CA → adjudication → 835 through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from claimflow_x12 import parse
from claimflow_x12.guides.ack_999 import Acknowledgment999
from claimflow_x12.guides.eligibility_270_271 import EligibilityInquiry270
from claimflow_x12.guides.remittance_835 import ClaimPaymentLoop, Remittance835, iter_claim_payments
from payer_sandbox.samples import ClaimRequest, LineRequest, PersonRequest, claim_837p, inquiry_270, to_x12
from payer_sandbox.testing import SandboxClient, sandbox_fixture  # noqa: F401 (the sandbox fixture)

TODAY = date(2025, 3, 3)
DOS = date(2025, 2, 24)
MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")
DAVID = PersonRequest("CHEN", "DAVID", date(1979, 11, 30), "W987654321")
JOHN = PersonRequest("SMITH", "JOHN", date(1950, 6, 15), "1EG4TE5MK73")
KEVIN = PersonRequest("PATEL", "KEVIN", date(1988, 9, 9), "H10000001")
ANA = PersonRequest("GARCIA", "ANA", date(1992, 2, 14), "100000000001")


def claim(
    pcn: str, *lines: tuple[str, str], member: PersonRequest = MARIA, payer: str = "60054", **extra: object
) -> ClaimRequest:
    """A claim for ``member`` with (procedure[:modifier], charge) lines on DOS."""
    built = [
        LineRequest(code.split(":")[0], Decimal(charge), modifiers=tuple(code.split(":")[1:])) for code, charge in lines
    ]
    fields: dict[str, object] = {"diagnoses": ["J209"], "service_date": DOS, **extra}
    return ClaimRequest(pcn, payer, member, built, **fields)  # type: ignore[arg-type]


def by_pcn(remittances: list[Remittance835]) -> dict[str, list[ClaimPaymentLoop]]:
    """Claim payments of every ERA by patient control number, in delivery order."""
    found: dict[str, list[ClaimPaymentLoop]] = {}
    for era in remittances:
        for payment in iter_claim_payments(era):
            found.setdefault(payment.claim.patient_control_number, []).append(payment)
    return found


def reasons(payment: ClaimPaymentLoop) -> set[str]:
    """Every group-reason pair adjusted on the claim (e.g. CO-45, PR-3)."""
    segments = [*payment.adjustments, *(cas for line in payment.service_lines for cas in line.adjustments)]
    return {f"{cas.group_code.value}-{a.reason_code}" for cas in segments for a in cas.adjustments}


def remarks(payment: ClaimPaymentLoop) -> set[str]:
    """RARCs sent with the claim's lines."""
    return {lq.remark_code for line in payment.service_lines for lq in line.remarks}


def assert_balanced(era: Remittance835) -> None:
    """BPR02 = Σ CLP04 - Σ PLB, spelled out (validate() checks it too)."""
    paid = sum((c.claim.paid_amount for c in iter_claim_payments(era)), Decimal(0))
    provider = sum((plb.total for plb in era.provider_adjustments), Decimal(0))
    assert era.financial_information.total_payment == paid - provider
    assert era.financial_information.total_payment >= 0


async def test_syntax_errors_are_rejected_in_the_999_and_get_no_277ca(sandbox: SandboxClient) -> None:
    body = to_x12([claim_837p([claim("PCNSYN", ("99213", "150.00"))])]).replace(b"*150.00*UN", b"*ABC*UN")
    receipt = await sandbox.submit_bytes(body, "broken.837")
    assert receipt["acknowledgment"] == "R"
    (ack,) = await sandbox.transactions("999")
    assert isinstance(ack, Acknowledgment999)
    assert ack.group_trailer.acknowledgment_code.value == "R"
    located = {loop.segment_error.segment_id_code for loop in ack.transaction_responses[0].segment_errors}
    assert "SV1" in located
    assert await sandbox.files("277CA") == []


async def test_front_end_edits_reject_claims_in_the_277ca(sandbox: SandboxClient) -> None:
    claims = [
        claim("PCNOK", ("99213", "150.00")),
        claim("PCNPAYER", ("99213", "150.00"), payer="ZZZZZ"),
        claim("PCNIDFMT", ("99213", "150.00"), member=PersonRequest("LOPEZ", "MARIA", None, "12345")),
        claim("PCNNOBODY", ("99213", "150.00"), member=PersonRequest("LOPEZ", "MARIA", None, "W000000002")),
        claim("PCNRENDER", ("99213", "150.00"), rendering_npi="1234567890"),
        claim("PCNDX", ("99213", "150.00"), diagnoses=["M545"]),
        claim("PCNHEADER", ("99213", "150.00"), diagnoses=["J209", "E11"]),
    ]
    receipt = await sandbox.submit(claims)
    assert (receipt["acknowledgment"], receipt["claims_accepted"], receipt["claims_rejected"]) == ("A", 1, 6)
    acks = await sandbox.acknowledged()
    status = {
        pcn: [(s.category_code, s.status_code, s.entity_code) for s in ack.claim.statuses] for pcn, ack in acks.items()
    }
    assert status == {
        "PCNOK": [("A2", "20", "PR")],
        "PCNPAYER": [("A3", "116", "PR")],
        "PCNIDFMT": [("A7", "164", "IL")],
        "PCNNOBODY": [("A7", "33", "IL")],
        "PCNRENDER": [("A7", "562", "82")],
        "PCNDX": [("A7", "254", None)],
        "PCNHEADER": [("A7", "255", None)],
    }
    assert acks["PCNOK"].claim.payer_claim_control_number
    assert acks["PCNPAYER"].claim.payer_claim_control_number is None


async def test_invalid_billing_npi_rejects_the_claim_not_the_file(sandbox: SandboxClient) -> None:
    from payer_sandbox.samples import BillingProvider

    receipt = await sandbox.submit([claim("PCNBILL", ("99213", "150.00"), billing=BillingProvider(npi="1234567890"))])
    assert receipt["acknowledgment"] == "A"
    acks = await sandbox.acknowledged()
    assert [(s.category_code, s.status_code, s.entity_code) for s in acks["PCNBILL"].claim.statuses] == [
        ("A7", "562", "85")
    ]


async def test_resubmitting_the_same_file_returns_the_same_receipt(sandbox: SandboxClient) -> None:
    body = to_x12([claim_837p([claim("PCNDUP", ("99213", "150.00"))])])
    first = await sandbox.submit_bytes(body, "same.837")
    again = await sandbox.submit_bytes(body, "same.837")
    assert first == again
    assert len(await sandbox.files("999")) == 1
    changed = await sandbox.http.post(
        "/v1/submissions", params={"tenant": "tenant-a"}, content=body.replace(b"150.00", b"160.00"),
        headers={"X-Filename": "same.837"},
    )  # fmt: skip
    assert changed.status_code == 409


async def test_a_file_whose_answer_cannot_be_written_is_refused_whole_and_leaves_nothing_behind(
    sandbox: SandboxClient,
) -> None:
    """A file with ``|`` as its element separator can carry ``*`` in a name; the 277CA (written with ``*``) cannot
    echo it, so the file is refused (400) — and neither its 999 nor a queued claim is kept: the corrected file is
    answered as the first one."""
    body = to_x12([claim_837p([claim("PCNSEP", ("99213", "150.00"))])]).replace(b"*", b"|")
    unwritable = body.replace(b"|QC|1|LOPEZ", b"|QC|1|LO*PEZ").replace(b"|IL|1|LOPEZ", b"|IL|1|LO*PEZ")
    refused = await sandbox.http.post(
        "/v1/submissions", params={"tenant": "tenant-a"}, content=unwritable, headers={"X-Filename": "sep.837"}
    )
    assert refused.status_code == 400, refused.text
    assert "cannot be written" in refused.json()["detail"]
    assert (await sandbox.http.get("/v1/mailbox", params={"tenant": "tenant-a"})).json() == {"items": []}
    receipt = await sandbox.submit_bytes(body, "sep.837")
    assert (receipt["acknowledgment"], receipt["claims_accepted"]) == ("A", 1)
    assert len(await sandbox.files("999")) == 1
    assert list(await sandbox.acknowledged()) == ["PCNSEP"]


async def test_tenants_see_only_their_own_mailbox(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNA", ("99213", "150.00"))], tenant="tenant-a")
    listing = await sandbox.http.get("/v1/mailbox", params={"tenant": "tenant-b"})
    assert listing.json() == {"items": []}
    own = (await sandbox.http.get("/v1/mailbox", params={"tenant": "tenant-a"})).json()["items"]
    other = await sandbox.http.get(f"/v1/mailbox/{own[0]['id']}", params={"tenant": "tenant-b"})
    assert other.status_code == 404


async def test_paid_claim_writes_off_above_fee_schedule_and_bills_the_copay(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNPAY", ("99213", "150.00"), ("87880", "50.00"))])
    run = await sandbox.advance(6)
    assert run["check_runs"][-1]["claims"] == 0
    assert await sandbox.remittances() == []
    await sandbox.advance(1)  # the PPO pays 7 days after receipt
    (era,) = await sandbox.remittances()
    assert_balanced(era)
    (payment,) = by_pcn([era])["PCNPAY"]
    office, strep = payment.service_lines
    # 99213: allowed 92.00 x 1.40 = 128.80, copay 25.00; 87880: allowed 23.80, all to the deductible
    assert (office.allowed_amount, office.service.paid_amount) == (Decimal("128.80"), Decimal("103.80"))
    assert (strep.allowed_amount, strep.service.paid_amount) == (Decimal("23.80"), Decimal("0.00"))
    assert reasons(payment) == {"CO-45", "PR-3", "PR-1"}
    assert payment.claim.patient_responsibility == Decimal("48.80")
    assert era.trace.reference_id
    assert era.financial_information.total_payment == Decimal("103.80")


async def test_denials_carry_the_payers_reason_and_remark_codes(sandbox: SandboxClient) -> None:
    population = sandbox.app.state.sandbox.population
    out_of_network = sorted(population.out_of_network_npis)[0]
    claims = [
        claim("PCNTERM", ("99213", "150.00"), member=DAVID),
        claim("PCNNCCI", ("97140", "60.00"), ("97530", "70.00")),
        claim("PCNNCCI59", ("97140", "60.00"), ("97530:59", "70.00")),
        claim("PCNBUNDLE", ("93000", "40.00"), ("93010", "20.00")),
        claim("PCNAUTH", ("70553", "900.00")),
        claim("PCNAUTHOK", ("73721", "500.00"), prior_authorization="AUTH123"),
        claim("PCNCOSMETIC", ("15780", "800.00")),
        claim("PCNREFRACT", ("92015", "60.00"), member=JOHN, payer="MCARE"),
        claim("PCNLATE", ("99213", "150.00"), service_date=TODAY - timedelta(days=120)),
        claim("PCNOON", ("99213", "150.00"), member=KEVIN, payer="HMO01", rendering_npi=out_of_network),
        claim("PCNOONER", ("99284", "400.00"), member=KEVIN, payer="HMO01", rendering_npi=out_of_network),
    ]
    receipt = await sandbox.submit(claims)
    assert receipt["claims_accepted"] == len(claims)
    await sandbox.advance(14)
    eras = await sandbox.remittances()
    for era in eras:
        assert_balanced(era)
    paid = {pcn: payments[-1] for pcn, payments in by_pcn(eras).items()}
    assert reasons(paid["PCNTERM"]) == {"CO-27"}
    assert remarks(paid["PCNTERM"]) == {"N30"}
    assert paid["PCNTERM"].claim.status.value == "4"
    assert "CO-236" in reasons(paid["PCNNCCI"])
    assert "M80" in remarks(paid["PCNNCCI"])
    assert paid["PCNNCCI"].claim.status.value == "1"  # partial payment: the column-1 code is paid
    assert "CO-236" not in reasons(paid["PCNNCCI59"])
    assert "CO-97" in reasons(paid["PCNBUNDLE"])
    assert "M15" in remarks(paid["PCNBUNDLE"])
    assert reasons(paid["PCNAUTH"]) == {"CO-197"}
    assert remarks(paid["PCNAUTH"]) == {"M62"}
    assert reasons(paid["PCNAUTHOK"]) == {"CO-45", "PR-1"}  # authorized: allowed, and applied to the deductible
    assert reasons(paid["PCNCOSMETIC"]) == {"CO-204"}
    assert remarks(paid["PCNCOSMETIC"]) == {"N130"}
    assert reasons(paid["PCNREFRACT"]) == {"CO-96"}
    assert remarks(paid["PCNREFRACT"]) == {"N425"}
    assert reasons(paid["PCNLATE"]) == {"CO-29"}
    assert reasons(paid["PCNOON"]) == {"CO-242"}
    assert "CO-242" not in reasons(paid["PCNOONER"])  # emergency care is covered out of network
    payers = {era.payer.references[0].value for era in eras}
    assert payers == {"60054", "MCARE", "HMO01"}


async def test_identical_service_on_a_second_claim_is_a_duplicate(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNFIRST", ("99214", "200.00"))])
    await sandbox.submit([claim("PCNSECOND", ("99214", "200.00"))])
    await sandbox.advance(7)
    paid = by_pcn(await sandbox.remittances())
    assert "CO-18" not in reasons(paid["PCNFIRST"][0])
    assert reasons(paid["PCNSECOND"][0]) == {"CO-18"}


async def test_replacement_claim_reverses_the_original_and_pays_the_correction(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNORIG", ("99214", "200.00"))])
    await sandbox.advance(7)
    (original,) = by_pcn(await sandbox.remittances())["PCNORIG"]
    number = original.claim.payer_claim_control_number
    await sandbox.submit(
        [claim("PCNORIG", ("99214", "200.00"), ("36415", "15.00"), frequency_code="7", original_claim_number=number)]
    )
    await sandbox.advance(7)
    eras = await sandbox.remittances()
    for era in eras:
        assert_balanced(era)
    first, reversal, correction = by_pcn(eras)["PCNORIG"]
    assert reversal.claim.status.value == "22"
    assert reversal.claim.paid_amount == -first.claim.paid_amount
    assert reversal.claim.total_charge == Decimal("-200.00")
    assert correction.claim.status.value == "1"
    assert correction.claim.frequency_code == "7"
    # the reversal gave the copay back to the accumulators, so the correction charges it again, not twice
    assert correction.service_lines[0].service.paid_amount == first.service_lines[0].service.paid_amount


async def test_void_of_a_paid_claim_carries_a_forward_balance_instead_of_a_negative_payment(
    sandbox: SandboxClient,
) -> None:
    await sandbox.submit([claim("PCNVOID", ("99214", "200.00"))])
    await sandbox.advance(7)
    (original,) = by_pcn(await sandbox.remittances())["PCNVOID"]
    number = original.claim.payer_claim_control_number
    await sandbox.submit([claim("PCNVOID", ("99214", "200.00"), frequency_code="8", original_claim_number=number)])
    await sandbox.advance(7)
    void_era = (await sandbox.remittances())[-1]
    assert_balanced(void_era)
    assert void_era.financial_information.total_payment == 0
    assert void_era.financial_information.transaction_handling.value == "H"
    (plb,) = void_era.provider_adjustments
    assert [(a.reason_code, a.amount) for a in plb.adjustments] == [("FB", -original.claim.paid_amount)]
    # the next payment to that provider takes the balance back
    await sandbox.submit([claim("PCNNEXT", ("99215", "300.00"))])
    await sandbox.advance(7)
    next_era = (await sandbox.remittances())[-1]
    assert_balanced(next_era)
    assert [(a.reason_code, a.amount) for p in next_era.provider_adjustments for a in p.adjustments] == [
        ("FB", original.claim.paid_amount)
    ]


async def test_late_payment_adds_interest_and_recoupment_is_taken_from_the_next_era(sandbox: SandboxClient) -> None:
    await sandbox.http.put("/v1/scenario", json={"payers": {"MCAID": {"adjudication_days": 60}}})
    await sandbox.submit([claim("PCNSLOW", ("99214", "200.00"), member=ANA, payer="MCAID")])
    await sandbox.advance(60)
    (era,) = await sandbox.remittances()
    assert_balanced(era)
    (interest,) = [a for p in era.provider_adjustments for a in p.adjustments]
    paid = iter_claim_payments(era).__next__().claim
    assert interest.reason_code == "L6"
    assert interest.amount < 0
    assert interest.reference_id == paid.payer_claim_control_number
    assert era.financial_information.total_payment == paid.paid_amount - interest.amount
    response = await sandbox.http.post(
        "/v1/recoupments",
        json={"tenant": "tenant-a", "payer_claim_control_number": paid.payer_claim_control_number, "amount": "10.00"},
    )
    assert response.status_code == 202, response.text
    await sandbox.advance(1)
    recovery = (await sandbox.remittances())[-1]
    assert_balanced(recovery)
    assert next((a.reason_code, a.amount) for p in recovery.provider_adjustments for a in p.adjustments) == (
        "WO",
        Decimal("10.00"),
    )


async def test_every_file_parses_validates_and_the_same_seed_gives_the_same_bytes() -> None:
    import httpx

    from payer_sandbox.config import SandboxSettings
    from payer_sandbox.main import create_app

    async def run() -> list[bytes]:
        app = create_app(SandboxSettings(seed=11, clock_start=TODAY))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as http:
            claims = [claim("PCN1", ("99213", "150.00"), ("87880", "50.00")), claim("PCN2", ("70553", "900.00"))]
            await http.post("/v1/submissions", params={"tenant": "t"}, content=to_x12([claim_837p(claims)]))
            await http.post("/v1/eligibility", content=to_x12([_inquiry()]))
            await http.post("/v1/clock/advance", json={"days": 7})
            items = (await http.get("/v1/mailbox", params={"tenant": "t"})).json()["items"]
            return [(await http.get(f"/v1/mailbox/{i['id']}", params={"tenant": "t"})).content for i in items]

    first, second = await run(), await run()
    assert len(first) == 3
    assert first == second
    for content in first:
        assert parse(content).ok


def _inquiry() -> EligibilityInquiry270:
    return inquiry_270("60054", MARIA)
