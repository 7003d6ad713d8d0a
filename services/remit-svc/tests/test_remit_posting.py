"""835 posting to the exact cent: hand-computed scenarios, first through the pure rules, then end to end.

Every scenario's expected figures were worked out by hand from the 835 below (the comments show the sums).
Claims billed (patient control number, line item control number, procedure, charge, date of service 2026-11-02):

    CFA001  CFA001-1 99214 200.00, CFA001-2 81002 25.00     CFD001  CFD001-1 99213 120.00
    CFB001  CFB001-1 99213 150.00                            CFE001  CFE001-1 99214:25 150.00, CFE001-2 36415 20.00
    CFC001  CFC001-1 99215 300.00                            CFF001  CFF001-1 99213 100.00
    CFG001  CFG001-1 99212  100.00
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow.testing import Stack, TenantFixture
from claimflow_events import ClaimLineSubmitted, ClaimRejected, ClaimResubmitted, ClaimSubmitted
from claimflow_events.payloads import AcknowledgmentSource, Addressee, EventPayload, RejectionReason
from claimflow_events.types import PayerSequence
from claimflow_kit.app import ServiceContext
from claimflow_kit.consumer import EventContext
from claimflow_kit.db import Database
from claimflow_kit.directory import Role
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import eventually, waiting_for_a_lock
from claimflow_x12 import parse
from claimflow_x12.guides.remittance_835 import Remittance835
from remit_svc.adapters.repositories import EarlyCorrectionRepository
from remit_svc.adapters.tables import (
    ClaimPaymentRecord,
    EarlyCorrection,
    GuarantorAccount,
    LedgerEntry,
    OpenClaim,
    Remittance,
)
from remit_svc.consumers.handlers import on_claim_resubmitted, on_claim_submitted, on_claims_submitted
from remit_svc.domain.era import Era, era_from_835
from remit_svc.domain.ledger import (
    Account,
    EntryKind,
    Outcome,
    Transferred,
    Unsettled,
    adjudicated,
    claim_payment_postings,
    cob_hand_back,
    cob_take_over,
    next_payer_postings,
    totals,
)
from remit_svc.domain.matching import BilledLine, match_lines

DOS = date(2026, 11, 2)
BILLED: dict[str, list[tuple[str, str, Decimal]]] = {
    "CFA001": [("99214", "", Decimal("200.00")), ("81002", "", Decimal("25.00"))],
    "CFB001": [("99213", "", Decimal("150.00"))],
    "CFC001": [("99215", "", Decimal("300.00"))],
    "CFD001": [("99213", "", Decimal("120.00"))],
    "CFE001": [("99214", "25", Decimal("150.00")), ("36415", "", Decimal("20.00"))],
    "CFF001": [("99213", "", Decimal("100.00"))],
    "CFG001": [("99212", "", Decimal("100.00"))],
}


def billed(pcn: str) -> list[BilledLine]:
    return [
        BilledLine(f"{pcn}-{n}", code, tuple(m for m in [modifier] if m), charge, DOS)
        for n, (code, modifier, charge) in enumerate(BILLED[pcn], start=1)
    ]


def interchange(body: list[str], control: str) -> str:
    """Wrap one 835's segments (BPR..PLB) in ST/SE, GS/GE and ISA/IEA; SE01 counts ST..SE."""
    st = ["ST*835*0001*005010X221A1", *body]
    segments = [
        f"ISA*00*          *00*          *ZZ*PAYERSANDBOX   *ZZ*CLAIMFLOW      *261120*1200*^*00501*{control}*0*P*:",
        f"GS*HP*PAYERSANDBOX*CLAIMFLOW*20261120*1200*{int(control)}*X*005010X221A1",
        *st,
        f"SE*{len(st) + 1}*0001",
        f"GE*1*{int(control)}",
        f"IEA*1*{control}",
    ]
    return "~".join(segments) + "~"


def header(total: str, trace: str) -> list[str]:
    handling = "I" if Decimal(total) > 0 else "H"
    method = "ACH*CCP*01*071000013*DA*900000001*1999999999**01*071000039*DA*800000001" if handling == "I" else "NON*"
    return [
        f"BPR*{handling}*{total}*C*{method}*20261120",
        f"TRN*1*{trace}*1999999999",
        "REF*EV*CLAIMFLOW",
        "DTM*405*20261120",
        "N1*PR*SANDBOX HEALTH PLAN",
        "N3*PO BOX 1000",
        "N4*SANDBOX CITY*IL*60601",
        "REF*2U*60054",
        "N1*PE*PRACTICE ONE*XX*1234567893",
        "LX*1",
    ]


def patient(last: str) -> str:
    return f"NM1*QC*1*{last}*PAT****MI*W{last}"


# ERA 1: full pay, partial pay (deductible + coinsurance), denial, original payment of D, dropped modifier, unknown.
ERA_1 = interchange(
    [
        *header("542.00", "EFT1001"),  # 180 + 56 + 0 + 100 + 126 + 80 = 542.00
        # A: 200-40=160, 25-5=20 → paid 180, contractual 45
        "CLP*CFA001*1*225.00*180.00**12*PAYA1*11*1",
        patient("ALPHA"),
        "SVC*HC:99214*200.00*160.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*40.00",
        "REF*6R*CFA001-1",
        "SVC*HC:81002*25.00*20.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*5.00",
        "REF*6R*CFA001-2",
        # B: 150 - 50 (CO45) - 30 (PR1 deductible) - 14 (PR2 coinsurance) = 56
        "CLP*CFB001*1*150.00*56.00*44.00*12*PAYB1*11*1",
        patient("BRAVO"),
        "SVC*HC:99213*150.00*56.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*50.00",
        "CAS*PR*1*30.00**2*14.00",
        "REF*6R*CFB001-1",
        # C: denied, no authorization (CO 197), claim level only
        "CLP*CFC001*4*300.00*0.00**12*PAYC1*11*1",
        "CAS*CO*197*300.00",
        patient("CHARLIE"),
        "MOA***N54",
        # D: 120 - 20 = 100 (reversed and corrected in ERA 2)
        "CLP*CFD001*1*120.00*100.00**12*PAYD1*11*1",
        patient("DELTA"),
        "SVC*HC:99213*120.00*100.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*20.00",
        "REF*6R*CFD001-1",
        # E: the payer dropped modifier 25 and returned no REF*6R: matched on code + date + charge. 150-40 + 20-4 = 126
        "CLP*CFE001*1*170.00*126.00**12*PAYE1*11*1",
        patient("ECHO"),
        "SVC*HC:99214*150.00*110.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*40.00",
        "SVC*HC:36415*20.00*16.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*4.00",
        # Z: nobody billed this patient control number → unmatched work queue, its 80.00 held as unapplied cash
        "CLP*CFZ999*1*100.00*80.00**12*PAYZ1*11*1",
        patient("ZULU"),
        "SVC*HC:99212*100.00*80.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*20.00",
    ],
    "000000901",
)

# ERA 2: D reversed (CLP02 22) and re-adjudicated with a copay, F paid, PLB recoupment 25.00 and interest 3.10.
ERA_2 = interchange(
    [
        *header("48.10", "EFT1002"),  # -100 + 90 + 80 - (25.00 - 3.10) = 48.10
        "CLP*CFD001*22*-120.00*-100.00**12*PAYD1*11*1",
        patient("DELTA"),
        "SVC*HC:99213*-120.00*-100.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*-20.00",
        "REF*6R*CFD001-1",
        # D corrected: 120 - 20 (CO45) - 10 (PR3 copay) = 90
        "CLP*CFD001*1*120.00*90.00*10.00*12*PAYD2*11*1",
        patient("DELTA"),
        "SVC*HC:99213*120.00*90.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*20.00",
        "CAS*PR*3*10.00",
        "REF*6R*CFD001-1",
        "CLP*CFF001*1*100.00*80.00**12*PAYF1*11*1",
        patient("FOXTROT"),
        "SVC*HC:99213*100.00*80.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*20.00",
        "REF*6R*CFF001-1",
        "PLB*1234567893*20261231*WO:PAYX0*25.00*L6*-3.10",
    ],
    "000000902",
)

