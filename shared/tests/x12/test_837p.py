"""837P (005010X222A1): typed values, payer-rejection rules, and files the writer produces pass pyx12."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest

from claimflow_x12 import Claim837P, Envelope, Separators, parse, validate, write_interchange
from claimflow_x12.errors import ElementErrorCode, SegmentErrorCode
from claimflow_x12.guides.claim_837p import ProfessionalClaimLoop, iter_claims
from claimflow_x12.validate import npi_is_valid

ENVELOPE = Envelope(
    sender_id="CLAIMFLOW",
    receiver_id="CLEARHOUSE01",
    interchange_control_number=42,
    group_control_number=42,
    usage_indicator="T",
)


def _first(text: str) -> Claim837P:
    transaction = parse(text).transactions[0]
    assert isinstance(transaction, Claim837P)
    return transaction


def test_dependent_claim_values_are_typed(read_sample: Callable[[str], str]) -> None:
    contexts = list(iter_claims(_first(read_sample("837p_dependent_corrected.x12"))))
    assert len(contexts) == 1
    context = contexts[0]
    assert context.patient is not None
    assert context.patient.patient.name.first_name == "LUCAS"
    assert context.patient.patient_information.relationship_code == "19"
    assert context.subscriber.subscriber.name.identifier == "W123456789"
    claim = context.claim
    assert claim.claim.patient_control_number == "PCN20240105A"
    assert claim.claim.total_charge == Decimal("475.00")
    assert claim.claim.frequency_code == "7"
    assert claim.payer_claim_control_number == "ACME2023122900017"
    assert claim.prior_authorization_number == "AUTH778812"
    assert len(claim.diagnosis_codes) == 12
    assert claim.diagnosis_codes[0] == "J069"
    first_line = claim.service_lines[0]
    assert first_line.service.modifiers == ["25", "GT", "95", "59"]
    assert first_line.service.diagnosis_pointers == [1, 2, 3, 4]
    assert first_line.line_item_control_number == "LINE0001"
    assert str(first_line.service_date) == "2024-01-02"
    assert [line.service.line_charge for line in claim.service_lines] == [
        Decimal("200.00"),
        Decimal("50.00"),
        Decimal("125.00"),
        Decimal("100.00"),
    ]


def test_secondary_claim_carries_prior_payer_adjudication(read_sample: Callable[[str], str]) -> None:
    claim = next(iter_claims(_first(read_sample("837p_secondary_cob.x12")))).claim
    other = claim.other_subscribers[0]
    assert other.payer_paid_amount == Decimal("180.00")
    assert other.other_payer.name.identifier == "ACME01"
    adjudication = claim.service_lines[0].adjudications[0]
    assert adjudication.adjudication.paid_amount == Decimal("140.00")
    assert [(c.group_code.value, c.total) for c in adjudication.adjustments] == [
        ("CO", Decimal("40.00")),
        ("PR", Decimal("20.00")),
    ]


def _with_claim(transaction: Claim837P, claim: ProfessionalClaimLoop) -> Claim837P:
    provider = transaction.billing_providers[0]
    subscriber = dataclasses.replace(provider.subscribers[0], claims=[claim])
    return dataclasses.replace(transaction, billing_providers=[dataclasses.replace(provider, subscribers=[subscriber])])


MakeClaim = Callable[..., ProfessionalClaimLoop]
Make837P = Callable[..., Claim837P]


def test_claim_total_must_equal_sum_of_lines(make_claim: MakeClaim, make_837p: Make837P, line: type) -> None:
    claim = make_claim("PCN1", [line("99213", Decimal("100.00")), line("81002", Decimal("20.00"))], ["E119"])
    claim = dataclasses.replace(claim, claim=dataclasses.replace(claim.claim, total_charge=Decimal("130.00")))
    errors = validate(make_837p([claim]))
    assert [(e.segment_id, e.element_position, e.code) for e in errors] == [
        ("CLM", 2, ElementErrorCode.PATTERN_MATCH_FAILURE)
    ]
    assert "120.00" in errors[0].message


def test_replacement_claim_without_payer_claim_number_is_rejected(
    make_claim: MakeClaim, make_837p: Make837P, line: type
) -> None:
    claim = make_claim("PCN2", [line("99213", Decimal("100.00"))], ["E119"], frequency="7")
    errors = validate(make_837p([claim]))
    assert [(e.segment_id, e.code, e.loop_id) for e in errors] == [
        ("REF", SegmentErrorCode.DEPENDENT_SEGMENT_MISSING, "2300")
    ]
    fixed = make_claim("PCN2", [line("99213", Decimal("100.00"))], ["E119"], frequency="7", payer_claim_number="P9")
    assert validate(make_837p([fixed])) == []


def test_npi_check_digit(make_claim: MakeClaim, make_837p: Make837P, line: type) -> None:
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")
    claim = make_claim("PCN3", [line("99213", Decimal("100.00"))], ["E119"])
    rendering = claim.rendering_provider
    assert rendering is not None
    bad = dataclasses.replace(rendering, name=dataclasses.replace(rendering.name, identifier="1497758545"))
    errors = validate(make_837p([dataclasses.replace(claim, rendering_provider=bad)]))
    assert [(e.segment_id, e.element_position, e.loop_id, e.element_value) for e in errors] == [
        ("NM1", 9, "2310B", "1497758545")
    ]


def test_patient_loop_only_when_patient_differs_from_subscriber(read_sample: Callable[[str], str]) -> None:
    text = read_sample("837p_dependent_corrected.x12").replace("SBR*P********CI", "SBR*P*18*******CI")
    errors = validate(parse(text))
    assert [(e.segment_id, e.loop_id, e.code) for e in errors] == [
        ("PAT", "2000C", SegmentErrorCode.DEPENDENT_NOT_USED_SEGMENT_PRESENT)
    ]
    assert errors[0].segment_position == 20  # ST=1 ... HL*3=19, PAT=20


def test_diagnosis_pointer_must_point_at_a_diagnosis(make_claim: MakeClaim, make_837p: Make837P, line: type) -> None:
    claim = make_claim("PCN4", [line("99213", Decimal("100.00"), pointers=(1, 3))], ["E119", "I10"])
    errors = validate(make_837p([claim]))
    assert [(e.segment_id, e.element_position, e.element_value) for e in errors] == [("SV1", 7, "3")]


def test_cob_line_must_balance_against_prior_payer(read_sample: Callable[[str], str]) -> None:
    text = read_sample("837p_secondary_cob.x12").replace("SVD*ACME01*140.00", "SVD*ACME01*150.00")
    errors = validate(parse(text))
    assert [(e.segment_id, e.loop_id, e.element_position) for e in errors] == [("SVD", "2430", 2)]


@pytest.mark.parametrize(
    "separators", [Separators(), Separators("|", ">", "!", "'", "\n")], ids=["default", "custom_with_newlines"]
)
def test_written_837p_passes_pyx12(
    make_claim: MakeClaim,
    make_837p: Make837P,
    line: type,
    pyx12_errors: Callable[[str], list[str]],
    separators: Separators,
) -> None:
    claims = [
        make_claim(
            f"PCN{i}",
            [line("99214", Decimal("150.00"), ("25", "GT")), line("87880", Decimal("35.50"), ("QW",), pointers=(2,))],
            ["J069", "R509"],
        )
        for i in range(3)
    ]
    text = write_interchange(ENVELOPE, [make_837p(claims)], separators)
    assert pyx12_errors(text) == []
    assert validate(parse(text)) == []


def test_pyx12_check_can_fail(read_sample: Callable[[str], str], pyx12_errors: Callable[[str], list[str]]) -> None:
    broken = read_sample("837p_dependent_corrected.x12").replace(
        "CLM*PCN20240105A*475.00***11:B:7", "CLM*PCN20240105A*475.00***11::7"
    )
    errors = pyx12_errors(broken)
    assert errors
    assert any("CLM" in e for e in errors)


def test_parsed_sample_rewritten_in_new_envelope_passes_pyx12(
    read_sample: Callable[[str], str], pyx12_errors: Callable[[str], list[str]]
) -> None:
    transactions = [_first(read_sample(name)) for name in ("837p_dependent_corrected.x12", "837p_secondary_cob.x12")]
    envelope = ENVELOPE.model_copy(update={"transaction_control_numbers": [7, 8]})
    text = write_interchange(envelope, transactions)
    assert pyx12_errors(text) == []
    result = parse(text)
    assert [t.control_number for t in result.transactions] == ["0007", "0008"]
