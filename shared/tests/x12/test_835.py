"""835 (005010X221A1): typed values, claim/line/payment balancing, and written files pass pyx12."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from claimflow_x12 import Envelope, Remittance835, parse, validate, write_interchange
from claimflow_x12.errors import ElementErrorCode
from claimflow_x12.guides.remittance_835 import ClaimStatusCode, PaymentMethodCode, iter_claim_payments

SAMPLE = "835_multi_claim_reversal_plb.x12"


def _remittance(text: str) -> Remittance835:
    transaction = parse(text).transactions[0]
    assert isinstance(transaction, Remittance835)
    return transaction


def test_remittance_values_are_typed(read_sample: Callable[[str], str]) -> None:
    remittance = _remittance(read_sample(SAMPLE))
    assert remittance.financial_information.total_payment == Decimal("488.10")
    assert remittance.financial_information.payment_method is PaymentMethodCode.ACH
    assert remittance.financial_information.payment_date == date(2024, 1, 12)
    assert remittance.trace.reference_id == "EFT20240112001"
    assert remittance.payee.payee.identifier == "1234567893"
    claims = list(iter_claim_payments(remittance))
    assert [c.claim.status for c in claims] == [
        ClaimStatusCode.PROCESSED_AS_PRIMARY,
        ClaimStatusCode.PROCESSED_AS_PRIMARY,
        ClaimStatusCode.DENIED,
        ClaimStatusCode.REVERSAL,
        ClaimStatusCode.PROCESSED_AS_PRIMARY,
    ]
    first = claims[0]
    assert first.patient.first_name == "LUCAS"
    assert first.service_provider is not None
    assert first.service_provider.identifier == "1497758544"
    assert first.adjustments_by_group() == {"CO": Decimal("135.00"), "PR": Decimal("40.00")}
    line = first.service_lines[0]
    assert line.service.modifiers == ["25"]
    assert line.line_item_control_number == "LINE0001"
    assert line.allowed_amount == Decimal("170.00")
    assert first.service_lines[3].remarks[0].remark_code == "N130"
    reversal = claims[3]
    assert reversal.claim.total_charge == Decimal("-100.00")
    assert reversal.claim.paid_amount == Decimal("-80.00")
    assert claims[1].adjustments[0].adjustments[0].reason_code == "1"
    plb = remittance.provider_adjustments[0]
    assert [(a.reason_code, a.reference_id, a.amount) for a in plb.adjustments] == [
        ("WO", "ACME2023110100001", Decimal("25.00")),
        ("L6", None, Decimal("-3.10")),
    ]


def test_reversal_and_correction_net_to_the_corrected_payment(read_sample: Callable[[str], str]) -> None:
    claims = [
        c
        for c in iter_claim_payments(_remittance(read_sample(SAMPLE)))
        if c.claim.patient_control_number == "PCN20231201D"
    ]
    assert sum((c.claim.paid_amount for c in claims), Decimal(0)) == Decimal("10.00")


def test_unbalanced_claim_is_reported(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("CLP|PCN20240105B|1|475.00|300.00", "CLP|PCN20240105B|1|475.00|310.00")
    errors = validate(parse(text))
    assert [(e.segment_id, e.element_position, e.loop_id) for e in errors] == [
        ("CLP", 4, "2100"),
        ("BPR", 2, "HEADER"),
    ]
    assert errors[0].code is ElementErrorCode.PATTERN_MATCH_FAILURE
    assert errors[0].segment_position == 16


def test_unbalanced_service_line_is_reported(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("CAS|CO|45|30.00|1|253|10.00", "CAS|CO|45|30.00|1|253|11.00")
    errors = validate(parse(text))
    assert {(e.segment_id, e.loop_id) for e in errors} == {("SVC", "2110"), ("CLP", "2100")}


def test_payment_total_must_account_for_provider_adjustments(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("L6|-3.10", "L6|-4.10")
    errors = validate(parse(text))
    assert [(e.segment_id, e.element_position) for e in errors] == [("BPR", 2)]
    assert "488.10" in errors[0].message


def test_written_835_passes_pyx12(read_sample: Callable[[str], str], pyx12_errors: Callable[[str], list[str]]) -> None:
    remittance = _remittance(read_sample(SAMPLE))
    header = remittance.header_numbers[0]
    extra_claim = dataclasses.replace(
        header.claims[0], claim=dataclasses.replace(header.claims[0].claim, patient_control_number="PCN-NEW")
    )
    grown = dataclasses.replace(
        remittance,
        header_numbers=[
            dataclasses.replace(header, claims=[*header.claims, extra_claim]),
            *remittance.header_numbers[1:],
        ],
    )
    grown = dataclasses.replace(
        grown,
        financial_information=dataclasses.replace(grown.financial_information, total_payment=Decimal("788.10")),
    )
    envelope = Envelope(
        sender_id="ACMEHEALTH", receiver_id="CLAIMFLOW", interchange_control_number=9, group_control_number=9
    )
    text = write_interchange(envelope, [grown])
    assert pyx12_errors(text) == []
    assert validate(parse(text)) == []
