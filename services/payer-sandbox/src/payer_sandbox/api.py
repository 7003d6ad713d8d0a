"""HTTP API of the payer-sandbox: X12 in and out (the connector contract), plus population, scenario and clock."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from claimflow_connect.https_x12 import X12_MEDIA_TYPE
from claimflow_connect.models import ResponseKind
from claimflow_kit.errors import DependencyUnavailable, InvalidInput, NotFound
from claimflow_x12 import X12WriteError
from payer_sandbox.domain.codes import Network
from payer_sandbox.domain.population import CoverageStatus, Member, Population
from payer_sandbox.scenario import Scenario
from payer_sandbox.service import Sandbox

router = APIRouter(prefix="/v1", tags=["payer-sandbox"])

TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_FILE_BYTES = 20 * 1024 * 1024


def sandbox_dependency(request: Request) -> Sandbox:
    """The sandbox of this application."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


SandboxDep = Annotated[Sandbox, Depends(sandbox_dependency)]
TenantQuery = Annotated[str, Query(pattern=TENANT_PATTERN, description="The tenant (billing company) the file is for.")]


@contextmanager
def _answerable() -> Iterator[None]:
    """A file whose values the payers' answers cannot echo (a separator inside a name or a trace number, no
    transaction set to answer) is refused like any other unreadable file, not answered with a server error."""
    try:
        yield
    except X12WriteError as exc:
        raise InvalidInput(f"the answer to this file cannot be written: {exc}") from None


async def _x12_body(request: Request) -> bytes:
    body = await request.body()
    if not body.strip():
        raise InvalidInput("the request body must be an X12 interchange")
    if len(body) > MAX_FILE_BYTES:
        raise InvalidInput(f"files over {MAX_FILE_BYTES} bytes are not accepted")
    return body


class ReceiptOut(BaseModel):
    """Submission receipt (the connector contract's fields first)."""

    submission_id: str
    filename: str
    received_at: datetime
    acknowledgment: str = Field(description="999 AK901: A accepted, P partially accepted, R rejected.")
    claims_accepted: int
    claims_rejected: int


class MailboxItemOut(BaseModel):
    """One response file in the mailbox listing."""

    id: str
    kind: ResponseKind
    filename: str
    created_at: datetime
    cursor: str
    size: int


class MailboxPageOut(BaseModel):
    """Response files after the cursor, oldest first."""

    items: list[MailboxItemOut]


class NextCoverageOut(BaseModel):
    """A plan of the same person that pays after the member's (coordination of benefits)."""

    payer_id: str
    member_id: str
    person_code: str
    relationship: str
    group_number: str | None
    subscriber_first_name: str
    subscriber_last_name: str
    subscriber_birth_date: date
    subscriber_sex: str


class MemberOut(BaseModel):
    """A seeded member, for demos and tests to pick patients from."""

    member_id: str
    person_code: str
    relationship: str
    first_name: str
    last_name: str
    birth_date: date
    sex: str
    payer_id: str
    plan_id: str
    plan_name: str
    group_number: str | None
    coverage_start: date
    coverage_end: date | None
    status: CoverageStatus
    next_coverages: list[NextCoverageOut] = Field(
        default_factory=list, description="The person's plans that pay after this one, in order"
    )


class ClockOut(BaseModel):
    """The payers' current date."""

    today: date


class AdvanceIn(BaseModel):
    """How far to move the payer clock (0 runs today's check run again)."""

    days: int = Field(default=1, ge=0, le=400)


class CheckRunOut(BaseModel):
    """What one day's check runs released."""

    day: date
    eras: int
    claims: int
    mailbox_ids: list[str]


class AdvanceOut(BaseModel):
    """The new date and the check runs on the way."""

    today: date
    check_runs: list[CheckRunOut]


class RecoupmentIn(BaseModel):
    """An overpayment to take back from the provider's next ERA (PLB WO)."""

    tenant: str = Field(pattern=TENANT_PATTERN)
    payer_claim_control_number: str = Field(min_length=1, max_length=50)
    amount: Decimal = Field(gt=0, decimal_places=2)


class AccumulatorOut(BaseModel):
    """Where a member (and, on a family plan, the family) stands against a network tier's deductible and
    out-of-pocket maximum this year."""

    network: Network
    deductible: Decimal
    deductible_met: Decimal
    out_of_pocket_max: Decimal | None
    out_of_pocket_met: Decimal
    family_deductible: Decimal | None = None
    family_deductible_met: Decimal | None = None
    family_out_of_pocket_max: Decimal | None = None
    family_out_of_pocket_met: Decimal | None = None


