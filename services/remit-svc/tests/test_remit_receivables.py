"""Deposits, patient payments and statements, AR aging and KPIs, end to end with hand-computed answers.

Claims go out as claim-submitted through claims-svc's outbox, acknowledgments as claim-accepted/-rejected, 835s are
uploaded, patient payments posted over HTTP; every figure below is read back from remit-svc's API and was worked
out by hand (the table is in test_remit_receivables_rules.py, which checks the same answers on the pure rules):

    claim  DOS         payer  practice  provider  patient  billed (code charge)        submitted  answer
    R1     2026-11-12  60054  PA        N1        pat_r1   99213 200.00                DOS + 2    accepted
    R2     2026-10-08  60054  PA        N1        pat_a    99214 150.00                DOS + 3    accepted
    R3     2026-09-08  87726  PA        N2        pat_r3   99215 300.00                DOS + 4    accepted
    R4     2026-08-09  87726  PB        N2        pat_c    99213 100.00                DOS + 1    accepted
    R5     2026-06-25  60054  PB        N1        pat_r5   99212 120.00                DOS + 10   accepted
    R6     2026-10-23  87726  PB        N2        pat_a    99213 100.00                DOS + 2    accepted
    R7     2026-08-24  60054  PA        N1        pat_r7   99214 200.00, 81002 50.00   DOS + 5    rejected, accepted
    R8     2026-07-25  60054  PB        N2        pat_r8   99212 80.00                 DOS + 3    none

ERAs: EFT-P1-1 (60054, paid 2026-11-10, BPR02 206.00: R2 56 + R7 150), EFT-P2-1 (87726, 2026-10-20, 80.00: R4),
NOTIF-1 (87726, 2026-10-20, BPR02 0: R3 denied CO 197), EFT-P2-2 split in two 835s (87726, 2026-11-18: 70.00 for
R6 and 25.00 for a claim nobody billed). Patients: pat_a pays 30.00, pat_c pays 25.00 and gets 10.00 back.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from pypdf import PdfReader
from sqlalchemy import func
from sqlmodel import col, select

from claimflow.testing import Stack, TenantFixture, json_list
from claimflow_events import Addressee, ClaimAccepted, ClaimLineSubmitted, ClaimRejected, ClaimSubmitted, PostalAddress
from claimflow_events.payloads import AcknowledgmentSource, RejectionReason
from claimflow_kit.app import ServiceContext
from claimflow_kit.directory import Role
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import eventually
from remit_svc.adapters.tables import LedgerEntry

pytestmark = pytest.mark.integration

N1, N2 = "1234567893", "1245319599"
AS_OF = "2026-11-22"


@dataclass(frozen=True)
class Billed:
    dos: date
    payer: str
    practice: str  # "PA" is the tenant's practice, "PB" a second one
    npi: str
    patient: str
    lines: tuple[tuple[str, str], ...]
    submitted_after: int
    answers: tuple[str, ...]


CLAIMS = {
    "R1": Billed(date(2026, 11, 12), "60054", "PA", N1, "pat_r1", (("99213", "200.00"),), 2, ("accepted",)),
    "R2": Billed(date(2026, 10, 8), "60054", "PA", N1, "pat_a", (("99214", "150.00"),), 3, ("accepted",)),
    "R3": Billed(date(2026, 9, 8), "87726", "PA", N2, "pat_r3", (("99215", "300.00"),), 4, ("accepted",)),
    "R4": Billed(date(2026, 8, 9), "87726", "PB", N2, "pat_c", (("99213", "100.00"),), 1, ("accepted",)),
    "R5": Billed(date(2026, 6, 25), "60054", "PB", N1, "pat_r5", (("99212", "120.00"),), 10, ("accepted",)),
    "R6": Billed(date(2026, 10, 23), "87726", "PB", N2, "pat_a", (("99213", "100.00"),), 2, ("accepted",)),
    "R7": Billed(
        date(2026, 8, 24),
        "60054",
        "PA",
        N1,
        "pat_r7",
        (("99214", "200.00"), ("81002", "50.00")),
        5,
        ("rejected", "accepted"),
    ),
    "R8": Billed(date(2026, 7, 25), "60054", "PB", N2, "pat_r8", (("99212", "80.00"),), 3, ()),
}


def interchange(body: list[str], control: int) -> bytes:
    """One 835 (BPR..) in ST/SE, GS/GE, ISA/IEA."""
    st = ["ST*835*0001*005010X221A1", *body]
    segments = [
        "ISA*00*          *00*          *ZZ*PAYERSANDBOX   *ZZ*CLAIMFLOW      *261120*1200*^*00501*"
        f"{control:09d}*0*P*:",
        f"GS*HP*PAYERSANDBOX*CLAIMFLOW*20261120*1200*{control}*X*005010X221A1",
        *st,
        f"SE*{len(st) + 1}*0001",
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return ("~".join(segments) + "~").encode()


def header(total: str, trace: str, payer: str, paid_on: str) -> list[str]:
    if Decimal(total):
        bpr = f"BPR*I*{total}*C*ACH*CCP*01*071000013*DA*900000001*1999999999**01*071000039*DA*800000001*{paid_on}"
    else:
        bpr = f"BPR*H*0.00*C*NON{'*' * 12}{paid_on}"  # notification only: no money moves
    return [
        bpr,
        f"TRN*1*{trace}*1999999999",
        f"N1*PR*PAYER {payer}",
        "N3*PO BOX 1000",
        "N4*SANDBOX CITY*IL*60601",
        f"REF*2U*{payer}",
        "N1*PE*PRACTICE ONE*XX*1234567893",
        "LX*1",
    ]


def patient(name: str) -> str:
    return f"NM1*QC*1*{name}*PAT****MI*W{name}"


ERAS = {
    "EFT-P1-1": interchange(
        [
            *header("206.00", "EFT-P1-1", "60054", "20261110"),
            # R2: 150 - 50 (CO45) - 30 (PR1 deductible) - 14 (PR2 coinsurance) = 56
            "CLP*CFR2*1*150.00*56.00*44.00*12*PAYR2*11*1",
            patient("RTWO"),
            "SVC*HC:99214*150.00*56.00**1",
            "DTM*472*20261008",
            "CAS*CO*45*50.00",
            "CAS*PR*1*30.00**2*14.00",
            "REF*6R*CFR2-1",
            # R7: line 1 200 - 50 (CO45) = 150; line 2 denied as bundled (CO97 50.00) → partially paid
            "CLP*CFR7*1*250.00*150.00**12*PAYR7*11*1",
            patient("RSEVEN"),
            "SVC*HC:99214*200.00*150.00**1",
            "DTM*472*20260824",
            "CAS*CO*45*50.00",
            "REF*6R*CFR7-1",
            "SVC*HC:81002*50.00*0.00**1",
            "DTM*472*20260824",
            "CAS*CO*97*50.00",
            "REF*6R*CFR7-2",
        ],
        811,
    ),
    "EFT-P2-1": interchange(
        [
            *header("80.00", "EFT-P2-1", "87726", "20261020"),
            "CLP*CFR4*1*100.00*80.00**12*PAYR4*11*1",
            patient("RFOUR"),
            "SVC*HC:99213*100.00*80.00**1",
            "DTM*472*20260809",
            "CAS*CO*45*20.00",
            "REF*6R*CFR4-1",
        ],
        812,
    ),
    "NOTIF-1": interchange(
        [
            *header("0.00", "NOTIF-1", "87726", "20261020"),
            "CLP*CFR3*4*300.00*0.00**12*PAYR3*11*1",
            "CAS*CO*197*300.00",
            patient("RTHREE"),
        ],
        813,
    ),
    "EFT-P2-2a": interchange(
        [
            *header("70.00", "EFT-P2-2", "87726", "20261118"),
            # R6: 100 - 20 (CO45) - 10 (PR3 copay) = 70
            "CLP*CFR6*1*100.00*70.00*10.00*12*PAYR6*11*1",
            patient("RSIX"),
            "SVC*HC:99213*100.00*70.00**1",
            "DTM*472*20261023",
            "CAS*CO*45*20.00",
            "CAS*PR*3*10.00",
            "REF*6R*CFR6-1",
        ],
        814,
    ),
    "EFT-P2-2b": interchange(
        [
            *header("25.00", "EFT-P2-2", "87726", "20261118"),
            "CLP*CFZZZ*1*40.00*25.00**12*PAYZ*11*1",
            "CAS*CO*45*15.00",
            patient("ZULU"),
        ],
        815,
    ),
}


@dataclass
class Books:
    """One tenant's claims, ERAs and patient payments, posted once for the module."""

    tenant: TenantFixture
    claim_ids: dict[str, str]
    era_ids: dict[str, str]
    payments: dict[str, dict[str, Any]]


