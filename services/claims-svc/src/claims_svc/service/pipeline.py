"""From draft to acknowledged: scrub drafts, submit clean claims as 837s, read 999/277CA acknowledgments.

Runs in the API process (it needs the tenant directory for the billing provider) as a background loop, and
on demand from the submission API. Every step is a short transaction; the connector is called outside them.

Submission is crash-safe: the interchange is stored as ``sending`` with its claims marked ``submitting`` before
the connector is called, and a ``sending`` interchange found later is sent again under the same file name
(clearinghouses and the sandbox take a repeated file name as the same file), so a crash never loses a claim and
never sends two different files for it. A lease on the send (``send_lease_until``) lets one replica at a time send
a waiting interchange.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from claimflow_connect.base import Connector
from claimflow_connect.errors import ConnectorError
from claimflow_connect.models import MailboxItem, ResponseKind
from claimflow_connect.routing import ConnectorRouter
from claimflow_events import (
    Addressee,
    ClaimAccepted,
    ClaimLineSubmitted,
    ClaimRejected,
    ClaimResubmitted,
    ClaimSubmitted,
    InstitutionalDetails,
    PayerSequence,
    RejectionReason,
    ServiceLine,
)
from claimflow_events.payloads import AcknowledgmentSource
from claimflow_kit.app import ServiceContext
from claimflow_kit.directory import Practice
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.identifiers import new_id
from claimflow_kit.mailbox_cursor import read_cursor, save_cursor
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import utcnow
from claimflow_x12 import parse
from claimflow_x12.envelope import ControlNumberAllocator, allocate_envelope
from claimflow_x12.guides.ack_999 import Acknowledgment999
from claimflow_x12.guides.claim_ack_277ca import AcknowledgedClaim, ClaimAcknowledgment277CA, iter_acknowledged_claims
from claimflow_x12.writer import write_interchange
from claims_svc.adapters.tables import Claim, ClaimSubmission, FeeScheduleEntry, MailboxCursor
from claims_svc.domain.assembly import split
from claims_svc.domain.claim import (
    Address,
    BillingProvider,
    ClaimLine,
    Institutional,
    OtherCoverage,
    Payer,
    Person,
    ProfessionalClaim,
    new_patient_control_number,
)
from claims_svc.domain.cob import adjudication_from, coverages_of
from claims_svc.domain.fees import Fee, charge_for
from claims_svc.domain.scrub import PayerRules, ScrubContext, SentVersion, scrub
from claims_svc.domain.x12_837i import build_837i
from claims_svc.domain.x12_837p import Parties, build_837p

logger = logging.getLogger(__name__)


class ClaimStatus:
    """Where a claim is."""

    DRAFT = "draft"
    HELD = "held"  # failed the scrubber: in the billing work queue
    READY = "ready"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    # Adjudicated (835): remit-svc's payment-posted and claim-denied.
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    COMBINED = "combined"  # its services are billed on another claim (``combined_into``)
    SUPERSEDED = "superseded"  # a later version of its EHR encounter is billed instead; it was never sent
    CANCELLED = "cancelled"  # a biller withdrew it before it was sent


PAYER_HAS_CLAIM = (ClaimStatus.ACCEPTED, ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED)
"""Statuses of a claim the payer took in: it can be replaced (7) or voided (8) under the payer's claim number."""


@dataclass(frozen=True)
class Correction:
    """What a biller asks for: the kind, why, and what changes (nothing changes for a void)."""

    kind: str  # replacement, void, resubmission
    reason: str
    diagnosis_codes: list[str] | None = None
    service_lines: list[dict[str, object]] | None = None
    member_id: str | None = None
    # A replacement of some lines only: ``service_lines`` then holds just those lines (by line number), and a payer
    # that takes line-level corrections gets a new claim with only them; any other payer a whole-claim replacement.
    line_numbers: list[int] | None = None
    prior_adjudications: list[dict[str, object]] | None = None  # earlier payers re-adjudicated (COB claims)


@dataclass(frozen=True)
class PipelineConfig:
    """What the pipeline needs from settings."""

    parties: Parties
    payers: dict[str, PayerRules]
    auto_submit_after: timedelta | None
    batch_size: int = 500
    # How long a replica holds the send of an interchange: an interchange still "sending" after that lost its sender
    # (a crash). Longer than a connector may take to answer, so one on its way right now is not sent a second time.
    resend_after: timedelta = timedelta(minutes=2)


class _ClaimsTaken(Exception):
    """Some claims of a batch were no longer ready when its interchange was stored."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} claims no longer ready")
        self.count = count


def _address(raw: Any) -> Address | None:
    if not isinstance(raw, dict):
        return None
    return Address(
        line1=raw["line1"], city=raw["city"], state=raw["state"], postal_code=raw["postal_code"], line2=raw.get("line2")
    )


def _person(raw: Any) -> Person | None:
    if not isinstance(raw, dict):
        return None
    return Person(
        first_name=raw["first_name"],
        last_name=raw["last_name"],
        birth_date=date.fromisoformat(raw["birth_date"]),
        sex=raw["sex"],
        address=_address(raw.get("address")),
    )


def service_lines(claim: Claim) -> list[ServiceLine]:
    """The claim's lines as the contract types them (stored as JSON)."""
    return [ServiceLine.model_validate(line) for line in claim.service_lines]


def _payer(payer_id: str, payers: dict[str, PayerRules]) -> Payer:
    rules = payers.get(payer_id)
    return Payer(payer_id, rules.name, rules.claim_filing) if rules else Payer(payer_id, payer_id)


def other_coverages(claim: Claim, payers: dict[str, PayerRules]) -> tuple[OtherCoverage, ...]:
    """The patient's other plans (2320/2330), with the adjudication of those that paid before this claim's payer."""
    adjudications = {str(a["payer_sequence"]): a for a in claim.prior_adjudications}
    coverages = []
    for raw in coverages_of(claim.parties):
        sequence = str(raw["payer_sequence"])
        adjudication = adjudications.get(sequence)
        coverages.append(
            OtherCoverage(
                sequence=sequence,
                payer=_payer(str(raw["payer_id"]), payers),
                member_id=raw.get("member_id"),
                relationship_to_subscriber=str(raw.get("relationship_to_subscriber") or "18"),
                subscriber=_person(raw.get("subscriber")),
                group_number=raw.get("group_number"),
                adjudication=adjudication_from(adjudication) if adjudication else None,
            )
        )
    return tuple(coverages)


