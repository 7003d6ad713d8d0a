"""HTTP routes of claim status follow-up: stuck claims, a claim's 276/277 history, and asking the payer now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from claimflow_kit.app import ContextDep, ServiceContext, SessionDep
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal, require_roles
from claimflow_kit.directory import Role
from claims_svc.adapters.tables import StatusInquiry
from claims_svc.service.followup import StatusFollowup

router = APIRouter(prefix="/v1", tags=["claim status follow-up"])

FOLLOWUP_KEY = "status_followup"
READERS = (Role.BILLER, Role.EHR_INTEGRATION, Role.CODER)


def followup(context: ServiceContext) -> StatusFollowup:
    """The follow-up built at start-up."""
    return cast(StatusFollowup, context.extras[FOLLOWUP_KEY])


class StatusInquiryOut(BaseModel):
    """One 276 sent for a claim and what the payer's 277 said (``answer``: category, meaning, action, amounts)."""

    id: str
    claim_id: str
    payer_id: str
    trace_number: str
    interchange_control_number: str
    status: str
    sent_at: datetime
    answered_at: datetime | None
    category_code: str | None
    status_code: str | None
    answer: dict[str, object] | None
    error: str | None


class StuckClaimOut(BaseModel):
    """A claim the payer has not paid or answered, after follow-up: why it is stuck and what to do."""

    claim_id: str
    payer_id: str | None
    practice_id: str
    status: str
    patient_control_number: str | None
    total_charge: str
    submitted_at: datetime
    days_waiting: int
    inquiries: int
    reason: str | None
    action: str | None
    last_answer: dict[str, object] | None


def _inquiry_out(row: StatusInquiry) -> StatusInquiryOut:
    return StatusInquiryOut.model_validate(row, from_attributes=True)


@router.get("/claims/stuck", response_model=list[StuckClaimOut])
async def stuck_claims(
    context: ContextDep,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
    payer_id: Annotated[str | None, Query(max_length=80)] = None,
) -> list[StuckClaimOut]:
    """Claims with no 277CA or 835 after follow-up: the payer did not answer the 276, has no record of the claim,
    rejected it, asks for information, or still has not paid after every inquiry. Oldest first."""
    now = datetime.now(UTC)
    found = []
    for item in await followup(context).stuck(session, principal.tenant_id, now):
        claim = item.claim
        if payer_id and claim.payer_id != payer_id:
            continue
        assert claim.submitted_at is not None
        audit(session, principal, AuditAction.READ, "Claim", claim.id, patient_id=claim.patient_id)
        last = item.inquiries[-1] if item.inquiries else None
        found.append(
            StuckClaimOut(
                claim_id=claim.id,
                payer_id=claim.payer_id,
                practice_id=claim.practice_id,
                status=claim.status,
                patient_control_number=claim.patient_control_number,
                total_charge=str(claim.total_charge),
                submitted_at=claim.submitted_at,
                days_waiting=(now - claim.submitted_at).days,
                inquiries=len(item.inquiries),
                reason=item.assessment.reason,
                action=item.assessment.action,
                last_answer=(last.answer or ({"error": last.error} if last.error else None)) if last else None,
            )
        )
    return found


@router.get("/claims/{claim_id}/status-inquiries", response_model=list[StatusInquiryOut])
async def claim_status_inquiries(
    claim_id: str,
    context: ContextDep,
    session: SessionDep,
    principal: Annotated[Principal, require_roles(*READERS)],
) -> list[StatusInquiryOut]:
    """Every 276 sent for the claim and the payer's answers, oldest first."""
    rows = await followup(context).inquiries(session, principal.tenant_id, claim_id)
    audit(session, principal, AuditAction.READ, "Claim", claim_id)
    return [_inquiry_out(r) for r in rows]


@router.post(
    "/claims/{claim_id}/status-inquiries", response_model=StatusInquiryOut, status_code=status.HTTP_201_CREATED
)
async def ask_claim_status(
    claim_id: str,
    context: ContextDep,
    principal: Annotated[Principal, require_roles(Role.BILLER)],
) -> StatusInquiryOut:
    """Ask the payer now (real-time 276 → 277). The answer is recorded whatever it is: a payer that cannot be
    reached gives an inquiry with status ``failed`` and the reason (409 when the payer already answered the claim)."""
    inquiry = await followup(context).inquire(principal.tenant_id, claim_id)
    return _inquiry_out(inquiry)
