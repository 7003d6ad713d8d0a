"""Fault-injection harness of the reliability suite: a private stack whose workers are real processes, a workload
from the demo's day of billing, the faults, and the invariants every fault must leave intact.

The stack has its own embedded broker, sandbox and databases. Its faults (a worker killed with SIGKILL, a broker
that forgets everything) must not reach the other tests, and its consumer groups are named per service, not per
stack: on the session's broker they would share partitions with the session stack's workers.

What is measured after a fault, for the workload's tenant, straight from the services' databases:

- lost: an encounter version without a claim, a submitted claim remit-svc never indexed, an (event, consumer)
  pair missing from that consumer's inbox, an outbox row never published, a claim with no posted payment;
- duplicated: a second claim for one encounter version, charges opened twice, an ERA fingerprint or a claim payment
  posted twice, payments claims-svc counted more than once, a DLQ letter nobody injected;
- the ledger of the tenant sums to zero and every adjudicated claim leaves nothing in insurance AR.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, func
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from claimflow.demo import DayOptions, plan_day
from claimflow.sandbox_config import SANDBOX_PAYERS
from claimflow.services import SERVICES
from claimflow.testing import SandboxServer, Stack, TenantFixture, build_stack
from claimflow_events import Topic
from claimflow_kit.config import ServiceSettings
from claimflow_kit.db import Database
from claimflow_kit.directory import Role
from claimflow_kit.dlq import DeadLetter, list_dead_letters
from claimflow_kit.embedded import EmbeddedBroker, free_port
from claimflow_kit.kafka import new_producer
from claimflow_kit.tables import ConsumerPosition, InboxRecord, OutboxMessage
from claimflow_kit.testing import BrokerHandle, DatabaseFactory
from claims_svc.adapters.tables import Claim
from coding_svc.adapters.tables import Encounter
from remit_svc.adapters.tables import ClaimPaymentRecord, LedgerEntry, MailboxCursor, OpenClaim, Remittance

PROCESS_WORKERS = ("coding-svc", "claims-svc", "remit-svc")  # run as real processes: they are the ones killed
IN_FLIGHT = ("draft", "ready", "submitting", "submitted", "accepted")  # claims-svc statuses before adjudication
ADJUDICATED = ("paid", "partially_paid", "denied")
NPI = "1234567893"  # the practice TenantFixture creates


# --- workers as real processes ---------------------------------------------------------------------------------


class WorkerProcess:
    """One service's worker as deployments run it: ``python -m claimflow run <service> worker`` with its env."""

    def __init__(self, service: str, settings: ServiceSettings, log_dir: Path) -> None:
        self.service = service
        self.settings = settings
        self.log_path = log_dir / f"{service}-worker.log"
        self.metrics_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        """The ``CLAIMFLOW_*`` variables that reproduce the in-process settings of this service."""
        env = dict(os.environ)
        for name, value in self.settings.model_dump(mode="json", exclude_unset=True).items():
            if value is not None:  # only API-side settings are None here (e.g. no batch window)
                env[f"CLAIMFLOW_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        env["CLAIMFLOW_WORKER_METRICS_PORT"] = str(self.metrics_port)
        return env

    def start(self) -> None:
        """Start the process (returns at once; ``ready`` waits for it)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.metrics_port = free_port()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-m", "claimflow", "run", self.service, "worker"],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, within: float = 30.0) -> None:
        """Wait until the process serves its metrics (it does so just before its consumers start)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                assert self.process.poll() is None, f"{self.service} worker exited; see {self.log_path}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.metrics_url)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.service} worker not up within {within}s; see {self.log_path}")

    @property
    def metrics_url(self) -> str:
        """Where the worker serves Prometheus metrics."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def kill(self) -> None:
        """SIGKILL: no graceful stop, no flush, no offset commit, leases left behind."""
        assert self.process is not None
        assert self.process.poll() is None, f"{self.service} worker is not running"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def stop_gracefully(self) -> None:
        """SIGTERM: the worker finishes its batch, commits and leaves its consumer groups."""
        await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after a grace period."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    async def consumed(self, outcome: str) -> int:
        """Events this process's consumers handled with ``outcome`` (processed, duplicate, ignored, dead-lettered)."""
        async with httpx.AsyncClient(timeout=5.0) as client:
            text = (await client.get(self.metrics_url)).text
        return sum(
            int(sample.value)
            for family in text_string_to_metric_families(text)
            if family.name == "claimflow_events_consumed"
            for sample in family.samples
            if sample.name.endswith("_total") and sample.labels.get("outcome") == outcome
        )

    def log_text(self) -> str:
        """Everything the worker has logged so far (every run appends)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ApiProcess(WorkerProcess):
    """A second replica of a service's API as deployments run it: ``python -m claimflow run <service> api``. For
    claims-svc that is a second claim pipeline sharing the database with the stack's in-process one."""

    def __init__(self, service: str, settings: ServiceSettings, log_dir: Path) -> None:
        super().__init__(service, settings, log_dir)
        self.log_path = log_dir / f"{service}-api.log"
        self.port = 0

    def start(self) -> None:
        """Start the process on a free port (returns at once; ``ready`` waits for it)."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "claimflow", "run", self.service, "api", "--port", str(self.port)],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def metrics_url(self) -> str:
        """Its health endpoint (``ready`` polls it)."""
        return f"http://127.0.0.1:{self.port}/healthz"


# --- the stack ---------------------------------------------------------------------------------------------------


@dataclass
class ChaosStack:
    """Every service (APIs and eligibility's worker in-process, three workers as processes) on a private broker."""

    stack: Stack
    broker: EmbeddedBroker
    sandbox: SandboxServer
    workers: dict[str, WorkerProcess]
    databases: dict[str, Database] = field(default_factory=dict)
    reports: list[FaultReport] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, ServiceSettings]:
        """Settings of every service."""
        return self.stack.settings

    def database(self, service: str) -> Database:
        """A handle on a service's database kept for the stack's life."""
        if service not in self.databases:
            self.databases[service] = Database(self.settings[service].database_url, pool_size=2)
        return self.databases[service]

    async def kill_worker(self, service: str) -> None:
        """``kill -9`` a service's worker process."""
        self.workers[service].kill()

    async def start_worker(self, service: str) -> None:
        """Start a service's worker process again and wait until it is up."""
        self.workers[service].start()
        await self.workers[service].ready()

    async def revive(self) -> None:
        """Start the broker and any worker process that is not running."""
        if not self.broker.running:
            await self.start_broker()
        for service, worker in self.workers.items():
            if worker.process is None or worker.process.poll() is not None:
                await self.start_worker(service)

    async def stop_broker(self) -> None:
        """Stop the embedded broker (in a thread: the in-process services keep running meanwhile)."""
        await asyncio.to_thread(self.broker.stop)

    async def start_broker(self) -> None:
        """Start the embedded broker again on its port, empty."""
        await asyncio.to_thread(self.broker.start)

    def sandbox_client(self) -> httpx.AsyncClient:
        """A client of the private payer-sandbox."""
        return httpx.AsyncClient(base_url=self.sandbox.url, timeout=30)


