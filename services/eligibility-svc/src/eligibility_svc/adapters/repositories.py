"""Tenant-scoped repositories of eligibility-svc."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Table, bindparam, func, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from claimflow_kit.bulk import insert_rows
from claimflow_kit.errors import InvalidInput
from claimflow_kit.repository import TenantRepository
from claimflow_kit.tables import json_present
from eligibility_svc.adapters.tables import CoverageCheck


class CoverageCheckRepository(TenantRepository[CoverageCheck]):
    """Coverage checks of one tenant."""

    model = CoverageCheck
    resource_name = "EligibilityCheck"

    async def of_encounter(self, encounter_id: str) -> CoverageCheck | None:
        """The encounter's pre-check, if it has one."""

        def build() -> SelectOfScalar[CoverageCheck]:
            return (
                self.scoped_by_parameter().where(col(CoverageCheck.encounter_id) == bindparam("encounter_id")).limit(1)
            )

        return (await self.prepared("of encounter", build, encounter_id=encounter_id)).first()

    async def latest_inquiry(self, patient_id: str, payer_id: str | None) -> CoverageCheck | None:
        """The patient's latest check with the payer that has an inquiry (none without a payer to ask)."""
        if payer_id is None:
            return None

        def build() -> SelectOfScalar[CoverageCheck]:
            return (
                self.scoped_by_parameter()
                .where(
                    col(CoverageCheck.patient_id) == bindparam("patient_id"),
                    col(CoverageCheck.payer_id) == bindparam("payer_id"),
                    json_present(col(CoverageCheck.inquiry)),
                )
                .order_by(col(CoverageCheck.created_at).desc(), col(CoverageCheck.id).desc())
                .limit(1)
            )

        return (await self.prepared("latest inquiry", build, patient_id=patient_id, payer_id=payer_id)).first()

    async def encounters_checked(self, encounter_ids: Collection[str]) -> set[str]:
        """Which of the encounters have a pre-check (one statement)."""
        query = select(CoverageCheck.encounter_id).where(
            col(CoverageCheck.tenant_id) == self.tenant_id, col(CoverageCheck.encounter_id).in_(sorted(encounter_ids))
        )
        return {encounter_id for encounter_id in await self.session.exec(query) if encounter_id is not None}

    async def latest_inquiries(self, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], CoverageCheck]:
        """``latest_inquiry`` of many (patient, payer) pairs in one statement; a pair without one is left out."""
        if not pairs:
            return {}
        patient, payer = col(CoverageCheck.patient_id), col(CoverageCheck.payer_id)
        newest_first = (col(CoverageCheck.created_at).desc(), col(CoverageCheck.id).desc())
        ranked = (
            select(
                CoverageCheck.id,
                func.row_number().over(partition_by=(patient, payer), order_by=newest_first).label("rank"),
            )
            .where(
                col(CoverageCheck.tenant_id) == self.tenant_id,
                patient.in_(sorted({p for p, _ in pairs})),
                payer.in_(sorted({p for _, p in pairs})),
                json_present(col(CoverageCheck.inquiry)),
            )
            .subquery()
        )
        query = select(CoverageCheck).join(ranked, col(CoverageCheck.id) == ranked.c.id).where(ranked.c.rank == 1)
        found = {(check.patient_id, check.payer_id or ""): check for check in await self.session.exec(query)}
        return {pair: found[pair] for pair in pairs if pair in found}

    async def insert(self, check: CoverageCheck) -> None:
        """Write a new check with one INSERT now (a real-time check writes one row: no unit-of-work flush for it).

        The object stays detached from the session; the caller keeps it as the record of what was written.
        """
        if check.tenant_id != self.tenant_id:
            raise PermissionError("refusing to write another tenant's object")
        table: Table = CoverageCheck.__table__  # type: ignore[attr-defined]
        row: dict[str, Any] = {column.key: getattr(check, column.key) for column in table.columns}
        await insert_rows(self.session, table, [row])

    async def adopt(self, check: CoverageCheck, *, answered: bool) -> bool:
        """Whether a real-time check answers a check already there, and if so take over its identity.

        One naming an encounter that has a check (its pre-check waiting for the front desk's inquiry, or one
        answered earlier) answers that check in place: an encounter has one check, and the newest answer is the one
        its claim goes by. The check keeps its id, origin and creation time and counts every attempt. A failed
        exchange (``answered`` False) never replaces an answer: it is kept on its own, without the encounter.
        """
        if check.encounter_id is None:
            return False
        existing = await self.find(col(CoverageCheck.encounter_id) == check.encounter_id, for_update=True)
        if existing is None:
            return False
        if existing.patient_id != check.patient_id:
            raise InvalidInput(f"encounter {check.encounter_id} is another patient's: its check is for that patient")
        if not answered and existing.result is not None:
            check.encounter_id = None
            return False
        check.id, check.origin, check.created_at = existing.id, existing.origin, existing.created_at
        check.attempts += existing.attempts
        check.batch_id = existing.batch_id
        self.session.expunge(existing)
        return True

    async def write(self, check: CoverageCheck, *, adopted: bool) -> None:
        """Insert the check, or (``adopted``) write it over the check it took over."""
        if not adopted:
            await self.insert(check)
            return
        table: Table = CoverageCheck.__table__  # type: ignore[attr-defined]
        values = {column.key: getattr(check, column.key) for column in table.columns if column.key != "id"}
        await self.session.exec(update(CoverageCheck).where(col(CoverageCheck.id) == check.id).values(**values))
