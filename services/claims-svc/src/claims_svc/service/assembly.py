"""Combine claims not yet sent into one (see ``claims_svc.domain.assembly``): the earliest claim takes the others'
diagnoses and lines and goes back to draft to be scrubbed again; the others are marked combined into it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.tables import utcnow
from claims_svc.adapters.repositories import ClaimRepository
from claims_svc.adapters.tables import Claim, TimelineEntry
from claims_svc.domain.assembly import CannotCombine, ClaimPart, combine
from claims_svc.service.pipeline import ClaimStatus, service_lines

NOT_SENT = (ClaimStatus.DRAFT, ClaimStatus.HELD, ClaimStatus.READY)
COMBINED_EVENT = "claimflow.claims.combined"
"""Timeline entry type of a combination (recorded by claims-svc itself, not published)."""

# What every combined claim must share: one patient, payer, plan order, practice, providers and place.
_SAME = ("patient_id", "payer_id", "payer_sequence", "practice_id", "claim_kind", "billing_npi", "rendering_npi",
         "place_of_service")  # fmt: skip


def _check(claims: Sequence[Claim]) -> None:
    for claim in claims:
        if claim.status not in NOT_SENT:
            raise Conflict(f"claim {claim.id} is {claim.status}; only claims not yet sent can be combined")
        if claim.correction or claim.frequency_code != "1":
            raise Conflict(f"claim {claim.id} is a correction; combine original claims only")
        if claim.claim_kind != "professional":
            raise InvalidInput(f"claim {claim.id} is {claim.claim_kind}; only professional claims are combined")
    for name in _SAME:
        values = {str(getattr(c, name)) for c in claims}
        if len(values) > 1:
            raise InvalidInput(f"the claims differ in {name} ({', '.join(sorted(values))}): they cannot be one claim")
    if len({str(c.parties.get("member_id") if c.parties else None) for c in claims}) > 1:
        raise InvalidInput("the claims bill different member ids: they cannot be one claim")


async def combine_claims(session: AsyncSession, principal: Principal, claim_ids: Sequence[str]) -> Claim:
    """Combine the tenant's ``claim_ids`` into the one with the earliest date of service; returns it."""
    if len(set(claim_ids)) != len(claim_ids):
        raise InvalidInput("a claim is named twice")
    repository = ClaimRepository(session, principal.tenant_id)
    found = {c.id: c for c in await repository.list(col(Claim.id).in_(list(claim_ids)), limit=len(claim_ids))}
    missing = [i for i in claim_ids if i not in found]
    if missing:
        raise NotFound("Claim", missing[0])
    claims = sorted(found.values(), key=lambda c: (c.date_of_service, c.created_at, c.id))
    _check(claims)
    try:
        combined = combine(
            [ClaimPart(c.id, c.date_of_service, tuple(c.diagnosis_codes), tuple(service_lines(c))) for c in claims]
        )
    except CannotCombine as exc:
        raise InvalidInput(str(exc)) from None
    target, absorbed = claims[0], claims[1:]
    now = utcnow()
    target.date_of_service = combined.date_of_service
    target.diagnosis_codes = list(combined.diagnoses)
    target.service_lines = [line.model_dump(mode="json") for line in combined.lines]
    target.total_charge = sum((c.total_charge for c in claims), Decimal(0))
    target.combined_encounter_ids = [
        *target.combined_encounter_ids,
        *(e for c in absorbed for e in (c.encounter_id, *c.combined_encounter_ids)),
    ]
    target.status = ClaimStatus.DRAFT  # scrubbed again as one claim
    target.findings = []
    target.updated_at = now
    session.add(target)
    for claim in absorbed:
        claim.status = ClaimStatus.COMBINED
        claim.combined_into = target.id
        claim.updated_at = now
        session.add(claim)
    for claim in claims:
        audit(session, principal, AuditAction.UPDATE, "Claim", claim.id, patient_id=claim.patient_id,
              detail=f"combined into {target.id}")  # fmt: skip
        session.add(
            TimelineEntry(
                event_id=str(uuid.uuid4()),
                tenant_id=claim.tenant_id,
                correlation_id=claim.correlation_id,
                event_type=COMBINED_EVENT,
                source="claims-svc",
                subject=claim.id,
                occurred_at=now,
                summary=f"claims {', '.join(c.id for c in claims)} combined into {target.id}"[:300],
            )
        )
    return target