async def _publish(stack: Stack, tenant: TenantFixture, events: list[tuple[Any, str]]) -> None:
    context: ServiceContext = stack.apps["claims-svc"].state.services
    async with context.database.transaction() as session:
        for event, correlation_id in events:
            context.outbox.add(session, event, tenant_id=tenant.id, correlation_id=correlation_id)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


async def submit(stack: Stack, tenant: TenantFixture) -> dict[str, str]:
    """claim-submitted for every claim, then (once remit-svc knows them) their acknowledgments."""
    suffix = uuid.uuid4().hex[:8]
    ids = {key: f"clm_{suffix}_{key.lower()}" for key in CLAIMS}
    practices = {"PA": tenant.practice_id, "PB": f"prc_second_{suffix}"}
    submitted = []
    for key, billed in CLAIMS.items():
        lines = tuple(
            ClaimLineSubmitted(
                line_item_control_number=f"CF{key}-{n}",
                procedure_code=code,
                units=Decimal(1),
                charge=Decimal(charge),
                service_date=billed.dos,
            )
            for n, (code, charge) in enumerate(billed.lines, start=1)
        )
        event = ClaimSubmitted(
            claim_id=ids[key],
            encounter_ids=(f"enc_{suffix}_{key}",),
            practice_id=practices[billed.practice],
            patient_id=billed.patient,
            payer_id=billed.payer,
            patient_control_number=f"CF{key}",
            claim_frequency_code="1",
            total_charge=sum((line.charge for line in lines), Decimal(0)),
            lines=lines,
            interchange_control_number="000000321",
            submitted_at=_at(billed.dos + timedelta(days=billed.submitted_after)),
            rendering_provider_npi=billed.npi,
        )
        submitted.append((event, f"corr-{ids[key]}"))
    await _publish(stack, tenant, submitted)

    async def indexed() -> list[dict[str, Any]] | None:
        claims = await json_list(stack.client("remit-svc"), "/v1/open-claims?limit=500", tenant.headers(Role.OPS))
        return claims if len(claims) == len(CLAIMS) else None

    await eventually(indexed)
    answers = []
    for key, billed in CLAIMS.items():
        for answer in billed.answers:
            common = {"claim_id": ids[key], "patient_control_number": f"CF{key}", "payer_id": billed.payer}
            answered_at = _at(billed.dos + timedelta(days=billed.submitted_after + 1))
            source = AcknowledgmentSource.CLAIM_ACK
            acknowledgment: ClaimAccepted | ClaimRejected = (
                ClaimAccepted(**common, source=source, accepted_at=answered_at)
                if answer == "accepted"
                else ClaimRejected(
                    **common,
                    source=source,
                    reasons=(RejectionReason(code="A7:21", description="missing information"),),
                    rejected_at=answered_at,
                )
            )
            answers.append((acknowledgment, f"corr-{ids[key]}"))
    await _publish(stack, tenant, answers)

    async def acknowledged() -> bool:
        claims = await json_list(stack.client("remit-svc"), "/v1/open-claims?limit=500", tenant.headers(Role.OPS))
        return sum(1 for c in claims if c["acknowledgment"]) == 7

    await eventually(acknowledged)
    return ids