@contextlib.asynccontextmanager
async def chaos_stack(databases: DatabaseFactory, log_dir: Path, *, seed: int = 11) -> AsyncIterator[ChaosStack]:
    """Start the private stack; stop everything at the end."""
    broker = EmbeddedBroker(log_path=log_dir / "broker.log")
    broker.start()
    sandbox = SandboxServer(seed=seed)
    workers: dict[str, WorkerProcess] = {}
    try:
        handle = BrokerHandle(broker.bootstrap_servers, "embedded", broker)
        stack = await build_stack(handle, databases, sandbox_url=await sandbox.start())
        # Claims go out as soon as they are clean (no biller in this workload).
        # An interchange whose sender died is sent again after 3 s (a claims-svc API replica killed mid-send).
        claims = stack.settings["claims-svc"]
        stack.settings["claims-svc"] = claims.model_copy(
            update={"claims_batch_window_seconds": 0.0, "claims_resend_after_seconds": 3.0}
        )
        chaos = ChaosStack(stack, broker, sandbox, workers)
        try:
            await stack.open()
            await stack.start_worker("eligibility-svc")
            for service in PROCESS_WORKERS:
                workers[service] = WorkerProcess(service, stack.settings[service], log_dir)
                workers[service].start()
            for service in PROCESS_WORKERS:
                await workers[service].ready()
            async with chaos.sandbox_client() as client:
                scenario = (await client.get("/v1/scenario")).json()
                # Payers adjudicate on the day (the test releases ERAs with a check run) and deny some claims.
                scenario["default"] = {**scenario["default"], "adjudication_days": 0, "denial_rate": 0.15}
                assert (await client.put("/v1/scenario", json=scenario)).status_code == 200
            yield chaos
        finally:
            for worker in workers.values():
                worker.stop()
            await stack.close()
            for database in chaos.databases.values():
                await database.dispose()
    finally:
        await sandbox.stop()
        broker.stop()


