"""remit-svc event handlers."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col

from claimflow_events import ClaimAccepted, ClaimRejected, ClaimResubmitted, ClaimSubmitted
from claimflow_kit.consumer import EventContext, Subscription, handle_alone
from remit_svc.adapters.repositories import (
    EarlyCorrectionRepository,
    GuarantorAccountRepository,
    GuarantorNote,
    OpenClaimRepository,
)
from remit_svc.adapters.tables import OpenClaim
from remit_svc.service.posting import (
    RemittancePoster,
    bill_next_payer,
    post_waiting_payments,
    supersede,
)


async def on_claim_submitted(context: EventContext, event: ClaimSubmitted) -> None:
    """Remember the claim so its 835 payment can be matched, open its charges on the ledger (for a secondary or
    tertiary claim: move the prior claim's patient balance to this payer), note whom the guarantor's statements go
    to, and post a payment that arrived before it (an ERA read before this event)."""
    repository = OpenClaimRepository(context.session, context.tenant_id)
    arrival = await repository.arrival(event.claim_id, event.patient_control_number)
    if arrival.known:
        return
    claim = repository.add(_open_claim(context, event))
    if (note := _guarantor_note(claim, event)) is not None:
        await GuarantorAccountRepository(context.session, context.tenant_id).note_many([note])
    if event.prior_claim_id is not None:  # the charges are on the ledger since the first payer was billed
        await bill_next_payer(context.session, context.outbox, claim, event.prior_claim_id)
    else:
        await RemittancePoster.open_claim_postings(context.session, claim)
    if arrival.payments_waiting:
        await post_waiting_payments(context.session, context.outbox, claim)
    if arrival.corrections_waiting:
        for correction in await EarlyCorrectionRepository(context.session, context.tenant_id).take(claim.id):
            await supersede(context.session, context.outbox, context.tenant_id, claim, correction)


async def on_claims_submitted(items: list[tuple[EventContext, ClaimSubmitted]]) -> None:
    """``on_claim_submitted`` for a run of claim-submitted events (an 837 batch's claims arrive together), with the
    same effect as handling them in turn. For each tenant, three statements tell which claims are first-payer
    claims seen for the first time with nothing waiting for them; theirs are written together (a multi-row INSERT
    each for the claims, their ledger rows and the guarantors' addressees). Any other event (a repeat, a next
    payer's claim, one with a payment or a correction waiting) is handled alone, in its place in the run, after
    the ones before it are written."""
    by_tenant: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for context, event in items:
        by_tenant[context.tenant_id].append((event.claim_id, event.patient_control_number))
    session = items[0][0].session
    arrivals = {
        (tenant_id, claim_id): arrival
        for tenant_id, claims in by_tenant.items()
        for claim_id, arrival in (await OpenClaimRepository(session, tenant_id).arrivals(claims)).items()
    }
    plain: list[tuple[EventContext, ClaimSubmitted]] = []
    seen: set[tuple[str, str]] = set()
    for context, event in items:
        key = (context.tenant_id, event.claim_id)
        if key not in seen and event.prior_claim_id is None and not any(arrivals[key]):
            plain.append((context, event))
        else:
            await _open_claims(plain)
            plain = []
            await handle_alone(context, event, on_claim_submitted)
        seen.add(key)
    await _open_claims(plain)


async def _open_claims(items: list[tuple[EventContext, ClaimSubmitted]]) -> None:
    """Write new first-payer claims with nothing waiting for them: the claims, their charges, their guarantors."""
    if not items:
        return
    session = items[0][0].session
    claims = [
        OpenClaimRepository(session, context.tenant_id).add(_open_claim(context, event)) for context, event in items
    ]
    await RemittancePoster.open_claim_postings(session, *claims)
    notes: dict[str, list[GuarantorNote]] = defaultdict(list)
    for claim, (_, event) in zip(claims, items, strict=True):
        if (note := _guarantor_note(claim, event)) is not None:
            notes[claim.tenant_id].append(note)
    for tenant_id, tenant_notes in notes.items():
        await GuarantorAccountRepository(session, tenant_id).note_many(tenant_notes)


def _open_claim(context: EventContext, event: ClaimSubmitted) -> OpenClaim:
    return OpenClaim(
        id=event.claim_id,
        tenant_id=context.tenant_id,
        patient_control_number=event.patient_control_number,
        payer_id=event.payer_id,
        patient_id=event.patient_id,
        guarantor_id=event.guarantor_id or event.patient_id,
        patient_name=event.patient_name,
        prior_claim_id=event.prior_claim_id,
        total_charge=event.total_charge,
        submitted_at=event.submitted_at,
        practice_id=event.practice_id,
        rendering_provider_npi=event.rendering_provider_npi,
        correlation_id=context.envelope.correlationid,
        service_date=min(line.service_date for line in event.lines),
        lines=[
            {
                "line_item_control_number": line.line_item_control_number,
                "procedure_code": line.procedure_code,
                "modifiers": ":".join(line.modifiers),
                "charge": str(line.charge),
                "service_date": line.service_date.isoformat(),
            }
            for line in event.lines
        ],
    )


def _guarantor_note(claim: OpenClaim, event: ClaimSubmitted) -> GuarantorNote | None:
    """Whom the guarantor's statements go to, as of this claim; None when the claim does not say."""
    addressee = event.statement_to
    if addressee is None:
        return None
    address = addressee.address.model_dump(mode="json") if addressee.address else None
    return GuarantorNote(claim.guarantor_id, addressee.first_name, addressee.last_name, address, event.submitted_at)


async def on_claim_accepted(context: EventContext, event: ClaimAccepted) -> None:
    """Record the payer's (or clearinghouse's) first acceptance of the claim."""
    await OpenClaimRepository(context.session, context.tenant_id).acknowledge(event.claim_id, answer="accepted")


async def on_claim_rejected(context: EventContext, event: ClaimRejected) -> None:
    """Record a front-end rejection."""
    await OpenClaimRepository(context.session, context.tenant_id).acknowledge(event.claim_id, answer="rejected")


async def on_claims_accepted(items: list[tuple[EventContext, ClaimAccepted]]) -> None:
    """``on_claim_accepted`` for a run of them (a 277CA's acknowledgments): one UPDATE per tenant."""
    await _acknowledge([(context, event.claim_id) for context, event in items], "accepted")


async def on_claims_rejected(items: list[tuple[EventContext, ClaimRejected]]) -> None:
    """``on_claim_rejected`` for a run of them: one UPDATE per tenant."""
    await _acknowledge([(context, event.claim_id) for context, event in items], "rejected")


async def _acknowledge(claims: list[tuple[EventContext, str]], answer: str) -> None:
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for context, claim_id in claims:
        by_tenant[context.tenant_id].append(claim_id)
    session = claims[0][0].session
    for tenant_id, claim_ids in by_tenant.items():
        await OpenClaimRepository(session, tenant_id).acknowledge(*claim_ids, answer=answer)


async def on_claim_resubmitted(context: EventContext, event: ClaimResubmitted) -> None:
    """A replacement (7), a void (8) or a rejected claim sent again as new (1) supersedes the original claim: it
    leaves AR (the new claim carries the charges; a next-payer claim gives its prior claim's balance back, and a
    new claim for that payer already open takes it over). A claim of corrected lines only takes just those lines
    of the original out of AR."""
    claims = OpenClaimRepository(context.session, context.tenant_id)
    # Locked: a payment being posted to the original commits first, and is then closed with it (or waits for this).
    original = await claims.find(col(OpenClaim.id) == event.original_claim_id, for_update=True)
    if original is None:  # its claim-submitted is still on its way: applied when it arrives
        await EarlyCorrectionRepository(context.session, context.tenant_id).keep(event)
        return
    await supersede(context.session, context.outbox, context.tenant_id, original, event)


def subscriptions() -> list[Subscription]:
    """What the remit worker consumes."""
    return [
        Subscription(
            "claim-index",
            {
                ClaimSubmitted: on_claim_submitted,
                ClaimAccepted: on_claim_accepted,
                ClaimRejected: on_claim_rejected,
                ClaimResubmitted: on_claim_resubmitted,
            },
            batch_handlers={
                ClaimSubmitted: on_claims_submitted,
                ClaimAccepted: on_claims_accepted,
                ClaimRejected: on_claims_rejected,
            },
        )
    ]
