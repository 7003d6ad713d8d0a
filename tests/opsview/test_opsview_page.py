"""The ops view in a real browser (headless Chromium from the Debian package, driven by Playwright): the page
loads behind the ops token, its numbers move when events flow, a dead letter replays from the page, and the
stuck-claims, payer-latency and timeline panels show what the services hold."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser, Page, async_playwright
from sqlmodel import col, select

from claimflow.opsview.app import create_app as create_ops_view
from claimflow.opsview.config import OpsViewSettings
from claimflow.testing import OPS_TOKEN, Stack, served
from claimflow_events import EligibilityChecked, EligibilityStatus, default_catalog
from claimflow_kit.dlq import list_dead_letters
from claimflow_kit.kafka import new_producer
from claimflow_kit.testing import BrokerHandle, eventually
from claims_svc.adapters.tables import Claim, TimelineEntry
from eligibility_svc.adapters.tables import CoverageCheck

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
WAIT_MS = 30_000
NUMBER = r"^[0-9][0-9,]*$"


@pytest_asyncio.fixture(scope="module")
async def ops_view_url(stack: Stack, broker: BrokerHandle) -> AsyncIterator[str]:
    """The ops view over real HTTP, reading the test broker and the in-process services."""
    settings = OpsViewSettings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_idempotent_producer=broker.idempotent_producer,
        kafka_request_timeout_ms=5000,
        ops_token=OPS_TOKEN,
        ops_sample_interval_seconds=0.5,
        ops_rate_window_seconds=3.0,
        ops_service_urls={},
    )
    async with served(create_ops_view(settings, service_clients=stack.clients)) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from the system package (Playwright never downloads a browser here)."""
    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium chromium-driver)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture
async def page(browser: Browser, ops_view_url: str) -> AsyncIterator[Page]:
    """A signed-in page: the token is entered once and kept for the tab."""
    context = await browser.new_context()
    opened = await context.new_page()
    opened.set_default_timeout(WAIT_MS)
    await opened.goto(ops_view_url)
    await opened.fill("#token-input", OPS_TOKEN)
    await opened.click("#token-submit")
    await opened.wait_for_selector("#dashboard:not([hidden])")
    yield opened
    await context.close()


async def number(page: Page, selector: str) -> int:
    """The integer a cell shows, once it shows one."""
    cell = page.locator(selector)
    await cell.wait_for()
    await page.wait_for_function(
        "([selector, pattern]) => { const c = document.querySelector(selector);"
        " return c !== null && new RegExp(pattern).test(c.textContent.trim()); }",
        arg=[selector, NUMBER],
    )
    return int((await cell.inner_text()).replace(",", ""))


async def wait_for_at_least(page: Page, selector: str, minimum: int) -> None:
    """Wait (the browser polls, with the page's deadline) until the cell shows at least ``minimum``."""
    await page.wait_for_function(
        "([selector, minimum]) => { const c = document.querySelector(selector);"
        " return c !== null && Number(c.textContent.replace(/,/g, '')) >= minimum; }",
        arg=[selector, minimum],
    )


async def publish_eligibility(stack: Stack, tenant_id: str, correlation_id: str, count: int) -> None:
    """Stage events in eligibility-svc's outbox, as the service does with a state change."""
    context = stack.apps["eligibility-svc"].state.services
    async with context.database.transaction() as session:
        for _ in range(count):
            context.outbox.add(
                session,
                EligibilityChecked(
                    check_id=f"elig_page_{uuid.uuid4().hex[:12]}",
                    patient_id="pat_page",
                    payer_id="60054",
                    date_of_service=date(2026, 11, 2),
                    status=EligibilityStatus.ACTIVE,
                ),
                tenant_id=tenant_id,
                correlation_id=correlation_id,
            )


