"""GET /v1/claims a page at a time: filters kept from page to page, pages stable under inserts, bad cursors refused.
(Every paged list's order and index: tests/test_list_pages.py.)"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

import pytest

from claimflow.testing import Stack, TenantFixture, page_ids
from claimflow_kit.db import Database
from claimflow_kit.directory import Role
from claimflow_kit.identifiers import new_id
from claims_svc.adapters.tables import Claim
from claims_svc.api.routes import PIPELINE_KEY
from claims_svc.service.pipeline import ClaimPipeline

pytestmark = pytest.mark.integration


def claims_database(stack: Stack) -> Database:
    return cast(ClaimPipeline, stack.apps["claims-svc"].state.services.extras[PIPELINE_KEY]).context.database


def ids_after(last: str | None, count: int) -> list[str]:
    """``count`` claim ids, ascending, each made after ``last`` (row ids are time-ordered: a later one is larger)."""
    ids = sorted(new_id("clm") for _ in range(count))
    if last is not None and ids[0] <= last:
        start = int(last.removeprefix("clm_"), 16) + 1
        ids = [f"clm_{start + n:032x}" for n in range(count)]
    return ids


async def store_claims(
    stack: Stack, tenant_id: str, count: int, status: str = "paid", after: str | None = None
) -> list[Claim]:
    """``count`` claims of ``tenant_id`` made one after the other (paid: the pipeline's rounds leave them alone)."""
    claims = [
        Claim(
            id=claim_id,
            tenant_id=tenant_id,
            encounter_id=new_id("enc"),
            encounter_version=1,
            practice_id="prac_pages",
            patient_id=f"pat_{index}",
            payer_id="60054",
            claim_kind="professional",
            date_of_service=date(2026, 11, 2),
            status=status,
            total_charge=Decimal("125.00"),
            diagnosis_codes=["J20.9"],
            service_lines=[],
            correlation_id=new_id("cor"),
        )
        for index, claim_id in enumerate(ids_after(after, count))
    ]
    async with claims_database(stack).transaction() as session:
        session.add_all(claims)
    return claims


def newest_first(claims: list[Claim]) -> list[str]:
    return sorted((c.id for c in claims), reverse=True)


async def every_page(stack: Stack, tenant: TenantFixture, url: str) -> list[list[str]]:
    return await page_ids(stack.client("claims-svc"), url, tenant.headers(Role.BILLER))


async def test_pages_follow_each_other_newest_first_and_end(stack: Stack) -> None:
    tenant, other = await stack.create_tenant(), await stack.create_tenant()
    claims = await store_claims(stack, tenant.id, 7)
    await store_claims(stack, other.id, 3)

    pages = await every_page(stack, tenant, "/v1/claims?limit=3")

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [claim_id for page in pages for claim_id in page] == newest_first(claims)
    exact = await every_page(stack, tenant, "/v1/claims?limit=7")
    assert exact == [newest_first(claims)], "a page that ends the list names no next page"


async def test_a_filtered_list_pages_through_the_matching_claims_only(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    paid = await store_claims(stack, tenant.id, 5)
    await store_claims(stack, tenant.id, 5, "held")

    pages = await every_page(stack, tenant, "/v1/claims?status=paid&limit=2")

    assert [claim_id for page in pages for claim_id in page] == newest_first(paid)


async def test_claims_created_between_two_pages_do_not_shift_the_next_page(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    claims = await store_claims(stack, tenant.id, 4)
    client = stack.client("claims-svc")
    first = await client.get("/v1/claims?limit=2", headers=tenant.headers(Role.BILLER))
    assert first.status_code == 200, first.text
    next_url = first.links["next"]["url"]
    assert "limit=2" in next_url

    newer = await store_claims(stack, tenant.id, 1, after=max(c.id for c in claims))
    second = await client.get(next_url, headers=tenant.headers(Role.BILLER))

    assert [c["id"] for c in first.json()] == newest_first(claims)[:2]
    assert [c["id"] for c in second.json()] == newest_first(claims)[2:], "no claim repeated, none skipped"
    listed = await client.get("/v1/claims?limit=1", headers=tenant.headers(Role.BILLER))
    assert [c["id"] for c in listed.json()] == [newer[0].id], "a new first page starts with the new claim"


@pytest.mark.parametrize("cursor", ["not-a-cursor", "Y2xtXzEnIE9SIDE9MQ", "MjAyNi0xMS0wMlQwOTowMDowMHxjbG1fMQ", "%00"])
async def test_a_cursor_this_api_did_not_hand_out_is_a_400(stack: Stack, cursor: str) -> None:
    tenant = await stack.create_tenant()
    response = await stack.client("claims-svc").get(f"/v1/claims?after={cursor}", headers=tenant.headers(Role.BILLER))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidInput"
    assert "cursor" in response.json()["detail"]