# --- the workload ------------------------------------------------------------------------------------------------


@dataclass
class Workload:
    """One tenant's day: encounter documents to post and what became of them."""

    tenant: TenantFixture
    documents: list[dict[str, Any]]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    encounter_ids: list[str] = field(default_factory=list)
    posted: int = 0

    async def post(self, chaos: ChaosStack, count: int | None = None) -> list[str]:
        """POST the next ``count`` documents (all that are left by default) to coding-svc; each must be taken."""
        batch = self.documents[self.posted : None if count is None else self.posted + count]
        self.posted += len(batch)
        coding = chaos.stack.client("coding-svc")
        headers = self.tenant.headers(Role.EHR_INTEGRATION)
        limit = asyncio.Semaphore(4)

        async def post_one(document: dict[str, Any]) -> str:
            async with limit:
                response = await coding.post("/v1/encounters", json=document, headers=headers)
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        ids = list(await asyncio.gather(*(post_one(d) for d in batch)))
        self.encounter_ids += ids
        return ids


async def new_workload(chaos: ChaosStack, encounters: int, *, seed: int) -> Workload:
    """A fresh tenant and ``encounters`` clean encounter documents from the demo's day planner."""
    tenant = await chaos.stack.create_tenant("chaos")
    async with chaos.sandbox_client() as client:
        members = [
            m
            for m in (await client.get("/v1/population/members?status=active&limit=5000")).json()
            if m["payer_id"] in SANDBOX_PAYERS and m["person_code"] == "00"
        ]
    # Coding problems and mistyped member ids are other tests' business: every encounter here should get paid.
    options = DayOptions(encounters=encounters, seed=seed, coding_problem_rate=0.0, eligibility_problem_rate=0.0)
    documents, _ = plan_day(members, [(tenant.practice_id, NPI)], datetime.now(UTC).date(), options)
    return Workload(tenant, documents)


# --- observing the services' databases ---------------------------------------------------------------------------


def consumers_by_event_type(settings: dict[str, ServiceSettings]) -> dict[str, list[tuple[str, str]]]:
    """For each event type, the (service, consumer) pairs that handle it — who must have it in their inbox."""
    found: dict[str, list[tuple[str, str]]] = {}
    for service, spec in SERVICES.items():
        for subscription in spec.subscriptions(settings[service]):
            consumer = f"{settings[service].service_name}.{subscription.name}"
            for payload in subscription.handlers:
                found.setdefault(f"claimflow.{payload.event_type}", []).append((service, consumer))
    return found


def consumers_of_topic(settings: dict[str, ServiceSettings], topic: str) -> list[tuple[str, str]]:
    """The (service, consumer) pairs whose consumer group reads ``topic``."""
    found = []
    for service, spec in SERVICES.items():
        for subscription in spec.subscriptions(settings[service]):
            if any(payload.topic.value == topic for payload in subscription.handlers):
                found.append((service, f"{settings[service].service_name}.{subscription.name}"))
    return found


