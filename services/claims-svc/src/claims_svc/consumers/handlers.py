"""claims-svc event handlers."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache

from sqlalchemy import Table

from claimflow_events import ALL_PAYLOADS, ClaimDenied, EncounterCoded, EventPayload, PaymentPosted, uuid7
from claimflow_kit.bulk import insert_at_commit
from claimflow_kit.consumer import EventContext, Subscription, handle_alone
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import utcnow
from claims_svc.adapters.repositories import ClaimRepository, DenialRepository
from claims_svc.adapters.tables import Claim, TimelineEntry
from claims_svc.config import ClaimsSettings
from claims_svc.domain.claim import new_patient_control_number
from claims_svc.service.assembly import NOT_SENT
from claims_svc.service.cob import after_denial, after_payment
from claims_svc.service.denials import DenialStatus, record_denial, record_payment
from claims_svc.service.pipeline import ClaimStatus

SUPERSEDED_EVENT = "claimflow.claims.superseded"
"""Timeline entry type of a claim superseded by a later version of its encounter (recorded by claims-svc itself)."""


async def on_encounter_coded(context: EventContext, event: EncounterCoded) -> None:
    """Start a draft claim for the coded encounter version (one claim per version); the pipeline scrubs it.

    A new version of an EHR encounter (the EHR sent it again, changed) supersedes the claims of the earlier versions
    that were not sent yet, so the visit is billed once, with the latest codes. A claim of an earlier version that
    was sent stays: the scrubber holds the new one (EARLIER_VERSION_SENT), as the payer already has the visit; so
    does the builder when an earlier version is billed within a combination of visits. A version coded after a later
    one (their events travel apart) gets a claim that is superseded from the start.
    """
    # Read without flushing the claims of the batch's earlier events first, so they are written together at its
    # commit (one INSERT, not one per event). The same encounter version twice in a batch then breaks the unique
    # constraint, and the batch is replayed event by event: the second finds the first.
    with context.session.no_autoflush:
        # Locked, so a sender that has not taken one yet waits and then finds it superseded.
        stored = await ClaimRepository(context.session, context.tenant_id).encounter_claims(
            context.envelope.correlationid
        )
    _draft(context, event, stored)


async def on_encounters_coded(items: list[tuple[EventContext, EncounterCoded]]) -> None:
    """``on_encounter_coded`` for a run of events (a batch of encounters posted together): the claims of all their
    encounters are read and locked in one statement per tenant, then each event drafts its claim in turn."""
    session = items[0][0].session
    correlation_ids: dict[str, list[str]] = defaultdict(list)
    for context, _ in items:
        correlation_ids[context.tenant_id].append(context.envelope.correlationid)
    stored: dict[tuple[str, str], list[Claim]] = {}
    with session.no_autoflush:  # as in on_encounter_coded
        for tenant_id, ids in correlation_ids.items():
            found = await ClaimRepository(session, tenant_id).claims_of_encounters(ids)
            stored.update({(tenant_id, correlation_id): claims for correlation_id, claims in found.items()})
    for context, event in items:
        _draft(context, event, stored[(context.tenant_id, context.envelope.correlationid)])


def _draft(context: EventContext, event: EncounterCoded, stored: Sequence[Claim]) -> None:
    """Draft the claim of the coded encounter version, given the stored claims of its encounter (``stored``)."""
    repository = ClaimRepository(context.session, context.tenant_id)
    if any(c.encounter_id == event.encounter_id and c.encounter_version == event.encounter_version for c in stored):
        return
    versions = [
        *(c for c in stored if c.encounter_version != event.encounter_version),
        *_staged_versions(context, event.encounter_version),
    ]
    now = utcnow()
    claim = repository.add(
        Claim(
            id=new_id("clm"),
            tenant_id=context.tenant_id,
            encounter_id=event.encounter_id,
            encounter_version=event.encounter_version,
            practice_id=event.practice_id,
            patient_id=event.patient_id,
            payer_id=event.payer_id,
            claim_kind=event.claim_kind.value,
            date_of_service=event.date_of_service,
            status=ClaimStatus.DRAFT,
            total_charge=sum((line.charge or Decimal(0) for line in event.service_lines), Decimal(0)),
            diagnosis_codes=list(event.diagnosis_codes),
            service_lines=[line.model_dump(mode="json") for line in event.service_lines],
            correlation_id=context.envelope.correlationid,
            patient_control_number=new_patient_control_number(),
            parties=event.parties.model_dump(mode="json") if event.parties else None,
            institutional=event.institutional.model_dump(mode="json") if event.institutional else None,
            rendering_npi=event.rendering_provider_npi,
            billing_npi=event.billing_provider_npi,
            place_of_service=event.place_of_service,
            created_at=now,
            updated_at=now,
        )
    )
    newer = [c for c in versions if c.encounter_version > claim.encounter_version]
    if newer:
        _supersede(context, claim, max(newer, key=lambda c: c.encounter_version), now)
        return
    for earlier in versions:
        if earlier.status == ClaimStatus.COMBINED or (earlier.status in NOT_SENT and earlier.combined_encounter_ids):
            # Billed within a combination, which bills other visits too: a biller decides (split, then scrub again).
            into = earlier.combined_into or earlier.id
            claim.status = ClaimStatus.HELD
            claim.findings = [
                {
                    "code": "EARLIER_VERSION_COMBINED",
                    "message": f"Version {earlier.encounter_version} of the encounter is billed within claim {into}, "
                    "which combines several visits.",
                    "fix": f"Split the visit out of claim {into} (or correct it once sent), then scrub this claim "
                    "again.",
                    "line_number": None,
                }
            ]
        elif earlier.status in NOT_SENT:
            _supersede(context, earlier, claim, now)


def _staged_versions(context: EventContext, version: int) -> list[Claim]:
    """The claims of the encounter's other versions drafted earlier in this batch (not written yet)."""
    correlation_id = context.envelope.correlationid
    return [
        c
        for c in context.session.new
        if isinstance(c, Claim)
        and c.correlation_id == correlation_id
        and c.encounter_version != version
        and c.payer_sequence == "primary"
        and c.correction == 0
    ]


