"""Bill the next payer when the previous one has adjudicated: secondary claims after the primary's 835, tertiary
claims after the secondary's — unless the payer crossed the claim over to the next payer itself.

The adjudication consumers call these with the transaction they own; nothing here commits. The new claim is a
draft like any other: the pipeline scrubs it (the other-payer rules included) and submits it to its payer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from claimflow_events import ClaimDenied, PaymentPosted, uuid7
from claimflow_kit.identifiers import new_id
from claimflow_kit.outbox import Outbox
from claimflow_kit.tables import utcnow
from claims_svc.adapters.repositories import ClaimRepository
from claims_svc.adapters.tables import Claim, TimelineEntry
from claims_svc.domain.adjustment_codes import RootCause
from claims_svc.domain.claim import PayerAdjudication, new_patient_control_number
from claims_svc.domain.cob import (
    RemittedAdjustment,
    RemittedLine,
    adjudication_json,
    coverage_for,
    crossed_over,
    next_payer_parties,
    next_sequence,
    payer_adjudication,
)
from claims_svc.service.assembly import NOT_SENT
from claims_svc.service.denials import claim_lines
from claims_svc.service.pipeline import PAYER_HAS_CLAIM, ClaimStatus, Correction, start_correction

logger = logging.getLogger(__name__)

SOURCE = "/claimflow/claims-svc"
CROSSED_OVER = "claimflow.claim-crossed-over"
NEXT_PAYER_BILLED = "claimflow.next-payer-billed"
PRIOR_PAYER_REVERSED = "claimflow.prior-payer-reversed"


def _note(claim: Claim, event_type: str, summary: str, at: datetime) -> TimelineEntry:
    """A timeline line for something claims-svc decided without publishing an event."""
    return TimelineEntry(
        event_id=str(uuid7()),
        tenant_id=claim.tenant_id,
        correlation_id=claim.correlation_id,
        event_type=event_type,
        source=SOURCE,
        subject=claim.id,
        occurred_at=at,
        summary=summary[:300],
    )


async def after_payment(
    session: AsyncSession, outbox: Outbox, tenant_id: str, claim: Claim, event: PaymentPosted
) -> Claim | None:
    """The next payer's claim for a posted payment: a new one, or the one already billed built again when the
    payer re-adjudicated (None: a reversal, a crossover, no further plan, or nothing changed).

    A reversal (CLP02 22) of a claim whose next payer was already billed puts that claim on hold while it is not
    sent (the scrubber says why), and notes on its timeline that it will be replaced when it was sent. The payer's
    corrected payment then rebuilds it: a claim not yet sent gets the new adjudication and is scrubbed again, one
    its payer took in is replaced (frequency 7) with it.
    """
    billed = await _next_payer_claim(session, tenant_id, claim)
    if event.is_reversal or event.claim_status_code == "22":
        if billed is not None:
            _prior_payment_reversed(session, claim, billed)
        return None
    if crossed_over(event.claim_status_code, event.crossed_over_to):
        _record_crossover(session, claim, event.crossed_over_to)
        return None
    adjudication = payer_adjudication(
        patient_control_number=event.patient_control_number,
        billed_lines=claim_lines(claim),
        paid=event.paid_amount,
        remaining_patient_liability=event.patient_responsibility,
        adjudication_date=event.adjudicated_on or event.posted_at.date(),
        adjustments=[
            RemittedAdjustment(a.group_code.value, a.carc, a.amount, a.line_item_control_number)
            for a in event.adjustments
        ],
        remitted_lines=[
            RemittedLine(
                line.line_item_control_number, line.procedure_code, line.paid_amount, line.modifiers, line.units
            )
            for line in event.lines
        ],
        payer_claim_number=event.payer_claim_control_number,
    )
    if billed is not None:
        return await _rebill(session, outbox, tenant_id, claim, billed, adjudication)
    return await bill_next_payer(session, tenant_id, claim, adjudication)


async def _next_payer_claim(session: AsyncSession, tenant_id: str, prior: Claim) -> Claim | None:
    """The live claim billed to the payer after ``prior`` (the latest correction of it, not a void), if any; locked,
    so a claim the pipeline is sending right now is seen as sent, not put back to draft under it.

    A claim whose parties name no next plan has none (parties are set when a claim is made, and a next payer's claim
    is made from them): most claims, read for nothing before.
    """
    if coverage_for(prior.parties, next_sequence(prior.payer_sequence)) is None:
        return None
    found = await ClaimRepository(session, tenant_id).list(
        col(Claim.prior_claim_id) == prior.id,
        col(Claim.corrected_by).is_(None),
        col(Claim.frequency_code) != "8",
        for_update=True,
    )
    return max(found, key=lambda c: c.correction, default=None)


def _entry_index(claim: Claim, sequence: str) -> int | None:
    return next((i for i, e in enumerate(claim.prior_adjudications) if e.get("payer_sequence") == sequence), None)


def _prior_payment_reversed(session: AsyncSession, prior: Claim, billed: Claim) -> None:
    """Hold the next payer's claim while it is not sent; otherwise say what will happen on its timeline."""
    now = utcnow()
    index = _entry_index(billed, prior.payer_sequence)
    if billed.status in NOT_SENT and index is not None:
        entries = [dict(e) for e in billed.prior_adjudications]
        entries[index]["reversed"] = True
        billed.prior_adjudications = entries
        billed.status, billed.findings, billed.updated_at = ClaimStatus.DRAFT, [], now  # scrubbed again: held
        session.add(billed)
        summary = f"the {prior.payer_sequence} payer reversed its payment: held until it adjudicates again"
    else:
        summary = (
            f"the {prior.payer_sequence} payer reversed its payment after this claim was sent: it is replaced "
            "when the payer's corrected payment is posted"
        )
    session.add(_note(billed, PRIOR_PAYER_REVERSED, summary, now))


