"""coding-svc event handlers: envelope in, state change (and follow-up events) out."""

from __future__ import annotations

from sqlmodel import col

from claimflow_events import EligibilityChecked
from claimflow_kit.consumer import EventContext, Subscription
from claimflow_kit.tables import utcnow
from coding_svc.adapters.repositories import EncounterRepository
from coding_svc.adapters.tables import Encounter


async def on_eligibility_checked(context: EventContext, event: EligibilityChecked) -> None:
    """Note the coverage outcome on the encounter it was checked for."""
    if event.encounter_id is None:
        return
    repository = EncounterRepository(context.session, context.tenant_id)
    encounter = await repository.find(col(Encounter.id) == event.encounter_id)
    if encounter is None:
        return
    encounter.eligibility_status = event.status.value
    encounter.updated_at = utcnow()
    repository.add(encounter)


def subscriptions() -> list[Subscription]:
    """What the coding worker consumes."""
    return [Subscription("eligibility", {EligibilityChecked: on_eligibility_checked})]