def to_domain(claim: Claim, practice: Practice, payers: dict[str, PayerRules]) -> ProfessionalClaim:
    """The domain claim for a stored claim and its practice."""
    parties: dict[str, Any] = dict(claim.parties or {})
    patient = _person(parties.get("patient"))
    if patient is None:
        raise InvalidInput(f"claim {claim.id} has no patient demographics (encounter-coded without parties)")
    address = (
        Address(practice.address_line1, practice.city, practice.state, practice.postal_code)
        if practice.address_line1 and practice.city and practice.state and practice.postal_code
        else None
    )
    return ProfessionalClaim(
        patient_control_number=claim.patient_control_number or claim.id,
        payer=_payer(claim.payer_id or "", payers),
        billing=BillingProvider(
            practice.name, claim.billing_npi or practice.npi, practice.tax_id, address, practice.taxonomy_code
        ),
        rendering_npi=claim.rendering_npi or practice.npi,
        member_id=parties.get("member_id"),
        patient=patient,
        date_of_service=claim.date_of_service,
        place_of_service=claim.place_of_service or "11",
        diagnoses=tuple(claim.diagnosis_codes),
        lines=tuple(
            ClaimLine(
                line_number=line.line_number,
                procedure_code=line.procedure_code,
                charge=line.charge,
                units=line.units,
                modifiers=line.modifiers,
                diagnosis_pointers=line.diagnosis_pointers,
                service_date=date.fromisoformat(line.service_date) if line.service_date else None,
                revenue_code=line.revenue_code,
            )
            for line in service_lines(claim)
        ),
        relationship_to_subscriber=str(parties.get("relationship_to_subscriber") or "18"),
        subscriber=_person(parties.get("subscriber")),
        group_number=parties.get("group_number"),
        frequency_code=claim.frequency_code,
        payer_claim_number=claim.payer_claim_number,
        prior_authorization=claim.prior_authorization,
        payer_sequence=claim.payer_sequence,
        other_coverages=other_coverages(claim, payers),
        institutional=_institutional(claim.institutional),
    )


def _institutional(raw: dict[str, Any] | None) -> Institutional | None:
    """The stored institutional details (encounter-coded's, as JSON) as the domain reads them."""
    if not raw:
        return None
    details = InstitutionalDetails.model_validate(raw)
    return Institutional(
        type_of_bill=details.type_of_bill,
        admission_type_code=details.admission_type_code,
        patient_status_code=details.patient_status_code,
        attending_npi=details.attending_provider_npi,
        attending_last_name=details.attending_last_name,
        attending_first_name=details.attending_first_name,
        admission_source_code=details.admission_source_code,
        admission_date=details.admission_date,
    )