async def ledger_total(stack: Stack, tenant_id: str) -> Decimal:
    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            total = (
                await session.exec(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.tenant_id == tenant_id))
            ).one()
            return Decimal(str(total or 0))
    finally:
        await database.dispose()


async def pay(stack: Stack, tenant: TenantFixture, kind: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**tenant.headers(Role.BILLER), **({"Idempotency-Key": key} if key else {})}
    return await stack.client("remit-svc").post(f"/v1/patient-{kind}", json=body, headers=headers)


@pytest_asyncio.fixture(scope="module")
async def books(stack: Stack) -> Books:
    tenant = await stack.create_tenant("ar")
    ids = await submit(stack, tenant)
    assert await ledger_total(stack, tenant.id) == 0
    era_ids: dict[str, str] = {}
    for name, content in ERAS.items():
        uploaded = await stack.client("remit-svc").post(
            "/v1/remittances",
            content=content,
            headers={**tenant.headers(Role.BILLER), "Content-Type": "application/edi-x12"},
        )
        assert uploaded.status_code == 201, uploaded.text
        (report,) = uploaded.json()["remittances"]
        assert report["status"] == "posted", report
        era_ids[name] = report["remittance_id"]
        assert await ledger_total(stack, tenant.id) == 0
    payments = {}
    for name, kind, body, key in [
        (
            "pat_a",
            "payments",
            {"patient_id": "pat_a", "amount": "30.00", "method": "check", "reference": "CHK-1001"}
            | {"received_on": "2026-11-21"},
            "pay-pat-a-0001",
        ),
        (
            "pat_c",
            "payments",
            {"patient_id": "pat_c", "amount": "25.00", "method": "card", "reference": "AUTH-77"}
            | {"received_on": "2026-11-20"},
            None,
        ),
        (
            "pat_c_refund",
            "refunds",
            {"patient_id": "pat_c", "amount": "10.00", "method": "card", "received_on": "2026-11-21"},
            "refund-pat-c-01",
        ),
    ]:
        response = await pay(stack, tenant, kind, body, key)
        assert response.status_code == 201, response.text
        payments[name] = response.json()
        assert await ledger_total(stack, tenant.id) == 0, "every patient payment journal balances"
    return Books(tenant, ids, era_ids, payments)


async def get(stack: Stack, tenant: TenantFixture, url: str) -> Any:
    response = await stack.client("remit-svc").get(url, headers=tenant.headers(Role.BILLER))
    assert response.status_code == 200, response.text
    return response.json()


def buckets(*amounts: str) -> dict[str, str]:
    names = ("0-30", "31-60", "61-90", "91-120", "120+")
    total = sum((Decimal(a) for a in amounts), Decimal("0.00"))
    return {**dict(zip(names, amounts, strict=True)), "total": f"{total:.2f}"}


