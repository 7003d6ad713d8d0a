"""Combine claims not yet sent into one, or split one into two (see ``claims_svc.domain.assembly``). Combining: the
earliest claim takes the others' diagnoses and lines and goes back to draft; the others are marked combined into
it. Splitting: the chosen lines go to a new claim (the next ``part`` of the same encounter); both are drafts again.
Either way the scrubber sees the result before anything is sent."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import uuid7
from claimflow_kit.audit import AuditAction, audit
from claimflow_kit.auth import Principal
from claimflow_kit.errors import Conflict, InvalidInput, NotFound
from claimflow_kit.identifiers import new_id
from claimflow_kit.tables import utcnow
from claims_svc.adapters.repositories import ClaimRepository
from claims_svc.adapters.tables import Claim, TimelineEntry
from claims_svc.domain.assembly import CannotCombine, ClaimPart, combine, split
from claims_svc.domain.claim import new_patient_control_number
from claims_svc.service.pipeline import ClaimStatus, service_lines

NOT_SENT = (ClaimStatus.DRAFT, ClaimStatus.HELD, ClaimStatus.READY)
COMBINED_EVENT = "claimflow.claims.combined"
"""Timeline entry type of a combination (recorded by claims-svc itself, not published)."""
SPLIT_EVENT = "claimflow.claims.split"
"""Timeline entry type of a split (recorded by claims-svc itself, not published)."""
CANCELLED_EVENT = "claimflow.claims.cancelled"
"""Timeline entry type of a claim a biller withdrew before it was sent (recorded by claims-svc itself)."""

# What every combined claim must share: one patient, payer, plan order, practice, providers and place.
_SAME = ("patient_id", "payer_id", "payer_sequence", "practice_id", "claim_kind", "billing_npi", "rendering_npi",
         "place_of_service")  # fmt: skip


def check_combination(claims: Sequence[Claim]) -> None:
    """Refuse a combination that would not make one valid claim (same patient, payer, providers; outpatient)."""
    for claim in claims:
        if claim.status not in NOT_SENT:
            raise Conflict(f"claim {claim.id} is {claim.status}; only claims not yet sent can be combined")
        if claim.correction or claim.frequency_code != "1":
            raise Conflict(f"claim {claim.id} is a correction; combine original claims only")
        _primary_only(claim, "combined")
        if claim.claim_kind == "institutional" and _bill_classification(claim) in _INPATIENT:
            raise InvalidInput(f"claim {claim.id} is an inpatient stay: it is billed by admission, not combined")
    for name in _SAME:
        values = {str(getattr(c, name)) for c in claims}
        if len(values) > 1:
            raise InvalidInput(f"the claims differ in {name} ({', '.join(sorted(values))}): they cannot be one claim")
    if len({str(c.parties.get("member_id") if c.parties else None) for c in claims}) > 1:
        raise InvalidInput("the claims bill different member ids: they cannot be one claim")
    headers = {json.dumps(_ub04_header(c), sort_keys=True, default=str) for c in claims}
    if len(headers) > 1:
        raise InvalidInput(
            "the claims differ in their UB-04 header (type of bill, admission type or source, patient status or "
            "attending provider): they cannot be one claim"
        )


def _primary_only(claim: Claim, done: str) -> None:
    """A next-payer claim reports the earlier payers' adjudication of each of its lines (2320/2430), and its
    patient balance came from one prior claim: its lines are combined or split on the primary claims only."""
    if claim.payer_sequence != "primary":
        raise Conflict(
            f"claim {claim.id} is a {claim.payer_sequence} claim: it carries the earlier payer's adjudication line by "
            f"line, so only primary claims are {done}"
        )


_INPATIENT = frozenset({"1", "2"})
"""Type of bill classification digits of inpatient claims (a stay is one claim, from admission to discharge)."""


def _bill_classification(claim: Claim) -> str:
    """The type of bill's second digit (1, 2 inpatient; 3 outpatient; 4 other...)."""
    return str((claim.institutional or {}).get("type_of_bill", ""))[-2:-1]


def _ub04_header(claim: Claim) -> dict[str, object]:
    """What outpatient visits billed as one institutional claim (a series) must share; their own dates aside."""
    return {key: value for key, value in (claim.institutional or {}).items() if key != "admission_date"}


async def combine_claims(session: AsyncSession, principal: Principal, claim_ids: Sequence[str]) -> Claim:
    """Combine the tenant's ``claim_ids`` into the one with the earliest date of service; returns it."""
    if len(set(claim_ids)) != len(claim_ids):
        raise InvalidInput("a claim is named twice")
    repository = ClaimRepository(session, principal.tenant_id)
    # Locked: two combinations naming the same claim (or a split of it) run one after the other, and the second
    # sees the first's outcome instead of billing the claim twice.
    rows = await repository.list(col(Claim.id).in_(list(claim_ids)), limit=len(claim_ids), for_update=True)
    found = {c.id: c for c in rows}
    missing = [i for i in claim_ids if i not in found]
    if missing:
        raise NotFound("Claim", missing[0])
    claims = sorted(found.values(), key=lambda c: (c.date_of_service, c.created_at, c.id))
    check_combination(claims)
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
                event_id=str(uuid7()),
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


