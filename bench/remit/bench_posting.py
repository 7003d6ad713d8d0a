"""835 claim payments posted per second, end to end in remit-svc: parse + validate + match + ledger + events.

Run: ``uv run python bench/remit/bench_posting.py [--claims 20000] [--era-size 1000] [--database sqlite|postgresql]``.

Set-up (not timed): a fresh remit-svc database, migrated, holding ``--claims`` submitted claims (1-4 lines each) with
their charges on the ledger. Timed: ``RemittancePoster.ingest`` of 835 files of ``--era-size`` claim payments each —
the same call the upload API and the mailbox reader make: parse, validate (balancing), duplicate check, match
claims and lines, write the ledger entries, the claim payment rows and the outbox events, one transaction per ERA.
Side by side in the same run, the floor: parsing the same files with the X12 library only (what any 835 reader
must pay), so the ratio shows what posting costs on top.

``--late``: the ERAs are posted before their claims are known (every payment waits), then the claims arrive and
each posts its waiting payment (``post_waiting_payments``, as the worker's claim-submitted handler does).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, text
from sqlmodel import select

from claimflow_events import default_catalog
from claimflow_kit.app import ServiceContext
from claimflow_kit.auth import Authenticator
from claimflow_kit.db import Database
from claimflow_kit.metrics import Metrics
from claimflow_kit.migrations import upgrade_async
from claimflow_kit.outbox import Outbox
from claimflow_kit.runtime import tune_garbage_collector
from claimflow_kit.tables import OutboxMessage
from claimflow_x12 import Envelope, parse, write_interchange
from claimflow_x12.guides.remittance_835 import (
    Bpr,
    ClaimPaymentLoop,
    ClaimStatusCode,
    Clp,
    HeaderNumberLoop,
    PayeeLoop,
    PayerLoop,
    PaymentMethodCode,
    Remittance835,
    ServicePaymentLoop,
    Svc,
    TransactionHandlingCode,
)
from claimflow_x12.segments import (
    N1,
    N3,
    N4,
    Adjustment,
    Cas,
    ClaimAdjustmentGroupCode,
    ClaimFilingIndicatorCode,
    Dtm,
    EntityTypeQualifier,
    Lx,
    Nm1,
    Ref,
    St,
    Trn,
)
from remit_svc.adapters.tables import OpenClaim
from remit_svc.config import RemitSettings
from remit_svc.service.posting import RemittancePoster, post_waiting_payments

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
PROCEDURES = ["99213", "99214", "93000", "36415", "85025", "80053", "71046", "20610", "97110", "90686"]
DOS = date(2026, 11, 2)
TENANT = "bench"
CENT = Decimal("0.01")


def claims(count: int, seed: int = 11) -> list[OpenClaim]:
    """Submitted claims with 1-4 lines (charges 40-400)."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        pcn = f"CF{index:018d}"
        lines = [
            {
                "line_item_control_number": f"{pcn}-{n}",
                "procedure_code": rng.choice(PROCEDURES),
                "modifiers": "",
                "charge": f"{rng.randint(40, 400)}.00",
                "service_date": DOS.isoformat(),
            }
            for n in range(1, rng.randint(1, 4) + 1)
        ]
        out.append(
            OpenClaim(
                id=f"clm_{index}",
                tenant_id=TENANT,
                patient_control_number=pcn,
                payer_id="60054",
                patient_id=f"pat_{index % 5000}",
                guarantor_id=f"pat_{index % 4000}",  # some guarantors answer for two patients
                total_charge=sum((Decimal(line["charge"]) for line in lines), Decimal(0)),
                submitted_at=datetime(2026, 11, 3, tzinfo=UTC),
                practice_id="prac_1",
                correlation_id=f"corr_{index}",
                service_date=DOS,
                lines=lines,
            )
        )
    return out


