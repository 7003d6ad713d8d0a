"""The headline a timeline entry keeps of each event."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from claimflow_events import ClaimAccepted, PaymentPosted
from claimflow_events.payloads import AcknowledgmentSource
from claims_svc.consumers.handlers import _summary


def test_the_summary_names_the_headline_fields_the_event_has_in_a_fixed_order() -> None:
    payment = PaymentPosted(
        claim_id="clm_1",
        patient_control_number="PCN1",
        payer_id="60054",
        era_id="era_1",
        trace_number="EFT100",
        claim_status_code="1",
        total_charge=Decimal("125.00"),
        paid_amount=Decimal("80.00"),
        patient_responsibility=Decimal("20.00"),
        posted_at=datetime(2026, 11, 24, tzinfo=UTC),
    )
    assert _summary(payment) == "payer_id=60054, total_charge=125.00, paid_amount=80.00"


def test_an_enum_gives_its_value_and_empty_fields_are_left_out() -> None:
    accepted = ClaimAccepted(
        claim_id="clm_1",
        patient_control_number="PCN1",
        payer_id="",
        source=AcknowledgmentSource.CLAIM_ACK,
        accepted_at=datetime(2026, 11, 24, tzinfo=UTC),
    )
    assert _summary(accepted) == "source=277CA"