async def cancel_claim(session: AsyncSession, principal: Principal, claim_id: str, reason: str) -> Claim:
    """Withdraw a claim not yet sent (a duplicate the scrubber held, a visit not to be billed): it is never sent, and
    the reason stays on it, on its timeline and in the audit log. A claim sent is voided with a correction instead."""
    claim = await ClaimRepository(session, principal.tenant_id).get(claim_id, for_update=True)  # a sender waits
    if claim.status not in NOT_SENT:
        raise Conflict(
            f"claim {claim.id} is {claim.status}; only a claim not yet sent is cancelled (one the payer took in is "
            "voided: a correction of kind void)"
        )
    if claim.combined_encounter_ids:
        raise Conflict(f"claim {claim.id} bills other visits too (a combination): split them out first")
    now = utcnow()
    claim.status = ClaimStatus.CANCELLED
    claim.findings = [
        {"code": "CANCELLED", "message": f"Cancelled by {principal.client_id}: {reason}",
         "fix": "Nothing: this claim is not sent.", "line_number": None}
    ]  # fmt: skip
    claim.updated_at = now
    session.add(claim)
    audit(session, principal, AuditAction.UPDATE, "Claim", claim.id, patient_id=claim.patient_id,
          detail=f"cancelled: {reason}"[:512])  # fmt: skip
    session.add(_note(claim, f"claim {claim.id} cancelled: {reason}", now, CANCELLED_EVENT))
    return claim


def _note(claim: Claim, summary: str, at: datetime, event_type: str = SPLIT_EVENT) -> TimelineEntry:
    return TimelineEntry(
        event_id=str(uuid7()),
        tenant_id=claim.tenant_id,
        correlation_id=claim.correlation_id,
        event_type=event_type,
        source="claims-svc",
        subject=claim.id,
        occurred_at=at,
        summary=summary[:300],
    )


async def split_claim(session: AsyncSession, principal: Principal, claim_id: str, line_numbers: Sequence[int]) -> Claim:
    """Move ``line_numbers`` of a claim not yet sent to a new claim of the same encounter; returns the new claim."""
    repository = ClaimRepository(session, principal.tenant_id)
    claim = await repository.get(claim_id, for_update=True)  # a concurrent split or combination waits for this one
    if claim.status not in NOT_SENT:
        raise Conflict(f"claim {claim.id} is {claim.status}; only claims not yet sent can be split")
    if claim.correction or claim.frequency_code != "1":
        raise Conflict(f"claim {claim.id} is a correction; split original claims only")
    _primary_only(claim, "split")
    try:
        (kept_dx, kept), (moved_dx, moved) = split(claim.diagnosis_codes, service_lines(claim), line_numbers)
    except CannotCombine as exc:
        raise InvalidInput(str(exc)) from None
    siblings = await repository.list(
        col(Claim.encounter_id) == claim.encounter_id,
        col(Claim.encounter_version) == claim.encounter_version,
        col(Claim.payer_sequence) == claim.payer_sequence,
        col(Claim.correction) == 0,
        limit=100,
    )
    now = utcnow()
    new = repository.add(
        Claim(
            id=new_id("clm"),
            tenant_id=claim.tenant_id,
            encounter_id=claim.encounter_id,
            encounter_version=claim.encounter_version,
            practice_id=claim.practice_id,
            patient_id=claim.patient_id,
            payer_id=claim.payer_id,
            claim_kind=claim.claim_kind,
            date_of_service=claim.date_of_service,
            status=ClaimStatus.DRAFT,
            total_charge=sum((line.charge or Decimal(0) for line in moved), Decimal(0)),
            diagnosis_codes=list(moved_dx),
            service_lines=[line.model_dump(mode="json") for line in moved],
            correlation_id=claim.correlation_id,
            patient_control_number=new_patient_control_number(),
            parties=claim.parties,
            rendering_npi=claim.rendering_npi,
            billing_npi=claim.billing_npi,
            place_of_service=claim.place_of_service,
            prior_authorization=claim.prior_authorization,
            institutional=claim.institutional,
            payer_sequence=claim.payer_sequence,
            prior_claim_id=None,
            prior_adjudications=list(claim.prior_adjudications),
            part=max(c.part for c in siblings) + 1,
        )
    )
    claim.diagnosis_codes = list(kept_dx)
    claim.service_lines = [line.model_dump(mode="json") for line in kept]
    claim.total_charge = sum((line.charge or Decimal(0) for line in kept), Decimal(0))
    claim.status = ClaimStatus.DRAFT
    claim.findings = []
    claim.updated_at = now
    session.add(claim)
    summary = f"lines {', '.join(map(str, sorted(line_numbers)))} of claim {claim.id} split off to {new.id}"
    for one in (claim, new):
        audit(session, principal, AuditAction.UPDATE, "Claim", one.id, patient_id=one.patient_id, detail=summary)
        session.add(_note(one, summary, now))
    return new
