"""remit-svc event handlers."""

from __future__ import annotations

from sqlmodel import col

from claimflow_events import ClaimSubmitted
from claimflow_kit.consumer import EventContext, Subscription
from remit_svc.adapters.repositories import OpenClaimRepository
from remit_svc.adapters.tables import OpenClaim


async def on_claim_submitted(context: EventContext, event: ClaimSubmitted) -> None:
    """Remember the submitted claim so its 835 payment can be matched by patient control number."""
    repository = OpenClaimRepository(context.session, context.tenant_id)
    if await repository.find(col(OpenClaim.id) == event.claim_id) is not None:
        return
    repository.add(
        OpenClaim(
            id=event.claim_id,
            tenant_id=context.tenant_id,
            patient_control_number=event.patient_control_number,
            payer_id=event.payer_id,
            patient_id=event.patient_id,
            total_charge=event.total_charge,
            submitted_at=event.submitted_at,
        )
    )


def subscriptions() -> list[Subscription]:
    """What the remit worker consumes."""
    return [Subscription("claim-index", {ClaimSubmitted: on_claim_submitted})]
