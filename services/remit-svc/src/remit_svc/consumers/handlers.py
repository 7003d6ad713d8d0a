"""remit-svc event handlers."""

from __future__ import annotations

from sqlmodel import col

from claimflow_events import ClaimAccepted, ClaimRejected, ClaimResubmitted, ClaimSubmitted
from claimflow_kit.consumer import EventContext, Subscription
from remit_svc.adapters.repositories import EarlyCorrectionRepository, GuarantorAccountRepository, OpenClaimRepository
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
    claim = repository.add(
        OpenClaim(
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
    )
    if event.statement_to is not None:
        addressee = event.statement_to
        await GuarantorAccountRepository(context.session, context.tenant_id).note(
            claim.guarantor_id,
            addressee.first_name,
            addressee.last_name,
            addressee.address.model_dump(mode="json") if addressee.address else None,
            event.submitted_at,
        )
    if event.prior_claim_id is not None:  # the charges are on the ledger since the first payer was billed
        await bill_next_payer(context.session, context.outbox, claim, event.prior_claim_id)
    else:
        await RemittancePoster.open_claim_postings(context.session, claim)
    if arrival.payments_waiting:
        await post_waiting_payments(context.session, context.outbox, claim)
    if arrival.corrections_waiting:
        for correction in await EarlyCorrectionRepository(context.session, context.tenant_id).take(claim.id):
            await supersede(context.session, context.outbox, context.tenant_id, claim, correction)


async def on_claim_accepted(context: EventContext, event: ClaimAccepted) -> None:
    """Record the payer's (or clearinghouse's) first acceptance of the claim."""
    await OpenClaimRepository(context.session, context.tenant_id).acknowledge(event.claim_id, "accepted")


async def on_claim_rejected(context: EventContext, event: ClaimRejected) -> None:
    """Record a front-end rejection."""
    await OpenClaimRepository(context.session, context.tenant_id).acknowledge(event.claim_id, "rejected")


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
        )
    ]