async def test_ar_aging_by_payer_practice_provider_and_tenant(stack: Stack, books: Books) -> None:
    by_payer = await get(stack, books.tenant, f"/v1/ar/aging?by=payer&as_of={AS_OF}")
    assert (by_payer["as_of"], by_payer["aged_by"]) == (AS_OF, "date_of_service")
    groups = {g["key"]: g for g in by_payer["groups"]}
    # 60054: R1 200 insurance (10 days), R2 44 - 30 paid = 14 patient (45), R7 50 denied (90), R8 80 (120),
    # R5 120 (150); 87726: R6 10 copay (30 days), R3 300 denied (75); R4 settled.
    assert groups["60054"]["total"] == buckets("200.00", "14.00", "50.00", "80.00", "120.00")
    assert groups["60054"]["patient"] == buckets("0.00", "14.00", "0.00", "0.00", "0.00")
    assert groups["60054"]["denied"] == buckets("0.00", "0.00", "50.00", "0.00", "0.00")
    assert groups["60054"]["claims"] == 5
    assert groups["87726"]["total"] == buckets("10.00", "0.00", "300.00", "0.00", "0.00")
    assert groups["87726"]["insurance"] == buckets("0.00", "0.00", "300.00", "0.00", "0.00")
    assert by_payer["totals"]["total"] == buckets("210.00", "14.00", "350.00", "80.00", "120.00")
    assert by_payer["totals"]["patient"]["total"] == "24.00"
    # pat_c's 15.00 credit is nobody's bucket; the ledger's AR balance is 774 - 15.
    assert (by_payer["unapplied_patient_credit"], by_payer["receivables"]) == ("-15.00", "759.00")

    by_practice = await get(stack, books.tenant, f"/v1/ar/aging?by=practice&as_of={AS_OF}")
    practices = {g["key"]: g["total"]["total"] for g in by_practice["groups"]}
    assert practices.pop(books.tenant.practice_id) == "564.00"  # R1 200 + R2 14 + R3 300 + R7 50
    assert list(practices.values()) == ["210.00"]  # R6 10 + R8 80 + R5 120
    by_provider = await get(stack, books.tenant, f"/v1/ar/aging?by=provider&as_of={AS_OF}")
    assert {g["key"]: g["total"] for g in by_provider["groups"]} == {
        N1: buckets("200.00", "14.00", "50.00", "0.00", "120.00"),
        N2: buckets("10.00", "0.00", "300.00", "80.00", "0.00"),
    }
    (tenant,) = (await get(stack, books.tenant, f"/v1/ar/aging?as_of={AS_OF}"))["groups"]
    assert (tenant["key"], tenant["claims"], tenant["total"]["total"]) == (books.tenant.id, 7, "774.00")

    # As of 2026-10-19, the day before the first 835's payment date, nothing is paid: AR is every charge with a date
    # of service by then (R1 and R6 are later), aged as of that day: R2 11 days, R3 41, R7 56, R8 86, R4 71, R5 116.
    early = await get(stack, books.tenant, "/v1/ar/aging?by=payer&as_of=2026-10-19")
    assert early["totals"]["total"] == buckets("150.00", "550.00", "180.00", "120.00", "0.00")
    assert early["receivables"] == "1000.00"
    assert early["unapplied_patient_credit"] == "0.00"
    bad = await stack.client("remit-svc").get("/v1/ar/aging?by=nurse", headers=books.tenant.headers(Role.OPS))
    assert bad.status_code == 422


async def test_kpis_from_the_ledger_with_numerators_and_denominators(stack: Stack, books: Books) -> None:
    kpis = await get(stack, books.tenant, f"/v1/kpis?from=2026-06-01&to={AS_OF}")
    assert kpis["period"] == {"start": "2026-06-01", "end": AS_OF}

    def figures(name: str) -> tuple[str, str, str | None]:
        return kpis[name]["numerator"], kpis[name]["denominator"], kpis[name]["value"]

    # 7 claims answered, R7's first answer a rejection; R8 never answered.
    assert figures("clean_claim_rate") == ("6", "7", "0.8571")
    # Adjudicated in the period: R2, R7 (11-10), R3, R4 (10-20), R6 (11-18); only R3 was denied (CO 197).
    assert figures("denial_rate") == ("1", "5", "0.2000")
    assert [(r["carc"], r["numerator"], r["denominator"]) for r in kpis["denial_rate_by_carc"]] == [("197", "1", "5")]
    # AR 759.00 / (charges with DOS in the 90 days to 11-22: R1 200 + R2 150 + R3 300 + R6 100 = 750 / 90 a day)
    assert figures("days_in_ar") == ("759.00", "8.3333", "91.08")
    # (payer 56 + 150 + 80 + 70 + patient 30 + 25 - 10) / (charges 1300 - contractual 50 + 50 + 20 + 20)
    assert figures("net_collection_rate") == ("401.00", "1160.00", "0.3457")
    assert figures("days_to_submission") == ("30", "8", "3.75")  # 2 + 3 + 4 + 1 + 10 + 2 + 5 + 3
    assert figures("days_to_first_payment") == ("209", "4", "52.25")  # R2 33, R7 78, R4 72, R6 26
    assert all(kpis[name]["definition"] for name in ("clean_claim_rate", "days_in_ar", "net_collection_rate"))

    # A period with no 835s: nothing adjudicated, so no denial rate rather than a made-up 0%.
    quiet = await get(stack, books.tenant, "/v1/kpis?from=2026-06-01&to=2026-06-30")
    assert (quiet["denial_rate"]["denominator"], quiet["denial_rate"]["value"]) == ("0", None)
    backwards = await stack.client("remit-svc").get(
        "/v1/kpis?from=2026-11-22&to=2026-11-01", headers=books.tenant.headers(Role.OPS)
    )
    assert backwards.status_code == 400


