"""The main job's day of billing, played end to end against every service on its own stack and payer-sandbox
(its clock moves, so it does not share the session's sandbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func
from sqlmodel import select

from claimflow.demo import STAGES, DayOfBilling, DayOptions, DemoTenant, render_summary
from claimflow.testing import Stack, isolated_stack
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory, Role
from claimflow_kit.testing import DatabaseFactory
from remit_svc.adapters.tables import LedgerEntry

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def demo_stack(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with isolated_stack(databases, tmp_path_factory.mktemp("demo-broker"), seed=3) as built:
        yield built


async def demo_tenant(stack: Stack) -> DemoTenant:
    tenant = await stack.create_tenant("demo")
    directory = Database(stack.directory_url, pool_size=1)
    try:
        async with directory.transaction() as session:
            book = Directory(session)
            extra = [
                await book.add_practice(
                    tenant.id, name, npi, "234567891", address=("200 River Road", "Springfield", "IL", "627011234")
                )
                for name, npi in (("Riverside Internal Medicine", "1245319599"), ("Lakeview Pediatrics", "1497758544"))
            ]
    finally:
        await directory.dispose()
    keys = {role.value: tenant.keys[role] for role in Role}
    return DemoTenant(tenant.id, [tenant.practice_id, *(p.id for p in extra)], keys)


async def test_a_small_day_goes_from_encounters_to_posted_payments_and_kpis(demo_stack: Stack) -> None:
    stack = demo_stack
    assert stack.sandbox_url
    tenant = await demo_tenant(stack)
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=stack.sandbox_url) as sandbox:
        clients = {**stack.clients, "payer-sandbox": sandbox}
        options = DayOptions(
            encounters=30, seed=5, coding_problem_rate=0.15, denial_rate=0.2, hospital_rate=0.2, within_seconds=120,
            page_size=4,  # every list the day reads takes several pages
        )  # fmt: skip
        summary = await DayOfBilling(clients, tenant, options, report=lambda stage, _: seen.append(stage)).play()

    assert set(STAGES) <= set(seen), "every stage reported progress"
    assert "recoupment" in seen, "a paid claim's overpayment came back as a PLB on the next ERA"
    counts = summary.counts
    assert counts["encounters"]["received"] == 30
    assert counts["coding"]["fixed by a coder"] >= 1, "the coding problems were worked by a coder"
    submitted = counts["claims"]["submitted"]
    assert submitted >= 25
    assert counts["claims"]["institutional (837I)"] >= 1, "hospital outpatient visits went out as 837I claims"
    acknowledged = counts["acknowledged"]
    assert acknowledged["accepted"] + acknowledged["rejected"] == submitted
    remitted = counts["remitted"]
    assert remitted["ERAs posted"] >= remitted["835 files"] >= 1
    assert remitted.get("open", 0) == 0, "every accepted claim was adjudicated and posted"
    assert counts["denials"]["classified"] == remitted.get("denied", 0) + remitted.get("partially_paid", 0)
    secondary = counts["secondary"]
    assert secondary["submitted"] >= 1, "patients with a second plan had it billed after the primary paid"
    assert secondary.get("paid", 0) + secondary.get("partially_paid", 0) >= 1, "and the secondary payers paid"
    assert summary.kpis, "the KPIs came from remit-svc"
    assert summary.aging, "AR aging by payer"
    assert counts["statements"]["issued"] >= 1, "patient responsibility was billed on statements"
    assert summary.patient_responsibility > 0

    text = render_summary(summary)
    assert f"claims submitted        {submitted}" in text
    assert f"secondary claims        {secondary['submitted']}" in text
    assert f"/v1/statement-runs/{summary.statement_run_id}" in text

    database = stack.database("remit-svc")
    try:
        async with database.transaction() as session:
            total = (
                await session.exec(
                    select(func.sum(LedgerEntry.amount)).where(LedgerEntry.tenant_id == tenant.tenant_id)
                )
            ).one()
    finally:
        await database.dispose()
    assert Decimal(total) == 0, "the ledger balances after the whole day"