def _payment(claim: OpenClaim) -> ClaimPaymentLoop:
    """Allowed 80 %: CO 45 for the rest, 10 % of the charge as coinsurance (PR 2), the payer pays the remainder."""
    services = []
    for line in claim.lines:
        charge = Decimal(line["charge"])
        contractual = (charge * Decimal("0.20")).quantize(CENT)
        coinsurance = (charge * Decimal("0.10")).quantize(CENT)
        services.append(
            ServicePaymentLoop(
                service=Svc(
                    procedure_qualifier="HC",
                    procedure_code=line["procedure_code"],
                    line_charge=charge,
                    paid_amount=charge - contractual - coinsurance,
                ),
                dates=[Dtm(qualifier="472", date=DOS)],
                adjustments=[
                    Cas(group_code=ClaimAdjustmentGroupCode.CONTRACTUAL, adjustments=[Adjustment("45", contractual)]),
                    Cas(
                        group_code=ClaimAdjustmentGroupCode.PATIENT_RESPONSIBILITY,
                        adjustments=[Adjustment("2", coinsurance)],
                    ),
                ],
                references=[Ref(qualifier="6R", value=line["line_item_control_number"])],
            )
        )
    paid = sum((s.service.paid_amount for s in services), Decimal(0))
    patient = sum((s.adjustments[1].total for s in services), Decimal(0))
    return ClaimPaymentLoop(
        claim=Clp(
            patient_control_number=claim.patient_control_number,
            status=ClaimStatusCode.PROCESSED_AS_PRIMARY,
            total_charge=claim.total_charge,
            paid_amount=paid,
            patient_responsibility=patient,
            claim_filing_indicator=ClaimFilingIndicatorCode.COMMERCIAL,
            payer_claim_control_number=f"P{claim.patient_control_number}",
        ),
        patient=Nm1(
            entity_identifier="QC",
            entity_type=EntityTypeQualifier.PERSON,
            last_name_or_organization="PATIENT",
            first_name="BENCH",
            id_qualifier="MI",
            identifier="W123456789",
        ),
        service_lines=services,
    )


def era_file(batch: list[OpenClaim], number: int) -> bytes:
    """One 835 (one ERA) paying ``batch``, written by the X12 library's writer."""
    payments = [_payment(c) for c in batch]
    total = sum((p.claim.paid_amount for p in payments), Decimal(0))
    remittance = Remittance835(
        header=St(transaction_set_id="835", control_number="0001", implementation_reference="005010X221A1"),
        financial_information=Bpr(
            transaction_handling=TransactionHandlingCode.REMITTANCE_ONLY,
            total_payment=total,
            credit_debit_flag="C",
            payment_method=PaymentMethodCode.ACH,
            payment_date=date(2026, 11, 20),
        ),
        trace=Trn(trace_type_code="1", reference_id=f"EFT{number:08d}", originating_company_id="1999999999"),
        payer=PayerLoop(
            payer=N1(entity_identifier="PR", name="SANDBOX HEALTH PLAN"),
            address=N3(address_line_1="PO BOX 1000"),
            city_state_zip=N4(city="SANDBOX CITY", state="IL", postal_code="60601"),
            references=[Ref(qualifier="2U", value="60054")],
        ),
        payee=PayeeLoop(
            payee=N1(entity_identifier="PE", name="PRACTICE ONE", id_qualifier="XX", identifier="1234567893")
        ),
        header_numbers=[HeaderNumberLoop(header_number=Lx(assigned_number=1), claims=payments)],
    )
    envelope = Envelope(
        sender_id="PAYERSANDBOX", receiver_id="CLAIMFLOW", interchange_control_number=number,
        group_control_number=number, transaction_control_numbers=[1], created_at=datetime(2026, 11, 20, tzinfo=UTC),
    )  # fmt: skip
    return write_interchange(envelope, [remittance]).encode()


async def database_url(kind: str) -> tuple[str, str | None]:
    """A fresh database for remit-svc (and the PostgreSQL database to drop afterwards)."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="claimflow-bench-remit-"))
        return f"sqlite+aiosqlite:///{folder / 'remit.db'}", None
    import asyncpg

    name = f"bench_remit_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(LOCAL_POSTGRES)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", name


async def drop(name: str | None) -> None:
    """Drop the benchmark's PostgreSQL database."""
    if name is None:
        return
    import asyncpg

    connection = await asyncpg.connect(LOCAL_POSTGRES)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def context_for(url: str) -> ServiceContext:
    """What RemittancePoster needs from an API process: the database and the outbox."""
    settings = RemitSettings(database_url=url, directory_url=url)
    database = Database(url, pool_size=4)
    catalog = default_catalog()
    return ServiceContext(
        settings=settings,
        database=database,
        directory=database,
        authenticator=Authenticator(settings, database),
        metrics=Metrics("remit-svc"),
        catalog=catalog,
        outbox=Outbox(catalog, settings.source),
    )