async def test_patient_payments_and_refunds_move_the_balance_once(stack: Stack, books: Books) -> None:
    tenant = books.tenant
    first = books.payments["pat_a"]
    assert (first["kind"], first["amount"], first["balance"]) == ("payment", "30.00", "24.00")  # 44 + 10 - 30
    replay = await pay(
        stack, tenant, "payments", {"patient_id": "pat_a", "amount": "30.00", "method": "check"}, "pay-pat-a-0001"
    )
    assert replay.status_code == 200, replay.text
    assert (replay.json()["id"], replay.json()["balance"]) == (first["id"], "24.00")
    same_check = await pay(
        stack,
        tenant,
        "payments",
        {"patient_id": "pat_a", "amount": "30.00", "method": "check", "reference": "CHK-1001"},
    )
    assert (same_check.status_code, same_check.json()["id"]) == (200, first["id"]), "the same check posts once"
    reused = await pay(
        stack, tenant, "payments", {"patient_id": "pat_a", "amount": "31.00", "method": "check"}, "pay-pat-a-0001"
    )
    assert reused.status_code == 409
    assert (await get(stack, tenant, "/v1/patients/pat_a/balance"))["balance"] == "24.00"

    assert books.payments["pat_c"]["balance"] == "-25.00"
    assert books.payments["pat_c_refund"]["balance"] == "-15.00"
    too_much = await pay(stack, tenant, "refunds", {"patient_id": "pat_c", "amount": "20.00", "method": "card"})
    assert too_much.status_code == 409
    assert "15.00" in too_much.json()["detail"]
    refund_replay = await pay(
        stack, tenant, "refunds", {"patient_id": "pat_c", "amount": "10.00", "method": "card"}, "refund-pat-c-01"
    )
    assert (refund_replay.status_code, refund_replay.json()["balance"]) == (200, "-15.00")
    balance = await get(stack, tenant, "/v1/patients/pat_c/balance")
    assert (balance["balance"], balance["amount_due"], balance["credit"]) == ("-15.00", "0.00", "15.00")

    unknown = await pay(stack, tenant, "payments", {"patient_id": "pat_nobody", "amount": "5.00", "method": "cash"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "PatientNotFound")
    future = await pay(
        stack,
        tenant,
        "payments",
        {"patient_id": "pat_a", "amount": "5.00", "method": "cash", "received_on": "2999-01-01"},
    )
    assert future.status_code == 400
    negative = await pay(stack, tenant, "payments", {"patient_id": "pat_a", "amount": "-5.00", "method": "cash"})
    assert negative.status_code == 422
    stranger = await stack.create_tenant("stranger")
    elsewhere = await pay(stack, stranger, "payments", {"patient_id": "pat_a", "amount": "5.00", "method": "cash"})
    assert elsewhere.status_code == 404, "another tenant's patient does not exist here"
    assert await ledger_total(stack, tenant.id) == 0

    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            rows = await session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.tenant_id == tenant.id,
                    OutboxMessage.event_type == "claimflow.patient-balance-updated",
                )
                .order_by(col(OutboxMessage.id))
            )
            envelopes = [json.loads(r.envelope) for r in rows.all()]
    finally:
        await database.dispose()
    by_patients = [
        (e["data"]["patient_id"], e["data"]["change"], e["data"]["balance"], e["correlationid"])
        for e in envelopes
        if e["data"]["reason"].startswith("patient ")
    ]
    assert by_patients == [
        ("pat_a", "-30.00", "24.00", f"corr-{books.claim_ids['R6']}"),  # pat_a's latest claim is R6
        ("pat_c", "-25.00", "-25.00", f"corr-{books.claim_ids['R4']}"),
        ("pat_c", "10.00", "-15.00", f"corr-{books.claim_ids['R4']}"),
    ], "one patient-balance-updated per posting, none for replays"


