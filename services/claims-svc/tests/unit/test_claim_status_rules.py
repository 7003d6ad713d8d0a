"""Claim status follow-up rules: when a claim is due a 276, what a 277 means, when a claim is stuck, and the 276
itself (valid per 005010X212, read back by an independent parser)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from x12sdk.io import X12ModelReader

from claimflow_x12 import Envelope, parse, validate, write_interchange
from claimflow_x12.guides.claim_status_276_277 import ClaimStatusRequest276, StatusResultLoop
from claimflow_x12.guides.claim_status_common import Stc
from claimflow_x12.segments import Ref, Trn
from claims_svc.domain.claim import Address, BillingProvider, ClaimLine, Payer, Person, ProfessionalClaim
from claims_svc.domain.status_followup import (
    AnswerKind,
    FollowupPolicy,
    FollowupState,
    InquiryRecord,
    Requester,
    assess,
    build_276,
    kind_of,
    read_answer,
    trace_number,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = FollowupPolicy(after_days=30, retry_days=7, max_inquiries=3)
ANNA = Person("Anna", "Berg", date(1961, 3, 9), "F", Address("1 Oak Rd", "Springfield", "IL", "62701"))
KID = Person("Leo", "Berg", date(2015, 6, 2), "M")


def _claim(**overrides: object) -> ProfessionalClaim:
    fields: dict[str, object] = {
        "patient_control_number": "CF00A1B2C3D4E5F6A7B8",
        "payer": Payer("60054", "Aetna"),
        "billing": BillingProvider("Sunrise Family Medicine", "1234567893", "123456789", None),
        "rendering_npi": "1234567893",
        "member_id": "W123456789",
        "patient": ANNA,
        "date_of_service": date(2026, 10, 1),
        "place_of_service": "11",
        "diagnoses": ("J20.9",),
        "lines": (
            ClaimLine(1, "99213", Decimal("100.00"), diagnosis_pointers=(1,)),
            ClaimLine(2, "87880", Decimal("25.00"), diagnosis_pointers=(1,), service_date=date(2026, 10, 2)),
        ),
    }
    fields.update(overrides)
    return ProfessionalClaim(**fields)  # type: ignore[arg-type]


def _asked(days_ago: float, kind: AnswerKind | None, meaning: str | None = None) -> InquiryRecord:
    return InquiryRecord(NOW - timedelta(days=days_ago), kind, meaning)


# --- when to ask, when a claim is stuck --------------------------------------------------------------------


def test_a_claim_younger_than_the_follow_up_window_just_waits() -> None:
    assert assess(NOW - timedelta(days=29, hours=23), [], NOW, POLICY).state is FollowupState.WAITING


def test_a_claim_without_an_answer_after_the_window_is_due_a_276() -> None:
    assert assess(NOW - timedelta(days=30), [], NOW, POLICY).state is FollowupState.DUE


def test_after_an_in_process_answer_the_next_276_waits_the_retry_interval() -> None:
    submitted = NOW - timedelta(days=45)
    assert assess(submitted, [_asked(6, AnswerKind.IN_PROCESS)], NOW, POLICY).state is FollowupState.WAITING
    assert assess(submitted, [_asked(7, AnswerKind.IN_PROCESS)], NOW, POLICY).state is FollowupState.DUE
    finalized = [_asked(8, AnswerKind.FINALIZED)]  # the ERA should have come: ask again
    assert assess(submitted, finalized, NOW, POLICY).state is FollowupState.DUE


@pytest.mark.parametrize(
    ("kind", "action_word"),
    [
        (AnswerKind.NOT_FOUND, "resubmit"),
        (AnswerKind.REJECTED, "Correct"),
        (AnswerKind.NEEDS_INFORMATION, "Send the payer"),
        (AnswerKind.NO_ANSWER, "call the payer"),
    ],
)
def test_answers_a_person_must_act_on_make_the_claim_stuck_at_once(kind: AnswerKind, action_word: str) -> None:
    result = assess(NOW - timedelta(days=31), [_asked(1, kind, "what the payer said")], NOW, POLICY)
    assert result.state is FollowupState.STUCK
    assert result.reason == "last 276: what the payer said"
    assert result.action is not None
    assert action_word in result.action


def test_a_claim_still_unpaid_after_every_inquiry_is_stuck() -> None:
    answers = [_asked(days, AnswerKind.IN_PROCESS, "pending: in process") for days in (21, 14, 7)]
    result = assess(NOW - timedelta(days=60), answers, NOW, POLICY)
    assert result.state is FollowupState.STUCK
    assert result.reason == "no 835 after 3 status inquiries (last: pending: in process)"


def test_an_inquiry_still_outstanding_does_not_count_as_an_answer() -> None:
    result = assess(NOW - timedelta(days=40), [_asked(0.01, None)], NOW, POLICY)
    assert result.state is FollowupState.DUE  # nothing answered yet: the spacing rule needs an answer


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        ("A1", AnswerKind.IN_PROCESS),
        ("A2", AnswerKind.IN_PROCESS),
        ("P1", AnswerKind.IN_PROCESS),
        ("P3", AnswerKind.IN_PROCESS),
        ("F1", AnswerKind.FINALIZED),
        ("F2", AnswerKind.FINALIZED),
        ("R4", AnswerKind.NEEDS_INFORMATION),
        ("A4", AnswerKind.NOT_FOUND),
        ("D0", AnswerKind.NOT_FOUND),
        ("A7", AnswerKind.REJECTED),
        ("E1", AnswerKind.NO_ANSWER),
        ("ZZ", AnswerKind.NO_ANSWER),
    ],
)
def test_category_codes_read_as_what_the_biller_does_next(category: str, kind: AnswerKind) -> None:
    assert kind_of(category) is kind


def test_a_277_paid_answer_carries_amounts_check_and_payer_claim_number() -> None:
    loop = StatusResultLoop(
        trace=Trn(trace_type_code="2", reference_id="CF1-S1"),
        statuses=[
            Stc(
                category_code="F1",
                status_code="65",
                status_date=date(2026, 11, 2),
                total_charge=Decimal("125.00"),
                paid_amount=Decimal("80.00"),
                adjudication_date=date(2026, 11, 1),
                payment_method="ACH",
                check_date=date(2026, 11, 2),
                check_number="EFT0042",
            )
        ],
        references=[Ref(qualifier="1K", value="PCN777"), Ref(qualifier="EJ", value="CF1")],
    )
    answer = read_answer(loop)
    assert answer.kind is AnswerKind.FINALIZED
    assert answer.meaning == "finalized and paid (status code 65)"
    assert (answer.payer_claim_number, answer.paid_amount, answer.check_number) == (
        "PCN777",
        Decimal("80.00"),
        "EFT0042",
    )
    assert answer.as_dict()["paid_amount"] == "80.00"


def test_trace_numbers_are_per_claim_and_attempt() -> None:
    assert trace_number("CF00A1", 1) == "CF00A1-S1"
    assert trace_number("CF00A1", 2) != trace_number("CF00A1", 1)


# --- the 276 ------------------------------------------------------------------------------------------------


def _written(claim: ProfessionalClaim) -> str:
    request = build_276(claim, Requester("ClaimFlow Billing", "CLAIMFLOW"), trace="CF00A1-S1", created_at=NOW)
    envelope = Envelope(
        sender_id="CLAIMFLOW", receiver_id="PAYERSANDBOX", interchange_control_number=5, group_control_number=5
    )
    return write_interchange(envelope, [request])


def test_276_for_a_subscriber_names_the_claim_the_way_payers_match_it() -> None:
    text = _written(_claim(payer_claim_number="PCN777"))
    result = parse(text)
    assert result.errors == []
    assert validate(result) == []
    (request,) = result.transactions
    assert isinstance(request, ClaimStatusRequest276)
    subscriber = request.sources[0].receivers[0].providers[0].subscribers[0]
    assert (subscriber.subscriber.last_name_or_organization, subscriber.subscriber.identifier) == ("BERG", "W123456789")
    (asked,) = subscriber.claims
    assert asked.trace.reference_id == "CF00A1-S1"
    assert [(r.qualifier, r.value) for r in asked.references] == [("1K", "PCN777"), ("EJ", "CF00A1B2C3D4E5F6A7B8")]
    assert asked.amounts[0].amount == Decimal("125.00")
    assert (asked.dates[0].start, asked.dates[0].end) == (date(2026, 10, 1), date(2026, 10, 2))
    assert request.sources[0].payer.identifier == "60054"
    assert request.sources[0].receivers[0].providers[0].provider.identifier == "1234567893"


def test_276_for_a_dependent_asks_under_the_card_holder_and_x12sdk_reads_it() -> None:
    text = _written(_claim(patient=KID, subscriber=ANNA, relationship_to_subscriber="19"))
    result = parse(text)
    assert result.errors == []
    assert validate(result) == []
    (request,) = result.transactions
    assert isinstance(request, ClaimStatusRequest276)
    subscriber = request.sources[0].receivers[0].providers[0].subscribers[0]
    assert subscriber.claims == []
    assert subscriber.subscriber.first_name == "ANNA"
    (dependent,) = subscriber.dependents
    assert dependent.dependent.first_name == "LEO"
    assert dependent.demographics is not None
    assert dependent.demographics.birth_date == date(2015, 6, 2)
    with X12ModelReader(text) as reader:
        (model,) = list(reader.models())
    theirs = [(c.trace_number, c.charge, c.is_dependent) for c in model.claims()]  # type: ignore[attr-defined]
    assert theirs == [("CF00A1-S1", Decimal("125.00"), True)]
