"""Coverage checks: 270 out through the tenant's connector, 271 back, stored with the raw answer, announced once.

Real-time checks run inside the HTTP request; batch items and pre-checks are stored ``pending`` and worked by
``CheckProcessor`` (a lease per row, so several processes can share the work). The payer exchange happens
outside any database transaction; its outcome is stored and ``eligibility-checked`` is written to the outbox
in one transaction, so an event exists exactly when a final result does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select

from claimflow_connect.errors import ConnectorError, ConnectorUnavailable
from claimflow_connect.routing import ConnectorRouter
from claimflow_events import EligibilityChecked, EligibilityStatus
from claimflow_kit.context import correlation_id_var
from claimflow_kit.db import Database
from claimflow_kit.errors import UpstreamInvalidAnswer, UpstreamTimeout
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import json_present, utcnow
from claimflow_x12.envelope import ControlNumberAllocator, allocate_envelope
from claimflow_x12.writer import write_interchange
from eligibility_svc.adapters.tables import CoverageCheck
from eligibility_svc.domain.inquiry import EligibilityQuery, Invalid271, Person, build_270, read_271
from eligibility_svc.domain.results import Benefit, CoverageStatus, EligibilityResult, RequestProblem, result_from_271

logger = logging.getLogger(__name__)

SENDER_ID = "CLAIMFLOW"

_EVENT_STATUS = {
    CoverageStatus.ACTIVE: EligibilityStatus.ACTIVE,
    CoverageStatus.INACTIVE: EligibilityStatus.INACTIVE,
    CoverageStatus.NOT_FOUND: EligibilityStatus.NOT_FOUND,
    CoverageStatus.REJECTED: EligibilityStatus.ERROR,
    CoverageStatus.UNAVAILABLE: EligibilityStatus.ERROR,
}


class PayerTimeout(UpstreamTimeout):
    """The payer did not give a usable answer within the deadline (after retrying)."""


class PayerInvalidAnswer(UpstreamInvalidAnswer):
    """The payer's answer is not a 271 we can read."""


@dataclass(frozen=True)
class ExchangePolicy:
    """How long to wait for a payer and how to retry "unable to respond now" answers."""

    deadline_seconds: float = 20.0  # CORE: a real-time answer within 20 seconds
    first_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 4.0
    cache_minutes: float = 24 * 60.0  # reuse a result for the same member/payer/service types/date


