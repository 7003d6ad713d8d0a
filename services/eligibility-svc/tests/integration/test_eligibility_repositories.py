"""Queries built once and run with parameters (``TenantRepository.prepared``), on SQLite and PostgreSQL: each run
takes its own values, and the tenant is always the repository's."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from claimflow_events import EncounterReceived, ServiceLine, default_catalog
from claimflow_kit.bulk import write_staged_rows
from claimflow_kit.consumer import EventContext
from claimflow_kit.db import Database
from claimflow_kit.errors import NotFound
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import OutboxMessage, utcnow
from claimflow_kit.testing import DatabaseFactory
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck
from eligibility_svc.consumers.handlers import on_encounter_received, on_encounters_received
from eligibility_svc.service.checks import cache_key, query_from_json

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def database(databases: DatabaseFactory, backend: str) -> AsyncIterator[Database]:
    async with databases.migrated("eligibility-repositories", backend, "eligibility_svc") as database:
        yield database


def check(check_id: str, tenant: str, encounter: str, payer: str, *, asked: bool, at: datetime) -> CoverageCheck:
    return CoverageCheck(
        id=check_id, tenant_id=tenant, encounter_id=encounter, patient_id="p-1", payer_id=payer,
        date_of_service=date(2026, 11, 2), origin="pre-check", status="pending", created_at=at,
        inquiry={"member_id": check_id} if asked else None,
    )  # fmt: skip


async def test_prepared_queries_take_each_runs_values_and_only_the_repositorys_tenant(database: Database) -> None:
    async with database.transaction() as session:
        session.add(check("c-old", "t-1", "e-1", "60054", asked=True, at=MONDAY))
        session.add(check("c-new", "t-1", "e-2", "60054", asked=True, at=MONDAY + timedelta(days=1)))
        session.add(check("c-unasked", "t-1", "e-3", "60054", asked=False, at=MONDAY + timedelta(days=2)))
        session.add(check("c-other-payer", "t-1", "e-4", "MCARE", asked=True, at=MONDAY + timedelta(days=3)))
        session.add(check("c-other-tenant", "t-2", "e-5", "60054", asked=True, at=MONDAY + timedelta(days=4)))

    async with database.transaction() as session:
        mine, theirs = CoverageCheckRepository(session, "t-1"), CoverageCheckRepository(session, "t-2")
        for _ in range(2):  # the second round runs the statements built in the first
            assert (await mine.get("c-old")).id == "c-old"
            assert (await mine.get("c-new", for_update=True)).id == "c-new"
            with pytest.raises(NotFound):
                await mine.get("c-other-tenant")
            assert (await theirs.get("c-other-tenant")).id == "c-other-tenant"

            found = await mine.of_encounter("e-2")
            assert found is not None
            assert found.id == "c-new"
            assert await mine.of_encounter("e-5") is None, "another tenant's encounter"
            assert await theirs.of_encounter("e-2") is None

            latest = await mine.latest_inquiry("p-1", "60054")
            assert latest is not None
            assert latest.id == "c-new", "the latest with an inquiry, of that payer and tenant"
            other_payer = await mine.latest_inquiry("p-1", "MCARE")
            assert other_payer is not None
            assert other_payer.id == "c-other-payer"
            assert await mine.latest_inquiry("p-1", None) is None
            session.expunge_all()


async def test_bulk_lookups_answer_as_the_one_at_a_time_queries(database: Database) -> None:
    async with database.transaction() as session:
        session.add(check("b-old", "t-1", "e-1", "60054", asked=True, at=MONDAY))
        session.add(check("b-new", "t-1", "e-2", "60054", asked=True, at=MONDAY + timedelta(days=1)))
        session.add(check("b-unasked", "t-1", "e-3", "60054", asked=False, at=MONDAY + timedelta(days=2)))
        session.add(check("b-other-payer", "t-1", "e-4", "MCARE", asked=True, at=MONDAY + timedelta(days=3)))
        session.add(check("b-other-tenant", "t-2", "e-5", "60054", asked=True, at=MONDAY + timedelta(days=4)))
    async with database.transaction() as session:
        mine = CoverageCheckRepository(session, "t-1")
        assert await mine.encounters_checked({"e-1", "e-3", "e-5", "e-9"}) == {"e-1", "e-3"}
        pairs = {("p-1", "60054"), ("p-1", "MCARE"), ("p-1", "AETNA"), ("p-2", "60054")}
        latest = await mine.latest_inquiries(pairs)
        assert {pair: found.id for pair, found in latest.items()} == {
            ("p-1", "60054"): "b-new",
            ("p-1", "MCARE"): "b-other-payer",
        }
        for patient_id, payer_id in pairs:
            one = await mine.latest_inquiry(patient_id, payer_id)
            many = latest.get((patient_id, payer_id))
            assert (one.id if one else None) == (many.id if many else None)


def _inquiry(day: date) -> dict[str, Any]:
    return {
        "payer_id": "60054", "payer_name": "SANDBOX HEALTH PLAN", "provider_npi": "1234567893",
        "provider_name": "PRACTICE ONE", "date_of_service": day.isoformat(), "dependent": None, "service_types": ["30"],
        "subscriber": {"first_name": "MARIA", "last_name": "LOPEZ", "birth_date": "1984-03-09", "sex": "F",
                       "member_id": "W123456789"},
    }  # fmt: skip


async def test_a_run_of_encounters_received_handled_at_once_ends_as_handled_one_at_a_time(database: Database) -> None:
    """The pre-check's batch handler reads which encounters have a check and the patients' latest inquiries once,
    and hands an event whose encounter or patient an earlier event of the run had to the one-event handler: an
    answer reused twice on one day, a new date, a patient never asked, an encounter checked before and another
    tenant's encounter leave the same checks and events either way."""
    outbox = Outbox(default_catalog(), "/claimflow/eligibility-svc")
    states = []
    for at_once in (False, True):
        tenants = [f"t-{uuid.uuid4().hex[:6]}" for _ in range(2)]
        answered = MONDAY + timedelta(hours=1)
        async with database.transaction() as session:
            for tenant in tenants:
                inquiry = _inquiry(date(2026, 11, 2))
                for patient_id in ("p-1", "p-2", "p-3"):
                    session.add(
                        CoverageCheck(
                            id=f"elig_{tenant}_{patient_id}", tenant_id=tenant,
                            encounter_id=f"enc_{tenant}_{patient_id}", patient_id=patient_id, payer_id="60054",
                            date_of_service=date(2026, 11, 2),
                            origin="real-time", status="active", inquiry=inquiry, service_types="30",
                            cache_key=cache_key(tenant, query_from_json(inquiry)),
                            result={"status": "active", "plan_name": "PPO"}, completed_at=utcnow(), created_at=answered,
                        )
                    )  # fmt: skip

        def received(tenant: str, encounter: str, patient: str, day: date) -> EncounterReceived:
            return EncounterReceived(
                encounter_id=f"enc_{tenant}_{encounter}", encounter_version=1, practice_id="prac_1",
                ehr_encounter_id=encounter, patient_id=patient, payer_id="60054", date_of_service=day,
                place_of_service="11", rendering_provider_npi="1234567893", billing_provider_npi="1234567893",
                diagnosis_codes=("J20.9",),
                service_lines=(ServiceLine(line_number=1, procedure_code="99213", units=Decimal(1)),),
            )  # fmt: skip

        mine, theirs = tenants
        run = [
            (mine, received(mine, "p-1", "p-1", date(2026, 11, 2))),  # checked before the run
            (mine, received(mine, "same-day", "p-2", date(2026, 11, 2))),  # reuses p-2's answer
            (mine, received(mine, "next-week", "p-3", date(2026, 11, 9))),  # asks again
            (mine, received(mine, "stranger", "p-9", date(2026, 11, 2))),  # never asked
            (mine, received(mine, "same-day-again", "p-2", date(2026, 11, 2))),  # reuses the one just made
            (mine, received(mine, "p-1-next-week", "p-1", date(2026, 11, 9))),
            (theirs, received(theirs, "next-week", "p-1", date(2026, 11, 9))),
        ]
        async with database.transaction() as session:
            items = [
                (
                    EventContext(
                        session,
                        outbox.catalog.envelope(event, tenant_id=tenant, source="coding-svc", correlation_id="c"),
                        outbox,
                        "eligibility-test",
                    ),
                    event,
                )
                for tenant, event in run
            ]
            if at_once:
                await on_encounters_received(items)
            else:
                for context, event in items:
                    await on_encounter_received(context, event)
            await write_staged_rows(session)
            checks = (await session.exec(select(CoverageCheck).where(col(CoverageCheck.tenant_id).in_(tenants)))).all()
            events = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.tenant_id).in_(tenants)))).all()

        names = {c.id: c.encounter_id or "" for c in checks}

        def plain(value: Any, mine: str = mine, theirs: str = theirs, names: dict[str, str] = names) -> str:
            text = str(value)
            for check_id, encounter_id in names.items():
                text = text.replace(check_id, encounter_id)
            return text.replace(mine, "mine").replace(theirs, "theirs")

        states.append(
            {
                "checks": sorted(
                    plain((c.encounter_id, c.status, c.date_of_service.isoformat(), c.error_message)) for c in checks
                ),
                "events": sorted(plain((m.event_type, json.loads(m.envelope)["data"]["encounter_id"])) for m in events),
            }
        )
    one_at_a_time, at_once_state = states
    assert at_once_state == one_at_a_time
    assert at_once_state["checks"] == sorted(
        [
            *(
                f"('enc_{tenant}_p-{n}', 'active', '2026-11-02', None)"
                for tenant in ("mine", "theirs")
                for n in (1, 2, 3)
            ),
            "('enc_mine_same-day', 'active', '2026-11-02', 'reused check enc_mine_p-2')",
            "('enc_mine_same-day-again', 'active', '2026-11-02', 'reused check enc_mine_same-day')",
            "('enc_mine_next-week', 'pending', '2026-11-09', None)",
            "('enc_mine_stranger', 'needs-inquiry', '2026-11-02', None)",
            "('enc_mine_p-1-next-week', 'pending', '2026-11-09', None)",
            "('enc_theirs_next-week', 'pending', '2026-11-09', None)",
        ]
    )
