"""Parser errors: positions, loops and codes; strict vs lenient; unknown segments kept byte-exact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from claimflow_x12 import Claim837P, ParseResult, X12ParseError, iter_transactions, parse, serialize
from claimflow_x12.ack import build_999
from claimflow_x12.errors import (
    ElementErrorCode,
    ErrorLevel,
    GroupErrorCode,
    InterchangeErrorCode,
    SegmentErrorCode,
    TransactionErrorCode,
)
from claimflow_x12.guides.claim_837p import iter_claims
from claimflow_x12.guides.remittance_835 import Remittance835

SAMPLE = "837p_dependent_corrected.x12"


def test_bad_element_names_segment_position_loop_and_expectation(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("DTP*472*D8*20240102~REF*6R*LINE0002", "DTP*472*D8*20241302~REF*6R*LINE0002")
    result = parse(text)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.segment_position, error.segment_id, error.loop_id, error.element_position) == (41, "DTP", "2400", 3)
    assert error.code is ElementErrorCode.INVALID_DATE
    assert "20241302" in error.message
    assert error.transaction_control_number == "0001"


def test_bad_code_value_says_what_was_expected(read_sample: Callable[[str], str]) -> None:
    result = parse(read_sample(SAMPLE).replace("SBR*P********CI", "SBR*Q********CI"))
    error = result.errors[0]
    assert (error.segment_id, error.element_position, error.code) == ("SBR", 1, ElementErrorCode.INVALID_CODE_VALUE)
    assert "expected one of P, S, T" in error.message


def test_strict_mode_raises_on_the_first_error(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("CLM*PCN20240105A*475.00", "CLM*PCN20240105A*4X5.00")
    with pytest.raises(X12ParseError) as caught:
        parse(text, strict=True)
    assert (caught.value.error.segment_id, caught.value.error.element_position) == ("CLM", 2)
    assert caught.value.error.code is ElementErrorCode.INVALID_CHARACTER


def test_lenient_mode_collects_every_error_and_keeps_going(read_sample: Callable[[str], str]) -> None:
    text = (
        read_sample(SAMPLE)
        .replace("CLM*PCN20240105A*475.00", "CLM*PCN20240105A*4X5.00")
        .replace("DMG*D8*20150720*M", "DMG*D8*20150720*X")
        .replace("SE*51*0001", "SE*50*0001")
    )
    result = parse(text)
    codes = [(e.segment_id, e.code) for e in result.errors]
    assert ("DMG", ElementErrorCode.INVALID_CODE_VALUE) in codes
    assert ("CLM", ElementErrorCode.INVALID_CHARACTER) in codes
    assert ("SE", TransactionErrorCode.SEGMENT_COUNT_MISMATCH) in codes


def test_envelope_trailer_mismatches_are_reported(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("SE*51*0001", "SE*51*0002").replace("GE*1*101", "GE*2*101")
    text = text.replace("IEA*1*000000101", "IEA*1*000000999")
    codes = {e.code for e in parse(text).errors}
    assert codes == {
        TransactionErrorCode.CONTROL_NUMBER_MISMATCH,
        GroupErrorCode.TRANSACTION_COUNT_MISMATCH,
        InterchangeErrorCode.CONTROL_NUMBER_MISMATCH,
    }


def test_missing_trailers_at_end_of_input(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).split("SE*51*0001~")[0]
    result = parse(text)
    assert {e.code for e in result.errors} == {
        TransactionErrorCode.TRAILER_MISSING,
        GroupErrorCode.TRAILER_MISSING,
        InterchangeErrorCode.PREMATURE_END_OF_FILE,
    }
    assert len(result.transactions) == 1


def test_unknown_segment_is_reported_kept_and_written_back(read_sample: Callable[[str], str]) -> None:
    text = (
        read_sample(SAMPLE)
        .replace("REF*G1*AUTH778812~", "REF*G1*AUTH778812~ZZZ*HELLO*WORLD~")
        .replace("SE*51*0001", "SE*52*0001")
    )
    result = parse(text)
    assert [(e.segment_id, e.code, e.loop_id, e.segment_position) for e in result.errors] == [
        ("ZZZ", SegmentErrorCode.UNEXPECTED_SEGMENT, "2300", 29)
    ]
    assert serialize(result.interchanges[0]) == text


def test_guide_segment_not_typed_is_kept_without_error(read_sample: Callable[[str], str]) -> None:
    text = (
        read_sample(SAMPLE)
        .replace("REF*G1*AUTH778812~", "REF*G1*AUTH778812~K3*STATE DATA~")
        .replace("SE*51*0001", "SE*52*0001")
    )
    result = parse(text)
    assert result.errors == []
    assert serialize(result.interchanges[0]) == text


def test_missing_required_loop_is_reported(read_sample: Callable[[str], str]) -> None:
    text = (
        read_sample(SAMPLE).replace("NM1*PR*2*ACME HEALTH PLAN*****PI*ACME01~", "").replace("SE*51*0001", "SE*50*0001")
    )
    result = parse(text)
    error = next(e for e in result.errors if e.code is SegmentErrorCode.REQUIRED_SEGMENT_MISSING)
    assert error.loop_id == "2000B"
    assert "2010BB" in error.message


def test_hl_numbering_is_checked(read_sample: Callable[[str], str]) -> None:
    result = parse(read_sample(SAMPLE).replace("HL*3*2*23*0", "HL*3*1*23*0"))
    error = result.errors[0]
    assert (error.segment_id, error.element_position, error.level) == ("HL", 2, ErrorLevel.ELEMENT)


def test_unknown_transaction_set_is_kept_untyped(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("005010X222A1", "005010X999")
    result = parse(text)
    assert type(result.transactions[0]).__name__ == "UnknownTransaction"
    assert result.errors[0].code is TransactionErrorCode.NOT_SUPPORTED
    assert serialize(result.interchanges[0]) == text


def test_iter_transactions_streams_each_set_with_its_errors(read_sample: Callable[[str], str]) -> None:
    text = read_sample("835_multi_claim_reversal_plb.x12") + read_sample(SAMPLE).replace(
        "DMG*D8*20150720*M", "DMG*D8*2015*M"
    )
    parsed = list(iter_transactions(text.encode()))
    assert [type(p.transaction).__name__ for p in parsed] == ["Remittance835", "Claim837P"]
    assert parsed[0].errors == []
    errors = parsed[1].errors
    assert (errors[0].segment_id, errors[0].code, errors[0].loop_id) == ("DMG", ElementErrorCode.INVALID_DATE, "2010CA")
    # the patient name loop cannot be built without its DMG, which is reported too
    assert (errors[1].code, errors[1].loop_id) == (SegmentErrorCode.REQUIRED_SEGMENT_MISSING, "2010CA")
    assert parsed[1].group.control_number == 101


def test_lenient_mode_keeps_the_loop_of_a_segment_with_a_bad_optional_element(
    read_sample: Callable[[str], str],
) -> None:
    # DMG03 (gender) is optional in 2010CA: the patient, its claim and every line stay, the value is kept raw
    text = read_sample(SAMPLE).replace("DMG*D8*20150720*M", "DMG*D8*20150720*X")
    result = parse(text)
    assert [(e.segment_id, e.loop_id, e.element_position, e.code) for e in result.errors] == [
        ("DMG", "2010CA", 3, ElementErrorCode.INVALID_CODE_VALUE)
    ]
    (claim,) = iter_claims(_only_837p(result))
    assert claim.claim.claim.patient_control_number == "PCN20240105A"
    assert len(claim.claim.service_lines) == 4
    patient = claim.patient
    assert patient is not None
    demographics = patient.patient.demographics
    assert (demographics.birth_date, demographics.gender) == (date(2015, 7, 20), None)
    assert serialize(result.interchanges[0]) == text


def test_lenient_mode_reports_every_bad_element_of_a_kept_loop_trigger(read_sample: Callable[[str], str]) -> None:
    # CLM06 and CLM08 (optional Y/N codes) are both wrong: the 2300 claim opens anyway, with its four lines
    text = read_sample(SAMPLE).replace(
        "CLM*PCN20240105A*475.00***11:B:7*Y*A*Y*Y", "CLM*PCN20240105A*475.00***11:B:7*Q*A*Z*Y"
    )
    result = parse(text)
    assert [(e.segment_id, e.loop_id, e.element_position, e.element_value) for e in result.errors] == [
        ("CLM", "2300", 6, "Q"),
        ("CLM", "2300", 8, "Z"),
    ]
    (context,) = iter_claims(_only_837p(result))
    claim = context.claim.claim
    assert (claim.patient_control_number, claim.total_charge, claim.frequency_code) == (
        "PCN20240105A",
        Decimal("475.00"),
        "7",
    )
    assert (claim.provider_signature, claim.benefits_assignment) == (None, None)
    assert [line.service.line_charge for line in context.claim.service_lines] == [
        Decimal("200.00"),
        Decimal("50.00"),
        Decimal("125.00"),
        Decimal("100.00"),
    ]
    assert serialize(result.interchanges[0]) == text


def test_lenient_mode_keeps_a_line_whose_diagnosis_pointers_are_not_numbers(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("SV1*HC:87880:QW*50.00*UN*1***1~", "SV1*HC:87880:QW*50.00*UN*1***1:X~")
    result = parse(text)
    assert [(e.segment_id, e.loop_id, e.element_position) for e in result.errors] == [("SV1", "2400", 7)]
    (context,) = iter_claims(_only_837p(result))
    lines = [(line.service.procedure_code, line.service.diagnosis_pointers) for line in context.claim.service_lines]
    assert lines == [("99214", [1, 2, 3, 4]), ("87880", []), ("94640", [5, 6]), ("J1100", [7, 8, 9, 10])]
    assert serialize(result.interchanges[0]) == text


def test_strict_mode_still_raises_on_a_bad_optional_element(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).replace("DMG*D8*20150720*M", "DMG*D8*20150720*X")
    with pytest.raises(X12ParseError) as caught:
        parse(text, strict=True)
    assert (caught.value.error.segment_id, caught.value.error.element_position) == ("DMG", 3)


def _only_837p(result: ParseResult) -> Claim837P:
    (transaction,) = result.transactions
    assert isinstance(transaction, Claim837P)
    return transaction


def test_a_loop_whose_first_segment_cannot_be_typed_costs_one_error_and_nothing_else(
    read_sample: Callable[[str], str],
) -> None:
    """Lenient mode: a bad required element in CLP (the 2100 loop's first segment) leaves that claim untyped and
    reported once; the segments under it are kept raw (written back byte for byte), the other claims are read."""
    sample = read_sample("835_multi_claim_reversal_plb.x12")
    text = sample.replace("CLP|PCN20240105B|1|475.00|", "CLP|PCN20240105B|1|4X5.00|")
    assert text != sample
    good, result = parse(sample), parse(text)
    assert [(e.segment_id, e.element_position, e.code, e.loop_id) for e in result.errors] == [
        ("CLP", 3, ElementErrorCode.INVALID_CHARACTER, "2100")
    ]
    (remittance,) = result.transactions
    (original,) = good.transactions
    assert isinstance(remittance, Remittance835)
    assert isinstance(original, Remittance835)
    claims = [c.claim.patient_control_number for h in remittance.header_numbers for c in h.claims]
    expected = [c.claim.patient_control_number for h in original.header_numbers for c in h.claims]
    assert claims == [pcn for pcn in expected if pcn != "PCN20240105B"]
    assert serialize(result.interchanges[0]) == text
    (ack,) = build_999(result)
    (response,) = ack.transaction_responses
    # The 999 names the bad CLP, and the BPR whose total no longer balances against the claims that were read.
    assert [e.segment_error.segment_id_code for e in response.segment_errors] == ["BPR", "CLP"]


def test_a_repeated_non_repeating_loop_is_reported_and_kept_not_overwritten(read_sample: Callable[[str], str]) -> None:
    """2310B rendering provider occurs once per claim: a second NM1*82 (and its PRV) is unexpected, kept raw in the
    open 2310B (written back byte for byte), and the first provider stays in the model."""
    second = "NM1*82*1*SMITH*JANE****XX*1234567893~PRV*PE*PXC*208D00000X~"
    text = (
        read_sample(SAMPLE)
        .replace("PRV*PE*PXC*207Q00000X~NM1*77", f"PRV*PE*PXC*207Q00000X~{second}NM1*77")
        .replace("SE*51*0001", "SE*53*0001")
    )
    result = parse(text)
    assert [(e.segment_id, e.loop_id, e.segment_position, e.code) for e in result.errors] == [
        ("NM1", "2310B", 32, SegmentErrorCode.UNEXPECTED_SEGMENT),
        ("PRV", "2310B", 33, SegmentErrorCode.UNEXPECTED_SEGMENT),
    ]
    (context,) = iter_claims(_only_837p(result))
    rendering = context.claim.rendering_provider
    assert rendering is not None
    assert rendering.name.last_name_or_organization == "OKAFOR"
    assert [kept.segment.tag for kept in rendering.extra_segments] == ["NM1", "PRV"]
    assert context.claim.service_facility is not None  # the loops after it are read as usual
    assert serialize(result.interchanges[0]) == text


@pytest.mark.parametrize(
    ("original", "bad", "segment_id", "element"),
    [
        ("SV1*HC:87880:QW*50.00*UN*1***1~", "SV1*HC:87880:QW*50.00*UN*1***²~", "SV1", 7),  # a digit int() rejects
        ("HI*ABK:J069*ABF:R509*", "HI*ABK:J069*ABF:R509:::--5*", "HI", 2),  # passes the digit check, not Decimal()
    ],
)
def test_numbers_that_only_look_numeric_are_element_errors_not_crashes(
    read_sample: Callable[[str], str], original: str, bad: str, segment_id: str, element: int
) -> None:
    text = read_sample(SAMPLE).replace(original, bad)
    assert text != read_sample(SAMPLE)
    result = parse(text)
    assert [(e.segment_id, e.element_position, e.level) for e in result.errors] == [
        (segment_id, element, ErrorLevel.ELEMENT)
    ]
    (context,) = iter_claims(_only_837p(result))
    assert len(context.claim.service_lines) == 4  # the segment was typed without the bad value


def test_a_plb_amount_that_only_looks_numeric_is_an_element_error(read_sample: Callable[[str], str]) -> None:
    sample = read_sample("835_multi_claim_reversal_plb.x12")
    text = sample.replace("|L6|-3.10", "|L6|--3.10")
    assert text != sample
    result = parse(text)
    assert ("PLB", 6, ErrorLevel.ELEMENT) in [(e.segment_id, e.element_position, e.level) for e in result.errors]
