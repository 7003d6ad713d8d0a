"""Faults injected while the whole pipeline runs a workload, and the invariants that must survive them.

Workload: a tenant's day of clean encounters (from the demo's ``plan_day``) posted to coding-svc; coding codes them
and eligibility-svc checks coverage; claims-svc builds, scrubs and submits the claims to the payer-sandbox and reads
the 999/277CA; the payers pay or deny (some denials) in an 835; remit-svc posts it and tells claims-svc. The stack is
private (own embedded broker, sandbox and databases); coding's, claims' and remit's workers run as real processes.

Faults:
1. a worker killed with SIGKILL mid-workload and started again — coding-svc, claims-svc and remit-svc in turn;
2. the broker stopped mid-workload (requests keep being taken) and started empty: the relays see their marker gone
   and re-publish from the outboxes, the consumers read everything again;
3. poison on the topics the services read: malformed bytes, an event type outside the contract, a schema version
   from the future, a payload that breaks its schema;
4. every record of claimflow.encounters and claimflow.claims produced a second time, from offset 0;
5. the same 835 uploaded twice (and once more in a new interchange envelope), and the mailbox read again from the
   start;
6. a second claims-svc API replica (a process, a claim pipeline of its own) killed with SIGKILL while the two submit
   the workload's claims: what it took and never sent goes out once its send lease runs out, by the other replica;
7. claims-svc's, then remit-svc's PostgreSQL database taken away mid-workload (every connection cut, new ones refused)
   while work for it waits on the broker. The shared local server is never stopped: the crash of a whole server is
   test_server_restart.py's, on a private server.
Long variant (``CLAIMFLOW_LONG_TESTS=1``): a bigger workload in waves, a worker (or all three) killed after each wave,
the broker restarted empty twice, and remit's and claims' workers killed again while the ERAs are being posted.

Invariants after each (see chaos.py; each test prints its figures as a ``[reliability]`` line):
every encounter version ends in exactly one claim; every event reached every consumer that handles it, once (its
inbox); every ERA is posted once (one remittance per fingerprint, one posted payment per adjudicated claim, charges
opened once, nothing left in insurance AR, claims-svc's paid amounts equal remit-svc's); the tenant's ledger sums to
zero; no outbox row left unsent; the DLQs hold exactly the poison injected — lost = 0 and duplicated = 0.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import col, select

from claimflow_events import EventCatalog, EventContractError, EventEnvelope, Topic, default_catalog
from claimflow_kit.directory import Role
from claimflow_kit.outbox import kafka_headers
from claimflow_kit.tables import OutboxMessage
from claimflow_kit.testing import DatabaseFactory, eventually
from claims_svc.adapters.tables import Claim, ClaimSubmission
from claims_svc.api.routes import PIPELINE_KEY
from claims_svc.service.pipeline import ClaimPipeline
from remit_svc.adapters.tables import MailboxCursor, OpenClaim, RemittanceFile

from .chaos import (
    PROCESS_WORKERS,
    ApiProcess,
    ChaosStack,
    FaultReport,
    chaos_stack,
    check_invariants,
    consumers_by_event_type,
    consumers_caught_up,
    consumers_of_topic,
    database_outage,
    effects_snapshot,
    new_workload,
    produce,
    redeliver_topic,
    reenvelope,
    release_eras,
    reset_mailbox_cursor,
    settle,
    unique_key,
)

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def chaos(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ChaosStack]:
    async with chaos_stack(databases, tmp_path_factory.mktemp("chaos")) as stack:
        yield stack
        for report in stack.reports:
            print(report.line())  # the whole module's figures once more


@pytest_asyncio.fixture(autouse=True)
async def everything_running(chaos: ChaosStack) -> None:
    """Each test starts with the broker and every worker up, whatever an earlier failure left behind."""
    await chaos.revive()


async def claims_built(chaos: ChaosStack, tenant: str) -> int:
    """How many claims claims-svc has built for ``tenant``."""
    async with chaos.database("claims-svc").transaction() as session:
        return (await session.exec(select(func.count()).select_from(Claim).where(Claim.tenant_id == tenant))).one()


async def started_on(chaos: ChaosStack, service: str, tenant: str) -> bool:
    """True once ``service``'s worker has done some of this tenant's work (so killing it cuts that work short)."""
    if service == "coding-svc":  # its relay has published some of the tenant's events
        async with chaos.database(service).transaction() as session:
            sent = await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant, col(OutboxMessage.sent_at).is_not(None))
            )
            return sent.one() > 0
    if service == "claims-svc":  # its claim builder has consumed some encounter-coded
        return await claims_built(chaos, tenant) > 0
    async with chaos.database(service).transaction() as session:  # remit's claim index has some claim-submitted
        indexed = await session.exec(select(func.count()).select_from(OpenClaim).where(OpenClaim.tenant_id == tenant))
        return indexed.one() > 0


@pytest.mark.parametrize("service", PROCESS_WORKERS)
async def test_a_worker_killed_mid_workload_loses_and_repeats_nothing(chaos: ChaosStack, service: str) -> None:
    workload = await new_workload(chaos, 16, seed=PROCESS_WORKERS.index(service) + 1)
    report = FaultReport(f"worker crash: {service}")
    await workload.post(chaos, 8)

    async def busy() -> bool:
        return await started_on(chaos, service, workload.tenant.id)

    await eventually(busy, within=30)
    await chaos.kill_worker(service)
    report.faults.append(f"kill -9 {service} worker")
    await workload.post(chaos)  # the rest arrives while the worker is dead: the API still takes it
    await chaos.start_worker(service)
    await check_invariants(chaos, workload, report)


async def test_a_claims_api_replica_killed_while_submitting_sends_each_claim_once(chaos: ChaosStack) -> None:
    workload = await new_workload(chaos, 16, seed=7)
    report = FaultReport("API replica crash: claims-svc")
    replica = ApiProcess("claims-svc", chaos.settings["claims-svc"], chaos.workers["claims-svc"].log_path.parent)
    in_process = cast(ClaimPipeline, chaos.stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY])
    replica.start()
    try:
        await replica.ready()
        async with chaos.sandbox_client() as sandbox:
            scenario = (await sandbox.get("/v1/scenario")).json()
            slow = {**scenario, "default": {**scenario["default"], "submission_delay_seconds": 1.0}}
            assert (await sandbox.put("/v1/scenario", json=slow)).status_code == 200
            try:
                # The in-process pipeline waits, so the replica takes the first claims; it dies while the
                # clearinghouse takes its file (1 s), leaving them "submitting" under its send lease.
                async with in_process._submit_lock:
                    await workload.post(chaos, 10)

                    async def in_flight() -> bool:
                        async with chaos.database("claims-svc").transaction() as session:
                            waiting = await session.exec(
                                select(func.count())
                                .select_from(Claim)
                                .where(Claim.tenant_id == workload.tenant.id, Claim.status == "submitting")
                            )
                            return waiting.one() > 0

                    await eventually(in_flight, within=60, interval=0.02)
                    replica.kill()
                    report.faults.append("kill -9 a claims-svc API replica while it sends an interchange")
                async with chaos.database("claims-svc").transaction() as session:
                    orphaned = (
                        await session.exec(
                            select(ClaimSubmission.id).where(
                                ClaimSubmission.tenant_id == workload.tenant.id, ClaimSubmission.status == "sending"
                            )
                        )
                    ).all()
                assert orphaned, "the replica died with an interchange on its way"
            finally:
                assert (await sandbox.put("/v1/scenario", json=scenario)).status_code == 200
        await workload.post(chaos)  # the rest goes out through the surviving replica
        await check_invariants(chaos, workload, report)
    finally:
        replica.stop()
    async with chaos.database("claims-svc").transaction() as session:
        sent = (
            await session.exec(
                select(ClaimSubmission.id, ClaimSubmission.claim_ids, ClaimSubmission.status).where(
                    ClaimSubmission.tenant_id == workload.tenant.id
                )
            )
        ).all()
    interchanges = Counter(claim for _, claim_ids, _ in sent for claim in claim_ids)
    assert [claim for claim, n in interchanges.items() if n > 1] == [], "a claim in two interchanges"
    assert {status for _, _, status in sent} == {"sent"}, "every interchange went out"
    assert set(orphaned) <= {submission for submission, _, _ in sent}, "the dead replica's file went out as stored"


async def sent_events(chaos: ChaosStack, service: str, *, tenant: str | None = None, event_type: str = "") -> int:
    """Events ``service``'s relay has published (of one tenant and type, when given)."""
    query = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.sent_at).is_not(None))
    if tenant is not None:
        query = query.where(OutboxMessage.tenant_id == tenant)
    if event_type:
        query = query.where(OutboxMessage.event_type == event_type)
    async with chaos.database(service).transaction() as session:
        return (await session.exec(query)).one()


