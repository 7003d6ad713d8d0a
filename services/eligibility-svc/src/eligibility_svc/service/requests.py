"""What the HTTP API asks of the service: real-time checks (with cache), batches, and reading results."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from claimflow_connect.errors import ConnectorError
from claimflow_kit.app import ServiceContext
from claimflow_kit.audit import AuditAction, audit, audit_many
from claimflow_kit.auth import Principal
from claimflow_kit.context import correlation_id_var
from claimflow_kit.directory import Practice
from claimflow_kit.errors import InvalidInput, NotFound
from claimflow_kit.identifiers import new_id, patient_reference
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck, EligibilityBatch
from eligibility_svc.api.schemas import BatchIn, EligibilityCheckIn, PersonIn
from eligibility_svc.domain.inquiry import EligibilityQuery, Person
from eligibility_svc.domain.results import EligibilityResult
from eligibility_svc.service.checks import (
    Exchanger,
    PayerInvalidAnswer,
    PayerTimeout,
    apply_failure,
    apply_outcome,
    cache_key,
    fresh_result,
    new_trace,
    query_to_json,
)

EXCHANGER_KEY = "eligibility_exchanger"


@dataclass
class CheckAnswer:
    """A check, whether it was served from the cache, and the parsed answer when this request asked the payer."""

    check: CoverageCheck
    cached: bool
    result: EligibilityResult | None = None


def exchanger(context: ServiceContext) -> Exchanger:
    """The exchanger built at start-up."""
    found = context.extras[EXCHANGER_KEY]
    assert isinstance(found, Exchanger)
    return found


def _person(person: PersonIn | None) -> Person | None:
    if person is None:
        return None
    return Person(person.first_name, person.last_name, person.birth_date, person.sex, person.member_id)


async def tenant_practices(context: ServiceContext, tenant_id: str) -> list[Practice]:
    """The tenant's practices (kept briefly: every check needs them, they change rarely)."""
    return await context.practices.practices(tenant_id)


async def tenant_practice(context: ServiceContext, tenant_id: str, practice_id: str) -> Practice:
    """The tenant's practice (404 for another tenant's or an unknown one)."""
    practice = await context.practices.practice(tenant_id, practice_id)
    if practice is None:
        raise NotFound("Practice", practice_id)
    return practice


def build_query(body: EligibilityCheckIn, practice: Practice) -> EligibilityQuery:
    """The domain inquiry for a request (the subscriber must carry the member id from the card)."""
    if not body.subscriber.member_id:
        raise InvalidInput("subscriber.member_id is required: it is the id on the insurance card")
    for code in body.service_type_codes:
        if not (1 <= len(code) <= 2 and code.isalnum() and code.upper() == code):
            raise InvalidInput(f"service type code {code!r} is not an X12 service type code (e.g. 30, 98, UC)")
    subscriber = _person(body.subscriber)
    assert subscriber is not None
    return EligibilityQuery(
        payer_id=body.payer_id,
        payer_name=body.payer_name or body.payer_id,
        provider_npi=body.provider_npi,
        provider_name=practice.name,
        subscriber=subscriber,
        dependent=_person(body.dependent),
        date_of_service=body.date_of_service,
        service_types=tuple(body.service_type_codes),
    )


def new_check(
    tenant_id: str, body: EligibilityCheckIn, query: EligibilityQuery, origin: str, *, batch_id: str | None = None
) -> CoverageCheck:
    """A check row for a query, not yet answered."""
    return CoverageCheck(
        id=new_id("elig"),
        tenant_id=tenant_id,
        encounter_id=body.encounter_id,
        patient_id=patient_reference(tenant_id, body.practice_id, body.ehr_patient_id),
        payer_id=body.payer_id,
        date_of_service=body.date_of_service,
        origin=origin,
        status="pending" if origin == "batch" else "in-progress",
        practice_id=body.practice_id,
        provider_npi=body.provider_npi,
        inquiry=query_to_json(query),
        service_types=",".join(body.service_type_codes),
        cache_key=cache_key(tenant_id, query),
        batch_id=batch_id,
        trace=new_trace(),
    )