async def test_statement_json_pdf_and_statement_run(stack: Stack, books: Books) -> None:
    tenant = books.tenant
    statement = await get(stack, tenant, f"/v1/patients/pat_a/statement?as_of={AS_OF}")
    assert (statement["statement_date"], statement["guarantor_id"]) == (AS_OF, "pat_a")
    lines = [
        (
            c["service_date"],
            c["charges"],
            c["insurance_paid"],
            c["adjustments"],
            c["patient_responsibility"],
            c["patient_payments"],
            c["balance"],
        )
        for c in statement["claims"]
    ]
    assert lines == [
        (
            "2026-10-08",
            "150.00",
            "56.00",
            "50.00",
            {"deductible": "30.00", "coinsurance": "14.00", "copay": "0.00", "other": "0.00", "total": "44.00"},
            "30.00",  # the 30.00 check pays the oldest claim first
            "14.00",
        ),
        (
            "2026-10-23",
            "100.00",
            "70.00",
            "20.00",
            {"deductible": "0.00", "coinsurance": "0.00", "copay": "10.00", "other": "0.00", "total": "10.00"},
            "0.00",
            "10.00",
        ),
    ]
    assert statement["aging"] == buckets("10.00", "14.00", "0.00", "0.00", "0.00")
    assert (statement["balance"], statement["amount_due"], statement["total_patient_payments"]) == (
        "24.00",
        "24.00",
        "30.00",
    )
    assert [(p["received_on"], p["amount"], p["reference"]) for p in statement["payments"]] == [
        ("2026-11-21", "30.00", "CHK-1001")
    ]
    before_payment = await get(stack, tenant, "/v1/patients/pat_a/statement?as_of=2026-11-20")
    assert (before_payment["amount_due"], before_payment["payments"]) == ("54.00", [])

    pdf = await stack.client("remit-svc").get(
        f"/v1/patients/pat_a/statement.pdf?as_of={AS_OF}", headers=tenant.headers(Role.BILLER)
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Patient statement",
        f"Statement date: {AS_OF}",
        "Date of service 2026-10-08",
        "deductible 30.00, coinsurance 14.00, copay 0.00",
        "Date of service 2026-10-23",
        "Your payments applied 30.00; balance 14.00",
        "2026-11-21 payment 30.00 by check (reference CHK-1001)",
        "31-60: 14.00",
        "Balance due: 24.00",
    ):
        assert expected in " ".join(text.split()), (expected, text)

    credit = await get(stack, tenant, f"/v1/patients/pat_c/statement?as_of={AS_OF}")
    assert (credit["balance"], credit["amount_due"], credit["unapplied_credit"]) == ("-15.00", "0.00", "-15.00")

    run = await get(stack, tenant, f"/v1/patient-statements?as_of={AS_OF}")
    assert [(g["guarantor_id"], g["balance"], g["claims"], g["oldest_service_date"]) for g in run] == [
        ("pat_a", "24.00", 2, "2026-10-08")
    ], "pat_c has a credit and the other patients owe nothing"
    assert await get(stack, tenant, f"/v1/patient-statements?as_of={AS_OF}&min_balance=25") == []
    missing = await stack.client("remit-svc").get("/v1/patients/pat_nobody/statement", headers=tenant.headers(Role.OPS))
    assert missing.status_code == 404


async def test_statement_run_issues_each_days_statements_once_and_keeps_them(stack: Stack, books: Books) -> None:
    tenant, other = books.tenant, await stack.create_tenant("other")
    remit = stack.client("remit-svc")
    biller = tenant.headers(Role.BILLER)
    first = await remit.post("/v1/statement-runs", json={"statement_date": AS_OF}, headers=biller)
    assert first.status_code == 201, first.text
    run = first.json()
    assert (run["statements"], run["total_due"]) == (1, "24.00"), "pat_a owes; pat_c has a credit"
    (issued,) = run["issued"]
    assert (issued["guarantor_id"], issued["amount_due"], issued["claims"]) == ("pat_a", "24.00", 2)
    assert issued["aging"] == buckets("10.00", "14.00", "0.00", "0.00", "0.00")
    # Its claims never said who pat_a is or where they live: the run says so rather than mail it nowhere.
    assert (issued["mail_to"], run["not_mailable"]) == (None, ["pat_a"])

    again = await remit.post("/v1/statement-runs", json={"statement_date": AS_OF}, headers=biller)
    assert again.status_code == 200
    assert (again.json()["id"], [i["id"] for i in again.json()["issued"]]) == (run["id"], [issued["id"]])

    # An earlier day's run (before pat_a's payment): the history keeps both, newest issued first.
    earlier = await remit.post("/v1/statement-runs", json={"statement_date": "2026-11-20"}, headers=biller)
    assert earlier.status_code == 201
    assert [(i["guarantor_id"], i["amount_due"]) for i in earlier.json()["issued"]] == [("pat_a", "54.00")]
    history = await get(stack, tenant, "/v1/patients/pat_a/statements")
    assert [(h["statement_date"], h["amount_due"]) for h in history] == [("2026-11-20", "54.00"), (AS_OF, "24.00")]
    assert [r["id"] for r in await get(stack, tenant, "/v1/statement-runs")][-1] == run["id"]

    pdf = await remit.get(f"/v1/statements/{issued['id']}.pdf", headers=tenant.headers(Role.OPS))
    assert pdf.status_code == 200
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert f"Statement date: {AS_OF}" in text
    assert "Balance due: 24.00" in text
    assert "Pay to: Practice One" in text

    for url in (
        f"/v1/statement-runs/{run['id']}",
        f"/v1/statements/{issued['id']}.pdf",
        "/v1/patients/pat_a/statements",
    ):
        assert (await remit.get(url, headers=other.headers(Role.BILLER))).status_code == 404
    assert await get(stack, other, "/v1/statement-runs") == []
    refused = await remit.post("/v1/statement-runs", json={"min_balance": "0"}, headers=biller)
    assert refused.status_code == 422