def _supersede(context: EventContext, claim: Claim, by: Claim, now: datetime) -> None:
    claim.status = ClaimStatus.SUPERSEDED
    claim.updated_at = now
    claim.findings = [
        {
            "code": "SUPERSEDED",
            "message": f"Version {by.encounter_version} of the encounter is billed on claim {by.id} instead.",
            "fix": "Nothing: this claim is not sent.",
            "line_number": None,
        }
    ]
    context.session.add(claim)
    insert_at_commit(
        context.session,
        _TIMELINE,
        {
            "event_id": str(uuid7()),
            "tenant_id": claim.tenant_id,
            "correlation_id": claim.correlation_id,
            "event_type": SUPERSEDED_EVENT,
            "source": "claims-svc",
            "subject": claim.id,
            "occurred_at": now,
            "summary": f"claim {claim.id} (encounter version {claim.encounter_version}) superseded by {by.id}",
        },
    )


_TIMELINE: Table = TimelineEntry.__table__  # type: ignore[attr-defined]
_SUMMARY_FIELDS = ("status", "payer_id", "claim_frequency_code", "source", "total_charge", "paid_amount")


def _summary(event: EventPayload) -> str:
    """The event's headline fields as ``name=value`` (read off the payload: dumping all of it for six fields cost
    more than the rest of the timeline entry; only the fields its type has: asking a pydantic model for one it
    lacks raises inside, 4 µs a miss)."""
    parts = []
    for name in _summary_fields(type(event)):
        value = getattr(event, name)
        if isinstance(value, Enum):
            value = value.value
        if value not in (None, ""):
            parts.append(f"{name}={value}")
    return ", ".join(parts)


@cache
def _summary_fields(payload_type: type[EventPayload]) -> tuple[str, ...]:
    return tuple(name for name in _SUMMARY_FIELDS if name in payload_type.model_fields)