def cache_key(tenant_id: str, query: EligibilityQuery) -> str:
    """Same tenant, payer, person, service types and date of service → same key (PHI hashed, not stored)."""
    person = query.dependent or query.subscriber
    parts = [
        tenant_id,
        query.payer_id,
        (query.subscriber.member_id or "").upper(),
        person.last_name.upper(),
        person.first_name.upper(),
        person.birth_date.isoformat(),
        ",".join(sorted(query.service_types)),
        query.date_of_service.isoformat(),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _person_to_json(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": person.birth_date.isoformat(),
        "sex": person.sex,
        "member_id": person.member_id,
    }


def query_to_json(query: EligibilityQuery) -> dict[str, Any]:
    """The inquiry as stored on the check (for batch processing and audit)."""
    # Field by field: dataclasses.asdict deep-copies every value and was a tenth of a check's CPU time.
    return {
        "payer_id": query.payer_id,
        "payer_name": query.payer_name,
        "provider_npi": query.provider_npi,
        "provider_name": query.provider_name,
        "subscriber": _person_to_json(query.subscriber),
        "date_of_service": query.date_of_service.isoformat(),
        "dependent": _person_to_json(query.dependent),
        "service_types": list(query.service_types),
    }


def query_from_json(data: dict[str, Any]) -> EligibilityQuery:
    """The inverse of ``query_to_json``."""

    def person(raw: dict[str, Any] | None) -> Person | None:
        if raw is None:
            return None
        return Person(
            first_name=raw["first_name"],
            last_name=raw["last_name"],
            birth_date=date.fromisoformat(raw["birth_date"]),
            sex=raw.get("sex"),
            member_id=raw.get("member_id"),
        )

    subscriber = person(data["subscriber"])
    assert subscriber is not None
    return EligibilityQuery(
        payer_id=data["payer_id"],
        payer_name=data["payer_name"],
        provider_npi=data["provider_npi"],
        provider_name=data["provider_name"],
        subscriber=subscriber,
        dependent=person(data.get("dependent")),
        date_of_service=date.fromisoformat(data["date_of_service"]),
        service_types=tuple(data["service_types"]),
    )


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def result_to_json(result: EligibilityResult) -> dict[str, Any]:
    """The parsed result as stored and served (amounts as strings)."""
    return {
        "status": result.status.value,
        "plan_name": result.plan_name,
        "insurance_type_code": result.insurance_type_code,
        "coverage_start": result.coverage_start.isoformat() if result.coverage_start else None,
        "coverage_end": result.coverage_end.isoformat() if result.coverage_end else None,
        "benefits": [
            {
                "kind": b.kind,
                "service_type_code": b.service_type_code,
                "in_network": b.in_network,
                "coverage_level": b.coverage_level,
                "time_period": b.time_period,
                "amount": _text(b.amount),
                "percent": _text(b.percent),
                "notes": list(b.notes),
            }
            for b in result.benefits
        ],
        "problems": [{"code": p.code, "message": p.message, "retry": p.retry} for p in result.problems],
    }


def result_from_json(data: dict[str, Any]) -> EligibilityResult:
    """The inverse of ``result_to_json`` (for reusing a stored answer)."""

    def decimal(value: Any) -> Decimal | None:
        return Decimal(str(value)) if value is not None else None

    def day(value: Any) -> date | None:
        return date.fromisoformat(value) if value else None

    return EligibilityResult(
        status=CoverageStatus(data.get("status", CoverageStatus.UNAVAILABLE.value)),
        plan_name=data.get("plan_name"),
        insurance_type_code=data.get("insurance_type_code"),
        coverage_start=day(data.get("coverage_start")),
        coverage_end=day(data.get("coverage_end")),
        benefits=[
            Benefit(
                kind=b["kind"],
                service_type_code=b["service_type_code"],
                in_network=b["in_network"],
                coverage_level=b["coverage_level"],
                time_period=b["time_period"],
                amount=decimal(b["amount"]),
                percent=decimal(b["percent"]),
                notes=tuple(b.get("notes", ())),
            )
            for b in data.get("benefits", [])
        ],
        problems=[RequestProblem(**p) for p in data.get("problems", [])],
    )


@dataclass
class Outcome:
    """What one exchange produced."""

    result: EligibilityResult
    raw_271: str | None
    attempts: int
    trace: str


class Exchanger:
    """Sends 270s and reads 271s, retrying "unable to respond" answers with backoff until the deadline."""

    def __init__(self, router: ConnectorRouter, allocator: ControlNumberAllocator, policy: ExchangePolicy) -> None:
        self.router = router
        self.allocator = allocator
        self.policy = policy

    async def exchange(self, tenant_id: str, query: EligibilityQuery, trace: str) -> Outcome:
        """One check, retried within the deadline; raises PayerTimeout when no usable answer came in time."""
        deadline = time.monotonic() + self.policy.deadline_seconds
        backoff = self.policy.first_backoff_seconds
        attempts = 0
        last_problem = "no answer"
        connector = self.router.for_payer(tenant_id, query.payer_id)
        while True:
            attempts += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PayerTimeout(
                    f"payer {query.payer_id} gave no usable answer within {self.policy.deadline_seconds:g} s "
                    f"after {attempts - 1} attempt(s): {last_problem}"
                )
            envelope = await allocate_envelope(
                self.allocator, sender_id=SENDER_ID, receiver_id=query.payer_id, transaction_count=1
            )
            created = datetime.now(UTC)
            x12 = write_interchange(
                envelope, [build_270(query, trace=trace, trace_originator="9CLAIMFLOW", created_at=created)]
            )
            try:
                answer = await connector.eligibility(tenant_id, x12.encode(), remaining)
            except ConnectorUnavailable as exc:
                last_problem = f"connector: {exc.detail}"
            else:
                raw = answer.decode("utf-8", "replace")
                try:
                    read = read_271(raw, dependent=query.dependent is not None)
                except Invalid271 as exc:
                    raise PayerInvalidAnswer(f"payer {query.payer_id} answered with an unreadable 271: {exc}") from None
                assert read.member is not None
                result = result_from_271(read.member)
                if result.status is not CoverageStatus.UNAVAILABLE:
                    return Outcome(result, raw, attempts, trace)
                last_problem = "; ".join(f"AAA {p.code}: {p.message}" for p in result.problems)
            pause = min(backoff, max(0.0, deadline - time.monotonic()))
            backoff = min(backoff * 2, self.policy.max_backoff_seconds)
            await asyncio.sleep(pause)


def new_trace() -> str:
    """A TRN02 trace for one check (also the BHT03 reference)."""
    return uuid.uuid4().hex[:20].upper()


def eligibility_event(
    check: CoverageCheck, result: EligibilityResult, service_types: Sequence[str]
) -> EligibilityChecked:
    """Minimum necessary: ids, status and the key figures for the first service type asked about."""
    main = service_types[0] if service_types else "30"
    problem: RequestProblem | None = result.problems[0] if result.problems else None
    return EligibilityChecked(
        check_id=check.id,
        encounter_id=check.encounter_id,
        patient_id=check.patient_id,
        payer_id=check.payer_id or "",
        date_of_service=check.date_of_service,
        status=_EVENT_STATUS[result.status],
        service_type_codes=tuple(service_types),
        plan_name=result.plan_name,
        insurance_type_code=result.insurance_type_code,
        copay=result.figure("copay", main),
        coinsurance_percent=result.figure("coinsurance", main),
        deductible_remaining=result.figure("deductible", main, remaining=True),
        out_of_pocket_remaining=result.figure("out_of_pocket", main, remaining=True),
        error_code=problem.code if problem else None,
    )


def apply_outcome(check: CoverageCheck, outcome: Outcome) -> EligibilityChecked:
    """Put the answer on the check and return the event that announces it."""
    problem = outcome.result.problems[0] if outcome.result.problems else None
    check.status = outcome.result.status.value
    check.result = result_to_json(outcome.result)
    check.raw_271 = outcome.raw_271
    check.attempts += outcome.attempts
    check.trace = outcome.trace
    check.error_code = problem.code if problem else None
    check.error_message = problem.message if problem else None
    check.completed_at = utcnow()
    check.lease_until = None
    return eligibility_event(check, outcome.result, check.service_types.split(","))


def apply_failure(check: CoverageCheck, status: str, code: str, message: str) -> None:
    """Mark a check that could not be answered (timeout, unreadable answer): kept for history, no event."""
    check.status = status
    check.error_code = code
    check.error_message = message[:500]
    check.completed_at = utcnow()
    check.lease_until = None


async def record_outcome(database: Database, outbox: Outbox, check_id: str, tenant_id: str, outcome: Outcome) -> None:
    """Store the result and raw 271 and publish eligibility-checked, once (a completed check is left alone)."""
    async with database.transaction() as session:
        check = await session.get(CoverageCheck, check_id)
        if check is None or check.tenant_id != tenant_id or check.completed_at is not None:
            return
        event = apply_outcome(check, outcome)
        session.add(check)
        outbox.add(session, event, tenant_id=tenant_id, correlation_id=correlation_id_var.get() or check.id)


async def record_failure(
    database: Database, check_id: str, tenant_id: str, status: str, code: str, message: str
) -> None:
    """Store why a stored check could not be answered."""
    async with database.transaction() as session:
        check = await session.get(CoverageCheck, check_id)
        if check is None or check.tenant_id != tenant_id or check.completed_at is not None:
            return
        apply_failure(check, status, code, message)
        session.add(check)


async def fresh_result(database: Database, tenant_id: str, key: str, max_age: timedelta) -> CoverageCheck | None:
    """The newest answered check with the same cache key within ``max_age`` (answers only, not failures)."""
    since = utcnow() - max_age
    async with database.transaction() as session:
        rows = await session.exec(
            select(CoverageCheck)
            .where(
                CoverageCheck.tenant_id == tenant_id,
                CoverageCheck.cache_key == key,
                col(CoverageCheck.completed_at) >= since,
                json_present(col(CoverageCheck.result)),
            )
            .order_by(col(CoverageCheck.completed_at).desc())
            .limit(1)
        )
        return rows.first()


async def claim_pending(database: Database, owner_lease: timedelta, limit: int) -> list[CoverageCheck]:
    """Lease up to ``limit`` pending checks that have an inquiry (others wait for one)."""
    now = utcnow()
    async with database.transaction() as session:
        rows = await session.exec(
            select(CoverageCheck)
            .where(
                CoverageCheck.status == "pending",
                json_present(col(CoverageCheck.inquiry)),
                or_(col(CoverageCheck.lease_until).is_(None), col(CoverageCheck.lease_until) < now),
            )
            .order_by(col(CoverageCheck.created_at))
            .limit(limit)
        )
        candidates = list(rows.all())
        claimed: list[CoverageCheck] = []
        for check in candidates:
            taken = await session.exec(
                update(CoverageCheck)
                .where(
                    col(CoverageCheck.id) == check.id,
                    or_(col(CoverageCheck.lease_until).is_(None), col(CoverageCheck.lease_until) < now),
                )
                .values(lease_until=now + owner_lease)
            )
            if taken.rowcount == 1:
                claimed.append(check)
        return claimed


class CheckProcessor:
    """Works pending checks (batches, pre-checks with an inquiry) a few at a time, in the background."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        exchanger: Exchanger,
        *,
        concurrency: int = 8,
        idle_seconds: float = 0.5,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.exchanger = exchanger
        self.concurrency = concurrency
        self.idle_seconds = idle_seconds

    async def run_once(self) -> int:
        """Lease and work one round of pending checks; returns how many were worked."""
        lease = timedelta(seconds=self.exchanger.policy.deadline_seconds * 3)
        checks = await claim_pending(self.database, lease, self.concurrency)
        await asyncio.gather(*(self._work(check) for check in checks))
        return len(checks)

    async def run_forever(self) -> None:
        """Keep working; sleep a little when there is nothing to do."""
        while True:
            try:
                if await self.run_once() == 0:
                    await asyncio.sleep(self.idle_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("eligibility processor round failed; retrying")
                await asyncio.sleep(self.idle_seconds)

    async def _work(self, check: CoverageCheck) -> None:
        assert check.inquiry is not None
        query = query_from_json(check.inquiry)
        try:
            outcome = await self.exchanger.exchange(check.tenant_id, query, check.trace or new_trace())
        except PayerTimeout as exc:
            await record_failure(self.database, check.id, check.tenant_id, "timeout", "PayerTimeout", exc.detail)
        except (ConnectorError, PayerInvalidAnswer) as exc:
            await record_failure(self.database, check.id, check.tenant_id, "error", exc.error_code, exc.detail)
        else:
            await record_outcome(self.database, self.outbox, check.id, check.tenant_id, outcome)
