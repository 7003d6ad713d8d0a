"""Claim status follow-up: when to ask a payer about a claim (276), what its 277 answer means, and when a claim
is stuck.

A claim is *awaiting the payer* from submission until its 835 arrives (status submitted: no 277CA yet; accepted:
277CA but no 835). After ``after_days`` without an answer the claim is *due* a 276; after an answer that the
payer has it in process (or finalized it: the ERA is on its way) the next 276 waits ``retry_days``. A claim is
*stuck* when asking did not help: the payer could not be asked or did not answer, has no record of the claim,
rejected it, or still has not paid after ``max_inquiries`` inquiries — each with the reason and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from claimflow_x12.guides.claim_status_276_277 import (
    ClaimStatusRequest276,
    RequestDependentLoop,
    RequestProviderLoop,
    RequestReceiverLoop,
    RequestSourceLoop,
    RequestSubscriberLoop,
    StatusInquiryLoop,
    StatusResultLoop,
)
from claimflow_x12.segments import (
    Amt,
    Bht,
    DateFormatQualifier,
    Dtp,
    EntityTypeQualifier,
    Nm1,
    Ref,
    St,
    Trn,
)
from claims_svc.domain.claim import ProfessionalClaim
from claims_svc.domain.x12_837p import demographics, person_name

__all__ = [
    "AnswerKind",
    "FollowupPolicy",
    "FollowupState",
    "InquiryRecord",
    "StatusAnswer",
    "assess",
    "build_276",
    "read_answer",
    "trace_number",
]


class AnswerKind(StrEnum):
    """What a 277 says about the claim, grouped by what the biller does next (category codes, list 507)."""

    IN_PROCESS = "in-process"  # A0-A2, A5, P0-P5: the payer has it
    FINALIZED = "finalized"  # F0-F4: adjudicated, the ERA follows
    NEEDS_INFORMATION = "needs-information"  # R0-R16: the payer asks for something
    NOT_FOUND = "not-found"  # A4, D0: no record of the claim or the member
    REJECTED = "rejected"  # A3, A6-A8: fix and resubmit
    NO_ANSWER = "no-answer"  # E0-E4, or no usable answer at all


_KIND_BY_PREFIX = {"P": AnswerKind.IN_PROCESS, "F": AnswerKind.FINALIZED, "R": AnswerKind.NEEDS_INFORMATION}
_KIND_BY_CATEGORY = {
    "A0": AnswerKind.IN_PROCESS,
    "A1": AnswerKind.IN_PROCESS,
    "A2": AnswerKind.IN_PROCESS,
    "A5": AnswerKind.IN_PROCESS,
    "A3": AnswerKind.REJECTED,
    "A6": AnswerKind.REJECTED,
    "A7": AnswerKind.REJECTED,
    "A8": AnswerKind.REJECTED,
    "A4": AnswerKind.NOT_FOUND,
    "D0": AnswerKind.NOT_FOUND,
}
_MEANING = {
    "A0": "forwarded to another entity",
    "A1": "received by the payer",
    "A2": "accepted into adjudication",
    "A3": "returned as unprocessable",
    "A4": "not found: the payer has no record of the claim",
    "A5": "split by the payer",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for a relational field in error",
    "D0": "data search unsuccessful: the payer cannot find the member or the claim",
    "E0": "the payer could not answer (error in the request)",
    "E1": "the payer's system is unavailable",
    "E2": "the information holder is not responding",
    "E3": "a correction is required before the payer can answer",
    "E4": "no trading partner agreement for status requests",
    "F0": "finalized",
    "F1": "finalized and paid",
    "F2": "finalized and denied",
    "F3": "finalized, then revised (reversed or adjusted)",
    "F4": "finalized with nothing to pay",
    "P0": "pending: adjudication or the payment cycle",
    "P1": "pending: in process",
    "P2": "pending: in review",
    "P3": "pending: waiting for information from the provider",
    "P4": "pending: waiting for information from the patient",
    "P5": "pending: payer administrative or system hold",
}
_ACTION = {
    AnswerKind.IN_PROCESS: "None yet: the payer is processing the claim; it is asked again later.",
    AnswerKind.FINALIZED: "The 835 should follow; if it does not arrive, ask the payer to resend the remittance.",
    AnswerKind.NEEDS_INFORMATION: "Send the payer what it asks for (see the status code), then follow up.",
    AnswerKind.NOT_FOUND: "The payer has no record: check the member id and payer, then resubmit the claim.",
    AnswerKind.REJECTED: "Correct the claim as the status code says and resubmit it.",
    AnswerKind.NO_ANSWER: "The payer gave no usable answer: call the payer or check on its portal.",
}


def kind_of(category_code: str) -> AnswerKind:
    """The biller's reading of a claim status category code."""
    kind = _KIND_BY_CATEGORY.get(category_code) or _KIND_BY_PREFIX.get(category_code[:1])
    return kind or AnswerKind.NO_ANSWER


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """The claim-level status a 277 reported for one traced claim."""

    category_code: str
    status_code: str | None
    entity_code: str | None
    kind: AnswerKind
    meaning: str
    action: str
    status_date: date | None
    payer_claim_number: str | None
    total_charge: Decimal | None
    paid_amount: Decimal | None
    adjudication_date: date | None
    check_number: str | None
    check_date: date | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (amounts as strings)."""
        return {
            "category_code": self.category_code,
            "status_code": self.status_code,
            "entity_code": self.entity_code,
            "kind": self.kind.value,
            "meaning": self.meaning,
            "action": self.action,
            "status_date": self.status_date.isoformat() if self.status_date else None,
            "payer_claim_number": self.payer_claim_number,
            "total_charge": str(self.total_charge) if self.total_charge is not None else None,
            "paid_amount": str(self.paid_amount) if self.paid_amount is not None else None,
            "adjudication_date": self.adjudication_date.isoformat() if self.adjudication_date else None,
            "check_number": self.check_number,
            "check_date": self.check_date.isoformat() if self.check_date else None,
        }


def read_answer(loop: StatusResultLoop) -> StatusAnswer:
    """The claim-level answer of a 277 2200D/E loop (its first STC; later ones refine it)."""
    if not loop.statuses:
        raise ValueError("a 277 claim status loop without STC")
    stc = loop.statuses[0]
    kind = kind_of(stc.category_code)
    meaning = _MEANING.get(stc.category_code, f"claim status category {stc.category_code}")
    if stc.status_code:
        meaning = f"{meaning} (status code {stc.status_code})"
    return StatusAnswer(
        category_code=stc.category_code,
        status_code=stc.status_code,
        entity_code=stc.entity_code,
        kind=kind,
        meaning=meaning,
        action=_ACTION[kind],
        status_date=stc.status_date,
        payer_claim_number=next((r.value for r in loop.references if r.qualifier == "1K"), None),
        total_charge=stc.total_charge,
        paid_amount=stc.paid_amount,
        adjudication_date=stc.adjudication_date,
        check_number=stc.check_number,
        check_date=stc.check_date,
    )


# --- when to ask, and when a claim is stuck --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FollowupPolicy:
    """How long to wait before the first 276, between 276s, and how many to send before calling it stuck."""

    after_days: int = 30
    retry_days: int = 7
    max_inquiries: int = 3


@dataclass(frozen=True, slots=True)
class InquiryRecord:
    """What one earlier 276 came to: ``kind`` None while the answer is outstanding."""

    sent_at: datetime
    kind: AnswerKind | None
    meaning: str | None = None


class FollowupState(StrEnum):
    """Where a claim awaiting the payer stands."""

    WAITING = "waiting"  # not yet ``after_days`` old, or answered recently
    DUE = "due"  # a 276 should go now
    STUCK = "stuck"  # asking did not help: a person must act


@dataclass(frozen=True, slots=True)
class Assessment:
    """The state of one claim, and for a stuck claim why and what to do."""

    state: FollowupState
    reason: str | None = None
    action: str | None = None


_NEEDS_PERSON = (AnswerKind.NOT_FOUND, AnswerKind.REJECTED, AnswerKind.NEEDS_INFORMATION, AnswerKind.NO_ANSWER)


def assess(
    submitted_at: datetime, inquiries: Sequence[InquiryRecord], now: datetime, policy: FollowupPolicy
) -> Assessment:
    """Where a claim submitted at ``submitted_at`` and still without an 835 stands, given its 276s so far."""
    if now - submitted_at < timedelta(days=policy.after_days):
        return Assessment(FollowupState.WAITING)
    answered = [i for i in inquiries if i.kind is not None]
    latest = max(answered, key=lambda i: i.sent_at) if answered else None
    if latest is not None and latest.kind in _NEEDS_PERSON:
        assert latest.kind is not None
        return Assessment(FollowupState.STUCK, f"last 276: {latest.meaning or latest.kind.value}", _ACTION[latest.kind])
    if len(answered) >= policy.max_inquiries:
        return Assessment(
            FollowupState.STUCK,
            f"no 835 after {len(answered)} status inquiries (last: {latest.meaning if latest else 'no answer'})",
            "Call the payer: the claim has been in process too long.",
        )
    if latest is not None and now - latest.sent_at < timedelta(days=policy.retry_days):
        return Assessment(FollowupState.WAITING)
    return Assessment(FollowupState.DUE)


def trace_number(patient_control_number: str, attempt: int) -> str:
    """TRN02 of the ``attempt``-th 276 for a claim: unique per tenant, so a 276 is never sent twice in parallel."""
    return f"{patient_control_number}-S{attempt}"


# --- the 276 ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks (2100B information receiver: the submitter, by its ETIN)."""

    name: str
    etin: str