@router.post("/eligibility", response_class=Response, responses={200: {"content": {X12_MEDIA_TYPE: {}}}})
async def eligibility(request: Request, sandbox: SandboxDep) -> Response:
    """Real-time 270 → 271 (AAA errors and delays as the scenario says)."""
    body = await _x12_body(request)
    delay = sandbox.eligibility_delay(body)
    if delay:
        await asyncio.sleep(delay)  # the scenario's simulated payer latency
    with _answerable():
        answer = sandbox.eligibility(body)
    return Response(answer, media_type=X12_MEDIA_TYPE)


@router.post("/claim-status", response_class=Response, responses={200: {"content": {X12_MEDIA_TYPE: {}}}})
async def claim_status(request: Request, sandbox: SandboxDep, tenant: TenantQuery) -> Response:
    """Real-time 276 → 277: the status of the tenant's claims (a batch 276 goes to /submissions instead).
    A payer whose scenario has ``submission_failure`` (its clearinghouse is down) answers 503 here too."""
    body = await _x12_body(request)
    _, failing = sandbox.submission_behaviour(body)
    if failing:
        raise DependencyUnavailable(f"claim status for payer(s) {', '.join(failing)} is down (scenario)")
    with _answerable():
        answer = sandbox.claim_status(tenant, body)
    return Response(answer, media_type=X12_MEDIA_TYPE)


@router.post("/submissions", status_code=202, response_model=ReceiptOut)
async def submit(
    request: Request,
    sandbox: SandboxDep,
    tenant: TenantQuery,
    filename: Annotated[str | None, Header(alias="X-Filename", max_length=200)] = None,
) -> ReceiptOut:
    """Take an 837 or 276 batch: receipt now, 999 and 277CA (837) or 277 (276) in the mailbox, 835s after the
    check run."""
    body = await _x12_body(request)
    delay, failing = sandbox.submission_behaviour(body)
    if delay:
        await asyncio.sleep(delay)  # the scenario's simulated clearinghouse latency
    if failing:
        raise DependencyUnavailable(f"submissions for payer(s) {', '.join(failing)} are down (scenario)")
    name = filename or f"{hashlib.sha256(body).hexdigest()[:16]}.x12"
    with _answerable():
        receipt = sandbox.submit(tenant, name, body)
    return ReceiptOut.model_validate(receipt, from_attributes=True)


