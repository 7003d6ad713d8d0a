"""eligibility-svc event handlers."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import timedelta

from claimflow_events import EncounterReceived
from claimflow_kit.consumer import EventContext, Subscription, handle_alone
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import utcnow
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck
from eligibility_svc.service.checks import (
    cache_key,
    eligibility_event,
    new_trace,
    query_from_json,
    query_to_json,
    result_from_json,
)

# A pre-check reuses an answer for the same patient, payer and date of service this recent.
PRE_CHECK_FRESH = timedelta(hours=24)


async def on_encounter_received(context: EventContext, event: EncounterReceived) -> None:
    """Check coverage for the encounter's date of service, once per encounter, unless a fresh answer exists.

    Events carry no demographics (minimum necessary), so the inquiry is the patient's latest one with this
    payer, moved to the new date of service; the API process works it in the background. A patient never
    checked before gets a ``needs-inquiry`` check that the front desk completes with a real-time check.
    """
    repository = CoverageCheckRepository(context.session, context.tenant_id)
    # Read without flushing the checks of the batch's earlier events first, so they are written together at its
    # commit (one INSERT, not one per event). One encounter twice in a batch then breaks the unique constraint, and
    # the batch is replayed event by event: the second finds the first. The latest inquiry read is one stored
    # before the batch: the checks made in it carry an inquiry moved from such a one, or none.
    with context.session.no_autoflush:
        if await repository.of_encounter(event.encounter_id) is not None:
            return
        latest = await repository.latest_inquiry(event.patient_id, event.payer_id)
    await _pre_check(context, event, latest)


async def on_encounters_received(items: list[tuple[EventContext, EncounterReceived]]) -> None:
    """``on_encounter_received`` for a run of events (encounters posted in a batch), with the same effect as
    handling them in turn: which encounters have a check and the patients' latest inquiries are read in two
    statements per tenant. An event whose encounter, or patient and payer, an earlier event of the run had is
    handled alone, as it may see what that one wrote."""
    session = items[0][0].session
    wanted: dict[str, list[EncounterReceived]] = defaultdict(list)
    for context, event in items:
        wanted[context.tenant_id].append(event)
    checked: set[tuple[str, str]] = set()
    latest: dict[tuple[str, str, str], CoverageCheck] = {}
    with session.no_autoflush:  # as in on_encounter_received
        for tenant_id, events in wanted.items():
            repository = CoverageCheckRepository(session, tenant_id)
            checked.update(
                (tenant_id, e) for e in await repository.encounters_checked({e.encounter_id for e in events})
            )
            pairs = {(e.patient_id, e.payer_id) for e in events if e.payer_id is not None}
            found = await repository.latest_inquiries(pairs)
            latest.update({(tenant_id, *pair): check for pair, check in found.items()})
    seen: set[tuple[str, ...]] = set()
    for context, event in items:
        encounter = (context.tenant_id, event.encounter_id)
        patient = (context.tenant_id, event.patient_id, event.payer_id or "")
        if encounter in seen or patient in seen:
            await handle_alone(context, event, on_encounter_received)
        elif encounter not in checked:
            found_latest = latest.get(patient) if event.payer_id is not None else None
            await handle_alone(context, event, functools.partial(_pre_check, latest=found_latest))
        seen.update((encounter, patient))


async def _pre_check(context: EventContext, event: EncounterReceived, latest: CoverageCheck | None) -> None:
    """Open the encounter's pre-check from the patient's latest inquiry with the payer (``latest``)."""
    repository = CoverageCheckRepository(context.session, context.tenant_id)
    check = CoverageCheck(
        id=new_id("elig"),
        tenant_id=context.tenant_id,
        encounter_id=event.encounter_id,
        patient_id=event.patient_id,
        payer_id=event.payer_id,
        date_of_service=event.date_of_service,
        origin="pre-check",
        status="needs-inquiry",
        practice_id=event.practice_id,
        provider_npi=event.billing_provider_npi,
    )
    if latest is not None and latest.inquiry is not None:
        query = query_from_json(latest.inquiry)
        moved = query_to_json(query) | {"date_of_service": event.date_of_service.isoformat()}
        key = cache_key(context.tenant_id, query_from_json(moved))
        check.inquiry = moved
        check.service_types = latest.service_types
        check.cache_key = key
        check.trace = new_trace()
        fresh = latest.cache_key == key and latest.completed_at is not None and latest.result is not None
        if fresh and latest.completed_at is not None and utcnow() - latest.completed_at <= PRE_CHECK_FRESH:
            # Same patient, payer and date already answered: reuse it for this encounter and say so.
            check.status = latest.status
            check.result = latest.result
            check.raw_271 = latest.raw_271
            check.completed_at = utcnow()
            check.error_message = f"reused check {latest.id}"
            repository.add(check)
            await context.session.flush()
            result = result_from_json(latest.result or {})
            context.publish(eligibility_event(check, result, check.service_types.split(",")))
            return
        check.status = "pending"
    repository.add(check)


def subscriptions() -> list[Subscription]:
    """What the eligibility worker consumes."""
    return [
        Subscription(
            "pre-check",
            {EncounterReceived: on_encounter_received},
            batch_handlers={EncounterReceived: on_encounters_received},
        )
    ]