@dataclass
class Observation:
    """Where one tenant's workload stands, read from every service's database."""

    encounters: int = 0
    claims: Counter[str] = field(default_factory=Counter)
    unclaimed: list[str] = field(default_factory=list)  # encounter versions without a claim
    surplus_claims: int = 0  # claims beyond one per encounter version and payer
    submitted: int = 0
    unindexed: list[str] = field(default_factory=list)  # submitted claims remit-svc does not know
    remittances: int = 0
    unsent: dict[str, int] = field(default_factory=dict)  # every tenant's outbox rows not yet published
    deliveries: int = 0  # (event, consumer) pairs that must be in an inbox
    undelivered: list[str] = field(default_factory=list)

    @property
    def ready_for_adjudication(self) -> bool:
        """Every claim is built, sent, acknowledged and known to remit-svc: the payers may pay."""
        sending = sum(self.claims[s] for s in ("draft", "ready", "submitting", "submitted"))
        return not self.unclaimed and sending == 0 and not self.unindexed

    @property
    def settled(self) -> bool:
        """Nothing is in flight any more."""
        in_flight = sum(self.claims[s] for s in IN_FLIGHT)
        return (
            self.ready_for_adjudication
            and in_flight == 0
            and not any(self.unsent.values())
            and not self.undelivered
            and self.encounters > 0
        )

    def describe(self) -> str:
        """A short account for failure messages."""
        return (
            f"encounters={self.encounters} claims={dict(self.claims)} unclaimed={self.unclaimed[:5]} "
            f"unindexed={self.unindexed[:5]} remittances={self.remittances} unsent={self.unsent} "
            f"undelivered={len(self.undelivered)} {self.undelivered[:8]}"
        )


async def observe(chaos: ChaosStack, workload: Workload) -> Observation:
    """Read the workload's state from the services' databases."""
    tenant = workload.tenant.id
    seen = Observation()
    async with chaos.database("coding-svc").transaction() as session:
        encounters = (
            await session.exec(select(Encounter.id, Encounter.version).where(Encounter.tenant_id == tenant))
        ).all()
    seen.encounters = len(encounters)
    async with chaos.database("claims-svc").transaction() as session:
        claims = (await session.exec(select(Claim).where(Claim.tenant_id == tenant, Claim.correction == 0))).all()
    # One claim per encounter version and payer: the primary's, plus the next payer's when the patient has
    # another plan (a secondary claim follows the primary's payment).
    per_version = Counter((c.encounter_id, c.encounter_version, c.payer_sequence) for c in claims)
    seen.claims = Counter(c.status for c in claims)
    seen.unclaimed = [f"{e}@{v}" for e, v in encounters if per_version[(e, v, "primary")] == 0]
    seen.surplus_claims = sum(n - 1 for n in per_version.values() if n > 1)
    submitted = {c.id for c in claims if c.submitted_at is not None}
    seen.submitted = len(submitted)
    async with chaos.database("remit-svc").transaction() as session:
        indexed = set((await session.exec(select(OpenClaim.id).where(OpenClaim.tenant_id == tenant))).all())
        seen.remittances = (
            await session.exec(select(func.count()).select_from(Remittance).where(Remittance.tenant_id == tenant))
        ).one()
    seen.unindexed = sorted(submitted - indexed)
    handlers = consumers_by_event_type(chaos.settings)
    events: list[tuple[str, str]] = []
    inboxes: dict[str, set[tuple[str, str]]] = {}
    since = workload.started - timedelta(seconds=5)
    for service in SERVICES:
        async with chaos.database(service).transaction() as session:
            seen.unsent[service] = (
                await session.exec(
                    select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
                )
            ).one()
            events += [
                (str(i), str(t))
                for i, t in (
                    await session.exec(
                        select(OutboxMessage.event_id, OutboxMessage.event_type).where(
                            OutboxMessage.tenant_id == tenant
                        )
                    )
                ).all()
            ]
            inboxes[service] = {
                (str(c), str(e))
                for c, e in (
                    await session.exec(
                        select(InboxRecord.consumer, InboxRecord.event_id).where(InboxRecord.processed_at >= since)
                    )
                ).all()
            }
    for event_id, event_type in events:
        for service, consumer in handlers.get(event_type, []):
            seen.deliveries += 1
            if (consumer, event_id) not in inboxes[service]:
                seen.undelivered.append(f"{event_type.removeprefix('claimflow.')}→{consumer}")
    return seen