async def test_a_broker_that_forgets_everything_is_refilled_from_the_outboxes(chaos: ChaosStack) -> None:
    workload = await new_workload(chaos, 16, seed=101)
    tenant = workload.tenant.id
    report = FaultReport("broker stop/start (memory lost)")
    await chaos.workers["remit-svc"].stop_gracefully()  # a consumer that falls behind: what it has not read ...
    await workload.post(chaos, 8)

    async def submitted() -> bool:
        return await sent_events(chaos, "claims-svc", tenant=tenant, event_type="claimflow.claim-submitted") > 0

    await eventually(submitted, within=30)  # ... is only in the broker's memory now
    had_sent = {s: await sent_events(chaos, s) > 0 for s in chaos.workers}
    logs_before = {s: w.log_text().count("re-publishing") for s, w in chaos.workers.items()}
    await chaos.stop_broker()
    report.faults.append("broker stopped")
    await workload.post(chaos)  # Kafka down: requests still succeed, their events wait in the outbox

    async def outage_visible() -> dict[str, Any] | None:
        ready = await chaos.stack.client("coding-svc").get("/readyz")
        body: dict[str, Any] = ready.json()
        return body if ready.status_code == 503 and body["checks"]["broker"] == "unavailable" else None

    await eventually(outage_visible, within=30)
    await chaos.start_broker()  # on the same port, with nothing in it
    report.faults.append("broker started empty")
    await chaos.start_worker("remit-svc")
    await check_invariants(chaos, workload, report)
    replayed = {s: w.log_text().count("re-publishing") - logs_before[s] for s, w in chaos.workers.items()}
    report.extra["relays that re-published"] = sum(1 for n in replayed.values() if n)
    assert replayed["claims-svc"] >= 1, "claims-svc's relay re-published what remit-svc had not read"
    assert all(replayed[s] >= 1 for s, sent in had_sent.items() if sent), f"every relay with events: {replayed}"