async def _rebill(
    session: AsyncSession, outbox: Outbox, tenant_id: str, prior: Claim, billed: Claim, adjudication: PayerAdjudication
) -> Claim | None:
    """The next payer's claim with ``prior``'s new adjudication (None when nothing changed: a redelivery)."""
    entry = adjudication_json(prior.payer_sequence, prior.payer_id or "", adjudication)
    index = _entry_index(billed, prior.payer_sequence)
    if index is None or billed.prior_adjudications[index] == entry:
        return None
    entries = [*billed.prior_adjudications[:index], entry, *billed.prior_adjudications[index + 1 :]]
    now = utcnow()
    if billed.status in NOT_SENT:
        billed.prior_adjudications = entries
        billed.status, billed.findings, billed.updated_at = ClaimStatus.DRAFT, [], now
        session.add(billed)
        session.add(_note(billed, NEXT_PAYER_BILLED, f"rebuilt from the {prior.payer_sequence} payer's new 835", now))
        return billed
    if billed.status in PAYER_HAS_CLAIM and billed.payer_claim_number:
        reason = (
            f"the {prior.payer_sequence} payer re-adjudicated the claim (payer claim {entry['payer_claim_number']})"
        )
        return await start_correction(
            session,
            outbox,
            tenant_id,
            billed.id,
            Correction(kind="replacement", reason=reason[:500], prior_adjudications=entries),
            payers={},
        )
    summary = (
        f"the {prior.payer_sequence} payer re-adjudicated after this claim was sent: replace it (frequency 7) "
        "once its payer has taken it in"
    )
    session.add(_note(billed, PRIOR_PAYER_REVERSED, summary, now))
    return None