async def release_eras(chaos: ChaosStack, workload: Workload, *, within: float = 60.0) -> int:
    """Wait until every claim is at the payer and known to remit-svc, then run the payers' check run; returns the
    number of 835 files it put in the mailbox."""
    deadline = time.monotonic() + within
    while not (seen := await observe(chaos, workload)).ready_for_adjudication or not seen.claims["accepted"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"claims not at the payer within {within}s: {seen.describe()}")
        await asyncio.sleep(0.25)
    async with chaos.sandbox_client() as sandbox:
        released = await sandbox.post("/v1/clock/advance", json={"days": 0})
    assert released.status_code == 200, released.text
    return sum(len(run["mailbox_ids"]) for run in released.json()["check_runs"])


async def settle(chaos: ChaosStack, workload: Workload, *, within: float = 60.0) -> Observation:
    """Poll until the workload went all the way (releasing the payers' ERAs once every claim is at the payer).

    The payers pay only claims remit-svc already knows, as real payers (days later) do: an ERA that overtakes its
    claim-submitted event lands in the unmatched work queue instead of being posted.
    """
    deadline = time.monotonic() + within
    released_at = 0.0
    async with chaos.sandbox_client() as sandbox:
        while True:
            seen = await observe(chaos, workload)
            if seen.settled and seen.encounters == len(workload.encounter_ids):
                return seen
            now = time.monotonic()
            if seen.ready_for_adjudication and seen.claims["accepted"] and now - released_at > 2.0:
                released = await sandbox.post("/v1/clock/advance", json={"days": 0})  # today's check run
                assert released.status_code == 200, released.text
                released_at = now
            if now > deadline:
                raise AssertionError(f"workload not settled within {within}s: {seen.describe()}")
            await asyncio.sleep(0.25)


# --- invariants --------------------------------------------------------------------------------------------------