async def check_now(
    context: ServiceContext, principal: Principal, body: EligibilityCheckIn, *, refresh: bool
) -> CheckAnswer:
    """A real-time check: a fresh stored answer when the cache policy allows, else 270 → 271 now.

    The payer is asked outside any transaction; the check, its answer, the audit entry and the event are then
    written in one transaction (a failed exchange is stored too, without an event).
    """
    practice = await tenant_practice(context, principal.tenant_id, body.practice_id)
    query = build_query(body, practice)
    the_exchanger = exchanger(context)
    policy = the_exchanger.policy
    key = cache_key(principal.tenant_id, query)
    if not refresh and policy.cache_minutes > 0:
        cached = await fresh_result(context.database, principal.tenant_id, key, timedelta(minutes=policy.cache_minutes))
        # Naming an encounter asks for that encounter's answer: another check's cached one would leave it unanswered.
        if cached is not None and body.encounter_id in (None, cached.encounter_id):
            async with context.database.transaction() as session:
                audit(session, principal, AuditAction.READ, "EligibilityCheck", cached.id, patient_id=cached.patient_id)
            return CheckAnswer(cached, True)
    check = new_check(principal.tenant_id, body, query, "request")
    try:
        outcome = await the_exchanger.exchange(principal.tenant_id, query, check.trace or new_trace())
    except (PayerTimeout, ConnectorError, PayerInvalidAnswer) as exc:
        apply_failure(check, "timeout" if isinstance(exc, PayerTimeout) else "error", exc.error_code, exc.detail)
        async with context.database.transaction() as session:
            checks = CoverageCheckRepository(session, principal.tenant_id)
            await checks.write(check, adopted=await checks.adopt(check, answered=False))
        if isinstance(exc, PayerTimeout):
            raise PayerTimeout(exc.detail, extra={"check_id": check.id}) from None
        raise
    # Three single-row writes, no ORM unit of work: this transaction is most of a check's own cost.
    async with context.database.transaction() as session:
        checks = CoverageCheckRepository(session, principal.tenant_id)
        adopted = await checks.adopt(check, answered=True)
        event = apply_outcome(check, outcome)
        await checks.write(check, adopted=adopted)
        correlation_id = correlation_id_var.get() or check.id
        await context.outbox.add_many(session, [(event, correlation_id)], tenant_id=principal.tenant_id)
        await audit_many(session, principal, AuditAction.READ, "EligibilityCheck", [(check.id, check.patient_id)])
    return CheckAnswer(check, False, outcome.result)


async def submit_batch(context: ServiceContext, principal: Principal, body: BatchIn) -> EligibilityBatch:
    """Store a day's schedule as pending checks; the processor works them in the background."""
    practice = await tenant_practice(context, principal.tenant_id, body.practice_id)
    batch = EligibilityBatch(
        id=new_id("eb"),
        tenant_id=principal.tenant_id,
        practice_id=practice.id,
        total=len(body.items),
        submitted_by=principal.client_id,
    )
    checks = []
    for item in body.items:
        request = EligibilityCheckIn(practice_id=practice.id, **item.model_dump())
        checks.append(
            new_check(principal.tenant_id, request, build_query(request, practice), "batch", batch_id=batch.id)
        )
    async with context.database.transaction() as session:
        session.add(batch)
        session.add_all(checks)
    return batch


async def batch_progress(
    context: ServiceContext, tenant_id: str, batch_id: str
) -> tuple[EligibilityBatch, list[CoverageCheck]]:
    """The batch and its checks (404 for another tenant's)."""
    async with context.database.transaction() as session:
        batch = await session.get(EligibilityBatch, batch_id)
        if batch is None or batch.tenant_id != tenant_id:
            raise NotFound("EligibilityBatch", batch_id)
        rows = await session.exec(
            select(CoverageCheck)
            .where(CoverageCheck.tenant_id == tenant_id, CoverageCheck.batch_id == batch_id)
            .order_by(col(CoverageCheck.created_at), col(CoverageCheck.id))
        )
        return batch, list(rows.all())


def status_counts(checks: list[CoverageCheck]) -> dict[str, int]:
    """How many checks are in each status."""
    return dict(Counter(c.status for c in checks))
