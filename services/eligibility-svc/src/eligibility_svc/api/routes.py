"""HTTP routes of eligibility-svc."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col

from claimflow_kit.app import SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from eligibility_svc.adapters.repositories import CoverageCheckRepository
from eligibility_svc.adapters.tables import CoverageCheck

router = APIRouter(prefix="/v1", tags=["eligibility"])

READERS = (Role.EHR_INTEGRATION, Role.BILLER, Role.CODER)


class CoverageCheckOut(BaseModel):
    """A coverage check and where it stands."""

    id: str
    encounter_id: str | None
    patient_id: str
    payer_id: str | None
    date_of_service: date
    origin: str
    status: str
    created_at: datetime


def _out(check: CoverageCheck) -> CoverageCheckOut:
    return CoverageCheckOut.model_validate(check, from_attributes=True)


@router.get("/eligibility-checks/{check_id}", response_model=CoverageCheckOut)
async def get_check(
    check_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> CoverageCheckOut:
    """One coverage check (audited read)."""
    check = await CoverageCheckRepository(session, principal.tenant_id).get(check_id)
    audit(session, principal, AuditAction.READ, "EligibilityCheck", check.id, patient_id=check.patient_id)
    return _out(check)


@router.get("/eligibility-checks", response_model=list[CoverageCheckOut])
async def list_checks(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    encounter_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CoverageCheckOut]:
    """The tenant's coverage checks, optionally for one encounter."""
    conditions = [col(CoverageCheck.encounter_id) == encounter_id] if encounter_id else []
    checks = await CoverageCheckRepository(session, principal.tenant_id).list(*conditions, limit=limit)
    for check in checks:
        audit(session, principal, AuditAction.READ, "EligibilityCheck", check.id, patient_id=check.patient_id)
    return [_out(c) for c in checks]