async def test_deposits_reconcile_against_eras_by_trace_number(stack: Stack, books: Books) -> None:
    tenant = books.tenant
    era = books.era_ids
    before = await get(stack, tenant, "/v1/reconciliation")
    assert before["matched"] == []
    assert {r["id"] for r in before["unreconciled_remittances"]} == {
        era["EFT-P1-1"],
        era["EFT-P2-1"],
        era["EFT-P2-2a"],
        era["EFT-P2-2b"],
    }, "money reported with no deposit yet; the notification-only ERA is not waiting for one"
    assert before["unreconciled_remittance_total"] == "381.00"

    async def deposit(body: dict[str, Any]) -> Any:
        return await stack.client("remit-svc").post("/v1/deposits", json=body, headers=tenant.headers(Role.BILLER))

    first = await deposit(
        {"trace_number": "EFT-P1-1", "amount": "206.00", "deposit_date": "2026-11-12"} | {"payer_id": "60054"}
    )
    assert first.status_code == 201, first.text
    again = await deposit({"trace_number": "EFT-P1-1", "amount": "206.00", "deposit_date": "2026-11-12"})
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"]), "recording a deposit twice is a no-op"
    for body in (
        {"trace_number": "EFT-P2-2", "amount": "95.00", "deposit_date": "2026-11-19"},
        {"trace_number": "EFT-P2-1", "amount": "85.00", "deposit_date": "2026-11-21"},
        {"trace_number": "CHK999", "amount": "40.00", "deposit_date": "2026-11-21", "method": "CHK"},
    ):
        response = await deposit(body)
        assert response.status_code == 201, response.text
    assert len(await get(stack, tenant, "/v1/deposits")) == 4
    refused = await deposit({"trace_number": "X", "amount": "0.00", "deposit_date": "2026-11-21"})
    assert refused.status_code == 422

    result = await get(stack, tenant, "/v1/reconciliation")
    assert [(m["deposit"]["trace_number"], sorted(r["id"] for r in m["remittances"])) for m in result["matched"]] == [
        ("EFT-P1-1", [era["EFT-P1-1"]]),
        ("EFT-P2-2", sorted([era["EFT-P2-2a"], era["EFT-P2-2b"]])),  # one EFT reported in two 835s
    ]
    assert sorted(
        (m["deposit"]["trace_number"], m["remittance_total"], m["difference"]) for m in result["unreconciled_deposits"]
    ) == [("CHK999", "0.00", "40.00"), ("EFT-P2-1", "80.00", "5.00")]
    assert [r["id"] for r in result["unreconciled_remittances"]] == [era["EFT-P2-1"]]
    assert (result["unreconciled_deposit_total"], result["unreconciled_remittance_total"]) == ("45.00", "80.00")
    assert await ledger_total(stack, tenant.id) == 0, "deposits do not touch the ledger"


async def test_concurrent_postings_never_post_twice_or_refund_more_than_the_credit(stack: Stack) -> None:
    tenant = await stack.create_tenant("race")
    claim_id = f"clm_race_{uuid.uuid4().hex[:8]}"
    line = ClaimLineSubmitted(
        line_item_control_number="CFRACE-1",
        procedure_code="99213",
        units=Decimal(1),
        charge=Decimal("100.00"),
        service_date=date(2026, 11, 2),
    )
    claim = ClaimSubmitted(
        claim_id=claim_id,
        encounter_ids=("enc_race",),
        practice_id=tenant.practice_id,
        patient_id="pat_race",
        payer_id="60054",
        patient_control_number="CFRACE",
        claim_frequency_code="1",
        total_charge=Decimal("100.00"),
        lines=(line,),
        interchange_control_number="000000322",
        submitted_at=_at(date(2026, 11, 3)),
    )
    await _publish(stack, tenant, [(claim, "corr-race")])

    async def indexed() -> list[dict[str, Any]]:
        return await json_list(stack.client("remit-svc"), "/v1/open-claims", tenant.headers(Role.OPS))

    await eventually(indexed)
    body = {"patient_id": "pat_race", "amount": "40.00", "method": "card", "received_on": "2026-11-21"}
    same = await asyncio.gather(*(pay(stack, tenant, "payments", body, "race-payment-1") for _ in range(4)))
    assert sorted(r.status_code for r in same) == [200, 200, 200, 201], [r.text for r in same]
    assert len({r.json()["id"] for r in same}) == 1
    refunds = await asyncio.gather(*(pay(stack, tenant, "refunds", body) for _ in range(3)))
    assert sorted(r.status_code for r in refunds) == [201, 409, 409], [r.text for r in refunds]
    assert (await get(stack, tenant, "/v1/patients/pat_race/balance"))["balance"] == "0.00"
    assert await ledger_total(stack, tenant.id) == 0


