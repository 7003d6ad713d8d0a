"""Every list that grows with the tenant's work pages the same way: newest first (by time-ordered id), a Link
rel="next" cursor per page, each page an index range (no sort of all of the tenant's rows, whatever it holds)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import SQLModel

from claimflow.testing import Stack, TenantFixture, page_ids
from claimflow_kit.db import Database
from claimflow_kit.directory import Role
from claimflow_kit.identifiers import new_id
from claimflow_kit.testing import query_plans, statements_run
from claims_svc.adapters.tables import Claim
from coding_svc.adapters.tables import Encounter
from eligibility_svc.adapters.tables import CoverageCheck
from remit_svc.adapters.tables import OpenClaim, Remittance

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _claim(tenant_id: str, n: int) -> SQLModel:
    return Claim(
        id=new_id("clm"), tenant_id=tenant_id, encounter_id=new_id("enc"), encounter_version=1, practice_id="prac",
        patient_id=f"pat_{n}", payer_id="60054", claim_kind="professional", date_of_service=date(2026, 11, 2),
        status="paid", total_charge=Decimal("125.00"), diagnosis_codes=["J20.9"], service_lines=[],
        correlation_id=new_id("cor"),
    )  # fmt: skip


def _encounter(tenant_id: str, n: int) -> SQLModel:
    return Encounter(
        id=new_id("enc"), tenant_id=tenant_id, practice_id="prac", ehr_encounter_id=f"E{n}", content_sha256="0" * 64,
        patient_id=f"pat_{n}", date_of_service=date(2026, 11, 2), status="coded", document={},
    )  # fmt: skip


def _check(tenant_id: str, n: int) -> SQLModel:
    return CoverageCheck(
        id=new_id("elig"), tenant_id=tenant_id, patient_id=f"pat_{n}", date_of_service=date(2026, 11, 2),
        origin="request", status="active",
    )  # fmt: skip


def _open_claim(tenant_id: str, n: int) -> SQLModel:
    return OpenClaim(
        id=new_id("clm"), tenant_id=tenant_id, patient_control_number=f"PCN{n}-{new_id('x')[-8:]}", payer_id="60054",
        patient_id=f"pat_{n}", guarantor_id=f"pat_{n}", total_charge=Decimal("125.00"), submitted_at=START,
    )  # fmt: skip


def _remittance(tenant_id: str, n: int) -> SQLModel:
    return Remittance(
        id=new_id("era"), tenant_id=tenant_id, file_id=new_id("file"), transaction_index=0, fingerprint=new_id("fp"),
        payer_id="60054", trace_number=f"TRN{n}", payment_amount=Decimal("100.00"), handling_code="I",
        payment_method="ACH", payment_date=date(2026, 11, 20), status="posted",
    )  # fmt: skip


@dataclass(frozen=True)
class PagedList:
    service: str
    path: str
    table: str
    index: str
    row: Callable[[str, int], SQLModel]


LISTS = [
    PagedList("claims-svc", "/v1/claims", "claim", "ix_claim_tenant", _claim),
    PagedList("coding-svc", "/v1/encounters", "encounter", "ix_encounter_tenant", _encounter),
    PagedList("eligibility-svc", "/v1/eligibility-checks", "coverage_check", "ix_coverage_check_tenant", _check),
    PagedList("remit-svc", "/v1/open-claims", "open_claim", "ix_open_claim_tenant", _open_claim),
    PagedList("remit-svc", "/v1/remittances", "remittance", "ix_remittance_tenant", _remittance),
]


async def store(stack: Stack, listed: PagedList, tenant_id: str, count: int) -> list[Any]:
    """``count`` rows of the tenant, made one after the other (their time-ordered ids ascending)."""
    rows: list[Any] = [listed.row(tenant_id, n) for n in range(count)]
    for row, object_id in zip(rows, sorted(row.id for row in rows), strict=True):
        row.id = object_id
    async with database_of(stack, listed).transaction() as session:
        session.add_all(rows)
    return rows


def database_of(stack: Stack, listed: PagedList) -> Database:
    database: Database = stack.apps[listed.service].state.services.database
    return database


async def every_page(stack: Stack, tenant: TenantFixture, listed: PagedList, limit: int) -> list[list[str]]:
    client, headers = stack.client(listed.service), tenant.headers(Role.BILLER)
    return await page_ids(client, f"{listed.path}?limit={limit}", headers)


@pytest.mark.parametrize("listed", LISTS, ids=[listed.path for listed in LISTS])
async def test_a_list_pages_newest_first_through_its_index(stack: Stack, listed: PagedList) -> None:
    tenant, other = await stack.create_tenant(), await stack.create_tenant()
    rows = await store(stack, listed, tenant.id, 5)
    await store(stack, listed, other.id, 2)

    with statements_run(database_of(stack, listed), listed.table) as queries:
        pages = await every_page(stack, tenant, listed, limit=2)

    newest_first = [row.id for row in reversed(rows)]
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    # The requests' reads (the pipeline's background rounds read the claims too, for every tenant).
    listing = [(sql, parameters) for sql, parameters in queries if tenant.id in parameters]
    assert len(listing) == 3, queries
    # On PostgreSQL with sequential scans and sorts turned off: a plan keeps one only where no index gives the order.
    no_scan_nor_sort = ("SET enable_seqscan = off", "SET enable_sort = off")
    database = database_of(stack, listed)
    for plan in await query_plans(database, listing, *(no_scan_nor_sort if database.dialect == "postgresql" else ())):
        assert not [step for step in plan if re.search(r"TEMP B-TREE|\bSort\b|Seq Scan", step)], plan
        assert any(listed.index in step for step in plan), plan


async def test_encounters_still_page_by_offset_but_not_by_both(stack: Stack) -> None:
    listed = LISTS[1]
    tenant = await stack.create_tenant()
    rows = await store(stack, listed, tenant.id, 3)
    client, headers = stack.client(listed.service), tenant.headers(Role.BILLER)

    skipped = await client.get("/v1/encounters?limit=2&offset=2", headers=headers)
    first = await client.get("/v1/encounters?limit=2", headers=headers)
    both = await client.get(f"{first.links['next']['url']}&offset=1", headers=headers)

    assert [e["id"] for e in skipped.json()] == [rows[0].id]
    assert "link" not in skipped.headers, "an offset page names no cursor page"
    assert both.status_code == 400, both.text
    assert "not both" in both.json()["detail"]