class ClaimPipeline:
    """Scrub, submit and acknowledge claims for every tenant of this service."""

    def __init__(
        self,
        context: ServiceContext,
        config: PipelineConfig,
        connectors: ConnectorRouter,
        allocator: ControlNumberAllocator,
    ) -> None:
        self.context = context
        self.config = config
        self.connectors = connectors
        self.allocator = allocator
        self._submit_lock = asyncio.Lock()
        # Held by a send (from before the interchange goes out to the commit recording its claims as sent) and by
        # a mailbox read: this process never reads the answer to a send of its own before the send is recorded.
        self._exchange = asyncio.Lock()

    # --- scrubbing ---------------------------------------------------------------------------------------

    async def _practice(self, tenant_id: str, practice_id: str) -> Practice | None:
        return await self.context.practices.practice(tenant_id, practice_id)

    async def practice(self, tenant_id: str, practice_id: str) -> Practice:
        """The tenant's practice from the directory (404 when the tenant has no such practice)."""
        found = await self._practice(tenant_id, practice_id)
        if found is None:
            raise NotFound("Practice", practice_id)
        return found

    async def scrub_drafts(self, limit: int = 200) -> int:
        """Scrub drafts in one transaction: clean ones become ``ready``, the others ``held`` with their findings.

        One transaction for the batch, not one per claim: on SQLite each transaction waits its turn for the one
        writer (the worker writes to the same file), and at 100 encounters a second the per-claim turns, not the
        scrubbing, made drafts wait seconds. Replicas skip the drafts another one is scrubbing (PostgreSQL).
        """
        async with self.context.database.transaction() as session:
            query = select(Claim).where(Claim.status == ClaimStatus.DRAFT).order_by(col(Claim.created_at)).limit(limit)
            if self.context.database.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            drafts = list((await session.exec(query)).all())
            sent = await _sent_alike(session, drafts)
            versions = await _encounter_versions(session, drafts)
            for claim in drafts:
                await self._scrub(session, claim, sent, versions)
                if claim.status == ClaimStatus.READY:  # the round's later drafts of the same visit see it
                    sent.setdefault(_sent_key(claim), []).append(claim)
        return len(drafts)

    async def rescrub(self, tenant_id: str, claim_id: str) -> Claim:
        """Run the scrubber on one draft or held claim and store the outcome."""
        async with self.context.database.transaction() as session:
            claim = await session.get(Claim, claim_id, with_for_update=True)
            if claim is None or claim.tenant_id != tenant_id:
                raise NotFound("Claim", claim_id)
            if claim.status not in (ClaimStatus.DRAFT, ClaimStatus.HELD):
                raise Conflict(f"claim {claim_id} is {claim.status}; only draft or held claims are scrubbed")
            await self._scrub(
                session, claim, await _sent_alike(session, [claim]), await _encounter_versions(session, [claim])
            )
            return claim

    async def _scrub(
        self,
        session: Any,
        claim: Claim,
        sent: Mapping[_SentKey, list[Claim]],
        versions: Mapping[tuple[str, str], list[_Version]],
    ) -> None:
        """The scrubber's findings on ``claim`` and its new status (held with findings, else ready)."""
        practice = await self._practice(claim.tenant_id, claim.practice_id)
        if practice is None:
            findings: list[dict[str, object]] = [
                {"code": "PRACTICE_UNKNOWN", "message": "The claim's practice is not in the directory.",
                 "fix": "Add the practice to the tenant.", "line_number": None}
            ]  # fmt: skip
        elif not isinstance((claim.parties or {}).get("patient"), dict):
            # encounter-coded may come without parties (the event allows it); such a claim cannot be billed, and
            # must not stop the round for the drafts after it.
            findings = [
                {"code": "PATIENT_UNKNOWN", "message": "The claim names no patient or subscriber.",
                 "fix": "Send the encounter again with its patient and insurance details.", "line_number": None}
            ]  # fmt: skip
        else:
            await self._fill_charges(session, claim)
            domain = to_domain(claim, practice, self.config.payers)
            earlier = _earlier_version_sent(claim, versions)
            duplicate = None if earlier else _duplicate_of(claim, sent)
            context = ScrubContext(
                today=datetime.now(UTC).date(),
                payers=self.config.payers,
                already_submitted=lambda _c: duplicate,
                earlier_version_sent=lambda _c: earlier,
            )
            findings = [f.as_dict() for f in scrub(domain, context)]
        claim.findings = findings
        claim.status = ClaimStatus.HELD if findings else ClaimStatus.READY
        claim.updated_at = utcnow()
        session.add(claim)

    async def _fill_charges(self, session: Any, claim: Claim) -> None:
        """Charges from the practice's fee schedule for lines the EHR sent without one."""
        lines = service_lines(claim)
        missing = {line.procedure_code for line in lines if line.charge is None}
        if not missing:
            return
        rows = await session.exec(
            select(FeeScheduleEntry).where(
                FeeScheduleEntry.tenant_id == claim.tenant_id,
                FeeScheduleEntry.practice_id == claim.practice_id,
                col(FeeScheduleEntry.procedure_code).in_(sorted(missing)),
            )
        )
        fees = [
            Fee(r.payer_key, r.procedure_code, r.modifier, r.amount, r.effective_from, r.effective_to)
            for r in rows.all()
        ]
        filled = []
        for line in lines:
            if line.charge is None:
                charge = charge_for(
                    fees,
                    payer_id=claim.payer_id or "",
                    procedure_code=line.procedure_code,
                    modifiers=line.modifiers,
                    day=claim.date_of_service,
                    units=line.units,
                )
                line = line.model_copy(update={"charge": charge})
            filled.append(line)
        claim.service_lines = [line.model_dump(mode="json") for line in filled]
        claim.total_charge = sum((line.charge or Decimal(0) for line in filled), Decimal(0))

    async def fee_schedule(self, tenant_id: str, practice_id: str) -> list[FeeScheduleEntry]:
        """A practice's fee schedule (404 for another tenant's practice)."""
        if await self._practice(tenant_id, practice_id) is None:
            raise NotFound("Practice", practice_id)
        async with self.context.database.transaction() as session:
            rows = await session.exec(
                select(FeeScheduleEntry)
                .where(FeeScheduleEntry.tenant_id == tenant_id, FeeScheduleEntry.practice_id == practice_id)
                .order_by(col(FeeScheduleEntry.procedure_code), col(FeeScheduleEntry.effective_from))
            )
            return list(rows.all())

    async def set_fees(self, tenant_id: str, practice_id: str, fees: Sequence[Fee]) -> list[FeeScheduleEntry]:
        """Add or update fee schedule entries (same payer, code, modifier and start date = the same entry)."""
        if await self._practice(tenant_id, practice_id) is None:
            raise NotFound("Practice", practice_id)
        async with self.context.database.transaction() as session:
            for fee in fees:
                row = (
                    await session.exec(
                        select(FeeScheduleEntry).where(
                            FeeScheduleEntry.tenant_id == tenant_id,
                            FeeScheduleEntry.practice_id == practice_id,
                            FeeScheduleEntry.payer_key == fee.payer_key,
                            FeeScheduleEntry.procedure_code == fee.procedure_code,
                            FeeScheduleEntry.modifier == fee.modifier,
                            FeeScheduleEntry.effective_from == fee.effective_from,
                        )
                    )
                ).first() or FeeScheduleEntry(
                    tenant_id=tenant_id,
                    practice_id=practice_id,
                    payer_key=fee.payer_key,
                    procedure_code=fee.procedure_code,
                    modifier=fee.modifier,
                    amount=fee.amount,
                    effective_from=fee.effective_from,
                )
                row.amount = fee.amount
                row.effective_to = fee.effective_to
                session.add(row)
        return await self.fee_schedule(tenant_id, practice_id)

    # --- submission --------------------------------------------------------------------------------------

    async def submit(
        self,
        tenant_id: str,
        *,
        claim_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[list[ClaimSubmission], bool]:
        """Submit ready claims (all of the tenant's, or the given ones) as one 837 per payer.

        Returns the submissions and whether they were made earlier under the same Idempotency-Key.
        """
        async with self._submit_lock:
            if idempotency_key:
                async with self.context.database.transaction() as session:
                    earlier = list(
                        (
                            await session.exec(
                                select(ClaimSubmission).where(
                                    ClaimSubmission.tenant_id == tenant_id,
                                    col(ClaimSubmission.idempotency_key).startswith(f"{idempotency_key}#"),
                                )
                            )
                        ).all()
                    )
                if earlier:
                    return earlier, True
            prepared = await self._prepare(tenant_id, claim_ids, idempotency_key)
            for submission in prepared:
                await self._send(submission.id)
            async with self.context.database.transaction() as session:
                stored = [await session.get(ClaimSubmission, p.id) for p in prepared]
            return [s for s in stored if s is not None], False

    async def _prepare(
        self, tenant_id: str, claim_ids: Sequence[str] | None, idempotency_key: str | None
    ) -> list[ClaimSubmission]:
        async with self.context.database.transaction() as session:
            query = select(Claim).where(Claim.tenant_id == tenant_id, Claim.status == ClaimStatus.READY)
            if claim_ids is not None:
                query = query.where(col(Claim.id).in_(list(claim_ids)))
            claims = list((await session.exec(query.order_by(col(Claim.created_at)))).all())
        if claim_ids is not None:
            missing = set(claim_ids) - {c.id for c in claims}
            if missing:
                raise Conflict(
                    f"not ready to submit (held, already submitted or unknown): {', '.join(sorted(missing))}"
                )
        # One interchange per payer and claim kind: professional claims go out as 837P, institutional as 837I.
        by_payer: dict[tuple[str, str], list[Claim]] = {}
        for claim in claims:
            by_payer.setdefault((claim.payer_id or "", claim.claim_kind), []).append(claim)
        prepared = []
        for index, ((payer_id, _kind), payer_claims) in enumerate(sorted(by_payer.items())):
            for start in range(0, len(payer_claims), self.config.batch_size):
                batch = payer_claims[start : start + self.config.batch_size]
                key = f"{idempotency_key}#{index}-{start}" if idempotency_key else None
                submission = await self._store_batch(tenant_id, payer_id, batch, key)
                if submission is not None:
                    prepared.append(submission)
        return prepared

    async def _store_batch(
        self, tenant_id: str, payer_id: str, claims: list[Claim], idempotency_key: str | None
    ) -> ClaimSubmission | None:
        """Store the batch's interchange; None when every claim of it went out with another replica's batch.

        Each API replica runs this pipeline: two may pick the same ready claims. The claims move to submitting
        only if they are still ready, in the transaction that stores the interchange, so a claim is in one
        interchange only; a batch that lost claims to another replica is built again from those still ready.
        """
        while claims:
            try:
                return await self._store_interchange(tenant_id, payer_id, claims, idempotency_key)
            except _ClaimsTaken as taken:
                logger.info("%d claims of a batch were submitted by another replica", taken.count)
            async with self.context.database.transaction() as session:
                ready = await session.exec(
                    select(Claim).where(
                        Claim.tenant_id == tenant_id,
                        col(Claim.id).in_([c.id for c in claims]),
                        Claim.status == ClaimStatus.READY,
                    )
                )
                by_id = {c.id: c for c in ready.all()}
            claims = [by_id[c.id] for c in claims if c.id in by_id]
        return None

    async def _store_interchange(
        self, tenant_id: str, payer_id: str, claims: list[Claim], idempotency_key: str | None
    ) -> ClaimSubmission:
        domain = []
        for claim in claims:
            practice = await self._practice(tenant_id, claim.practice_id)
            if practice is None:
                raise NotFound("Practice", claim.practice_id)
            domain.append(to_domain(claim, practice, self.config.payers))
        parties = self.config.parties
        envelope = await allocate_envelope(
            self.allocator, sender_id=parties.submitter_id, receiver_id=parties.receiver_id, transaction_count=1
        )
        submission_id = new_id("sub")
        institutional = domain[0].institutional is not None
        build = build_837i if institutional else build_837p
        # BHT03 from the id's random end (its start is the time, shared by the batches of one millisecond)
        transaction = build(domain, parties, batch_id=submission_id[-20:], created_at=envelope.created_at)
        x12 = write_interchange(envelope, [transaction])
        isa = f"{envelope.interchange_control_number:09d}"
        submission = ClaimSubmission(
            id=submission_id,
            tenant_id=tenant_id,
            payer_id=payer_id,
            idempotency_key=idempotency_key,
            claim_ids=[c.id for c in claims],
            interchange_control_number=isa,
            filename=f"{'837I' if institutional else '837P'}_{payer_id}_{isa}.x12",
            status="sending",
            x12=x12,
            send_lease_until=utcnow() + self.config.resend_after,  # this replica sends it first
        )
        async with self.context.database.transaction() as session:
            moved = await session.exec(
                update(Claim)
                .where(col(Claim.id).in_([c.id for c in claims]), col(Claim.status) == ClaimStatus.READY)
                .values(
                    status=ClaimStatus.SUBMITTING,
                    submission_id=submission_id,
                    interchange_control_number=isa,
                    group_control_number=str(envelope.group_control_number),
                    transaction_control_number=f"{envelope.transaction_control_numbers[0]:04d}",
                    updated_at=utcnow(),
                )
            )
            if moved.rowcount != len(claims):  # rolls the transaction back: this interchange is never sent
                raise _ClaimsTaken(len(claims) - moved.rowcount)
            session.add(submission)
        return submission

    async def _send(self, submission_id: str) -> None:
        async with self._exchange:
            await self._send_and_record(submission_id)

    async def _send_and_record(self, submission_id: str) -> None:
        async with self.context.database.transaction() as session:
            submission = await session.get(ClaimSubmission, submission_id)
        if submission is None or submission.status != "sending":
            return
        connector = self.connectors.for_payer(submission.tenant_id, submission.payer_id)
        try:
            receipt = await connector.submit(
                submission.tenant_id, submission.payer_id, submission.x12.encode(), submission.filename
            )
        except ConnectorError as exc:  # nothing is on its way: the lease is given back for the next round
            async with self.context.database.transaction() as session:
                stored = await session.get(ClaimSubmission, submission_id)
                if stored is not None:
                    stored.error = f"{exc.error_code}: {exc.detail}"[:500]
                    stored.send_lease_until = None
                    session.add(stored)
            raise
        now = utcnow()
        async with self.context.database.transaction() as session:
            stored = await session.get(ClaimSubmission, submission_id)
            assert stored is not None
            stored.status = "sent"
            stored.receipt_id = receipt.submission_id
            stored.error = None
            stored.send_lease_until = None
            session.add(stored)
            # One read for the interchange's claims: a read per claim also flushed the previous claim's UPDATE, so
            # the claims were written a statement each instead of in one.
            rows = await session.exec(select(Claim).where(col(Claim.id).in_(stored.claim_ids)))
            by_id = {claim.id: claim for claim in rows.all()}
            for claim_id in stored.claim_ids:
                claim = by_id.get(claim_id)
                if claim is None or claim.status != ClaimStatus.SUBMITTING:
                    continue
                claim.status = ClaimStatus.SUBMITTED
                claim.submitted_at = now
                claim.updated_at = now
                session.add(claim)
                self.context.outbox.add(
                    session, submitted_event(claim, now), tenant_id=claim.tenant_id, correlation_id=claim.correlation_id
                )

    async def resend_pending(self) -> int:
        """Send interchanges stored but not confirmed whose send nobody holds: at once after a failed attempt (a
        connector outage), and once the lease of a sender that never answered ran out (``resend_after``: it
        crashed). Each is sent by one replica: the first to take its lease."""
        now = utcnow()
        async with self.context.database.transaction() as session:
            pending = list(
                (
                    await session.exec(
                        select(ClaimSubmission.id).where(
                            ClaimSubmission.status == "sending",
                            or_(
                                col(ClaimSubmission.send_lease_until).is_(None),
                                col(ClaimSubmission.send_lease_until) < now,
                            ),
                        )
                    )
                ).all()
            )
        sent = 0
        for submission_id in pending:
            if not await self._take_send(submission_id):
                continue  # another replica took it first
            sent += 1
            try:
                await self._send(submission_id)
            except ConnectorError as exc:
                logger.warning("submission %s still not sent: %s", submission_id, exc.error_code)
        return sent

    async def _take_send(self, submission_id: str) -> bool:
        """Take the lease on sending a waiting interchange; False when another replica holds it or it was sent."""
        now = utcnow()
        async with self.context.database.transaction() as session:
            taken = await session.exec(
                update(ClaimSubmission)
                .where(
                    col(ClaimSubmission.id) == submission_id,
                    col(ClaimSubmission.status) == "sending",
                    or_(col(ClaimSubmission.send_lease_until).is_(None), col(ClaimSubmission.send_lease_until) < now),
                )
                .values(send_lease_until=now + self.config.resend_after)
            )
            return bool(taken.rowcount == 1)

    async def auto_submit(self) -> int:
        """Submit, per tenant, ready claims that waited longer than the batch window."""
        window = self.config.auto_submit_after
        if window is None:
            return 0
        cutoff = utcnow() - window
        async with self.context.database.transaction() as session:
            tenants = set(
                (
                    await session.exec(
                        select(Claim.tenant_id).where(
                            Claim.status == ClaimStatus.READY, col(Claim.updated_at) <= cutoff
                        )
                    )
                ).all()
            )
        sent = 0
        for tenant_id in sorted(tenants):
            try:
                sent += len((await self.submit(tenant_id))[0])
            except ConnectorError as exc:
                logger.warning("auto-submit for a tenant failed: %s", exc.error_code)
        return sent

    # --- acknowledgments ---------------------------------------------------------------------------------

    async def poll_acknowledgments(self) -> int:
        """Read 999 and 277CA files for tenants with claims waiting for them; returns claims decided."""
        async with self.context.database.transaction() as session:
            tenants = set(
                (await session.exec(select(Claim.tenant_id).where(Claim.status == ClaimStatus.SUBMITTED))).all()
            )
        decided = 0
        for tenant_id in sorted(tenants):
            for key, connector in self.connectors.mailboxes(tenant_id):
                async with self._exchange:
                    decided += await self._read_mailbox(tenant_id, key, connector)
        return decided

    async def _read_mailbox(self, tenant_id: str, key: str, connector: Connector) -> int:
        after = await read_cursor(self.context.database, MailboxCursor, tenant_id, key)
        try:
            items = await connector.fetch_responses(tenant_id, after)
        except ConnectorError as exc:
            logger.warning("mailbox unavailable: %s", exc.error_code)
            return 0
        decided = 0
        done: list[str] = []
        for item in items:
            try:
                decided += await self._apply_response(tenant_id, item)
            except StillSending:  # another replica's send, not recorded yet: read again from here next time
                break
            if item.kind in (ResponseKind.ACK_999, ResponseKind.CLAIM_ACK_277CA):
                done.append(item.id)
            await save_cursor(self.context.database, MailboxCursor, tenant_id, key, item.cursor)
        if done:
            await connector.acknowledge(tenant_id, done)
        return decided

    async def _apply_response(self, tenant_id: str, item: MailboxItem) -> int:
        if item.kind not in (ResponseKind.ACK_999, ResponseKind.CLAIM_ACK_277CA):
            return 0  # 835s and 277s are read by remit-svc and the status follow-up
        result = parse(item.content)
        decided = 0
        for transaction in result.transactions:
            if isinstance(transaction, Acknowledgment999):
                decided += await self._apply_999(tenant_id, transaction)
            elif isinstance(transaction, ClaimAcknowledgment277CA):
                decided += await self._apply_277ca(tenant_id, transaction)
        return decided

    async def _apply_999(self, tenant_id: str, ack: Acknowledgment999) -> int:
        group = ack.group_response.group_control_number
        decided = 0
        for response in ack.transaction_responses:
            if response.response_trailer.acknowledgment_code.value not in ("R", "M", "W", "X"):
                continue
            codes = [
                e.value
                for e in (
                    response.response_trailer.error_code_1,
                    response.response_trailer.error_code_2,
                    response.response_trailer.error_code_3,
                )
                if e is not None
            ]
            reasons = [
                RejectionReason(code=f"IK5-{c}", description="Transaction set rejected by the 999") for c in codes
            ]
            for error in response.segment_errors:
                ik3 = error.segment_error
                reasons.append(
                    RejectionReason(
                        code=f"IK3-{ik3.error_code.value if ik3.error_code else '?'}",
                        description=f"segment {ik3.segment_id_code} at position {ik3.segment_position}"
                        f"{' in loop ' + ik3.loop_id if ik3.loop_id else ''}",
                    )
                )
            if not reasons:
                reasons = [RejectionReason(code="999-R", description="Transaction set rejected by the 999")]
            async with self.context.database.transaction() as session:
                claims = (
                    await session.exec(
                        select(Claim)
                        .where(
                            Claim.tenant_id == tenant_id,
                            Claim.group_control_number == str(int(group)),
                            Claim.transaction_control_number == response.response_header.control_number,
                            col(Claim.status).in_(_ANSWERABLE),
                        )
                        .with_for_update()  # a payment posted meanwhile (or another replica's answer) wins
                    )
                ).all()
                _not_still_sending(claims)
                for claim in claims:
                    self._reject(session, claim, AcknowledgmentSource.FUNCTIONAL_ACK, reasons)
                    decided += 1
        return decided

    async def _apply_277ca(self, tenant_id: str, ack: ClaimAcknowledgment277CA) -> int:
        """Accept or reject the 277CA's claims that still wait for an answer, in one transaction; returns how many.
        They are locked: a payment posted meanwhile (or another replica's reading of the same file) wins."""
        acknowledged = list(iter_acknowledged_claims(ack))
        numbers = sorted({a.patient_control_number for a in acknowledged})
        decided = 0
        async with self.context.database.transaction() as session:
            waiting: dict[str | None, Claim] = {}
            for start in range(0, len(numbers), 500):
                rows = await session.exec(waiting_for_answer(tenant_id, numbers[start : start + 500]))
                waiting.update({claim.patient_control_number: claim for claim in rows.all()})
            _not_still_sending(waiting.values())
            for answer in acknowledged:
                claim = waiting.pop(answer.patient_control_number, None)
                if claim is None:
                    continue
                self._acknowledge(session, tenant_id, claim, answer)
                decided += 1
        return decided

    def _acknowledge(self, session: Any, tenant_id: str, claim: Claim, answer: AcknowledgedClaim) -> None:
        statuses = answer.claim.statuses
        if not answer.accepted:
            reasons = [
                RejectionReason(
                    code=":".join(p for p in (s.category_code, s.status_code, s.entity_code) if p),
                    description=_category_text(s.category_code, s.status_code),
                )
                for s in statuses
            ] or [RejectionReason(code="277CA", description="Rejected by the clearinghouse")]
            self._reject(session, claim, AcknowledgmentSource.CLAIM_ACK, reasons)
            return
        now = utcnow()
        payer_number = next((r.value for r in answer.claim.references if r.qualifier == "1K"), None)
        claim.status = ClaimStatus.ACCEPTED
        claim.payer_claim_number = payer_number or claim.payer_claim_number
        claim.acknowledged_at = now
        claim.updated_at = now
        session.add(claim)
        self.context.outbox.add(
            session,
            ClaimAccepted(
                claim_id=claim.id,
                patient_control_number=claim.patient_control_number or claim.id,
                payer_id=claim.payer_id or "",
                source=AcknowledgmentSource.CLAIM_ACK,
                payer_claim_control_number=payer_number,
                status_category_codes=tuple(s.category_code for s in statuses),
                accepted_at=now,
            ),
            tenant_id=tenant_id,
            correlation_id=claim.correlation_id,
        )

    def _reject(self, session: Any, claim: Claim, source: AcknowledgmentSource, reasons: list[RejectionReason]) -> None:
        now = utcnow()
        claim.status = ClaimStatus.REJECTED
        claim.rejection = [{"source": source.value, **r.model_dump()} for r in reasons]
        claim.acknowledged_at = now
        claim.updated_at = now
        session.add(claim)
        self.context.outbox.add(
            session,
            ClaimRejected(
                claim_id=claim.id,
                patient_control_number=claim.patient_control_number or claim.id,
                payer_id=claim.payer_id or "",
                source=source,
                reasons=tuple(reasons),
                rejected_at=now,
            ),
            tenant_id=claim.tenant_id,
            correlation_id=claim.correlation_id,
        )

    # --- corrections ---------------------------------------------------------------------------------------

    async def correct(self, tenant_id: str, claim_id: str, request: Correction) -> Claim:
        """A new claim that replaces, voids or resubmits ``claim_id`` (see ``start_correction``)."""
        async with self.context.database.transaction() as session:
            return await start_correction(
                session, self.context.outbox, tenant_id, claim_id, request, payers=self.config.payers
            )

    # --- background loop ---------------------------------------------------------------------------------

    async def send_round(self) -> int:
        """Send what waits to be sent: interchanges not confirmed, then the ready claims past the batch window."""
        return await self.resend_pending() + await self.auto_submit()

    async def run_forever(self, idle_seconds: float) -> None:
        """Keep the pipeline moving: scrubbing, sending and reading acknowledgments each run as a loop of their own,
        so that a slow clearinghouse or a large 277CA never holds up the drafts behind it. Sends and mailbox reads
        take turns, so that this process reads no answer to a send it has not recorded yet. A loop goes round again
        at once while it finds work, else after ``idle_seconds``; its errors are logged and the step retried."""
        async with asyncio.TaskGroup() as steps:
            steps.create_task(self._keep_running("scrubbing", self.scrub_drafts, idle_seconds))
            steps.create_task(self._keep_running("sending", self.send_round, idle_seconds))
            steps.create_task(self._keep_running("acknowledgments", self.poll_acknowledgments, idle_seconds))

    @staticmethod
    async def _keep_running(step: str, run: Callable[[], Awaitable[int]], idle_seconds: float) -> None:
        while True:
            try:
                if await run() == 0:
                    await asyncio.sleep(idle_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("claims pipeline step %s failed; retrying", step)
                await asyncio.sleep(idle_seconds)


_CATEGORIES = {
    "A3": "Returned as unprocessable",
    "A4": "Not found",
    "A6": "Acknowledgment/rejected for missing information",
    "A7": "Acknowledgment/rejected for invalid information",
    "A8": "Rejected for relational field in error",
}


_SENT = (ClaimStatus.SUBMITTING, ClaimStatus.SUBMITTED, *PAYER_HAS_CLAIM)


_SentKey = tuple[str, str, date, str | None, str]


def _sent_key(claim: Claim) -> _SentKey:
    return (claim.tenant_id, claim.patient_id, claim.date_of_service, claim.payer_id, claim.payer_sequence)


async def _sent_alike(session: AsyncSession, claims: Sequence[Claim]) -> dict[_SentKey, list[Claim]]:
    """Claims sent, or ready to be, for the patients of ``claims`` on their dates of service, by patient, date,
    payer and payer sequence: the duplicate check's candidates, read in one statement per 500 patients for a round of
    drafts. A ready claim counts: it goes out in the next batch, and the payer would deny the second one as a
    duplicate (CARC 18) even when both went out together."""
    patients = sorted({(claim.tenant_id, claim.patient_id) for claim in claims})
    dates = sorted({claim.date_of_service for claim in claims})
    found: dict[_SentKey, list[Claim]] = {}
    for start in range(0, len(patients), 500):
        chunk = patients[start : start + 500]
        rows = await session.exec(
            select(Claim).where(
                col(Claim.tenant_id).in_({tenant for tenant, _ in chunk}),
                col(Claim.patient_id).in_({patient for _, patient in chunk}),
                col(Claim.date_of_service).in_(dates),
                col(Claim.status).in_((ClaimStatus.READY, *_SENT)),
            )
        )
        for other in rows.all():
            found.setdefault(_sent_key(other), []).append(other)
    return found


def _duplicate_of(claim: Claim, sent: Mapping[_SentKey, list[Claim]]) -> str | None:
    """The id of an original claim sent, or ready to be, for the same patient, date of service, payer and
    procedures, if any."""
    if claim.payer_id is None:
        return None
    codes = _billed_codes(claim)
    for other in sent.get(_sent_key(claim), []):
        if other.id != claim.id and other.frequency_code == "1" and _billed_codes(other) == codes:
            return str(other.id)
    return None


def _billed_codes(claim: Claim) -> list[tuple[str, tuple[str, ...]]]:
    """The claim's procedures with their modifiers: a repeat service billed with 76, 77, 59 or 25 is not a duplicate."""
    return sorted((line.procedure_code, tuple(sorted(line.modifiers))) for line in service_lines(claim))


@dataclass(frozen=True)
class _Version:
    """What the earlier-version check needs of a claim of an encounter (not the whole claim: its JSON is not read)."""

    id: str
    status: str
    payer_sequence: str
    payer_id: str | None
    encounter_version: int
    frequency_code: str
    original_claim_id: str | None


_VERSION_COLUMNS = [
    col(column)
    for column in (
        Claim.tenant_id, Claim.correlation_id, Claim.id, Claim.status, Claim.payer_sequence, Claim.payer_id,
        Claim.encounter_version, Claim.frequency_code, Claim.original_claim_id,
    )
]  # fmt: skip


async def _encounter_versions(session: AsyncSession, claims: Sequence[Claim]) -> dict[tuple[str, str], list[_Version]]:
    """The claims of every version of the EHR encounters of ``claims`` (they share its correlation id), whatever
    their patient, date of service or payer, by tenant and correlation id; one statement per 500 encounters."""
    encounters = sorted({(claim.tenant_id, claim.correlation_id) for claim in claims if claim.correlation_id})
    found: dict[tuple[str, str], list[_Version]] = {}
    connection = await session.connection()  # plain rows: no claim is loaded, nor its JSON parsed
    for start in range(0, len(encounters), 500):
        chunk = encounters[start : start + 500]
        rows = await connection.execute(
            sa_select(*_VERSION_COLUMNS).where(
                col(Claim.tenant_id).in_({tenant for tenant, _ in chunk}),
                col(Claim.correlation_id).in_({correlation for _, correlation in chunk}),
            )
        )
        for tenant_id, correlation_id, *version in rows.all():
            found.setdefault((str(tenant_id), str(correlation_id)), []).append(_Version(*version))
    return found


def _earlier_version_sent(claim: Claim, versions: Mapping[tuple[str, str], list[_Version]]) -> SentVersion | None:
    """The sent claim billing an earlier version of the same EHR encounter to the same payer sequence, if any, even
    when the change moved the date of service or the payer: the payer it went to already has the visit. One voided
    since (a void of it not cancelled) no longer counts."""
    related = versions.get((claim.tenant_id, claim.correlation_id), [])
    voided = {
        other.original_claim_id
        for other in related
        if other.frequency_code == "8" and other.status not in (ClaimStatus.CANCELLED, ClaimStatus.SUPERSEDED)
    }
    for other in related:
        if (
            other.id != claim.id
            and other.status in _SENT
            and other.payer_sequence == claim.payer_sequence
            and other.encounter_version < claim.encounter_version
            and other.frequency_code == "1"
            and other.id not in voided
        ):
            return SentVersion(other.id, other.payer_id)
    return None


_ANSWERABLE = (ClaimStatus.SUBMITTED, ClaimStatus.SUBMITTING)
"""Claims an acknowledgment may name: sent, or sent and not yet recorded so."""


def waiting_for_answer(tenant_id: str, numbers: Sequence[str]) -> SelectOfScalar[Claim]:
    """The tenant's claims of these patient control numbers still waiting for the clearinghouse's answer, locked
    in id order (by number through the unique index: a 277CA names a few of the tenant's claims)."""
    return (
        select(Claim)
        .where(
            Claim.tenant_id == tenant_id,
            col(Claim.patient_control_number).in_(numbers),
            col(Claim.status).in_(_ANSWERABLE),
        )
        .order_by(col(Claim.id))
        .with_for_update()
    )


class StillSending(Exception):
    """An acknowledgment names claims whose interchange has gone out but is not yet recorded as sent (another
    replica's sender is between the clearinghouse's answer and its commit, or crashed there and will send again):
    it is read again later, when they are. Applying it now would skip them, and their answer would be lost."""


def _not_still_sending(claims: Iterable[Claim]) -> None:
    if any(claim.status == ClaimStatus.SUBMITTING for claim in claims):
        raise StillSending


def _category_text(category: str, status: str | None) -> str:
    text = _CATEGORIES.get(category, f"Claim status category {category}")
    return f"{text} (claim status code {status})" if status else text


async def start_correction(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    claim_id: str,
    request: Correction,
    *,
    payers: Mapping[str, PayerRules],
    causation_id: str | None = None,
) -> Claim:
    """A new claim that replaces, voids or resubmits ``claim_id``; it goes through the scrubber like any claim.

    Replacement (7) and void (8) need the payer's claim number of a claim the payer took in (REF*F8); a claim the
    clearinghouse rejected never reached the payer, so it is resubmitted as a new original (1). Runs in the
    caller's transaction: the corrections API and the denial consumer share it.
    """
    # Locked: a concurrent correction of the same claim waits, then sees this one (corrected_by, corrected lines).
    original = await session.get(Claim, claim_id, with_for_update=True)
    if original is None or original.tenant_id != tenant_id:
        raise NotFound("Claim", claim_id)
    if original.corrected_by is not None:
        raise Conflict(f"claim {claim_id} was already corrected by {original.corrected_by}")
    if request.kind == "resubmission":
        if original.status not in (ClaimStatus.REJECTED, ClaimStatus.HELD):
            raise Conflict(f"only rejected or held claims are resubmitted as new; {claim_id} is {original.status}")
        frequency = "1"
    else:
        if original.status not in PAYER_HAS_CLAIM or not original.payer_claim_number:
            raise Conflict(
                f"a {request.kind} needs a claim the payer took in (with its claim number); "
                f"{claim_id} is {original.status}"
            )
        frequency = "7" if request.kind == "replacement" else "8"
    latest = (
        await session.exec(
            select(func.max(col(Claim.correction))).where(
                Claim.tenant_id == tenant_id,
                Claim.encounter_id == original.encounter_id,
                Claim.encounter_version == original.encounter_version,
                Claim.payer_sequence == original.payer_sequence,
            )
        )
    ).one()
    parties = dict(original.parties or {})
    if request.member_id is not None:
        parties["member_id"] = request.member_id
    lines = request.service_lines if request.service_lines is not None else original.service_lines
    diagnoses = request.diagnosis_codes or original.diagnosis_codes
    corrected_lines: list[int] = []
    if request.line_numbers:
        rules = payers.get(original.payer_id or "")
        frequency, diagnoses, lines, corrected_lines = await _line_correction(
            session,
            original,
            request,
            # a next-payer claim goes whole: its earlier payers' adjudication (2320, 2430) balances the whole claim
            takes_corrected_lines=rules is not None and rules.corrected_lines and original.payer_sequence == "primary",
        )
    elif request.kind == "replacement":
        await _no_lines_corrected_apart(session, original)
    corrected = Claim(
        id=new_id("clm"),
        tenant_id=tenant_id,
        encounter_id=original.encounter_id,
        encounter_version=original.encounter_version,
        practice_id=original.practice_id,
        patient_id=original.patient_id,
        payer_id=original.payer_id,
        claim_kind=original.claim_kind,
        date_of_service=original.date_of_service,
        status=ClaimStatus.DRAFT,
        total_charge=sum((ServiceLine.model_validate(line).charge or Decimal(0) for line in lines), Decimal(0)),
        diagnosis_codes=diagnoses,
        service_lines=lines,
        correlation_id=original.correlation_id,
        patient_control_number=new_patient_control_number(),
        parties=parties,
        rendering_npi=original.rendering_npi,
        billing_npi=original.billing_npi,
        place_of_service=original.place_of_service,
        frequency_code=frequency,
        payer_claim_number=original.payer_claim_number if frequency in ("7", "8") else None,
        prior_authorization=original.prior_authorization,
        correction=int(latest or 0) + 1,
        original_claim_id=original.id,
        corrected_lines=corrected_lines,
        payer_sequence=original.payer_sequence,
        prior_claim_id=original.prior_claim_id,
        prior_adjudications=(
            request.prior_adjudications if request.prior_adjudications is not None else original.prior_adjudications
        ),
        part=original.part,
    )
    session.add(corrected)
    if not corrected_lines:  # the whole claim is superseded; lines corrected apart leave the rest standing
        original.corrected_by = corrected.id
    original.updated_at = utcnow()
    session.add(original)
    outbox.add(
        session,
        ClaimResubmitted(
            claim_id=corrected.id,
            original_claim_id=original.id,
            claim_frequency_code=frequency,
            reason=request.reason,
            resubmitted_at=utcnow(),
            corrected_lines=tuple(f"{original.patient_control_number}-{n}" for n in corrected_lines),
        ),
        tenant_id=tenant_id,
        correlation_id=original.correlation_id,
        causation_id=causation_id,
    )
    return corrected


async def _corrections_apart(session: AsyncSession, original: Claim) -> dict[int, str]:
    """Lines of ``original`` already corrected on claims of their own: line number -> the correcting claim."""
    rows = await session.exec(
        select(Claim).where(Claim.tenant_id == original.tenant_id, Claim.original_claim_id == original.id)
    )
    return {number: claim.id for claim in rows.all() for number in claim.corrected_lines}


async def _no_lines_corrected_apart(session: AsyncSession, original: Claim) -> None:
    """A whole-claim replacement would bill again lines another claim now carries."""
    apart = await _corrections_apart(session, original)
    if apart:
        numbers = ", ".join(str(n) for n in sorted(apart))
        claims = ", ".join(sorted(set(apart.values())))
        raise Conflict(
            f"line(s) {numbers} of claim {original.id} were corrected on claim(s) {claims}; "
            "correct those claims, or only the other lines of this one"
        )


async def _line_correction(
    session: AsyncSession, original: Claim, request: Correction, *, takes_corrected_lines: bool
) -> tuple[str, list[str], list[dict[str, object]], list[int]]:
    """(frequency, diagnoses, lines, original line numbers taken over) of a correction of some lines.

    A payer that takes line-level corrections gets a new original claim (frequency 1) with only the corrected
    lines and the diagnoses they point at: the lines it paid stand, and nothing it already decided is sent again.
    Any other payer, and any payer billed as secondary or tertiary (the earlier payers' adjudication reported
    with the claim accounts for all its lines), gets the whole claim replaced (frequency 7) with those lines
    changed. Correcting all the lines is a whole-claim replacement either way.
    """
    if request.kind != "replacement":
        raise InvalidInput("only a replacement names the lines it corrects")
    numbers = sorted(set(request.line_numbers or []))
    lines = service_lines(original)
    known = {line.line_number for line in lines}
    if unknown := [n for n in numbers if n not in known]:
        raise InvalidInput(f"claim {original.id} has no line {unknown[0]}")
    changed = {
        line.line_number: line for line in (ServiceLine.model_validate(raw) for raw in request.service_lines or [])
    }
    if stray := sorted(set(changed) - set(numbers)):
        raise InvalidInput(f"line {stray[0]} is sent but not among the lines corrected ({numbers})")
    if taken := sorted(set(numbers) & set(await _corrections_apart(session, original))):
        raise Conflict(f"line(s) {', '.join(map(str, taken))} of claim {original.id} were already corrected")
    merged = [changed.get(line.line_number, line) for line in lines]
    diagnoses = request.diagnosis_codes or original.diagnosis_codes
    if not takes_corrected_lines or set(numbers) == known:
        await _no_lines_corrected_apart(session, original)
        return "7", diagnoses, [line.model_dump(mode="json") for line in merged], []
    _, (own_diagnoses, own_lines) = split(diagnoses, merged, numbers)
    return "1", list(own_diagnoses), [line.model_dump(mode="json") for line in own_lines], numbers


def guarantor_of(claim: Claim) -> str:
    """The account the patient's share of ``claim`` is billed to (coding-svc decided it; older claims: the patient).
    A secondary claim's parties keep it: the patient's share stays on the same account whichever plan pays."""
    guarantor = (claim.parties or {}).get("guarantor_id")
    return str(guarantor) if guarantor else claim.patient_id


def submitted_event(claim: Claim, now: datetime) -> ClaimSubmitted:
    """claim-submitted for a claim that left in an interchange."""
    lines = tuple(
        ClaimLineSubmitted(
            line_item_control_number=f"{claim.patient_control_number}-{line.line_number}",
            procedure_code=line.procedure_code,
            modifiers=line.modifiers,
            units=line.units,
            charge=line.charge or Decimal(0),
            service_date=date.fromisoformat(line.service_date) if line.service_date else claim.date_of_service,
        )
        for line in service_lines(claim)
    )
    return ClaimSubmitted(
        claim_id=claim.id,
        encounter_ids=(claim.encounter_id, *claim.combined_encounter_ids),
        practice_id=claim.practice_id,
        patient_id=claim.patient_id,
        payer_id=claim.payer_id or "",
        payer_sequence=PayerSequence(claim.payer_sequence),
        prior_claim_id=claim.prior_claim_id,
        patient_control_number=claim.patient_control_number or claim.id,
        claim_frequency_code=claim.frequency_code,
        payer_claim_control_number=claim.payer_claim_number if claim.frequency_code in ("7", "8") else None,
        total_charge=sum((line.charge for line in lines), Decimal(0)),
        lines=lines,
        interchange_control_number=claim.interchange_control_number or "",
        submitted_at=now,
        rendering_provider_npi=claim.rendering_npi,
        guarantor_id=guarantor_of(claim),
        patient_name=_patient_name(claim),
        statement_to=_statement_to(claim),
    )


def _patient_name(claim: Claim) -> str | None:
    patient = (claim.parties or {}).get("patient")
    if not isinstance(patient, dict):
        return None
    return f"{patient['first_name']} {patient['last_name']}"


def _statement_to(claim: Claim) -> Addressee | None:
    """Whom the guarantor's statements go to, as coding-svc resolved it (older claims: not known)."""
    addressee = (claim.parties or {}).get("statement_to")
    return Addressee.model_validate(addressee) if addressee else None


__all__ = [
    "PAYER_HAS_CLAIM",
    "ClaimPipeline",
    "ClaimStatus",
    "Correction",
    "PipelineConfig",
    "start_correction",
    "submitted_event",
    "to_domain",
]
