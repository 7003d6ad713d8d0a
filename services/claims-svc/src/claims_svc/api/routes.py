"""HTTP routes of claims-svc."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col

from claimflow_kit.app import SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claims_svc.adapters.repositories import ClaimRepository
from claims_svc.adapters.tables import Claim

router = APIRouter(prefix="/v1", tags=["claims"])

READERS = (Role.BILLER, Role.EHR_INTEGRATION, Role.CODER)


class ClaimOut(BaseModel):
    """A claim and its status."""

    id: str
    encounter_id: str
    encounter_version: int
    practice_id: str
    patient_id: str
    payer_id: str | None
    claim_kind: str
    date_of_service: date
    status: str
    total_charge: Decimal
    diagnosis_codes: list[str]
    service_lines: list[dict[str, object]]
    created_at: datetime


def _out(claim: Claim) -> ClaimOut:
    return ClaimOut.model_validate(claim, from_attributes=True)


@router.get("/claims/{claim_id}", response_model=ClaimOut)
async def get_claim(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> ClaimOut:
    """One claim (audited read)."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id)
    audit(session, principal, AuditAction.READ, "Claim", claim.id, patient_id=claim.patient_id)
    return _out(claim)


@router.get("/claims", response_model=list[ClaimOut])
async def list_claims(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    encounter_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClaimOut]:
    """The tenant's claims, optionally for one encounter."""
    conditions = [col(Claim.encounter_id) == encounter_id] if encounter_id else []
    claims = await ClaimRepository(session, principal.tenant_id).list(*conditions, limit=limit)
    for claim in claims:
        audit(session, principal, AuditAction.READ, "Claim", claim.id, patient_id=claim.patient_id)
    return [_out(c) for c in claims]