async def produce_poison(stack: Stack, tenant_id: str) -> str:
    """An eligibility-checked envelope whose payload breaks the contract; returns its event id."""
    envelope = default_catalog().envelope(
        EligibilityChecked(
            check_id="elig_poison",
            patient_id="pat_page",
            payer_id="60054",
            date_of_service=date(2026, 11, 2),
            status=EligibilityStatus.ACTIVE,
        ),
        tenant_id=tenant_id,
        source="/claimflow/tests",
        correlation_id=f"corr-poison-{uuid.uuid4().hex[:8]}",
    )
    document = envelope.model_dump(mode="json")
    document["data"] = {"check_id": "elig_poison", "status": "maybe"}
    producer: AIOKafkaProducer = new_producer(stack.settings["eligibility-svc"])
    await producer.start()
    try:
        await producer.send_and_wait("claimflow.eligibility", value=json.dumps(document).encode(), key=b"elig_poison")
    finally:
        await producer.stop()
    return str(envelope.id)


async def test_page_asks_for_the_token_and_refuses_a_wrong_one(browser: Browser, ops_view_url: str) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.goto(ops_view_url)
        await page.wait_for_selector("#login:not([hidden])")
        assert await page.locator("#dashboard").is_hidden()
        await page.fill("#token-input", "not-the-token")
        await page.click("#token-submit")
        await page.wait_for_selector("#login-error:not([hidden])")
        assert "refused" in await page.inner_text("#login-error")
        await page.fill("#token-input", OPS_TOKEN)
        await page.click("#token-submit")
        await page.wait_for_selector("#dashboard:not([hidden])")
        await number(page, "#total-outbox-backlog")
        await page.reload()  # the token stays for the tab
        await page.wait_for_selector("#dashboard:not([hidden])")
    finally:
        await context.close()


async def test_panels_show_numbers_and_they_move_when_events_flow(page: Page, stack: Stack) -> None:
    topic_cell = 'tr[data-topic="claimflow.eligibility"] td[data-field="messages"]'
    group_cell = 'tr[data-group="coding-svc.eligibility"][data-topic="claimflow.eligibility"] td[data-field="end"]'
    before = await number(page, f"#topics {topic_cell}")
    group_end = await number(page, f"#groups {group_cell}")
    await number(page, '#groups tr[data-group="coding-svc.eligibility"] td[data-field="lag"]')
    for service in stack.clients:
        await number(page, f'#services tr[data-service="{service}"] td[data-field="backlog"]')
    await number(page, "#total-consumer-lag")
    tenant = await stack.create_tenant("opspage")
    correlation_id = f"corr-page-{uuid.uuid4().hex[:12]}"
    await publish_eligibility(stack, tenant.id, correlation_id, 5)
    await wait_for_at_least(page, f"#topics {topic_cell}", before + 5)
    await wait_for_at_least(page, f"#groups {group_cell}", group_end + 5)
    await page.wait_for_function(
        "sel => { const c = document.querySelector(sel); return c !== null && Number(c.textContent) > 0; }",
        arg='#topics tr[data-topic="claimflow.eligibility"] td[data-field="per-second"]',
    )

    async def on_timeline() -> bool | None:
        database = stack.database("claims-svc")
        try:
            async with database.transaction() as session:
                rows = await session.exec(
                    select(TimelineEntry).where(col(TimelineEntry.correlation_id) == correlation_id)
                )
                return len(rows.all()) == 5 or None
        finally:
            await database.dispose()

    await eventually(on_timeline)
    await page.fill("#timeline-query", correlation_id)
    await page.click("#timeline-form button")
    rows = page.locator(f'table.timeline[data-correlation-id="{correlation_id}"] tbody tr')
    await rows.first.wait_for()
    assert await rows.count() == 5
    assert set(await rows.evaluate_all("rows => rows.map(r => r.dataset.eventType)")) == {
        "claimflow.eligibility-checked"
    }