# ERA 3: does not balance (100 - 10 ≠ 80): held, nothing posted.
ERA_3 = interchange(
    [
        *header("80.00", "EFT1003"),
        "CLP*CFG001*1*100.00*80.00**12*PAYG1*11*1",
        patient("GOLF"),
        "SVC*HC:99212*100.00*80.00**1",
        "DTM*472*20261102",
        "CAS*CO*45*10.00",
        "REF*6R*CFG001-1",
    ],
    "000000903",
)


def era(text: str) -> Era:
    (transaction,) = parse(text).transactions
    assert isinstance(transaction, Remittance835)
    return era_from_835(transaction)


def post_pure(text: str) -> dict[str, dict[Account, Decimal]]:
    """Post an ERA with the pure rules; balances per claim (unknown claims are skipped)."""
    out: dict[str, dict[Account, Decimal]] = {}
    for payment in era(text).claims:
        if payment.patient_control_number not in BILLED:
            continue
        match = match_lines(payment, billed(payment.patient_control_number))
        assert match.complete, match.unmatched_reasons
        postings = claim_payment_postings(payment, match.assigned)
        assert sum(p.amount for p in postings) == 0, "every posting is balanced"
        merged = out.setdefault(payment.patient_control_number, {})
        for account, amount in totals(postings).items():
            merged[account] = merged.get(account, Decimal(0)) + amount
    return out


# --- the pure rules ------------------------------------------------------------------------------------------


def test_full_partial_denied_and_fallback_payments_post_to_the_cent() -> None:
    posted = post_pure(ERA_1)
    cash, contractual, patient_ar, denied, insurance = (
        Account.PAYER_CASH,
        Account.CONTRACTUAL,
        Account.PATIENT_AR,
        Account.DENIED_AR,
        Account.INSURANCE_AR,
    )
    assert posted["CFA001"] == {cash: Decimal("180.00"), contractual: Decimal("45.00"), insurance: Decimal("-225.00")}
    assert posted["CFB001"] == {
        cash: Decimal("56.00"),
        contractual: Decimal("50.00"),
        patient_ar: Decimal("44.00"),
        insurance: Decimal("-150.00"),
    }
    assert posted["CFC001"] == {denied: Decimal("300.00"), insurance: Decimal("-300.00")}
    assert posted["CFE001"][cash] == Decimal("126.00")


def test_outcomes_and_patient_split() -> None:
    payments = {p.patient_control_number: p for p in era(ERA_1).claims}
    b = adjudicated(payments["CFB001"])
    assert (b.outcome, b.deductible, b.coinsurance, b.copay, b.patient_responsibility) == (
        Outcome.PAID,
        Decimal("30.00"),
        Decimal("14.00"),
        Decimal("0"),
        Decimal("44.00"),
    )
    c = adjudicated(payments["CFC001"])
    assert (c.outcome, c.denied) == (Outcome.DENIED, Decimal("300.00"))
    assert adjudicated(payments["CFA001"]).outcome is Outcome.PAID
    assert adjudicated(era(ERA_2).claims[0]).outcome is Outcome.REVERSED


def test_reversal_and_correction_net_to_the_corrected_adjudication() -> None:
    first, second = post_pure(ERA_1)["CFD001"], post_pure(ERA_2)["CFD001"]
    net = {a: first.get(a, Decimal(0)) + second.get(a, Decimal(0)) for a in {*first, *second}}
    # 100 paid, -100 reversed, 90 paid again; contractual 20 - 20 + 20; copay 10 on the correction.
    assert net[Account.PAYER_CASH] == Decimal("90.00")
    assert net[Account.CONTRACTUAL] == Decimal("20.00")
    assert net[Account.PATIENT_AR] == Decimal("10.00")
    assert net[Account.INSURANCE_AR] == Decimal("-120.00"), "the 120.00 charge is settled exactly once"


def test_dropped_modifier_matches_on_code_date_and_charge_and_a_stranger_line_does_not() -> None:
    payment = next(p for p in era(ERA_1).claims if p.patient_control_number == "CFE001")
    match = match_lines(payment, billed("CFE001"))
    assert match.assigned == ("CFE001-1", "CFE001-2")
    assert match.by_fallback == 2
    other = match_lines(payment, billed("CFA001"))
    assert not other.complete
    assert len(other.unmatched_reasons) == 2
    assert "36415" in other.unmatched_reasons[1]


def test_provider_adjustments_and_payment_total() -> None:
    remittance = era(ERA_2)
    assert remittance.payment_amount == Decimal("48.10")
    assert [(p.reason_code, p.reference, p.amount) for p in remittance.provider_adjustments] == [
        ("WO", "PAYX0", Decimal("25.00")),
        ("L6", None, Decimal("-3.10")),
    ]
    assert era(ERA_1).fingerprint != era(ERA_2).fingerprint
    assert era(ERA_1).fingerprint == era(ERA_1.replace("000000901", "000000911")).fingerprint, (
        "a resent ERA with new envelope control numbers is the same remittance"
    )


# --- end to end: claim-submitted over the broker, 835 upload, ledger, events ----------------------------------


def claim_submitted(
    tenant: TenantFixture, suffix: str, pcn: str, lines: list[tuple[str, str, Decimal]]
) -> ClaimSubmitted:
    """claim-submitted of a primary claim with ``lines`` (code, modifier, charge), id ``clm_{suffix}_{pcn}``."""
    return ClaimSubmitted(
        claim_id=f"clm_{suffix}_{pcn.lower()}",
        encounter_ids=(f"enc_{suffix}_{pcn}",),
        practice_id=tenant.practice_id,
        patient_id=f"pat_{pcn.lower()}",
        payer_id="60054",
        patient_control_number=pcn,
        claim_frequency_code="1",
        total_charge=sum((charge for _, _, charge in lines), Decimal(0)),
        lines=tuple(
            ClaimLineSubmitted(
                line_item_control_number=f"{pcn}-{n}",
                procedure_code=code,
                modifiers=tuple(m for m in [modifier] if m),
                units=Decimal(1),
                charge=charge,
                service_date=DOS,
            )
            for n, (code, modifier, charge) in enumerate(lines, start=1)
        ),
        interchange_control_number="000000123",
        submitted_at=datetime(2026, 11, 3, tzinfo=UTC),
        rendering_provider_npi="1234567893",
    )


async def submit_claims(
    stack: Stack, tenant: TenantFixture, suffix: str, billed: dict[str, list[tuple[str, str, Decimal]]] | None = None
) -> dict[str, str]:
    """Publish claim-submitted for every billed claim through claims-svc's outbox; returns pcn → claim id."""
    context: ServiceContext = stack.apps["claims-svc"].state.services
    ids: dict[str, str] = {}
    async with context.database.transaction() as session:
        for pcn, lines in (billed or BILLED).items():
            event = claim_submitted(tenant, suffix, pcn, lines)
            ids[pcn] = event.claim_id
            context.outbox.add(session, event, tenant_id=tenant.id, correlation_id=f"corr-{event.claim_id}")
    return ids


async def upload(stack: Stack, tenant: TenantFixture, text: str) -> Any:
    return await stack.client("remit-svc").post(
        "/v1/remittances",
        content=text.encode(),
        headers={**tenant.headers(Role.BILLER), "Content-Type": "application/edi-x12"},
    )


async def ledger(stack: Stack, tenant: TenantFixture, claim_id: str) -> dict[str, Any]:
    response = await stack.client("remit-svc").get(f"/v1/claims/{claim_id}/ledger", headers=tenant.headers(Role.BILLER))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def assert_ledger_balances(stack: Stack, tenant_id: str) -> None:
    """The whole ledger sums to zero, and each posted ERA's cash equals its BPR02."""
    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            total = (
                await session.exec(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.tenant_id == tenant_id))
            ).one()
            assert Decimal(total or 0) == 0
            posted = (
                await session.exec(
                    select(Remittance).where(Remittance.tenant_id == tenant_id, Remittance.status == "posted")
                )
            ).all()
            for remittance in posted:
                cash = (
                    await session.exec(
                        select(func.sum(LedgerEntry.amount)).where(
                            LedgerEntry.remittance_id == remittance.id, LedgerEntry.account == "payer_cash"
                        )
                    )
                ).one()
                assert Decimal(cash or 0) == remittance.payment_amount, remittance.trace_number
    finally:
        await database.dispose()