@pytest.mark.parametrize("service", ["claims-svc", "remit-svc"])
async def test_a_service_database_lost_mid_workload_delays_but_loses_nothing(chaos: ChaosStack, service: str) -> None:
    url = chaos.settings[service].database_url
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL to take a database away")
    workload = await new_workload(chaos, 16, seed=606 + PROCESS_WORKERS.index(service))
    report = FaultReport(f"database outage: {service}")
    await workload.post(chaos, 8)

    async def busy() -> bool:
        return await started_on(chaos, service, workload.tenant.id)

    await eventually(busy, within=30)
    tenant = workload.tenant.id
    submitted_before = await sent_events(chaos, "claims-svc", tenant=tenant, event_type="claimflow.claim-submitted")
    async with database_outage(url):
        report.faults.append(f"{service} database connections cut and refused")
        await workload.post(chaos)  # coding's own database is fine: the encounters are taken

        async def outage_visible() -> bool:
            ready = await chaos.stack.client(service).get("/readyz")
            return ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable")

        await eventually(outage_visible, within=30)

        async def work_waiting() -> bool:  # events the service must handle are on the broker while it cannot
            if service == "claims-svc":  # the new encounters' encounter-coded
                return await sent_events(chaos, "coding-svc", tenant=tenant) >= 2 * len(workload.documents)
            return (
                await sent_events(chaos, "claims-svc", tenant=tenant, event_type="claimflow.claim-submitted")
                > submitted_before
            )

        await eventually(work_waiting, within=30)
    await check_invariants(chaos, workload, report)