async def record_on_timeline(context: EventContext, event: EventPayload) -> None:
    """Note any event of the cycle on the timeline of its correlation id (once: the inbox drops redeliveries)."""
    envelope = context.envelope
    row = {
        "event_id": str(envelope.id),
        "tenant_id": context.tenant_id,
        "correlation_id": envelope.correlationid,
        "event_type": envelope.type,
        "source": envelope.source,
        "subject": envelope.subject,
        "occurred_at": envelope.time,
        "summary": _summary(event)[:300] or None,
    }
    insert_at_commit(context.session, _TIMELINE, row)  # never read back in the transaction


@dataclass(frozen=True)
class AdjudicationHandlers:
    """What the payer decided (remit-svc's events): claim statuses and the denial work queue."""

    settings: ClaimsSettings

    async def on_claim_denied(self, context: EventContext, event: ClaimDenied) -> None:
        """Route the denial to the person who fixes it (or correct it at once when no person is needed)."""
        item = await record_denial(
            context.session,
            context.outbox,
            context.tenant_id,
            event,
            appeal_window_days=self.settings.appeal_window_for(event.payer_id),
            payers=self.settings.payer_rules(),
            causation_id=str(context.envelope.id),
        )
        if item is not None:
            claim = await ClaimRepository(context.session, context.tenant_id).get(event.claim_id)
            await after_denial(context.session, context.tenant_id, claim, event, item.root_cause)

    async def on_payment_posted(self, context: EventContext, event: PaymentPosted) -> None:
        """Mark the claim paid, partially paid or denied (or back to accepted on a reversal), then bill the
        patient's next plan (or record that the payer crossed the claim over to it)."""
        claim = await record_payment(context.session, context.tenant_id, event)
        await after_payment(context.session, context.outbox, context.tenant_id, claim, event)

    async def on_payments_posted(self, items: list[tuple[EventContext, PaymentPosted]]) -> None:
        """``on_payment_posted`` for a run of events (an ERA's payments): the claims, and which of them have open
        denials, are read in two statements per tenant; then each payment is recorded in turn."""
        session = items[0][0].session
        claim_ids: dict[str, list[str]] = defaultdict(list)
        for context, event in items:
            claim_ids[context.tenant_id].append(event.claim_id)
        claims: dict[tuple[str, str], Claim] = {}
        denied: set[tuple[str, str]] = set()
        for tenant_id, ids in claim_ids.items():
            found = await ClaimRepository(session, tenant_id).by_ids(ids)
            claims.update({(tenant_id, claim_id): claim for claim_id, claim in found.items()})
            open_items = await DenialRepository(session, tenant_id).claims_with_items(ids, status=DenialStatus.OPEN)
            denied.update((tenant_id, claim_id) for claim_id in open_items)
        for context, event in items:
            key = (context.tenant_id, event.claim_id)
            claim = claims.get(key)
            if claim is None:  # not found: the one-event handler says so
                await handle_alone(context, event, self.on_payment_posted)
                continue
            # A claim that replaced none and has no open denial has no denial a payment could settle; the run's
            # payments settle denials only, so none is opened while it is handled.
            may_settle = key in denied or claim.original_claim_id is not None
            await handle_alone(context, event, functools.partial(self._record, claim=claim, denials=may_settle))

    async def _record(self, context: EventContext, event: PaymentPosted, *, claim: Claim, denials: bool) -> None:
        recorded = await record_payment(context.session, context.tenant_id, event, claim=claim, denials=denials)
        await after_payment(context.session, context.outbox, context.tenant_id, recorded, event)


def subscriptions(settings: ClaimsSettings) -> list[Subscription]:
    """What the claims worker consumes."""
    adjudication = AdjudicationHandlers(settings)
    return [
        Subscription(
            "claim-builder", {EncounterCoded: on_encounter_coded}, batch_handlers={EncounterCoded: on_encounters_coded}
        ),
        Subscription(
            "claim-adjudication",
            {ClaimDenied: adjudication.on_claim_denied, PaymentPosted: adjudication.on_payment_posted},
            batch_handlers={PaymentPosted: adjudication.on_payments_posted},
        ),
        Subscription("claim-timeline", dict.fromkeys(ALL_PAYLOADS, record_on_timeline)),
    ]