@dataclass
class FaultReport:
    """The figures of one fault scenario."""

    scenario: str
    faults: list[str] = field(default_factory=list)
    encounters: int = 0
    claims: int = 0
    eras: int = 0
    events_checked: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the log and RESULTS.md."""
        extra = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (
            f"[reliability] {self.scenario}: faults survived={len(self.faults)} ({', '.join(self.faults)}) "
            f"encounters={self.encounters} claims={self.claims} eras={self.eras} events checked={self.events_checked} "
            f"lost={len(self.lost)} duplicated={len(self.duplicated)}{extra} seconds={self.seconds:.1f}"
        )


async def dead_letters_of(chaos: ChaosStack, tenant: str, topics: Iterable[Topic] = tuple(Topic)) -> list[DeadLetter]:
    """Dead letters of ``tenant`` (by tenant header, or by a record key the test made from the tenant id)."""
    settings = chaos.settings["coding-svc"]
    found = []
    for topic in topics:
        for letter in await list_dead_letters(settings, topic.dead_letter):
            tenant_header = dict(letter.headers).get("ce_tenantid", b"").decode(errors="replace")
            if tenant_header == tenant or (letter.key or b"").startswith(tenant.encode()):
                found.append(letter)
    return found


async def check_invariants(
    chaos: ChaosStack,
    workload: Workload,
    report: FaultReport,
    *,
    expected_dead_letters: Counter[tuple[str, str]] | None = None,
    within: float = 60.0,
) -> FaultReport:
    """Settle, then count what was lost or duplicated (and assert there is none); returns the figures."""
    seen = await settle(chaos, workload, within=within)
    tenant = workload.tenant.id
    lost, duplicated = report.lost, report.duplicated
    lost += [f"no claim for encounter {e}" for e in seen.unclaimed]
    lost += [f"claim {c} never reached remit-svc" for c in seen.unindexed]
    lost += [f"undelivered {d}" for d in seen.undelivered]
    lost += [f"{n} unsent outbox rows in {s}" for s, n in seen.unsent.items() if n]
    if seen.surplus_claims:
        duplicated.append(f"{seen.surplus_claims} claims beyond one per encounter version and payer")

    async with chaos.database("claims-svc").transaction() as session:
        claims = (
            await session.exec(
                select(col(Claim.id), col(Claim.status), col(Claim.paid_amount)).where(
                    Claim.tenant_id == tenant, Claim.correction == 0
                )
            )
        ).all()
    async with chaos.database("remit-svc").transaction() as session:
        remit_claims = {
            str(i): Decimal(t)
            for i, t in (
                await session.exec(
                    select(col(OpenClaim.id), col(OpenClaim.total_charge)).where(OpenClaim.tenant_id == tenant)
                )
            ).all()
        }
        fingerprints = Counter(
            (await session.exec(select(Remittance.fingerprint).where(Remittance.tenant_id == tenant))).all()
        )
        payments = (
            await session.exec(
                select(
                    col(ClaimPaymentRecord.claim_id), col(ClaimPaymentRecord.state), col(ClaimPaymentRecord.paid)
                ).where(ClaimPaymentRecord.tenant_id == tenant)
            )
        ).all()
        entries = (
            await session.exec(
                select(
                    col(LedgerEntry.claim_id), col(LedgerEntry.account), col(LedgerEntry.kind), col(LedgerEntry.amount)
                ).where(LedgerEntry.tenant_id == tenant)
            )
        ).all()
    posted = Counter(str(p[0]) for p in payments if p[1] == "posted")
    paid_by_claim: dict[str, Decimal] = {}
    for claim_id, state, amount in payments:
        if state == "posted":
            paid_by_claim[str(claim_id)] = paid_by_claim.get(str(claim_id), Decimal(0)) + Decimal(amount)
    unmatched = [p for p in payments if p[1] == "unmatched"]
    lost += [f"ERA claim payment left unmatched (claim {p[0]})" for p in unmatched]
    charges: dict[str, Decimal] = {}
    insurance_ar: dict[str, Decimal] = {}
    for claim_id, account, kind, amount in entries:
        if claim_id is None:
            continue
        if account == "insurance_ar":
            insurance_ar[claim_id] = insurance_ar.get(claim_id, Decimal(0)) + Decimal(amount)
            if kind == "charge":
                charges[claim_id] = charges.get(claim_id, Decimal(0)) + Decimal(amount)
    for claim_id, total in remit_claims.items():
        opened = charges.get(claim_id, Decimal(0))
        if opened > total:
            duplicated.append(f"charges of {claim_id} opened {opened} for {total}")
        elif opened < total:
            lost.append(f"charges of {claim_id} opened {opened} for {total}")
    duplicated += [f"ERA {fp[:12]} posted {n} times" for fp, n in fingerprints.items() if n > 1]
    for claim_id, status, paid_amount in claims:
        if status not in ADJUDICATED:
            continue
        if posted[claim_id] == 0:
            lost.append(f"claim {claim_id} is {status} without a posted payment")
        elif posted[claim_id] > 1:
            duplicated.append(f"claim {claim_id} has {posted[claim_id]} posted payments")
        if insurance_ar.get(claim_id, Decimal(0)) < 0:
            duplicated.append(f"claim {claim_id} over-credited in insurance AR ({insurance_ar[claim_id]})")
        elif insurance_ar.get(claim_id, Decimal(0)) > 0:
            lost.append(f"claim {claim_id} still owes {insurance_ar[claim_id]} in insurance AR after adjudication")
        counted, remitted = Decimal(paid_amount or 0), paid_by_claim.get(claim_id, Decimal(0))
        if counted != remitted:
            target = duplicated if counted > remitted else lost
            target.append(f"claims-svc counts {counted} paid on {claim_id}, remit-svc posted {remitted}")
    balance = sum((Decimal(e[3]) for e in entries), Decimal(0))

    expected = expected_dead_letters or Counter()
    if expected:
        await eventually_dead_lettered(chaos, tenant, expected)
    letters = Counter((letter.consumer, letter.error_code) for letter in await dead_letters_of(chaos, tenant))
    duplicated += [f"unexpected dead letter {k} x{n}" for k, n in (letters - expected).items()]
    lost += [f"poison not dead-lettered {k} x{n}" for k, n in (expected - letters).items()]

    report.encounters = seen.encounters
    report.claims = sum(seen.claims.values())
    report.eras = seen.remittances
    report.events_checked = seen.deliveries
    report.extra["dead_letters"] = sum(letters.values())
    report.extra.setdefault("adjudicated", sum(1 for c in claims if c[1] in ADJUDICATED))
    report.seconds = (datetime.now(UTC) - workload.started).total_seconds()
    chaos.reports.append(report)
    print(report.line())  # the figures are the point of these tests
    assert balance == 0, f"the tenant's ledger sums to {balance}"
    assert not lost, f"lost: {lost[:10]}"
    assert not duplicated, f"duplicated: {duplicated[:10]}"
    assert report.claims >= len(workload.encounter_ids)
    return report


async def eventually_dead_lettered(chaos: ChaosStack, tenant: str, expected: Counter[tuple[str, str]]) -> None:
    """Wait until every expected dead letter is in its DLQ."""
    deadline = time.monotonic() + 30
    while True:
        letters = Counter((letter.consumer, letter.error_code) for letter in await dead_letters_of(chaos, tenant))
        if not expected - letters:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"dead letters missing: {dict(expected - letters)} (have {dict(letters)})")
        await asyncio.sleep(0.5)


# --- faults that need the broker ---------------------------------------------------------------------------------


async def produce(
    chaos: ChaosStack, topic: str, records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
) -> None:
    """Write raw records (key, value, headers) to ``topic`` as some foreign producer would."""
    producer: AIOKafkaProducer = new_producer(chaos.settings["coding-svc"])
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def redeliver_topic(chaos: ChaosStack, topic: str) -> tuple[dict[int, int], list[bytes]]:
    """Produce every record of ``topic`` again, from offset 0, to its partition; returns the new end offsets and
    the values produced."""
    settings = chaos.settings["coding-svc"]
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False, request_timeout_ms=40000
    )
    await reader.start()
    records = []
    try:
        await reader._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        remaining = set(partitions)
        while remaining:
            batches = await reader.getmany(*remaining, timeout_ms=1000)
            for batch in batches.values():
                records += batch
            for tp in list(remaining):
                high = reader.highwater(tp)
                if high is not None and await reader.position(tp) >= high:
                    remaining.discard(tp)
    finally:
        await reader.stop()
    producer: AIOKafkaProducer = new_producer(settings)
    await producer.start()
    ends: dict[int, int] = {}
    try:
        sent = [
            await producer.send(topic, value=r.value, key=r.key, headers=list(r.headers or ()), partition=r.partition)
            for r in records
        ]
        for metadata in await asyncio.gather(*sent):
            ends[metadata.partition] = max(ends.get(metadata.partition, 0), metadata.offset + 1)
    finally:
        await producer.stop()
    return ends, [r.value or b"" for r in records]


async def consumers_caught_up(chaos: ChaosStack, topic: str, ends: dict[int, int], within: float = 60.0) -> None:
    """Wait until every consumer group of ``topic`` has read past ``ends`` (as each reports in its database)."""
    deadline = time.monotonic() + within
    while True:
        behind = []
        for service, consumer in consumers_of_topic(chaos.settings, topic):
            async with chaos.database(service).transaction() as session:
                positions = {
                    int(p): int(o)
                    for p, o in (
                        await session.exec(
                            select(ConsumerPosition.partition, ConsumerPosition.position).where(
                                ConsumerPosition.consumer == consumer, ConsumerPosition.topic == topic
                            )
                        )
                    ).all()
                }
            behind += [
                f"{consumer}[{p}] {positions.get(p)}<{end}" for p, end in ends.items() if positions.get(p, 0) < end
            ]
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"consumers still behind on {topic}: {behind}")
        await asyncio.sleep(0.25)


# --- effects that must not change ---------------------------------------------------------------------------------


async def effects_snapshot(chaos: ChaosStack) -> dict[str, Any]:
    """Counts and sums of every effect a duplicate could repeat, over all tenants."""
    snapshot: dict[str, Any] = {}
    async with chaos.database("claims-svc").transaction() as session:
        snapshot["claims"] = (await session.exec(select(func.count()).select_from(Claim))).one()
        paid = (await session.exec(select(func.sum(col(Claim.paid_amount))))).one()
        snapshot["claims paid"] = Decimal(paid or 0)
        snapshot["claim statuses"] = dict(Counter((await session.exec(select(Claim.status))).all()))
    async with chaos.database("remit-svc").transaction() as session:
        snapshot["open claims"] = (await session.exec(select(func.count()).select_from(OpenClaim))).one()
        snapshot["remittances"] = (await session.exec(select(func.count()).select_from(Remittance))).one()
        snapshot["claim payments"] = (await session.exec(select(func.count()).select_from(ClaimPaymentRecord))).one()
        snapshot["ledger rows"] = (await session.exec(select(func.count()).select_from(LedgerEntry))).one()
        snapshot["ledger by account"] = {
            str(a): Decimal(s)
            for a, s in (
                await session.exec(
                    select(LedgerEntry.account, func.sum(LedgerEntry.amount)).group_by(col(LedgerEntry.account))
                )
            ).all()
        }
    for service in SERVICES:
        async with chaos.database(service).transaction() as session:
            snapshot[f"{service} outbox"] = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    return snapshot


async def reset_mailbox_cursor(chaos: ChaosStack, tenant: str) -> list[str | None]:
    """Forget how far remit-svc read the tenant's mailbox (as after restoring an old backup); returns the cursors."""
    async with chaos.database("remit-svc").transaction() as session:
        cursors = list(
            (await session.exec(select(MailboxCursor.cursor).where(MailboxCursor.tenant_id == tenant))).all()
        )
        await session.exec(delete(MailboxCursor).where(col(MailboxCursor.tenant_id) == tenant))
    return cursors


