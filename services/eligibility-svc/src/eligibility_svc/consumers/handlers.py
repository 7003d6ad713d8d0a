"""eligibility-svc event handlers."""

from __future__ import annotations

import uuid

from sqlmodel import col

from claimflow_events import EncounterReceived
from claimflow_kit.consumer import EventContext, Subscription
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck


async def on_encounter_received(context: EventContext, event: EncounterReceived) -> None:
    """Queue a coverage pre-check for the encounter's date of service (once per encounter)."""
    repository = CoverageCheckRepository(context.session, context.tenant_id)
    if await repository.find(col(CoverageCheck.encounter_id) == event.encounter_id) is not None:
        return
    repository.add(
        CoverageCheck(
            id=f"elig_{uuid.uuid4().hex}",
            tenant_id=context.tenant_id,
            encounter_id=event.encounter_id,
            patient_id=event.patient_id,
            payer_id=event.payer_id,
            date_of_service=event.date_of_service,
            origin="pre-check",
            status="pending",
        )
    )


def subscriptions() -> list[Subscription]:
    """What the eligibility worker consumes."""
    return [Subscription("pre-check", {EncounterReceived: on_encounter_received})]