@router.get("/mailbox", response_model=MailboxPageOut)
async def mailbox(
    sandbox: SandboxDep,
    tenant: TenantQuery,
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MailboxPageOut:
    """The tenant's response files after ``after`` (the last item's cursor)."""
    entries = sandbox.mailbox_list(tenant, after, limit)
    return MailboxPageOut(
        items=[
            MailboxItemOut(
                id=e.id, kind=e.kind, filename=e.filename, created_at=e.created_at, cursor=e.id, size=len(e.content)
            )
            for e in entries
        ]
    )


@router.get("/mailbox/{item_id}", response_class=Response, responses={200: {"content": {X12_MEDIA_TYPE: {}}}})
async def mailbox_item(item_id: str, sandbox: SandboxDep, tenant: TenantQuery) -> Response:
    """One response file's bytes."""
    entry = sandbox.mailbox_get(tenant, item_id)
    return Response(entry.content, media_type=X12_MEDIA_TYPE, headers={"X-Filename": entry.filename})


def _next_coverage(population: Population, member: Member) -> NextCoverageOut:
    holder = population.subscriber(member.payer_id, member.member_id) or member
    return NextCoverageOut(
        payer_id=member.payer_id,
        member_id=member.member_id,
        person_code=member.person_code,
        relationship=member.relationship.value,
        group_number=member.group_number,
        subscriber_first_name=holder.first_name,
        subscriber_last_name=holder.last_name,
        subscriber_birth_date=holder.birth_date,
        subscriber_sex=holder.sex.value,
    )


@router.get("/population/members", response_model=list[MemberOut])
async def members(
    sandbox: SandboxDep,
    payer_id: Annotated[str | None, Query(max_length=20)] = None,
    status: CoverageStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[MemberOut]:
    """Seeded members (filter by payer and coverage status on the payer clock's today)."""
    population = sandbox.population
    found = []
    for member in population.members:
        member_status = member.status(sandbox.today)
        if (payer_id and member.payer_id != payer_id) or (status and member_status is not status):
            continue
        plan = population.plan_of(member)
        found.append(
            MemberOut(
                member_id=member.member_id,
                person_code=member.person_code,
                relationship=member.relationship.value,
                first_name=member.first_name,
                last_name=member.last_name,
                birth_date=member.birth_date,
                sex=member.sex.value,
                payer_id=member.payer_id,
                plan_id=plan.plan_id,
                plan_name=plan.name,
                group_number=member.group_number,
                coverage_start=member.coverage_start,
                coverage_end=member.coverage_end,
                status=member_status,
                next_coverages=[_next_coverage(population, other) for other in population.following_coverages(member)],
            )
        )
        if len(found) >= limit:
            break
    return found


@router.get("/population/payers")
async def payers(sandbox: SandboxDep) -> list[dict[str, object]]:
    """The sandbox payers with their plans, limits and the out-of-network provider NPIs."""
    return [
        {
            "payer_id": payer.payer_id,
            "name": payer.name,
            "kind": payer.kind.value,
            "timely_filing_days": payer.timely_filing_days,
            "adjudication_days": payer.adjudication_days,
            "plans": [{"plan_id": p.plan_id, "name": p.name} for p in payer.plans],
        }
        for payer in sandbox.population.payers.values()
    ]


@router.get("/population/providers")
async def providers(sandbox: SandboxDep) -> dict[str, list[str]]:
    """Provider NPIs the payers treat as out of network (every other valid NPI is in network)."""
    return {"out_of_network_npis": sorted(sandbox.population.out_of_network_npis)}


@router.get("/population/accumulators/{payer_id}/{member_id}", response_model=list[AccumulatorOut])
async def accumulators(
    payer_id: str,
    member_id: str,
    sandbox: SandboxDep,
    person_code: Annotated[str, Query(pattern=r"^[0-9]{2}$")] = "00",
    year: int | None = None,
) -> list[AccumulatorOut]:
    """A member's accumulators (and their family's) per network tier for a plan year (default: the payer clock's
    year)."""
    member = next((m for m in sandbox.population.family(payer_id, member_id) if m.person_code == person_code), None)
    if member is None:
        raise NotFound("Member", member_id)
    plan = sandbox.population.plan_of(member)
    result = []
    for network, tier in ((Network.IN, plan.in_network), (Network.OUT, plan.out_of_network)):
        if tier is None or (network is Network.OUT and not plan.network_applies):
            continue
        plan_year = year or sandbox.today.year
        accumulator = sandbox.accumulator(member.key, plan_year, network)
        standing = AccumulatorOut(
            network=network,
            deductible=tier.deductible,
            deductible_met=accumulator.deductible_met,
            out_of_pocket_max=tier.out_of_pocket_max,
            out_of_pocket_met=accumulator.out_of_pocket_met,
        )
        if tier.family_deductible is not None:
            family = sandbox.family_accumulator(member.family_key, plan_year, network)
            standing.family_deductible = tier.family_deductible
            standing.family_deductible_met = family.deductible_met
            standing.family_out_of_pocket_max = tier.family_out_of_pocket_max
            standing.family_out_of_pocket_met = family.out_of_pocket_met
        result.append(standing)
    return result


@router.get("/scenario", response_model=Scenario)
async def get_scenario(sandbox: SandboxDep) -> Scenario:
    """The scenario in force."""
    return sandbox.scenario


@router.put("/scenario", response_model=Scenario)
async def put_scenario(scenario: Scenario, sandbox: SandboxDep) -> Scenario:
    """Replace the scenario per payer: AAA 42 rate or forcing, 270 and submission latency, submissions down (503),
    denial rate, adjudication days."""
    return sandbox.set_scenario(scenario)


@router.get("/clock", response_model=ClockOut)
async def clock(sandbox: SandboxDep) -> ClockOut:
    """The payers' today."""
    return ClockOut(today=sandbox.today)


@router.post("/clock/advance", response_model=AdvanceOut)
async def advance(body: AdvanceIn, sandbox: SandboxDep) -> AdvanceOut:
    """Advance the payer clock; every day passed runs the check runs that release ERAs (835) to mailboxes."""
    runs = sandbox.advance(body.days)
    return AdvanceOut(
        today=sandbox.today,
        check_runs=[CheckRunOut(day=r.day, eras=r.eras, claims=r.claims, mailbox_ids=r.mailbox_ids) for r in runs],
    )


@router.post("/recoupments", status_code=202)
async def recoupment(body: RecoupmentIn, sandbox: SandboxDep) -> dict[str, str]:
    """Queue an overpayment recovery on a paid claim (PLB WO on the payee's next ERA)."""
    sandbox.queue_recoupment(body.tenant, body.payer_claim_control_number, body.amount)
    return {"status": "queued"}