async def test_a_dead_letter_is_replayed_from_the_page(page: Page, stack: Stack, broker: BrokerHandle) -> None:
    tenant = await stack.create_tenant("opspoison")
    waiting_before = await number(page, "#total-dead-letters")
    event_id = await produce_poison(stack, tenant.id)
    rows = page.locator(f'#dead-letters tr[data-event-id="{event_id}"]')
    await rows.first.wait_for()
    await wait_for_at_least(page, "#total-dead-letters", waiting_before + 1)
    keys = await rows.evaluate_all("rows => rows.map(r => r.dataset.deadLetter)")
    assert keys
    for key in keys:
        assert await page.inner_text(f'tr[data-dead-letter="{key}"] td[data-field="state"]') == "waiting"
    assert "InvalidPayload" in await rows.first.inner_text()
    await rows.first.locator("button.replay").click()
    for key in keys:
        await page.wait_for_function(
            "sel => { const c = document.querySelector(sel); return c !== null && c.textContent === 'replayed'; }",
            arg=f'tr[data-dead-letter="{key}"] td[data-field="state"]',
        )
        assert await page.locator(f'tr[data-dead-letter="{key}"] button.replay').is_disabled()
    letters = await list_dead_letters(stack.settings["eligibility-svc"], "claimflow.eligibility.dlq")
    replayed = {f"{d.dlq_topic}/{d.partition}/{d.offset}" for d in letters if d.event_id == event_id and d.replayed}
    assert set(keys) <= replayed, "the broker records the replay, not only the page"
    # Still poison after the replay: its consumers read it again from its topic and dead-letter it anew.
    await page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n",
        arg=[f'#dead-letters tr[data-event-id="{event_id}"]', len(keys)],
    )


async def test_stuck_claims_and_payer_latency_panels(page: Page, stack: Stack) -> None:
    tenant = await stack.create_tenant("opspanels")
    payer = f"PG{uuid.uuid4().hex[:8].upper()}"
    now = datetime.now(UTC)
    claims = stack.database("claims-svc")
    eligibility = stack.database("eligibility-svc")
    try:
        async with claims.transaction() as session:
            session.add(
                Claim(
                    id=f"clm_{uuid.uuid4().hex}",
                    tenant_id=tenant.id,
                    encounter_id=f"enc_{uuid.uuid4().hex[:12]}",
                    encounter_version=1,
                    practice_id="prac_page",
                    patient_id="pat_page",
                    payer_id=payer,
                    claim_kind="professional",
                    date_of_service=date(2026, 1, 5),
                    status="submitted",
                    total_charge=Decimal("80.00"),
                    diagnosis_codes=["J20.9"],
                    service_lines=[],
                    correlation_id=f"corr-{uuid.uuid4().hex[:12]}",
                    patient_control_number=f"CF{uuid.uuid4().hex[:18].upper()}",
                    submitted_at=now - timedelta(days=41),
                )
            )
        async with eligibility.transaction() as session:
            for seconds in (1.0, 2.0, 30.0):
                session.add(
                    CoverageCheck(
                        id=f"elig_{uuid.uuid4().hex}",
                        tenant_id=tenant.id,
                        patient_id="pat_page",
                        payer_id=payer,
                        date_of_service=date(2026, 11, 2),
                        origin="request",
                        status="active",
                        created_at=now - timedelta(seconds=seconds),
                        completed_at=now,
                    )
                )
    finally:
        await claims.dispose()
        await eligibility.dispose()
    stuck_row = f'#stuck tr[data-tenant="{tenant.id}"][data-payer="{payer}"]'
    assert await number(page, f'{stuck_row} td[data-field="count"]') == 1
    assert (await page.inner_text(f'{stuck_row} td[data-field="oldest"]')).startswith("41.0")
    latency_row = f'#latency tr[data-payer="{payer}"]'
    assert await number(page, f'{latency_row} td[data-field="count"]') == 3
    assert await page.inner_text(f'{latency_row} td[data-field="p50"]') == "2.00"
    assert await page.inner_text(f'{latency_row} td[data-field="max"]') == "30.00"
    assert await page.inner_text(f'{latency_row} td[data-field="core"]') == "misses"
    assert await number(page, "#total-stuck-claims") >= 1
