"""remit-svc's single-statement writes, on SQLite and PostgreSQL: a guarantor's addressee kept from the newest claim
(events of different claims arrive in any order) and a claim's first acknowledgment kept over later ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from claimflow_kit.db import Database
from claimflow_kit.testing import DatabaseFactory
from remit_svc.adapters.repositories import GuarantorAccountRepository, OpenClaimRepository
from remit_svc.adapters.tables import GuarantorAccount, OpenClaim

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOME: dict[str, object] = {"line1": "1 Main St", "city": "Springfield", "state": "IL", "postal_code": "62701"}


@pytest.fixture
async def database(databases: DatabaseFactory, backend: str) -> AsyncIterator[Database]:
    async with databases.migrated("remit-repositories", backend, "remit_svc") as database:
        yield database


async def note(
    database: Database, tenant: str, first_name: str, as_of: datetime, address: dict[str, object] | None = HOME
) -> None:
    async with database.transaction() as session:
        await GuarantorAccountRepository(session, tenant).note("g-1", first_name, "Lopez", address, as_of)


async def accounts(database: Database) -> list[tuple[str, str, datetime]]:
    async with database.transaction() as session:
        rows = (await session.exec(select(GuarantorAccount).order_by(col(GuarantorAccount.tenant_id)))).all()
        return [(r.tenant_id, r.first_name, r.as_of) for r in rows]


async def test_a_guarantor_is_addressed_as_the_newest_claim_says(database: Database) -> None:
    await note(database, "t-1", "Maria", MONDAY)
    await note(database, "t-1", "Mary", MONDAY + timedelta(days=2))  # a later claim renames her
    await note(database, "t-1", "Maria", MONDAY + timedelta(days=1))  # an earlier claim's event arrives late
    await note(database, "t-2", "Ana", MONDAY)  # the same guarantor id of another tenant is another account
    assert await accounts(database) == [("t-1", "Mary", MONDAY + timedelta(days=2)), ("t-2", "Ana", MONDAY)]
    async with database.transaction() as session:
        addressee = await GuarantorAccountRepository(session, "t-1").addressee("g-1")
    assert addressee is not None
    assert (addressee.first_name, addressee.last_name) == ("Mary", "Lopez")
    assert addressee.address is not None
    assert addressee.address.city == "Springfield"

    await note(database, "t-1", "Mary", MONDAY + timedelta(days=2), address=None)  # the same moment: taken again
    async with database.transaction() as session:
        moved = await GuarantorAccountRepository(session, "t-1").addressee("g-1")
    assert moved is not None
    assert moved.address is None


async def test_the_first_acknowledgment_of_a_claim_is_kept(database: Database) -> None:
    async with database.transaction() as session:
        for tenant in ("t-1", "t-2"):
            session.add(
                OpenClaim(
                    id=f"clm-{tenant}",
                    tenant_id=tenant,
                    patient_control_number=f"PCN{tenant}",
                    payer_id="60054",
                    patient_id="p-1",
                    guarantor_id="p-1",
                    patient_name="LOPEZ, MARIA",
                    total_charge=Decimal("100.00"),
                    submitted_at=MONDAY,
                    service_date=date(2026, 11, 2),
                    lines=[],
                )
            )
    async with database.transaction() as session:
        claims = OpenClaimRepository(session, "t-1")
        await claims.acknowledge("clm-t-1", answer="rejected")
        await claims.acknowledge("clm-t-1", answer="accepted")  # a later answer does not change the first
        await claims.acknowledge("clm-t-2", answer="accepted")  # another tenant's claim: not found for t-1
        await claims.acknowledge("clm-unknown", answer="accepted")
        assert (await claims.get("clm-t-1")).acknowledgment == "rejected", "the session sees the update"
    async with database.transaction() as session:
        rows = (await session.exec(select(OpenClaim).order_by(col(OpenClaim.id)))).all()
        assert [(r.id, r.acknowledgment) for r in rows] == [("clm-t-1", "rejected"), ("clm-t-2", None)]