async def after_denial(
    session: AsyncSession, tenant_id: str, claim: Claim, event: ClaimDenied, root_cause: str
) -> Claim | None:
    """The next payer's claim after a full denial for a service the plan does not cover (None otherwise).

    Coordination of benefits: a plan's exclusion (CARC 96, 204, benefit maximum 119) does not bind the patient's
    other plans, so the next payer gets the claim with the denial in its 2320/2430. A denial the provider can fix
    (missing information, coding, authorization, filing limit) is corrected and resubmitted to the same payer, and
    one that says the payer order is wrong (22, 27, 109) goes to eligibility: billing the next payer with it would
    only earn the same denial.
    """
    if claim.status != ClaimStatus.DENIED or root_cause != RootCause.NON_COVERED.value:
        return None
    adjudication = payer_adjudication(
        patient_control_number=event.patient_control_number,
        billed_lines=claim_lines(claim),
        paid=Decimal(0),
        remaining_patient_liability=Decimal(0),  # a CO denial: the provider's write-off, not the patient's
        adjudication_date=event.denied_at.date(),
        adjustments=[
            RemittedAdjustment(a.group_code.value, a.carc, a.amount, a.line_item_control_number)
            for a in event.adjustments
        ],
        payer_claim_number=event.payer_claim_control_number,
    )
    return await bill_next_payer(session, tenant_id, claim, adjudication)


def _record_crossover(session: AsyncSession, claim: Claim, carrier: str | None) -> None:
    """The payer forwarded the claim (CLP02 19-21 / NM1*TT): the next plan was billed by it, not by us."""
    following = next_sequence(claim.payer_sequence)
    coverage = coverage_for(claim.parties, following)
    to = carrier or (str(coverage["payer_id"]) if coverage else "the next payer")
    now = utcnow()
    claim.crossed_over_to = to[:80]
    claim.updated_at = now
    session.add(claim)
    session.add(_note(claim, CROSSED_OVER, f"crossed over to {to}: no {following or 'further'} claim is billed", now))


async def bill_next_payer(
    session: AsyncSession, tenant_id: str, prior: Claim, adjudication: PayerAdjudication
) -> Claim | None:
    """A draft claim to the patient's next plan carrying every earlier payer's adjudication; at most one per
    adjudicated claim (and per encounter version and payer) however often the remittance is delivered."""
    following = next_sequence(prior.payer_sequence)
    swapped = (
        next_payer_parties(
            prior.parties or {}, payer_id=prior.payer_id or "", sequence=prior.payer_sequence, next_payer=following
        )
        if following
        else None
    )
    if following is None or swapped is None:
        return None
    claims = ClaimRepository(session, tenant_id)
    existing = await claims.find(col(Claim.prior_claim_id) == prior.id)
    if existing is None:
        existing = await claims.find(
            col(Claim.encounter_id) == prior.encounter_id,
            col(Claim.encounter_version) == prior.encounter_version,
            col(Claim.payer_sequence) == following,
            col(Claim.correction) == 0,
            col(Claim.part) == prior.part,
        )
    if existing is not None:
        logger.info("next payer already billed", extra={"claim_id": prior.id, "next_claim_id": existing.id})
        return None
    payer_id, parties = swapped
    claim = claims.add(
        Claim(
            id=new_id("clm"),
            tenant_id=tenant_id,
            encounter_id=prior.encounter_id,
            encounter_version=prior.encounter_version,
            practice_id=prior.practice_id,
            patient_id=prior.patient_id,
            payer_id=payer_id,
            claim_kind=prior.claim_kind,
            date_of_service=prior.date_of_service,
            status=ClaimStatus.DRAFT,
            total_charge=prior.total_charge,
            diagnosis_codes=list(prior.diagnosis_codes),
            service_lines=list(prior.service_lines),
            correlation_id=prior.correlation_id,
            patient_control_number=new_patient_control_number(),
            parties=parties,
            rendering_npi=prior.rendering_npi,
            billing_npi=prior.billing_npi,
            place_of_service=prior.place_of_service,
            prior_authorization=prior.prior_authorization,
            institutional=prior.institutional,
            part=prior.part,
            payer_sequence=following,
            prior_claim_id=prior.id,
            prior_adjudications=[
                *prior.prior_adjudications,
                adjudication_json(prior.payer_sequence, prior.payer_id or "", adjudication),
            ],
        )
    )
    session.add(_note(prior, NEXT_PAYER_BILLED, f"{following} claim {claim.id} drafted for payer {payer_id}", utcnow()))
    return claim
