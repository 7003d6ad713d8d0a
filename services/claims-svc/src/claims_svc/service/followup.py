"""Claim status follow-up: real-time 276 → 277 for claims the payer has not answered, and the stuck-claim list.

Runs in the API process beside the claim pipeline (it shares its connectors, control numbers and practice cache):
a background round every ``interval`` asks about the claims that are due, and billers can ask about one claim
at once. Each 276 is recorded before it is sent, under a trace number derived from the claim and the attempt
(unique per tenant), so two processes never send the same inquiry and a crash leaves a visible record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_connect.errors import ConnectorError
from claimflow_events import uuid7
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import utcnow
from claimflow_x12 import parse
from claimflow_x12.envelope import allocate_envelope
from claimflow_x12.errors import X12ParseError
from claimflow_x12.guides.claim_status_276_277 import ClaimStatusResponse277, iter_claim_statuses
from claimflow_x12.writer import write_interchange
from claims_svc.adapters.repositories import ClaimRepository
from claims_svc.adapters.tables import Claim, StatusInquiry, TimelineEntry
from claims_svc.domain.status_followup import (
    AnswerKind,
    Assessment,
    FollowupPolicy,
    FollowupState,
    InquiryRecord,
    Requester,
    StatusAnswer,
    assess,
    build_276,
    kind_of,
    read_answer,
    trace_number,
)
from claims_svc.service.pipeline import ClaimPipeline, ClaimStatus, to_domain

logger = logging.getLogger(__name__)

AWAITING_PAYER = (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED)
"""Sent, and no 835 yet: what follow-up watches."""

_INTERRUPTED_AFTER = timedelta(minutes=10)
STATUS_INQUIRY_EVENT = "claimflow.claims.status-inquiry"
"""Timeline entry type of a 276/277 exchange (recorded by claims-svc itself, not published)."""


class InquiryStatus:
    """Where one 276 is."""

    SENT = "sent"  # recorded, the answer not yet in
    ANSWERED = "answered"
    FAILED = "failed"  # no usable answer (connector error, unreadable 277, trace not answered)


def _record(inquiry: StatusInquiry) -> InquiryRecord:
    if inquiry.status == InquiryStatus.SENT:
        return InquiryRecord(inquiry.sent_at, None)
    if inquiry.status == InquiryStatus.FAILED or not inquiry.category_code:
        return InquiryRecord(inquiry.sent_at, AnswerKind.NO_ANSWER, f"no answer: {inquiry.error or 'unknown'}")
    meaning = str((inquiry.answer or {}).get("meaning") or inquiry.category_code)
    return InquiryRecord(inquiry.sent_at, kind_of(inquiry.category_code), meaning)


@dataclass(frozen=True)
class FollowedClaim:
    """A claim awaiting the payer with its inquiries and where it stands."""

    claim: Claim
    inquiries: list[StatusInquiry]
    assessment: Assessment


class StatusFollowup:
    """Asks payers about claims they have not answered and says which claims are stuck."""

    def __init__(
        self,
        pipeline: ClaimPipeline,
        policy_for: Callable[[str], FollowupPolicy],
        *,
        timeout_seconds: float = 20.0,
    ) -> None:
        self.pipeline = pipeline
        self.context = pipeline.context
        self.policy_for = policy_for
        self.timeout_seconds = timeout_seconds
        parties = pipeline.config.parties
        self.requester = Requester(name=parties.submitter_name, etin=parties.submitter_id)

    # --- reading --------------------------------------------------------------------------------------------

    async def _followed(
        self, session: AsyncSession, now: datetime, tenant_id: str | None, claim_ids: Sequence[str] | None = None
    ) -> list[FollowedClaim]:
        # Only claims old enough for some payer's follow-up window: a round reads the overdue, not every open claim.
        shortest = min(self.policy_for(p).after_days for p in ["", *self.pipeline.config.payers])
        query = select(Claim).where(
            col(Claim.status).in_(AWAITING_PAYER),
            col(Claim.submitted_at).is_not(None),
            col(Claim.submitted_at) <= now - timedelta(days=shortest),
        )
        if tenant_id is not None:
            query = query.where(Claim.tenant_id == tenant_id)
        if claim_ids is not None:
            query = query.where(col(Claim.id).in_(list(claim_ids)))
        claims = list((await session.exec(query.order_by(col(Claim.submitted_at)))).all())
        if not claims:
            return []
        by_claim: dict[str, list[StatusInquiry]] = {c.id: [] for c in claims}
        for start in range(0, len(claims), 500):
            ids = [c.id for c in claims[start : start + 500]]
            rows = await session.exec(
                select(StatusInquiry).where(col(StatusInquiry.claim_id).in_(ids)).order_by(col(StatusInquiry.sent_at))
            )
            for row in rows.all():
                by_claim[row.claim_id].append(row)
        followed = []
        for claim in claims:
            assert claim.submitted_at is not None
            inquiries = by_claim[claim.id]
            policy = self.policy_for(claim.payer_id or "")
            assessment = assess(claim.submitted_at, [_record(i) for i in inquiries], now, policy)
            followed.append(FollowedClaim(claim, inquiries, assessment))
        return followed

    async def stuck(self, session: AsyncSession, tenant_id: str, now: datetime | None = None) -> list[FollowedClaim]:
        """The tenant's claims that asking the payer did not move: oldest first. Read in the caller's transaction
        (a request's: on SQLite a second transaction of the same request would wait for the first)."""
        followed = await self._followed(session, now or datetime.now(UTC), tenant_id)
        return [f for f in followed if f.assessment.state is FollowupState.STUCK]

    async def inquiries(self, session: AsyncSession, tenant_id: str, claim_id: str) -> list[StatusInquiry]:
        """Every 276 sent for one of the tenant's claims, oldest first (404 for another tenant's claim)."""
        await ClaimRepository(session, tenant_id).get(claim_id)
        rows = await session.exec(
            select(StatusInquiry)
            .where(StatusInquiry.tenant_id == tenant_id, StatusInquiry.claim_id == claim_id)
            .order_by(col(StatusInquiry.sent_at))
        )
        return list(rows.all())

    # --- asking ---------------------------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> int:
        """Ask about every claim that is due (or still unanswered); returns the number of 276s sent."""
        now = now or datetime.now(UTC)
        await self._close_interrupted(now)
        async with self.context.database.transaction() as session:
            followed = await self._followed(session, now, None)
        sent = 0
        for item in followed:
            if not self._ask_now(item, now):
                continue
            try:
                await self.inquire(item.claim.tenant_id, item.claim.id, now=now)
                sent += 1
            except Conflict as exc:
                logger.info("status follow-up skipped a claim: %s", exc.detail)
        return sent

    async def _cannot_ask(self, claim: Claim, sent_at: datetime, attempt: int, reason: str) -> StatusInquiry:
        """Record a 276 that could not even be built (the claim's practice left the directory, its data no longer
        makes a valid request): the claim shows as stuck with the reason instead of failing every round."""
        inquiry = StatusInquiry(
            id=new_id("sti"),
            tenant_id=claim.tenant_id,
            claim_id=claim.id,
            payer_id=claim.payer_id or "",
            trace_number=trace_number(claim.patient_control_number or claim.id, attempt),
            interchange_control_number="",
            status=InquiryStatus.FAILED,
            sent_at=sent_at,
            answered_at=sent_at,
            error=f"not sent: {reason}"[:500],
        )
        try:
            async with self.context.database.transaction() as session:
                session.add(inquiry)
        except IntegrityError:
            raise Conflict(f"a status inquiry for claim {claim.id} is already under way") from None
        return inquiry

    def _ask_now(self, item: FollowedClaim, now: datetime) -> bool:
        if item.assessment.state is FollowupState.DUE:
            return True
        if item.assessment.state is not FollowupState.STUCK or not item.inquiries:
            return False
        # Stuck for want of an answer: keep asking, spaced and bounded, while a person looks into it.
        policy = self.policy_for(item.claim.payer_id or "")
        latest = item.inquiries[-1]
        return (
            _record(latest).kind is AnswerKind.NO_ANSWER
            and len(item.inquiries) < policy.max_inquiries
            and now - latest.sent_at >= timedelta(days=policy.retry_days)
        )

    async def _close_interrupted(self, now: datetime) -> None:
        """276s recorded but never completed (the process died mid-exchange) count as unanswered."""
        async with self.context.database.transaction() as session:
            rows = await session.exec(
                select(StatusInquiry).where(
                    StatusInquiry.status == InquiryStatus.SENT, col(StatusInquiry.sent_at) < now - _INTERRUPTED_AFTER
                )
            )
            for row in rows.all():
                row.status = InquiryStatus.FAILED
                row.error = "interrupted: no answer was recorded"
                session.add(row)

    async def inquire(self, tenant_id: str, claim_id: str, *, now: datetime | None = None) -> StatusInquiry:
        """Send one real-time 276 for the claim now and record the 277's answer (or why there was none)."""
        sent_at = now or utcnow()
        async with self.context.database.transaction() as session:
            claim = await ClaimRepository(session, tenant_id).get(claim_id)
            if claim.status not in AWAITING_PAYER:
                raise Conflict(
                    f"claim {claim_id} is {claim.status}; status is asked only while the payer owes an answer"
                )
            attempts = len(
                (await session.exec(select(StatusInquiry.id).where(StatusInquiry.claim_id == claim_id))).all()
            )
        try:
            practice = await self.pipeline.practice(tenant_id, claim.practice_id)
            domain = to_domain(claim, practice, self.pipeline.config.payers)
        except (NotFound, InvalidInput) as exc:
            return await self._cannot_ask(claim, sent_at, attempts + 1, exc.detail)
        parties = self.pipeline.config.parties
        envelope = await allocate_envelope(
            self.pipeline.allocator,
            sender_id=parties.submitter_id,
            receiver_id=parties.receiver_id,
            transaction_count=1,
        )
        inquiry = StatusInquiry(
            id=new_id("sti"),
            tenant_id=tenant_id,
            claim_id=claim.id,
            payer_id=claim.payer_id or "",
            trace_number=trace_number(domain.patient_control_number, attempts + 1),
            interchange_control_number=f"{envelope.interchange_control_number:09d}",
            status=InquiryStatus.SENT,
            sent_at=sent_at,
        )
        request = build_276(domain, self.requester, trace=inquiry.trace_number, created_at=envelope.created_at)
        x12 = write_interchange(envelope, [request])
        try:
            async with self.context.database.transaction() as session:
                session.add(inquiry)
        except IntegrityError:
            raise Conflict(f"a status inquiry for claim {claim_id} is already under way") from None
        inquiry_id, trace = inquiry.id, inquiry.trace_number
        answer, error = await self._exchange(tenant_id, claim.payer_id or "", x12.encode(), trace)
        return await self._store_answer(inquiry_id, claim.correlation_id, answer, error)

    async def _exchange(
        self, tenant_id: str, payer_id: str, x12: bytes, trace: str
    ) -> tuple[StatusAnswer | None, str | None]:
        try:
            connector = self.pipeline.connectors.for_payer(tenant_id, payer_id)
            raw = await connector.claim_status(tenant_id, x12, self.timeout_seconds)
        except ConnectorError as exc:
            return None, f"{exc.error_code}: {exc.detail}"
        try:
            result = parse(raw)
        except X12ParseError as exc:
            return None, f"unreadable 277: {exc}"
        answers = [
            reported.claim
            for transaction in result.transactions
            if isinstance(transaction, ClaimStatusResponse277)
            for reported in iter_claim_statuses(transaction)
            if reported.claim.trace.reference_id == trace and reported.claim.statuses
        ]
        if not answers:
            problems = "; ".join(e.message for e in result.errors[:3])
            return None, f"the 277 did not answer trace {trace}{': ' + problems if problems else ''}"
        return read_answer(answers[0]), None

    async def _store_answer(
        self, inquiry_id: str, correlation_id: str, answer: StatusAnswer | None, error: str | None
    ) -> StatusInquiry:
        now = utcnow()
        async with self.context.database.transaction() as session:
            inquiry = await session.get(StatusInquiry, inquiry_id)
            assert inquiry is not None
            inquiry.answered_at = now
            if answer is None:
                inquiry.status = InquiryStatus.FAILED
                inquiry.error = (error or "no answer")[:500]
                summary = f"276 sent; no answer ({inquiry.error})"
            else:
                inquiry.status = InquiryStatus.ANSWERED
                inquiry.category_code = answer.category_code
                inquiry.status_code = answer.status_code
                inquiry.answer = answer.as_dict()
                summary = f"276 sent; 277 {answer.category_code}:{answer.status_code or ''} {answer.meaning}"
                claim = await session.get(Claim, inquiry.claim_id)
                if claim is not None and answer.payer_claim_number and not claim.payer_claim_number:
                    claim.payer_claim_number = answer.payer_claim_number
                    session.add(claim)
            session.add(inquiry)
            session.add(
                TimelineEntry(
                    event_id=str(uuid7()),
                    tenant_id=inquiry.tenant_id,
                    correlation_id=correlation_id,
                    event_type=STATUS_INQUIRY_EVENT,
                    source="claims-svc",
                    subject=inquiry.claim_id,
                    occurred_at=now,
                    summary=summary[:300],
                )
            )
        return inquiry

    async def run_forever(self, interval_seconds: float) -> None:
        """A follow-up round every ``interval_seconds`` (errors are logged and the round retried)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("status follow-up round failed; retrying")
            await asyncio.sleep(interval_seconds)
