"""HTTP routes of remit-svc."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from claimflow_kit.app import SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from remit_svc.adapters.repositories import OpenClaimRepository
from remit_svc.adapters.tables import OpenClaim

router = APIRouter(prefix="/v1", tags=["receivables"])

READERS = (Role.BILLER, Role.OPS)


class OpenClaimOut(BaseModel):
    """A claim awaiting remittance."""

    id: str
    patient_control_number: str
    payer_id: str
    patient_id: str
    total_charge: Decimal
    submitted_at: datetime


def _out(claim: OpenClaim) -> OpenClaimOut:
    return OpenClaimOut.model_validate(claim, from_attributes=True)


@router.get("/open-claims/{claim_id}", response_model=OpenClaimOut)
async def get_open_claim(
    claim_id: str, session: SessionDep, principal: Annotated[Principal, require_roles(*READERS)]
) -> OpenClaimOut:
    """One claim awaiting remittance (audited read)."""
    claim = await OpenClaimRepository(session, principal.tenant_id).get(claim_id)
    audit(session, principal, AuditAction.READ, "OpenClaim", claim.id, patient_id=claim.patient_id)
    return _out(claim)


@router.get("/open-claims", response_model=list[OpenClaimOut])
async def list_open_claims(
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OpenClaimOut]:
    """The tenant's claims awaiting remittance."""
    claims = await OpenClaimRepository(session, principal.tenant_id).list(limit=limit)
    for claim in claims:
        audit(session, principal, AuditAction.READ, "OpenClaim", claim.id, patient_id=claim.patient_id)
    return [_out(c) for c in claims]
