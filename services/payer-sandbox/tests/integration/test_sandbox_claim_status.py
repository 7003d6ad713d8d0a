"""276 → 277 claim status through the HTTP API: real time and batch, found and unknown claims."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from claimflow_x12 import parse
from claimflow_x12.guides.ack_999 import Acknowledgment999
from claimflow_x12.guides.claim_status_276_277 import ClaimStatusResponse277, ReportedClaim, iter_claim_statuses
from claimflow_x12.guides.claim_status_common import Stc
from claimflow_x12.guides.remittance_835 import iter_claim_payments
from payer_sandbox.samples import (
    ClaimRequest,
    LineRequest,
    PersonRequest,
    StatusQuery,
    claim_837p,
    status_request_276,
    to_x12,
)
from payer_sandbox.testing import TODAY, SandboxClient, sandbox_fixture  # noqa: F401 (the sandbox fixture)

DOS = date(2025, 2, 24)
MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")
LUCAS = PersonRequest("LOPEZ", "LUCAS", date(2015, 7, 20))


def claim(pcn: str, code: str, charge: str, patient: PersonRequest | None = None) -> ClaimRequest:
    """A one-line claim for MARIA (or her dependent) on DOS."""
    return ClaimRequest(pcn, "60054", MARIA, [LineRequest(code, Decimal(charge))], ["J209"], DOS, patient=patient)


def query(trace: str, charge: str, pcn: str | None = None, number: str | None = None) -> StatusQuery:
    """A 276 claim query by patient control number and/or payer claim number."""
    return StatusQuery(trace, Decimal(charge), DOS, patient_control_number=pcn, payer_claim_control_number=number)


def status(reported: ReportedClaim) -> Stc:
    """The claim-level STC (one per claim)."""
    (stc,) = reported.claim.statuses
    return stc


def codes(reported: ReportedClaim) -> tuple[str, str | None, str | None]:
    """STC01 category, status code and entity."""
    stc = status(reported)
    return stc.category_code, stc.status_code, stc.entity_code


def reference(reported: ReportedClaim, qualifier: str) -> str | None:
    """A REF of the 2200D loop."""
    return next((r.value for r in reported.claim.references if r.qualifier == qualifier), None)


async def test_claim_is_reported_accepted_then_pending_then_finalized_with_its_payment(
    sandbox: SandboxClient,
) -> None:
    await sandbox.submit(
        [claim("PCNPAID", "99213", "150.00"), claim("PCNAUTH", "70553", "900.00"), claim("PCNDED", "20610", "150.00")]
    )
    ask = status_request_276(
        "60054",
        MARIA,
        [query("T1", "150.00", pcn="PCNPAID"), query("T2", "900.00", pcn="PCNAUTH"), query("T3", "150.00", "PCNDED")],
    )
    received = await sandbox.claim_status(ask)
    assert [(r.claim.trace.reference_id, codes(r)) for r in received] == [
        ("T1", ("A2", "20", "PR")),
        ("T2", ("A2", "20", "PR")),
        ("T3", ("A2", "20", "PR")),
    ]
    assert status(received[0]).status_date == TODAY
    assert status(received[0]).total_charge == Decimal("150.00")
    numbers = {r.claim.trace.reference_id: reference(r, "1K") for r in received}
    acknowledged = await sandbox.acknowledged()
    assert numbers["T1"] == acknowledged["PCNPAID"].claim.payer_claim_control_number
    assert reference(received[0], "EJ") == "PCNPAID"

    await sandbox.advance(1)
    pending = await sandbox.claim_status(ask)
    assert [codes(r) for r in pending] == [("P1", "20", "PR")] * 3
    assert status(pending[0]).paid_amount == Decimal("0.00")

    await sandbox.advance(6)  # the PPO's check run
    (era,) = await sandbox.remittances()
    paid = {p.claim.patient_control_number: p for p in iter_claim_payments(era)}
    final = {r.claim.trace.reference_id: r for r in await sandbox.claim_status(ask)}
    assert codes(final["T1"]) == ("F1", "65", None)
    assert codes(final["T2"]) == ("F2", "1", None)
    assert codes(final["T3"]) == ("F4", "1", None)  # allowed, all of it applied to the deductible: nothing to pay
    stc = status(final["T1"])
    assert stc.paid_amount == paid["PCNPAID"].claim.paid_amount == Decimal("103.80")
    assert (stc.adjudication_date, stc.check_date) == (date(2025, 3, 10), date(2025, 3, 10))
    assert (stc.payment_method, stc.check_number) == ("ACH", era.trace.reference_id)
    (line,) = final["T1"].claim.service_lines
    assert (line.service.procedure_code, line.service.line_charge, line.service.paid_amount) == (
        "99213",
        Decimal("150.00"),
        Decimal("103.80"),
    )
    assert [r.value for r in line.references if r.qualifier == "FJ"] == ["PCNPAIDL1"]
    assert [(s.category_code, s.status_code) for s in line.statuses] == [("F1", "65")]
    assert status(final["T2"]).paid_amount == Decimal("0.00")


async def test_claims_it_cannot_find_get_the_not_found_categories(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNKNOWN", "99213", "150.00")])
    known_member = await sandbox.claim_status(
        status_request_276(
            "60054",
            MARIA,
            [
                query("NOPCN", "150.00", pcn="PCNNEVER"),
                query("WRONGCHARGE", "175.00", pcn="PCNKNOWN"),
                query("WRONGNUMBER", "150.00", number="60054250303999999"),
            ],
        )
    )
    assert [(r.claim.trace.reference_id, codes(r)) for r in known_member] == [
        ("NOPCN", ("A4", "35", None)),
        ("WRONGCHARGE", ("A4", "35", None)),
        ("WRONGNUMBER", ("A4", "35", None)),
    ]
    assert reference(known_member[0], "EJ") == "PCNNEVER"  # the request's identifiers are echoed
    assert status(known_member[1]).total_charge == Decimal("175.00")

    stranger = PersonRequest("LOPEZ", "MARIA", None, "W000000002")
    (unknown_subscriber,) = await sandbox.claim_status(
        status_request_276("60054", stranger, [query("NOBODY", "150.00", pcn="PCNKNOWN")])
    )
    assert codes(unknown_subscriber) == ("D0", "33", "IL")

    nobody = PersonRequest("LOPEZ", "NOBODY", date(2016, 1, 1))
    (unknown_dependent,) = await sandbox.claim_status(
        status_request_276("60054", MARIA, [query("NODEP", "150.00", pcn="PCNKNOWN")], dependent=nobody)
    )
    assert unknown_dependent.is_dependent
    assert codes(unknown_dependent) == ("D0", "97", "QC")

    (wrong_payer,) = await sandbox.claim_status(
        status_request_276("ZZZZZ", MARIA, [query("NOPAYER", "150.00", pcn="PCNKNOWN")])
    )
    assert codes(wrong_payer) == ("E0", "116", "PR")

    (other_tenant,) = await sandbox.claim_status(
        status_request_276("60054", MARIA, [query("OTHER", "150.00", pcn="PCNKNOWN")]), tenant="tenant-b"
    )
    assert codes(other_tenant) == ("A4", "35", None)

    (other_provider,) = await sandbox.claim_status(
        status_request_276("60054", MARIA, [query("NPI", "150.00", pcn="PCNKNOWN")], provider_npi="1003000126")
    )
    assert codes(other_provider) == ("A4", "35", None)


async def test_dependents_claim_is_reported_in_the_dependent_loop(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNSUB", "99213", "150.00"), claim("PCNLUCAS", "99213", "150.00", patient=LUCAS)])
    await sandbox.advance(7)
    for_lucas = status_request_276("60054", MARIA, [query("LUCAS1", "150.00", pcn="PCNLUCAS")], dependent=LUCAS)
    (reported,) = await sandbox.claim_status(for_lucas)
    assert reported.is_dependent
    assert (reported.member.first_name, reported.member.last_name_or_organization) == ("LUCAS", "LOPEZ")
    assert codes(reported) == ("F1", "65", None)
    # the subscriber's own claim is not the dependent's
    (mixed,) = await sandbox.claim_status(
        status_request_276("60054", MARIA, [query("SUB", "150.00", pcn="PCNSUB")], dependent=LUCAS)
    )
    assert codes(mixed) == ("A4", "35", None)


async def test_replaced_claim_is_reported_revised_and_its_replacement_paid(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNREPL", "99214", "200.00")])
    await sandbox.advance(7)
    (original,) = (await sandbox.acknowledged()).values()
    number = original.claim.payer_claim_control_number
    assert number is not None
    replacement = ClaimRequest(
        "PCNREPL", "60054", MARIA, [LineRequest("99214", Decimal("200.00"))], ["J209"], DOS, frequency_code="7",
        original_claim_number=number,
    )  # fmt: skip
    await sandbox.submit([replacement])
    await sandbox.advance(7)
    both = await sandbox.claim_status(status_request_276("60054", MARIA, [query("BOTH", "200.00", pcn="PCNREPL")]))
    assert [codes(r) for r in both] == [("F3", "1", None), ("F1", "65", None)]
    assert reference(both[0], "1K") == number
    assert status(both[0]).paid_amount == Decimal("0.00")  # its payment was taken back
    assert status(both[0]).status_date == date(2025, 3, 17)  # the day of the reversal


async def test_batch_276_is_answered_with_a_277_in_the_mailbox(sandbox: SandboxClient) -> None:
    await sandbox.submit([claim("PCNBATCH", "99213", "150.00")])
    body = to_x12(
        [status_request_276("60054", MARIA, [query("B1", "150.00", pcn="PCNBATCH"), query("B2", "10.00", "PCNX")])],
        control_number=77,
    )
    receipt = await sandbox.submit_bytes(body, "status.276")
    assert (receipt["acknowledgment"], receipt["claims_accepted"]) == ("A", 0)
    acks = await sandbox.transactions("999")
    assert isinstance(acks[-1], Acknowledgment999)
    assert acks[-1].group_trailer.acknowledgment_code.value == "A"
    (content,) = await sandbox.files("277")  # parsed and validated by the helper
    (answer,) = parse(content).transactions
    assert isinstance(answer, ClaimStatusResponse277)
    assert answer.beginning.reference_id == "STATUS0001"
    assert [(r.claim.trace.reference_id, codes(r)) for r in iter_claim_statuses(answer)] == [
        ("B1", ("A2", "20", "PR")),
        ("B2", ("A4", "35", None)),
    ]
    assert await sandbox.files("277", tenant="tenant-b") == []


async def test_a_request_that_is_not_a_276_is_refused(sandbox: SandboxClient) -> None:
    response = await sandbox.http.post(
        "/v1/claim-status", params={"tenant": "tenant-a"}, content=to_x12([claim_837p([claim("P", "99213", "1.00")])])
    )
    assert response.status_code == 400
    assert "no 276" in response.json()["detail"]