async def remit_events(stack: Stack, tenant_id: str) -> list[tuple[str, dict[str, Any]]]:
    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            rows = await session.exec(
                select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id).order_by(col(OutboxMessage.id))
            )
            return [(r.event_type, json.loads(r.envelope)) for r in rows.all()]
    finally:
        await database.dispose()


@pytest.mark.integration
async def test_835_upload_posts_every_scenario_and_the_ledger_balances(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    ids = await submit_claims(stack, tenant, uuid.uuid4().hex[:8])

    async def indexed() -> bool:
        response = await stack.client("remit-svc").get("/v1/open-claims?limit=500", headers=tenant.headers(Role.OPS))
        return len(response.json()) == len(BILLED) or None  # type: ignore[return-value]

    await eventually(indexed)
    a_before = await ledger(stack, tenant, ids["CFA001"])
    assert a_before["balances"] == {"insurance_ar": "225.00", "charges": "-225.00"}
    await assert_ledger_balances(stack, tenant.id)

    first = await upload(stack, tenant, ERA_1)
    assert first.status_code == 201, first.text
    (report,) = first.json()["remittances"]
    assert (report["status"], report["claims"], report["posted"], report["unmatched"]) == ("posted", 6, 5, 1)
    await assert_ledger_balances(stack, tenant.id)

    a = await ledger(stack, tenant, ids["CFA001"])
    assert a["outstanding"] == "0.00"
    assert a["balances"]["payer_cash"] == "180.00"
    assert a["balances"]["contractual_adjustment"] == "45.00"
    b = await ledger(stack, tenant, ids["CFB001"])
    assert (b["balances"]["patient_ar"], b["outstanding"]) == ("44.00", "44.00")
    assert sorted((e["kind"], e["amount"]) for e in b["entries"] if e["account"] == "patient_ar") == [
        ("coinsurance", "14.00"),
        ("deductible", "30.00"),
    ]
    c = await ledger(stack, tenant, ids["CFC001"])
    assert (c["balances"]["denied_ar"], c["balances"]["insurance_ar"], c["outstanding"]) == ("300.00", "0.00", "300.00")
    e = await ledger(stack, tenant, ids["CFE001"])
    assert {x["line_item_control_number"] for x in e["entries"] if x["kind"] == "payment"} == {"CFE001-1", "CFE001-2"}

    # The same file again: nothing posts twice.
    again = await upload(stack, tenant, ERA_1)
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["remittances"]] == ["duplicate"]
    assert (await ledger(stack, tenant, ids["CFA001"]))["entries"] == a["entries"]

    # The unknown claim waits in the work queue with its money held as unapplied cash.
    queue = (await stack.client("remit-svc").get("/v1/unmatched-payments", headers=tenant.headers(Role.BILLER))).json()
    assert [(q["patient_control_number"], q["paid"]) for q in queue] == [("CFZ999", "80.00")]
    assert "CFZ999" in queue[0]["unmatched_reason"]

    second = await upload(stack, tenant, ERA_2)
    assert second.status_code == 201, second.text
    assert second.json()["remittances"][0]["status"] == "posted"
    await assert_ledger_balances(stack, tenant.id)
    d = await ledger(stack, tenant, ids["CFD001"])
    assert (d["balances"]["payer_cash"], d["balances"]["patient_ar"], d["balances"]["insurance_ar"]) == (
        "90.00",
        "10.00",
        "0.00",
    )

    third = await upload(stack, tenant, ERA_3)
    (held,) = third.json()["remittances"]
    assert held["status"] == "held"
    assert "BPR02" not in held["reason"]
    assert "CFG001" in held["reason"]
    g = await ledger(stack, tenant, ids["CFG001"])
    assert g["balances"] == {"insurance_ar": "100.00", "charges": "-100.00"}, "a held ERA posts nothing"
    listed = await stack.client("remit-svc").get("/v1/remittances?status=held", headers=tenant.headers(Role.OPS))
    assert [r["trace_number"] for r in listed.json()] == ["EFT1003"]

    events = await remit_events(stack, tenant.id)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event_type, envelope in events:
        by_type.setdefault(event_type, []).append(envelope["data"])
    posted = {(p["patient_control_number"], p["claim_status_code"]): p for p in by_type["claimflow.payment-posted"]}
    assert set(posted) == {
        ("CFA001", "1"),
        ("CFB001", "1"),
        ("CFD001", "1"),
        ("CFD001", "22"),
        ("CFE001", "1"),
        ("CFF001", "1"),
    }, "one payment-posted per posted claim payment, none for the denial"
    bravo = posted[("CFB001", "1")]
    assert (bravo["paid_amount"], bravo["deductible"], bravo["coinsurance"], bravo["patient_responsibility"]) == (
        "56.00",
        "30.00",
        "14.00",
        "44.00",
    )
    assert posted[("CFD001", "22")]["is_reversal"] is True
    (denial,) = by_type["claimflow.claim-denied"]
    assert (denial["claim_id"], denial["denied_amount"], denial["remark_codes"]) == (ids["CFC001"], "300.00", ["N54"])
    assert [(a["group_code"], a["carc"]) for a in denial["adjustments"]] == [("CO", "197")]
    balances = by_type["claimflow.patient-balance-updated"]
    assert sorted((b["patient_id"], b["change"], b["balance"]) for b in balances) == [
        ("pat_cfb001", "44.00", "44.00"),
        ("pat_cfd001", "10.00", "10.00"),
    ]
    correlations = {e["data"]["claim_id"]: e["correlationid"] for t, e in events if "claim_id" in e["data"]}
    assert correlations[ids["CFA001"]] == f"corr-{ids['CFA001']}", "events carry the claim's correlation id"

    # A biller matches the stranger by hand: claim F does not fit (99213, not 99212), claim G does.
    refused = await stack.client("remit-svc").post(
        f"/v1/unmatched-payments/{queue[0]['id']}/match",
        json={"claim_id": ids["CFF001"]},
        headers=tenant.headers(Role.BILLER),
    )
    assert refused.status_code == 400
    assert "99212" in refused.text
    fits = await stack.client("remit-svc").post(
        f"/v1/unmatched-payments/{queue[0]['id']}/match",
        json={"claim_id": ids["CFG001"]},
        headers=tenant.headers(Role.BILLER),
    )
    assert fits.status_code == 200, fits.text
    assert (fits.json()["state"], fits.json()["claim_id"]) == ("posted", ids["CFG001"])
    g = await ledger(stack, tenant, ids["CFG001"])
    assert (g["balances"]["payer_cash"], g["balances"]["insurance_ar"]) == ("80.00", "0.00")
    await assert_ledger_balances(stack, tenant.id)

    # The denied claim C is corrected and replaced (frequency 7): the original leaves AR, its denial closed.
    context: ServiceContext = stack.apps["claims-svc"].state.services
    async with context.database.transaction() as session:
        replaced = ClaimResubmitted(
            claim_id=f"{ids['CFC001']}_r",
            original_claim_id=ids["CFC001"],
            claim_frequency_code="7",
            reason="authorization number added",
            resubmitted_at=datetime(2026, 11, 21, tzinfo=UTC),
        )
        context.outbox.add(session, replaced, tenant_id=tenant.id, correlation_id=f"corr-{ids['CFC001']}")

    async def closed() -> dict[str, Any] | None:
        body = await ledger(stack, tenant, ids["CFC001"])
        return body if body["outstanding"] == "0.00" else None

    c = await eventually(closed)
    assert (c["balances"]["denied_ar"], c["balances"]["charges"]) == ("0.00", "0.00")
    standing = await stack.client("remit-svc").get(f"/v1/open-claims/{ids['CFC001']}", headers=tenant.headers(Role.OPS))
    assert standing.json()["status"] == "replaced"
    await assert_ledger_balances(stack, tenant.id)

    # A payment read before its claim-submitted (the ERA was faster than the event): it waits, then posts itself.
    early = interchange(
        [
            *header("90.00", "EFT1004"),
            "CLP*CFH001*1*100.00*90.00**12*PAYH1*11*1",
            patient("HOTEL"),
            "SVC*HC:99213*100.00*90.00**1",
            "DTM*472*20261102",
            "CAS*CO*45*10.00",
            "REF*6R*CFH001-1",
        ],
        "000000904",
    )
    waiting = await upload(stack, tenant, early)
    assert waiting.json()["remittances"][0]["unmatched"] == 1
    late = await submit_claims(stack, tenant, uuid.uuid4().hex[:8], {"CFH001": [("99213", "", Decimal("100.00"))]})

    async def posted_late() -> dict[str, Any] | None:
        response = await stack.client("remit-svc").get(
            f"/v1/claims/{late['CFH001']}/ledger", headers=tenant.headers(Role.OPS)
        )
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["outstanding"] == "0.00" else None

    h = await eventually(posted_late)
    assert (h["balances"]["payer_cash"], h["balances"]["contractual_adjustment"]) == ("90.00", "10.00")
    await assert_ledger_balances(stack, tenant.id)

    # Another tenant sees none of it.
    stranger = await stack.create_tenant()
    hidden = await stack.client("remit-svc").get(
        f"/v1/claims/{ids['CFA001']}/ledger", headers=stranger.headers(Role.BILLER)
    )
    assert hidden.status_code == 404
    elsewhere = await upload(stack, stranger, ERA_1)
    assert elsewhere.status_code == 201
    assert elsewhere.json()["remittances"][0]["unmatched"] == 6, "another tenant's claims never match"