def _envelope(tenant: str, event_type: str, *, version: int = 1, data: dict[str, Any] | None = None) -> bytes:
    document = EventEnvelope(
        source="/claimflow/a-stranger",
        type=event_type,
        subject=f"{tenant}:poison",
        tenantid=tenant,
        correlationid=f"{tenant}:poison",
        schemaversion=version,
        data=data or {},
    )
    return document.to_json_bytes()


async def test_poison_events_go_to_their_dlq_and_the_pipeline_keeps_moving(chaos: ChaosStack) -> None:
    workload = await new_workload(chaos, 12, seed=202)
    tenant = workload.tenant.id
    handlers = consumers_by_event_type(chaos.settings)
    # (topic, raw value, who must dead-letter it: every consumer of the topic, or those handling the type, and why)
    poison: list[tuple[Topic, bytes, list[tuple[str, str]], str]] = [
        (
            Topic.ENCOUNTERS,
            b'{"specversion": "1.0", "id": "cut-off',
            consumers_of_topic(chaos.settings, Topic.ENCOUNTERS.value),
            "MalformedEnvelope",
        ),
        (
            Topic.CLAIMS,
            _envelope(tenant, "claimflow.claim-teleported"),
            consumers_of_topic(chaos.settings, Topic.CLAIMS.value),
            "UnknownEventType",
        ),
        (
            Topic.CLAIMS,
            _envelope(tenant, "claimflow.claim-submitted", version=99),
            handlers["claimflow.claim-submitted"],
            "UnknownSchemaVersion",
        ),
        (
            Topic.ENCOUNTERS,
            _envelope(tenant, "claimflow.encounter-coded", data={"encounter_id": 7}),
            handlers["claimflow.encounter-coded"],
            "InvalidPayload",
        ),
    ]
    expected: Counter[tuple[str, str]] = Counter()
    for _, _, consumers, code in poison:
        expected.update((consumer, code) for _, consumer in consumers)
    report = FaultReport("poison events")
    await workload.post(chaos, 6)
    for topic, value, _, code in poison:
        headers = kafka_headers(json.loads(value)) if code != "MalformedEnvelope" else []
        await produce(chaos, topic.value, [(unique_key(tenant, code), value, headers)])
        report.faults.append(f"{code} on {topic.value}")
    await workload.post(chaos)
    await check_invariants(chaos, workload, report, expected_dead_letters=expected)


def readable(value: bytes, catalog: EventCatalog) -> EventEnvelope | None:
    """The envelope of a record a consumer can handle (None for poison)."""
    try:
        envelope = EventEnvelope.from_json_bytes(value)
        catalog.payload(envelope)
    except (ValidationError, EventContractError):
        return None
    return envelope


async def test_a_topic_delivered_twice_changes_nothing(chaos: ChaosStack) -> None:
    workload = await new_workload(chaos, 12, seed=303)
    report = FaultReport("whole topics redelivered")
    await workload.post(chaos)
    await settle(chaos, workload)
    before = await effects_snapshot(chaos)
    duplicates_before = sum([await w.consumed("duplicate") for w in chaos.workers.values()])
    handlers = consumers_by_event_type(chaos.settings)
    catalog = default_catalog()
    expected_duplicates = 0
    for topic in (Topic.ENCOUNTERS, Topic.CLAIMS):
        ends, values = await redeliver_topic(chaos, topic.value)
        report.faults.append(f"{len(values)} records of {topic.value} again")
        report.extra[f"redelivered {topic.name.lower()}"] = len(values)
        for value in values:
            envelope = readable(value, catalog)
            if envelope is None:  # poison another test left on the topic: it goes to the DLQ again
                continue
            expected_duplicates += sum(1 for s, _ in handlers.get(envelope.type, []) if s in chaos.workers)
        await consumers_caught_up(chaos, topic.value, ends)
    duplicates = sum([await w.consumed("duplicate") for w in chaos.workers.values()]) - duplicates_before
    report.extra["duplicates absorbed"] = duplicates
    assert await effects_snapshot(chaos) == before, "a redelivered event changed something"
    assert duplicates >= expected_duplicates, "every redelivered event went through the inbox again"
    await check_invariants(chaos, workload, report)