def build_276(
    claim: ProfessionalClaim, requester: Requester, *, trace: str, created_at: datetime
) -> ClaimStatusRequest276:
    """A real-time 276 asking ``claim``'s payer about it: identified by patient control number (and the payer's
    claim number once known), total charge and dates of service, under its subscriber or dependent."""
    references = [Ref(qualifier="EJ", value=claim.patient_control_number)]
    if claim.payer_claim_number:
        references.insert(0, Ref(qualifier="1K", value=claim.payer_claim_number))
    service_dates = [line.service_date or claim.date_of_service for line in claim.lines] or [claim.date_of_service]
    inquiry = StatusInquiryLoop(
        trace=Trn(trace_type_code="1", reference_id=trace),
        references=references,
        amounts=[Amt(qualifier="T3", amount=claim.total_charge)],
        dates=[
            Dtp(
                qualifier="472",
                date_format=DateFormatQualifier.RANGE,
                start=min(service_dates),
                end=max(service_dates),
            )
        ],
    )
    dependent = claim.subscriber is not None and claim.relationship_to_subscriber != "18"
    subscriber_person = claim.card_holder if dependent else claim.patient
    subscriber = RequestSubscriberLoop(
        demographics=None if dependent else demographics(subscriber_person),
        subscriber=person_name("IL", subscriber_person, claim.member_id),
        claims=[] if dependent else [inquiry],
    )
    if dependent:
        subscriber.dependents.append(
            RequestDependentLoop(
                demographics=demographics(claim.patient),
                dependent=person_name("QC", claim.patient, None),
                claims=[inquiry],
            )
        )
    return ClaimStatusRequest276(
        header=St(transaction_set_id="276", control_number="0001", implementation_reference="005010X212"),
        beginning=Bht(
            structure_code="0010",
            purpose_code="13",
            reference_id=trace,
            created_date=created_at.date(),
            created_time=created_at.strftime("%H%M"),
        ),
        sources=[
            RequestSourceLoop(
                payer=Nm1(
                    entity_identifier="PR",
                    entity_type=EntityTypeQualifier.ORGANIZATION,
                    last_name_or_organization=claim.payer.name.upper()[:60],
                    id_qualifier="PI",
                    identifier=claim.payer.payer_id,
                ),
                receivers=[
                    RequestReceiverLoop(
                        receiver=Nm1(
                            entity_identifier="41",
                            entity_type=EntityTypeQualifier.ORGANIZATION,
                            last_name_or_organization=requester.name.upper()[:60],
                            id_qualifier="46",
                            identifier=requester.etin,
                        ),
                        providers=[
                            RequestProviderLoop(
                                provider=Nm1(
                                    entity_identifier="1P",
                                    entity_type=EntityTypeQualifier.ORGANIZATION,
                                    last_name_or_organization=claim.billing.name.upper()[:60],
                                    id_qualifier="XX",
                                    identifier=claim.billing.npi,
                                ),
                                subscribers=[subscriber],
                            )
                        ],
                    )
                ],
            )
        ],
    )