def handling(stack: Stack, session: AsyncSession, tenant: TenantFixture, event: EventPayload) -> EventContext:
    """What remit-svc's worker hands a handler for ``event`` (from claims-svc) inside ``session``'s transaction."""
    context: ServiceContext = stack.apps["remit-svc"].state.services
    envelope = context.outbox.catalog.envelope(event, tenant_id=tenant.id, source="claims-svc", correlation_id="c")
    return EventContext(session, envelope, context.outbox, "remit-test")


async def waits_or_is_done(database: Database, task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` has finished or a session of ``database`` waits for a lock (PostgreSQL)."""
    return task.done() or await waiting_for_a_lock(database)


@pytest.mark.integration
async def test_a_payment_posted_while_its_claim_arrives_is_not_left_in_the_work_queue(stack: Stack) -> None:
    """The worker handles claim-submitted in a transaction that has not committed yet when an upload posts the
    claim's payment. On PostgreSQL (READ COMMITTED) each reads before the other commits: the posting finds no claim,
    the worker no waiting payment. The payment used to wait in the work queue for a claim already there; the
    mailbox round now posts it."""
    remit = stack.database("remit-svc")
    if remit.dialect != "postgresql":
        await remit.dispose()
        pytest.skip("SQLite runs one write transaction at a time: the two cannot overlap")
    tenant = await stack.create_tenant()
    event = claim_submitted(tenant, uuid.uuid4().hex[:8], "CFJ001", [("99213", "", Decimal("100.00"))])
    era = interchange(
        [
            *header("90.00", f"EFT{uuid.uuid4().hex[:8]}"),
            "CLP*CFJ001*1*100.00*90.00**12*PAYJ1*11*1",
            patient("JULIET"),
            "SVC*HC:99213*100.00*90.00**1",
            "DTM*472*20261102",
            "CAS*CO*45*10.00",
            "REF*6R*CFJ001-1",
        ],
        "000000905",
    )
    try:
        async with remit.transaction() as session:
            await on_claim_submitted(handling(stack, session, tenant, event), event)
            answer = await upload(stack, tenant, era)
    finally:
        await remit.dispose()
    assert answer.status_code == 201, answer.text
    (report,) = answer.json()["remittances"]
    assert (report["posted"], report["unmatched"]) == (0, 1), "the claim was not there yet for the posting"

    async def settled() -> dict[str, Any] | None:
        body = await ledger(stack, tenant, event.claim_id)
        return body if body["outstanding"] == "0.00" else None

    claim_ledger = await eventually(settled)
    assert (claim_ledger["balances"]["payer_cash"], claim_ledger["balances"]["contractual_adjustment"]) == (
        "90.00",
        "10.00",
    )
    queue = await stack.client("remit-svc").get("/v1/unmatched-payments", headers=tenant.headers(Role.BILLER))
    assert queue.json() == []
    await assert_ledger_balances(stack, tenant.id)


@pytest.mark.integration
async def test_malformed_and_foreign_files_are_refused_with_the_reason(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    garbage = await upload(stack, tenant, "this is not X12")
    assert garbage.status_code == 400
    assert "835" in garbage.json()["detail"]
    empty = await upload(stack, tenant, "")
    assert empty.status_code == 400
    not_835 = ERA_3.replace("ST*835", "ST*837").replace("GS*HP", "GS*HC")
    refused = await upload(stack, tenant, not_835)
    assert refused.status_code == 400
    unauthorised = await stack.client("remit-svc").post(
        "/v1/remittances", content=ERA_3.encode(), headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert unauthorised.status_code == 403


def test_a_split_era_is_two_remittances_and_a_resent_one_is_a_duplicate() -> None:
    """One check (TRN02 EFT2001) reported in two 835s: same trace, different claims — neither is a duplicate."""
    part_a = interchange(
        [
            *header("100.00", "EFT2001"),
            "CLP*CFD001*1*120.00*100.00**12*PAYD1*11*1",
            patient("DELTA"),
            "SVC*HC:99213*120.00*100.00**1",
            "CAS*CO*45*20.00",
            "REF*6R*CFD001-1",
        ],
        "000000921",
    )
    part_b = interchange(
        [
            *header("80.00", "EFT2001"),
            "CLP*CFF001*1*100.00*80.00**12*PAYF1*11*1",
            patient("FOXTROT"),
            "SVC*HC:99213*100.00*80.00**1",
            "CAS*CO*45*20.00",
            "REF*6R*CFF001-1",
        ],
        "000000922",
    )
    first, second = era(part_a), era(part_b)
    assert first.trace_number == second.trace_number == "EFT2001"
    assert first.fingerprint != second.fingerprint
    assert era(part_b.replace("000000922", "000000923")).fingerprint == second.fingerprint


def _one_claim_era(trace: str, control: str, paid: str, claim: list[str]) -> str:
    return interchange([*header(paid, trace), *claim], control)


async def patient_balance(stack: Stack, tenant: TenantFixture, patient_id: str) -> str:
    """What the patient's guarantor owes, as remit-svc answers it ("unknown" before it knows the patient)."""
    response = await stack.client("remit-svc").get(
        f"/v1/patients/{patient_id}/balance", headers=tenant.headers(Role.BILLER)
    )
    return str(response.json()["balance"]) if response.status_code == 200 else "unknown"


async def pay_leaving_coinsurance(
    stack: Stack, tenant: TenantFixture, pcn: str, control: str, *, paid: str, coinsurance: str, status: str, cas: str
) -> Any:
    """An 835 on a 100.00 claim (99213): ``paid``, the adjustment ``cas``, and ``coinsurance`` left to the patient."""
    answer = await upload(stack, tenant, _one_claim_era(f"EFT{control}", control, paid, [
        f"CLP*{pcn}*{status}*100.00*{paid}*{coinsurance}*12*PAY{control}*11*1", patient("PRIMA"),
        f"SVC*HC:99213*100.00*{paid}**1", "DTM*472*20261102", cas, f"CAS*PR*2*{coinsurance}", f"REF*6R*{pcn}-1",
    ]))  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


async def pay_primary_leaving_coinsurance(stack: Stack, tenant: TenantFixture, pcn: str, control: str) -> None:
    """The primary's 835: paid 60.00, CO-45 20.00, coinsurance 20.00 left to the patient."""
    await pay_leaving_coinsurance(
        stack, tenant, pcn, control, paid="60.00", coinsurance="20.00", status="1", cas="CAS*CO*45*20.00"
    )


async def pay_secondary_leaving_coinsurance(stack: Stack, tenant: TenantFixture, pcn: str, control: str) -> Any:
    """The secondary's 835 on it: 18.00 paid, OA-23 80.00 (what the primary settled), 2.00 coinsurance left."""
    return await pay_leaving_coinsurance(
        stack, tenant, pcn, control, paid="18.00", coinsurance="2.00", status="2", cas="CAS*OA*23*80.00"
    )


@pytest.mark.integration
async def test_a_secondary_claim_takes_over_the_patient_balance_and_leaves_what_its_payer_did_not_pay(
    stack: Stack,
) -> None:
    """Primary 100.00: paid 60.00, CO-45 20.00, coinsurance 20.00 to the patient. The secondary is billed for
    those 20.00 (the patient owes 0 meanwhile), pays 18.00, says OA-23 80.00 (what the primary settled) and
    leaves 2.00 coinsurance: the patient owes 2.00, no charge is booked twice, nothing is written off twice."""
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    primary_pcn, secondary_pcn = f"CFP{suffix}".upper(), f"CFS{suffix}".upper()
    ids = await submit_claims(stack, tenant, suffix, {primary_pcn: [("99213", "", Decimal("100.00"))]})
    primary_id, patient_id = ids[primary_pcn], f"pat_{primary_pcn.lower()}"

    async def balance() -> str:
        return await patient_balance(stack, tenant, patient_id)

    async def balance_is(amount: str) -> bool:
        return await balance() == amount

    await eventually(lambda: balance_is("0.00"))
    await pay_primary_leaving_coinsurance(stack, tenant, primary_pcn, "000007001")
    assert await balance() == "20.00"

    secondary_id = f"clm_{suffix}_secondary"
    context: ServiceContext = stack.apps["claims-svc"].state.services
    async with context.database.transaction() as session:
        context.outbox.add(
            session,
            ClaimSubmitted(
                claim_id=secondary_id, encounter_ids=(f"enc_{suffix}_{primary_pcn}",), practice_id=tenant.practice_id,
                patient_id=patient_id, payer_id="87726", payer_sequence=PayerSequence.SECONDARY,
                prior_claim_id=primary_id, patient_control_number=secondary_pcn, claim_frequency_code="1",
                total_charge=Decimal("100.00"),
                lines=(ClaimLineSubmitted(line_item_control_number=f"{secondary_pcn}-1", procedure_code="99213",
                                          units=Decimal(1), charge=Decimal("100.00"), service_date=DOS),),
                interchange_control_number="000000124", submitted_at=datetime(2026, 11, 20, tzinfo=UTC),
            ),
            tenant_id=tenant.id, correlation_id=f"corr-{primary_id}",
        )  # fmt: skip
    await eventually(lambda: balance_is("0.00"))
    moved = [e for t, e in await remit_events(stack, tenant.id) if t == "claimflow.patient-balance-updated"]
    assert [(e["data"]["change"], e["data"]["balance"], e["data"]["reason"]) for e in moved][-1] == (
        "-20.00",
        "0.00",
        "billed to the next payer",
    )

    second = await pay_secondary_leaving_coinsurance(stack, tenant, secondary_pcn, "000007002")
    assert second["remittances"][0]["status"] == "posted"
    assert await balance() == "2.00"

    primary, secondary = await ledger(stack, tenant, primary_id), await ledger(stack, tenant, secondary_id)
    assert primary["outstanding"] == "0.00"
    assert secondary["outstanding"] == "2.00"
    assert secondary["balances"].get("charges", "0.00") in ("0.00", "0"), "the charge was booked with the primary"
    assert Decimal(secondary["balances"]["other_adjustment"]) == 0, "OA-23 meets the prior payers' share"
    assert Decimal(secondary["balances"]["insurance_ar"]) == 0
    await assert_ledger_balances(stack, tenant.id)


def test_next_payer_opening_moves_what_the_prior_line_left_and_balances() -> None:
    lines = [
        BilledLine("S-1", "99213", (), Decimal("100.00"), DOS),
        BilledLine("S-2", "87880", (), Decimal("25.00"), DOS),
    ]
    # Line 1: the primary left 20.00 coinsurance; line 2: the primary's plan excludes it (denied 25.00).
    own, prior = next_payer_postings(
        lines, [Unsettled("P-1", patient=Decimal("20.00")), Unsettled("P-2", denied=Decimal("25.00"))]
    )
    assert [(p.account, p.amount, p.line_item_control_number) for p in own] == [
        (Account.INSURANCE_AR, Decimal("100.00"), "S-1"),
        (Account.OTHER_ADJUSTMENT, Decimal("-80.00"), "S-1"),
        (Account.INSURANCE_AR, Decimal("25.00"), "S-2"),
    ]
    assert [(p.account, p.amount, p.line_item_control_number) for p in prior] == [
        (Account.PATIENT_AR, Decimal("-20.00"), "P-1"),
        (Account.DENIED_AR, Decimal("-25.00"), "P-2"),
    ]
    assert sum(p.amount for p in own + prior) == 0
    nothing_left, none = next_payer_postings(lines[:1], [None])
    assert totals(nothing_left) == {
        Account.INSURANCE_AR: Decimal("100.00"),
        Account.OTHER_ADJUSTMENT: Decimal("-100.00"),
    }
    assert none == []


def test_a_superseded_next_payer_claim_gives_back_at_most_what_it_has_open_and_balances() -> None:
    moved = [Transferred("P-1", Account.PATIENT_AR, Decimal("20.00"), "S-1"),
             Transferred("P-2", Account.DENIED_AR, Decimal("25.00"), "S-2")]  # fmt: skip
    own, prior = cob_hand_back({Account.INSURANCE_AR: Decimal("125.00")}, moved)
    assert [(p.account, p.amount) for p in prior] == [
        (Account.PATIENT_AR, Decimal("20.00")),
        (Account.DENIED_AR, Decimal("25.00")),
    ]
    assert totals(own) == {Account.INSURANCE_AR: Decimal("-125.00"), Account.OTHER_ADJUSTMENT: Decimal("80.00")}
    assert sum(p.amount for p in own + prior) == 0
    # Its payer already paid part of it: only what is still open goes back, oldest line first.
    own, prior = cob_hand_back({Account.INSURANCE_AR: Decimal("30.00")}, moved)
    assert [(p.line_item_control_number, p.amount) for p in prior] == [
        ("P-1", Decimal("20.00")),
        ("P-2", Decimal("10.00")),
    ]
    assert sum(p.amount for p in own + prior) == 0
    taken, given = cob_take_over(
        [BilledLine("R-1", "99213", (), Decimal("100.00"), DOS)], [Unsettled("P-1", patient=Decimal("20.00"))]
    )
    assert [(p.account, p.amount, p.kind) for p in taken] == [
        (Account.OTHER_ADJUSTMENT, Decimal("20.00"), EntryKind.PRIOR_PAYER)
    ]
    assert [(p.account, p.amount, p.memo) for p in given] == [(Account.PATIENT_AR, Decimal("-20.00"), "R-1")]


@pytest.mark.integration
async def test_lines_corrected_on_a_claim_of_their_own_leave_the_original_and_the_rest_stands(stack: Stack) -> None:
    """Line 1 paid 80.00 (CO-45 20.00); line 2 (50.00) denied CO-4. The payer takes corrected lines: line 2 goes out
    alone on a new claim, so its denied 50.00 leaves the original claim (back against charges) and the new claim
    carries the charge; the new claim's 835 pays 40.00 (CO-45 10.00). Nothing is left open and nothing counted twice."""
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    pcn, new_pcn = f"CFL{suffix}".upper(), f"CFN{suffix}".upper()
    lines = [("99213", "", Decimal("100.00")), ("93000", "", Decimal("50.00"))]
    ids = await submit_claims(stack, tenant, suffix, {pcn: lines})
    original_id = ids[pcn]

    async def indexed(claim_id: str) -> bool:
        response = await stack.client("remit-svc").get(
            f"/v1/claims/{claim_id}/ledger", headers=tenant.headers(Role.BILLER)
        )
        return response.status_code == 200 and response.json()["outstanding"] != "0.00"

    await eventually(lambda: indexed(original_id))
    denied = await upload(stack, tenant, _one_claim_era(f"EFTL{suffix}", "000007101", "80.00", [
        f"CLP*{pcn}*1*150.00*80.00**12*PAYL{suffix}*11*1", patient("LINES"),
        "SVC*HC:99213*100.00*80.00**1", "DTM*472*20261102", "CAS*CO*45*20.00", f"REF*6R*{pcn}-1",
        "SVC*HC:93000*50.00*0.00**1", "DTM*472*20261102", "CAS*CO*4*50.00", f"REF*6R*{pcn}-2",
    ]))  # fmt: skip
    assert denied.status_code == 201, denied.text
    before = await ledger(stack, tenant, original_id)
    assert (before["balances"]["denied_ar"], before["outstanding"]) == ("50.00", "50.00")

    new_id = f"clm_{suffix}_lines"
    context: ServiceContext = stack.apps["claims-svc"].state.services
    async with context.database.transaction() as session:
        context.outbox.add(
            session,
            ClaimResubmitted(
                claim_id=new_id, original_claim_id=original_id, claim_frequency_code="1",
                reason="modifier added to line 2", resubmitted_at=datetime(2026, 11, 21, tzinfo=UTC),
                corrected_lines=(f"{pcn}-2",),
            ),
            tenant_id=tenant.id, correlation_id=f"corr-{original_id}",
        )  # fmt: skip
        context.outbox.add(
            session,
            ClaimSubmitted(
                claim_id=new_id, encounter_ids=(f"enc_{suffix}_{pcn}",), practice_id=tenant.practice_id,
                patient_id=f"pat_{pcn.lower()}", payer_id="60054", patient_control_number=new_pcn,
                claim_frequency_code="1", total_charge=Decimal("50.00"),
                lines=(ClaimLineSubmitted(line_item_control_number=f"{new_pcn}-1", procedure_code="93000",
                                          modifiers=("59",), units=Decimal(1), charge=Decimal("50.00"),
                                          service_date=DOS),),
                interchange_control_number="000000125", submitted_at=datetime(2026, 11, 21, tzinfo=UTC),
            ),
            tenant_id=tenant.id, correlation_id=f"corr-{original_id}",
        )  # fmt: skip

    async def settled() -> dict[str, Any] | None:
        body = await ledger(stack, tenant, original_id)
        return body if body["outstanding"] == "0.00" else None

    after = await eventually(settled)
    assert after["balances"]["payer_cash"] == "80.00", "line 1's payment stands"
    assert Decimal(after["balances"]["denied_ar"]) == 0
    line_2 = [
        e for e in after["entries"] if e["line_item_control_number"] == f"{pcn}-2" and e["kind"] == "charge_reversal"
    ]
    assert sorted(Decimal(e["amount"]) for e in line_2) == [Decimal("-50.00"), Decimal("50.00")]
    await eventually(lambda: indexed(new_id))
    paid = await upload(stack, tenant, _one_claim_era(f"EFTN{suffix}", "000007102", "40.00", [
        f"CLP*{new_pcn}*1*50.00*40.00**12*PAYN{suffix}*11*1", patient("LINES"),
        "SVC*HC:93000:59*50.00*40.00**1", "DTM*472*20261102", "CAS*CO*45*10.00", f"REF*6R*{new_pcn}-1",
    ]))  # fmt: skip
    assert paid.status_code == 201, paid.text
    assert (await ledger(stack, tenant, new_id))["outstanding"] == "0.00"
    assert (await ledger(stack, tenant, original_id))["outstanding"] == "0.00"
    await assert_ledger_balances(stack, tenant.id)


async def publish(stack: Stack, tenant: TenantFixture, *events: Any, correlation_id: str) -> None:
    """Stage events as claims-svc publishes them (its outbox, one transaction)."""
    context: ServiceContext = stack.apps["claims-svc"].state.services
    async with context.database.transaction() as session:
        for event in events:
            context.outbox.add(session, event, tenant_id=tenant.id, correlation_id=correlation_id)


async def indexed(stack: Stack, tenant: TenantFixture, *claim_ids: str) -> bool:
    """Whether remit-svc has indexed every one of these claims."""
    for claim_id in claim_ids:
        response = await stack.client("remit-svc").get(
            f"/v1/claims/{claim_id}/ledger", headers=tenant.headers(Role.BILLER)
        )
        if response.status_code != 200:
            return False
    return True


async def settled_ledger(stack: Stack, tenant: TenantFixture, claim_id: str) -> dict[str, Any]:
    """The claim's ledger once it owes nothing (waits for it)."""

    async def owes_nothing() -> dict[str, Any] | None:
        body = await ledger(stack, tenant, claim_id)
        return body if body["outstanding"] == "0.00" else None

    return await eventually(owes_nothing, within=15.0)


def one_line_claim(
    tenant: TenantFixture,
    claim_id: str,
    pcn: str,
    *,
    patient_id: str,
    frequency: str = "1",
    payer_id: str = "60054",
    **extra: Any,
) -> ClaimSubmitted:
    """claim-submitted of a 100.00 office visit (99213) on DOS."""
    return ClaimSubmitted(
        claim_id=claim_id, encounter_ids=(f"enc_{claim_id}",), practice_id=tenant.practice_id,
        patient_id=patient_id, payer_id=payer_id, patient_control_number=pcn,
        claim_frequency_code=frequency, total_charge=Decimal("100.00"),
        lines=(ClaimLineSubmitted(line_item_control_number=f"{pcn}-1", procedure_code="99213", units=Decimal(1),
                                  charge=Decimal("100.00"), service_date=DOS),),
        interchange_control_number="000000126", submitted_at=datetime(2026, 11, 20, tzinfo=UTC), **extra,
    )  # fmt: skip


def correction(claim_id: str, original_id: str, frequency: str, reason: str) -> ClaimResubmitted:
    """claim-resubmitted: ``claim_id`` corrects ``original_id``."""
    return ClaimResubmitted(
        claim_id=claim_id, original_claim_id=original_id, claim_frequency_code=frequency, reason=reason,
        resubmitted_at=datetime(2026, 11, 21, tzinfo=UTC),
    )  # fmt: skip


def charges_in(body: dict[str, Any]) -> Decimal:
    """The charges a claim's ledger carries."""
    return Decimal(body["balances"].get("charges", "0"))


@pytest.mark.integration
async def test_a_rejected_claim_sent_again_as_new_leaves_ar_and_its_charge_is_booked_once(stack: Stack) -> None:
    """The clearinghouse rejected claim S (it never reached the payer); the corrected claim R goes out as a new
    original (frequency 1). S owes nothing any more: its insurance AR goes back against its charge, R carries both."""
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    pcn, new_pcn = f"CFJ{suffix}".upper(), f"CFR{suffix}".upper()
    original_id = (await submit_claims(stack, tenant, suffix, {pcn: [("99213", "", Decimal("100.00"))]}))[pcn]
    new_id = f"clm_{suffix}_again"
    await eventually(lambda: indexed(stack, tenant, original_id))  # days before the rejection, in real life
    rejected = ClaimRejected(
        claim_id=original_id, patient_control_number=pcn, payer_id="60054", source=AcknowledgmentSource.CLAIM_ACK,
        reasons=(RejectionReason(code="A7:21", description="missing member id"),),
        rejected_at=datetime(2026, 11, 20, tzinfo=UTC),
    )  # fmt: skip
    resubmission = correction(new_id, original_id, "1", "member id from the card")
    again = one_line_claim(tenant, new_id, new_pcn, patient_id=f"pat_{pcn.lower()}")
    await publish(stack, tenant, rejected, resubmission, again, correlation_id=f"corr-{original_id}")
    await eventually(lambda: indexed(stack, tenant, original_id, new_id))

    original = await settled_ledger(stack, tenant, original_id)
    assert charges_in(original) == 0, "the charge now lives on the new claim"
    new = await ledger(stack, tenant, new_id)
    assert (new["outstanding"], new["balances"]["insurance_ar"]) == ("100.00", "100.00")
    await assert_ledger_balances(stack, tenant.id)


@pytest.mark.integration
@pytest.mark.parametrize("first", ["the replacement", "the resubmission"])
async def test_a_replaced_secondary_claim_hands_the_patient_balance_to_its_replacement(
    stack: Stack, first: str
) -> None:
    """Primary 100.00: paid 60.00, CO-45 20.00, coinsurance 20.00. Secondary S is billed for the 20.00, then replaced
    (frequency 7) by R before its payer answered. Whichever event remit-svc reads first, R carries the 20.00, S owes
    nothing, the charge stays booked once (with the primary) and the patient owes nothing until R's 835 says so."""
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    primary_pcn, first_pcn, second_pcn = (f"{p}{suffix}".upper() for p in ("CFP", "CFS", "CFT"))
    primary_id = (await submit_claims(stack, tenant, suffix, {primary_pcn: [("99213", "", Decimal("100.00"))]}))[
        primary_pcn
    ]
    patient_id = f"pat_{primary_pcn.lower()}"

    async def balance() -> str:
        return await patient_balance(stack, tenant, patient_id)

    async def balance_is(amount: str) -> bool:
        return await balance() == amount

    def secondary(claim_id: str, pcn: str, frequency: str) -> ClaimSubmitted:
        return one_line_claim(
            tenant, claim_id, pcn, patient_id=patient_id, frequency=frequency, payer_id="87726",
            payer_sequence=PayerSequence.SECONDARY, prior_claim_id=primary_id,
            payer_claim_control_number="SEC123" if frequency == "7" else None,
        )  # fmt: skip

    correlation = f"corr-{primary_id}"
    await eventually(lambda: balance_is("0.00"))
    await pay_primary_leaving_coinsurance(stack, tenant, primary_pcn, "000007201")
    assert await balance() == "20.00"
    first_id, second_id = f"clm_{suffix}_sec1", f"clm_{suffix}_sec2"
    await publish(stack, tenant, secondary(first_id, first_pcn, "1"), correlation_id=correlation)
    await eventually(lambda: balance_is("0.00"))  # S is billed for the coinsurance

    replacement = secondary(second_id, second_pcn, "7")
    resubmission = correction(second_id, first_id, "7", "secondary member id corrected")
    if first == "the replacement":
        await publish(stack, tenant, replacement, correlation_id=correlation)
        await eventually(lambda: indexed(stack, tenant, second_id))
        await publish(stack, tenant, resubmission, correlation_id=correlation)
    else:
        await publish(stack, tenant, resubmission, correlation_id=correlation)
        await settled_ledger(stack, tenant, first_id)
        await publish(stack, tenant, replacement, correlation_id=correlation)
        await eventually(lambda: indexed(stack, tenant, second_id))

    async def handed_over() -> dict[str, Any] | None:  # R writes off only what the primary settled (80.00)
        body = await ledger(stack, tenant, second_id)
        return body if body["balances"].get("other_adjustment") == "-80.00" else None

    taken = await eventually(handed_over, within=15.0)
    assert (taken["balances"]["insurance_ar"], taken["outstanding"]) == ("100.00", "100.00")
    replaced = await settled_ledger(stack, tenant, first_id)
    assert Decimal(replaced["balances"]["insurance_ar"]) == 0
    assert await balance() == "0.00", "the patient owes nothing while the secondary payer is billed"
    assert [charges_in(replaced), charges_in(taken)] == [0, 0], "the charge stays with the primary"
    assert charges_in(await ledger(stack, tenant, primary_id)) != 0

    await pay_secondary_leaving_coinsurance(stack, tenant, second_pcn, "000007202")
    assert await balance() == "2.00"
    assert (await ledger(stack, tenant, second_id))["outstanding"] == "2.00"
    assert (await ledger(stack, tenant, first_id))["outstanding"] == "0.00"
    await assert_ledger_balances(stack, tenant.id)


@pytest.mark.integration
async def test_a_correction_read_before_the_claim_it_corrects_is_applied_when_that_claim_arrives(stack: Stack) -> None:
    """The worker catching up after an outage reads partitions in any order: the replacement of claim S can come
    before S's own claim-submitted. It waits, and S leaves AR as soon as it is indexed."""
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    pcn = f"CFE{suffix}".upper()
    original_id, new_id = f"clm_{suffix}_{pcn.lower()}", f"clm_{suffix}_replacement"
    replacement = correction(new_id, original_id, "7", "level of service corrected")
    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:  # one of a held claim, never submitted, kept for 100 days
            stale = correction("clm_held_again", "clm_held", "1", "held claim fixed")
            session.add(
                EarlyCorrection(
                    tenant_id=tenant.id, original_claim_id="clm_held", claim_id=stale.claim_id,
                    event=stale.model_dump(mode="json"), created_at=datetime.now(UTC) - timedelta(days=100),
                )
            )  # fmt: skip
        await publish(stack, tenant, replacement, correlation_id=f"corr-{original_id}")

        async def waiting() -> bool:
            async with database.transaction() as session:
                rows = await session.exec(
                    select(EarlyCorrection).where(
                        EarlyCorrection.tenant_id == tenant.id, EarlyCorrection.original_claim_id == original_id
                    )
                )
                return len(rows.all()) == 1

        await eventually(waiting)
        async with database.transaction() as session:
            kept = (
                await session.exec(
                    select(EarlyCorrection.original_claim_id).where(EarlyCorrection.tenant_id == tenant.id)
                )
            ).all()
        assert kept == [original_id], "a correction waiting longer than any catch-up is dropped"
        submitted = await submit_claims(stack, tenant, suffix, {pcn: [("99213", "", Decimal("100.00"))]})
        assert submitted[pcn] == original_id
        await eventually(lambda: indexed(stack, tenant, original_id))
        assert charges_in(await settled_ledger(stack, tenant, original_id)) == 0
        assert not await waiting(), "applied once, then forgotten"
    finally:
        await database.dispose()
    await assert_ledger_balances(stack, tenant.id)


@pytest.mark.integration
async def test_a_correction_handled_while_its_claim_arrives_is_applied(stack: Stack) -> None:
    """Two worker processes (the claims' partitions split between them): one handles S's claim-submitted, the other
    S's replacement before that commits. The replacement finds no S and waits for it, while S's handler found no
    correction waiting: it used to wait for good. The mailbox round now applies it, and S leaves AR."""
    remit, other = stack.database("remit-svc"), stack.database("remit-svc")
    if remit.dialect != "postgresql":
        await remit.dispose()
        await other.dispose()
        pytest.skip("SQLite runs one write transaction at a time: the two cannot overlap")
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    original = claim_submitted(tenant, suffix, f"CFK{suffix}".upper(), [("99213", "", Decimal("100.00"))])
    replacement = correction(f"clm_{suffix}_replacement", original.claim_id, "7", "level of service corrected")

    async def replaced() -> bool:
        async with remit.transaction() as session:
            claim = await session.get(OpenClaim, original.claim_id)
            waiting = (await session.exec(select(EarlyCorrection).where(EarlyCorrection.tenant_id == tenant.id))).all()
        return claim is not None and claim.status == "replaced" and not waiting

    try:
        async with remit.transaction() as session:
            await on_claim_submitted(handling(stack, session, tenant, original), original)
            async with other.transaction() as elsewhere:
                await on_claim_resubmitted(handling(stack, elsewhere, tenant, replacement), replacement)
        await eventually(replaced)
    finally:
        await remit.dispose()
        await other.dispose()
    assert charges_in(await ledger(stack, tenant, original.claim_id)) == 0
    await assert_ledger_balances(stack, tenant.id)


@pytest.mark.integration
async def test_a_payment_posted_while_its_claim_is_replaced_leaves_nothing_open_on_it(stack: Stack) -> None:
    """The worker handles S's replacement in a transaction that has not committed yet when an upload posts S's
    payment. The posting used to read S as still billed: it took the payment off S's insurance AR, which the
    replacement had already closed (S left owing -90.00 and paid again), and wrote "paid" over "replaced"."""
    remit = stack.database("remit-svc")
    if remit.dialect != "postgresql":
        await remit.dispose()
        pytest.skip("SQLite runs one write transaction at a time: the two cannot overlap")
    tenant = await stack.create_tenant()
    suffix = uuid.uuid4().hex[:8]
    pcn = f"CFL{suffix}".upper()
    original_id = (await submit_claims(stack, tenant, suffix, {pcn: [("99213", "", Decimal("100.00"))]}))[pcn]
    await eventually(lambda: indexed(stack, tenant, original_id))
    replacement = correction(f"clm_{suffix}_replacement", original_id, "7", "level of service corrected")
    era = interchange(
        [
            *header("90.00", f"EFT{suffix}"),
            f"CLP*{pcn}*1*100.00*90.00**12*PAYL1*11*1",
            patient("LIMA"),
            "SVC*HC:99213*100.00*90.00**1",
            "DTM*472*20261102",
            "CAS*CO*45*10.00",
            f"REF*6R*{pcn}-1",
        ],
        "000000906",
    )
    try:
        async with remit.transaction() as session:
            await on_claim_resubmitted(handling(stack, session, tenant, replacement), replacement)
            posting = asyncio.create_task(upload(stack, tenant, era))
            await eventually(lambda: waits_or_is_done(remit, posting))
        answer = await posting
        async with remit.transaction() as session:
            claim = await session.get(OpenClaim, original_id)
    finally:
        await remit.dispose()
    assert answer.status_code == 201, answer.text
    assert answer.json()["remittances"][0]["posted"] == 1
    assert claim is not None
    assert claim.status == "replaced"
    balances = (await ledger(stack, tenant, original_id))["balances"]
    assert Decimal(balances.get("insurance_ar", "0")) == 0, balances
    assert (balances["payer_cash"], balances["contractual_adjustment"]) == ("90.00", "10.00")
    await assert_ledger_balances(stack, tenant.id)


def _a_run_of_claims(tenant: TenantFixture, other: TenantFixture, suffix: str) -> list[tuple[TenantFixture, Any]]:
    """claim-submitted events as an 837 batch's claims arrive, with every case the batch handler must hand off:
    three claims of one guarantor (addressed by the latest claim, the last of equals winning), a repeat, a claim
    with a payment waiting, one with a correction waiting, a next payer's claim and another tenant's claim."""

    def claim(tenant: TenantFixture, name: str, **extra: Any) -> ClaimSubmitted:
        return one_line_claim(tenant, f"clm_{suffix}_{name}", f"R{suffix}{name}".upper(), patient_id="pat_r", **extra)

    def to(last: str) -> dict[str, Any]:
        return {"guarantor_id": "gua_r", "statement_to": Addressee(first_name="Ann", last_name=last)}

    def at(event: ClaimSubmitted, hour: int) -> ClaimSubmitted:
        return event.model_copy(update={"submitted_at": datetime(2026, 11, 20, hour, tzinfo=UTC)})

    first = at(claim(tenant, "a", **to("Second")), 12)
    return [
        (tenant, first),
        (tenant, at(claim(tenant, "b", **to("First")), 11)),
        (tenant, at(claim(tenant, "c", **to("Third")), 12)),
        (tenant, first),  # claims-svc published it twice (a new event id, the same claim)
        (tenant, claim(tenant, "paid")),
        (tenant, claim(tenant, "corrected")),
        (tenant, claim(tenant, "next", prior_claim_id=first.claim_id, payer_sequence=PayerSequence.SECONDARY)),
        (other, claim(other, "other")),
        (tenant, claim(tenant, "d")),
    ]


async def _remit_state(stack: Stack, tenants: list[TenantFixture], suffix: str) -> dict[str, Any]:
    """What remit-svc holds for the tenants, with the run's suffix and the tenants' own ids taken out."""
    tenant_ids = [tenant.id for tenant in tenants]

    def plain(value: Any) -> str:
        text = str(value).replace(suffix, "S").replace(suffix.upper(), "S")
        for n, tenant in enumerate(tenants):
            text = text.replace(tenant.id, f"tenant{n}").replace(tenant.practice_id, f"practice{n}")
        return text

    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            claims = (await session.exec(select(OpenClaim).where(col(OpenClaim.tenant_id).in_(tenant_ids)))).all()
            entries = (await session.exec(select(LedgerEntry).where(col(LedgerEntry.tenant_id).in_(tenant_ids)))).all()
            accounts = (
                await session.exec(select(GuarantorAccount).where(col(GuarantorAccount.tenant_id).in_(tenant_ids)))
            ).all()
            payments = (
                await session.exec(select(ClaimPaymentRecord).where(col(ClaimPaymentRecord.tenant_id).in_(tenant_ids)))
            ).all()
            corrections = (
                await session.exec(select(EarlyCorrection).where(col(EarlyCorrection.tenant_id).in_(tenant_ids)))
            ).all()
            events = (
                await session.exec(select(OutboxMessage).where(col(OutboxMessage.tenant_id).in_(tenant_ids)))
            ).all()
    finally:
        await database.dispose()
    ledger_sums: dict[str, Decimal] = {}
    for entry in entries:
        key = plain((entry.tenant_id, entry.claim_id, entry.account, entry.kind, entry.guarantor_id))
        ledger_sums[key] = ledger_sums.get(key, Decimal(0)) + entry.amount
    kept = {"created_at", "updated_at", "first_paid_at"}
    return {
        "claims": sorted(plain(sorted(c.model_dump(exclude=kept).items())) for c in claims),
        "ledger": sorted((key, str(amount)) for key, amount in ledger_sums.items() if amount),
        "journals per claim": sorted(plain((e.claim_id, e.kind)) for e in entries),
        "guarantors": sorted(plain((a.tenant_id, a.guarantor_id, a.last_name, a.as_of)) for a in accounts),
        "payments": sorted(plain((p.patient_control_number, p.state, p.claim_id)) for p in payments),
        "corrections waiting": len(corrections),
        "events": sorted(plain((m.event_type, json.loads(m.envelope)["data"].get("claim_id"))) for m in events),
    }


@pytest.mark.integration
async def test_a_run_of_claims_submitted_handled_at_once_ends_as_handled_one_at_a_time(stack: Stack) -> None:
    """The remit worker's batch handler for claim-submitted writes plain claims together and hands every other
    case to the one-event handler in its place: the same events, with a payment and a correction waiting for two
    of them, leave exactly the same claims, ledger, addressees, payments and events either way."""
    states = []
    for handle_at_once in (False, True):
        tenant, other = await stack.create_tenant(), await stack.create_tenant()
        suffix = uuid.uuid4().hex[:8]
        run = _a_run_of_claims(tenant, other, suffix)
        pcn = f"R{suffix}PAID".upper()
        era = interchange(
            [
                *header("90.00", f"EFT{suffix}"),
                f"CLP*{pcn}*1*100.00*90.00**12*PAY{suffix}*11*1",
                patient("RUN"),
                "SVC*HC:99213*100.00*90.00**1",
                "DTM*472*20261102",
                "CAS*CO*45*10.00",
                f"REF*6R*{pcn}-1",
            ],
            "000000931",
        )
        answer = await upload(stack, tenant, era)
        assert answer.status_code == 201, answer.text
        assert answer.json()["remittances"][0]["unmatched"] == 1, "its claim is not known yet"
        replacement = correction(f"clm_{suffix}_fix", f"clm_{suffix}_corrected", "7", "units corrected")
        database = stack.database("remit-svc")
        try:
            async with database.transaction() as session:
                await EarlyCorrectionRepository(session, tenant.id).keep(replacement)
            async with database.transaction() as session:
                items = [(handling(stack, session, owner, event), event) for owner, event in run]
                if handle_at_once:
                    await on_claims_submitted(items)
                else:
                    for item_context, event in items:
                        await on_claim_submitted(item_context, event)
        finally:
            await database.dispose()
        states.append(await _remit_state(stack, [tenant, other], suffix))
    one_at_a_time, at_once = states
    for part, value in at_once.items():
        assert value == one_at_a_time[part], part
    assert len(at_once["claims"]) == 8, "the repeat is one claim"
    assert [g for g in at_once["guarantors"] if "gua_r" in g] == [
        str(("tenant0", "gua_r", "Third", datetime(2026, 11, 20, 12, tzinfo=UTC)))
    ]
    assert at_once["corrections waiting"] == 0
    assert at_once["payments"]
    assert not any("unmatched" in payment for payment in at_once["payments"])