async def test_the_same_835_twice_posts_once(chaos: ChaosStack) -> None:
    workload = await new_workload(chaos, 10, seed=404)
    tenant = workload.tenant
    report = FaultReport("835 twice")
    await workload.post(chaos)
    await settle(chaos, workload)
    before = await effects_snapshot(chaos)
    async with chaos.database("remit-svc").transaction() as session:
        files = list(
            (
                await session.exec(
                    select(RemittanceFile.content).where(
                        RemittanceFile.tenant_id == tenant.id, col(RemittanceFile.source).startswith("mailbox:")
                    )
                )
            ).all()
        )
    assert files, "the ERAs came through the mailbox"
    remit = chaos.stack.client("remit-svc")
    headers = {**tenant.headers(Role.BILLER), "Content-Type": "application/edi-x12"}
    uploads = 0
    for content in files:
        for body in (content, content, reenvelope(content)):
            response = await remit.post("/v1/remittances", content=body.encode(), headers=headers)
            assert response.status_code == 200, response.text  # 200: nothing new in the file
            assert {era["status"] for era in response.json()["remittances"]} == {"duplicate"}
            uploads += 1
    report.faults.append(f"{uploads} uploads of ERAs already posted")

    cursors = await reset_mailbox_cursor(chaos, tenant.id)
    assert cursors, "remit-svc had read the tenant's mailbox"

    async def read_again() -> list[str | None]:
        async with chaos.database("remit-svc").transaction() as session:
            found = list(
                (await session.exec(select(MailboxCursor.cursor).where(MailboxCursor.tenant_id == tenant.id))).all()
            )
        return found if found == cursors else []

    await eventually(read_again, within=30)
    report.faults.append(f"mailbox read again from the start ({len(files)} 835 files)")
    report.extra["835 uploads"] = uploads
    assert await effects_snapshot(chaos) == before, "an 835 read again changed something"
    await check_invariants(chaos, workload, report)


@pytest.mark.slow
async def test_every_worker_killed_repeatedly_and_the_broker_restarted(chaos: ChaosStack) -> None:
    """Eight waves of encounters; after each, SIGKILL one worker (every fourth wave: all three) once it is busy, and
    twice restart the broker empty; then kill remit's and claims' workers again while the ERAs are being posted."""
    waves, per_wave = 8, 8
    workload = await new_workload(chaos, waves * per_wave, seed=505)
    tenant = workload.tenant.id
    report = FaultReport("long: workers killed repeatedly, broker restarted, kills during posting")
    for wave in range(waves):
        built = await claims_built(chaos, tenant)
        await workload.post(chaos, per_wave)

        async def progressing(before: int = built) -> bool:
            return await claims_built(chaos, tenant) > before

        await eventually(progressing, within=60)
        victims = PROCESS_WORKERS if wave % 4 == 3 else (PROCESS_WORKERS[wave % 4],)
        for service in victims:
            await chaos.kill_worker(service)
            report.faults.append(f"kill -9 {service}")
        if wave in (2, 5):
            await chaos.stop_broker()
            await chaos.start_broker()
            report.faults.append("broker restarted empty")
        for service in victims:
            await chaos.start_worker(service)
    files = await release_eras(chaos, workload, within=180)
    for service in ("remit-svc", "claims-svc"):  # payment-posted and claim-denied are on their way
        await chaos.kill_worker(service)
        report.faults.append(f"kill -9 {service} while {files} 835 files are posted")
    for service in ("remit-svc", "claims-svc"):
        await chaos.start_worker(service)
    await check_invariants(chaos, workload, report, within=240)