@contextlib.asynccontextmanager
async def database_outage(url: str) -> AsyncIterator[None]:
    """Cut every connection to one PostgreSQL database and refuse new ones until the block ends.

    The local server is shared with other test runs, so it is not stopped (test_server_restart.py crashes a private
    server instead); from one service's side this is the same fault.
    """
    parsed = make_url(url)
    admin = await asyncpg.connect(parsed.set(drivername="postgresql", database="postgres").render_as_string(False))
    try:
        await admin.execute(f'ALTER DATABASE "{parsed.database}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", parsed.database
        )
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{parsed.database}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


def reenvelope(x12: str) -> str:
    """The same 835 in a new interchange (another ISA13/IEA02): different bytes, the same ERAs."""
    separator, terminator = x12[3], x12[105]
    segments = x12.split(terminator)
    isa = segments[0].split(separator)
    control = f"{(int(isa[13]) + 500_000) % 1_000_000_000:09d}"
    isa[13] = control
    segments[0] = separator.join(isa)
    for index, segment in enumerate(segments):
        elements = segment.strip().split(separator)
        if elements[0] == "IEA":
            elements[2] = control
            segments[index] = segment[: len(segment) - len(segment.lstrip())] + separator.join(elements)
    return terminator.join(segments)


def unique_key(tenant: str, label: str) -> bytes:
    """A record key the DLQ filter attributes to ``tenant``."""
    return f"{tenant}:{label}:{uuid.uuid4().hex[:6]}".encode()