async def test_statements_are_addressed_as_the_newest_claim_on_the_account_says(stack: Stack) -> None:
    tenant = await stack.create_tenant("addressed")
    suffix = uuid.uuid4().hex[:8]
    old_home = PostalAddress(line1="4 Oak Ave", city="Springfield", state="IL", postal_code="62702")
    new_home = PostalAddress(line1="77 Lake Rd", line2="Apt 5", city="Peoria", state="IL", postal_code="616021234")

    def submitted(key: str, patient: str, day: int, **extra: Any) -> tuple[ClaimSubmitted, str]:
        line = ClaimLineSubmitted(
            line_item_control_number=f"AD{suffix}{key}-1",
            procedure_code="99213",
            units=Decimal(1),
            charge=Decimal("120.00"),
            service_date=date(2026, 11, day),
        )
        event = ClaimSubmitted(
            claim_id=f"clm_{suffix}_{key}",
            encounter_ids=(f"enc_{suffix}_{key}",),
            practice_id=tenant.practice_id,
            patient_id=f"pat_{suffix}_{patient.split()[0].lower()}",
            payer_id="60054",
            patient_control_number=f"AD{suffix}{key}",
            claim_frequency_code="1",
            total_charge=line.charge,
            lines=(line,),
            interchange_control_number="000000654",
            submitted_at=_at(date(2026, 11, day + 1)),
            patient_name=patient,
            **extra,
        )
        return event, f"corr-{key}"

    family = f"gtr_{suffix}"
    parent = {"guarantor_id": family}
    rosa = {"first_name": "Rosa", "last_name": "Ruiz"}

    async def indexed(count: int) -> None:
        async def claims() -> list[dict[str, Any]] | None:
            found = await json_list(stack.client("remit-svc"), "/v1/open-claims?limit=500", tenant.headers(Role.OPS))
            return found if len(found) == count else None

        await eventually(claims)

    # The claim of Nov 4 moved the family; one of Nov 3, read after it, must not move them back.
    await _publish(
        stack,
        tenant,
        [
            submitted("a", "Ana Ruiz", 1, **parent, statement_to=Addressee(**rosa, address=old_home)),
            submitted("b", "Ben Ruiz", 3, **parent, statement_to=Addressee(**rosa, address=new_home)),
            submitted("d", "Eve Park", 2, guarantor_id=f"gtr_{suffix}_unknown"),  # nobody described
        ],
    )
    await indexed(3)
    late = submitted("c", "Ana Ruiz", 2, **parent, statement_to=Addressee(**rosa, address=old_home))
    await _publish(stack, tenant, [late])
    await indexed(4)
    statement = await get(stack, tenant, f"/v1/guarantors/{family}/statement")
    assert statement["mail_to"] == {
        "first_name": "Rosa",
        "last_name": "Ruiz",
        "address": {
            "line1": "77 Lake Rd",
            "line2": "Apt 5",
            "city": "Peoria",
            "state": "IL",
            "postal_code": "616021234",
        },
    }
    assert statement["mailable"] is True
    assert sorted(c["patient_name"] for c in statement["claims"]) == ["Ana Ruiz", "Ana Ruiz", "Ben Ruiz"]
    pdf = await stack.client("remit-svc").get(
        f"/v1/guarantors/{family}/statement.pdf", headers=tenant.headers(Role.BILLER)
    )
    assert pdf.status_code == 200, pdf.text
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert "Rosa Ruiz 77 Lake Rd Apt 5 Peoria, IL 61602-1234" in text, text
    assert "Pay to: Practice One 100 Main Street Springfield, IL 62701-1234" in text, "whom to pay, where to send it"
    assert "Patient Ben Ruiz - Date of service 2026-11-03" in text, text
    assert "4 Oak Ave" not in text

    unknown = await get(stack, tenant, f"/v1/guarantors/gtr_{suffix}_unknown/statement")
    assert (unknown["mail_to"], unknown["mailable"]) == (None, False)
    assert [c["patient_name"] for c in unknown["claims"]] == ["Eve Park"]