async def run_late(count: int, era_size: int, kind: str) -> None:
    """The ERAs come before their claims (remit-svc's worker behind): every payment waits, unmatched; then the claims
    arrive as claim-submitted does, 100 to a transaction, and each posts the payment that waited for it."""
    url, dropped = await database_url(kind)
    try:
        await upgrade_async("remit_svc", url)
        context = context_for(url)
        submitted = claims(count)
        files = [era_file(submitted[i : i + era_size], i // era_size + 1) for i in range(0, count, era_size)]
        poster = RemittancePoster(context)
        for content in files:
            report = await poster.ingest(TENANT, content)
            assert [r.unmatched for r in report.remittances] == [min(era_size, count)], report
        tune_garbage_collector(context.settings.gc_threshold)
        posted = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, count, 100):
            async with context.database.transaction() as session:
                for claim in submitted[start : start + 100]:
                    session.add(claim)
                    await RemittancePoster.open_claim_postings(session, claim)
                    posted += await post_waiting_payments(session, context.outbox, claim)
        ours, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert posted == count, f"{posted} of {count} waiting payments posted"
        await context.database.dispose()
    finally:
        await drop(dropped)
    print(f"{count} claims arriving after their payments, {len(files)} ERAs of {era_size}, database {kind}")
    print(f"| waiting payments posted as their claims arrive | {count} | {ours:.2f} s | {count / ours:,.0f}/s |")
    print(f"CPU per claim: {cpu / count * 1e6:.0f} µs")


async def run(count: int, era_size: int, kind: str) -> None:
    url, dropped = await database_url(kind)
    try:
        await upgrade_async("remit_svc", url)
        context = context_for(url)
        submitted = claims(count)
        async with context.database.transaction() as session:
            for claim in submitted:
                session.add(claim)
                await RemittancePoster.open_claim_postings(session, claim)
        if kind == "postgresql":  # a live database has planner statistics (autovacuum); a fresh one has none
            async with context.database.engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
        files = [era_file(submitted[i : i + era_size], i // era_size + 1) for i in range(0, count, era_size)]
        lines = sum(len(c.lines) for c in submitted) / count
        print(f"{count} claims ({lines:.1f} lines each), {len(files)} ERAs of {era_size}, database {kind}")

        gc.collect()
        started = time.perf_counter()
        for content in files:
            parse(content)
        floor = time.perf_counter() - started

        tune_garbage_collector(context.settings.gc_threshold)  # as every service process does once started
        poster = RemittancePoster(context)
        started, cpu_started = time.perf_counter(), time.process_time()
        for content in files:
            report = await poster.ingest(TENANT, content)
            assert [r.status for r in report.remittances] == ["posted"], report
        ours, cpu = time.perf_counter() - started, time.process_time() - cpu_started

        async with context.database.transaction() as session:
            events = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
        assert events >= count, f"{events} events for {count} claims"
        await context.database.dispose()
    finally:
        await drop(dropped)
    print("| path | claim payments | seconds | claims/s |")
    print("|---|---|---|---|")
    print(f"| floor: parse the 835s only | {count} | {floor:.2f} | {count / floor:,.0f} |")
    name = f"ClaimFlow: parse + validate + match + ledger + events ({kind})"
    print(f"| {name} | {count} | {ours:.2f} | {count / ours:,.0f} |")
    print(f"ratio ClaimFlow / floor: {floor / ours:.2f}; events written: {events}")
    # CPU of every thread of the process (the event loop and aiosqlite's), so a busy machine skews it less
    print(f"CPU per claim payment: {cpu / count * 1e6:.0f} µs ({count / cpu:,.0f} claims per CPU-second)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--era-size", type=int, default=1_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--late", action="store_true", help="the ERAs come first; time the claims arriving after")
    arguments = parser.parse_args()
    scenario = run_late if arguments.late else run
    asyncio.run(scenario(arguments.claims, arguments.era_size, arguments.database))


if __name__ == "__main__":
    main()
