"""999 built from collected errors, TA1 for envelope errors; written 999s pass pyx12."""

from __future__ import annotations

from collections.abc import Callable

from claimflow_x12 import Envelope, build_999, build_ta1, parse, validate, write_interchange
from claimflow_x12.errors import ElementErrorCode, InterchangeErrorCode, SegmentErrorCode, TransactionErrorCode
from claimflow_x12.guides.ack_999 import Acknowledgment999, AcknowledgmentCode

SAMPLE = "837p_dependent_corrected.x12"
ENVELOPE = Envelope(
    sender_id="CLEARHOUSE01", receiver_id="CLAIMFLOW", interchange_control_number=5, group_control_number=5
)


def test_clean_file_is_accepted(read_sample: Callable[[str], str], pyx12_errors: Callable[[str], list[str]]) -> None:
    result = parse(read_sample(SAMPLE))
    (ack,) = build_999(result)
    assert ack.group_response.group_control_number == "101"
    assert ack.group_trailer.acknowledgment_code is AcknowledgmentCode.ACCEPTED
    assert [r.response_trailer.acknowledgment_code for r in ack.transaction_responses] == [AcknowledgmentCode.ACCEPTED]
    assert pyx12_errors(write_interchange(ENVELOPE, [ack])) == []


def test_errors_become_ik3_ik4_and_a_rejection(
    read_sample: Callable[[str], str], pyx12_errors: Callable[[str], list[str]]
) -> None:
    text = (
        read_sample(SAMPLE)
        .replace("REF*F8*ACME2023122900017~", "")
        .replace("SV1*HC:94640*125.00", "SV1*HC:94640*135.00")
        .replace("DMG*D8*19800315*F", "DMG*D8*19800315*Z")
        .replace("SE*51*0001", "SE*50*0001")
    )
    result = parse(text)
    errors = validate(result)
    (ack,) = build_999(result, [e for e in errors if e not in result.errors])
    (response,) = ack.transaction_responses
    assert response.response_trailer.acknowledgment_code is AcknowledgmentCode.REJECTED
    assert response.response_trailer.error_codes == [TransactionErrorCode.SEGMENTS_IN_ERROR]
    located = {
        (loop.segment_error.segment_id_code, loop.segment_error.loop_id, loop.segment_error.error_code): [
            (e.element_note.element_position, e.element_note.error_code) for e in loop.element_errors
        ]
        for loop in response.segment_errors
    }
    assert located[("DMG", "2010", SegmentErrorCode.SEGMENT_HAS_ELEMENT_ERRORS)] == [
        (3, ElementErrorCode.INVALID_CODE_VALUE)
    ]
    assert located[("CLM", "2300", SegmentErrorCode.SEGMENT_HAS_ELEMENT_ERRORS)] == [
        (2, ElementErrorCode.PATTERN_MATCH_FAILURE)
    ]
    assert ("REF", "2300", SegmentErrorCode.DEPENDENT_SEGMENT_MISSING) in located
    contexts = {loop.segment_error.segment_id_code: loop.contexts for loop in response.segment_errors}
    assert [(c.context_name, c.context_reference) for c in contexts["CLM"]] == [("CLM01", "PCN20240105A")]
    assert contexts["DMG"] == []
    assert ack.group_trailer.acknowledgment_code is AcknowledgmentCode.REJECTED
    assert (ack.group_trailer.received_count, ack.group_trailer.accepted_count) == (1, 0)
    text_999 = write_interchange(ENVELOPE, [ack])
    assert pyx12_errors(text_999) == []
    assert parse(text_999).transactions == [ack]


def test_partially_accepted_group(read_sample: Callable[[str], str]) -> None:
    text = read_sample(SAMPLE).split("~")
    body = [s for s in text if s.startswith(("ST", "SE")) or (not s.startswith(("ISA", "GS", "GE", "IEA")) and s)]
    bad = [
        s.replace("*0001", "*0002") if s.startswith(("ST", "SE")) else s.replace("*20150720*M", "*2015*M") for s in body
    ]
    document = "~".join([text[0], text[1], *body, *bad, "GE*2*101", "IEA*1*000000101"]) + "~"
    (ack,) = build_999(parse(document))
    assert [r.response_trailer.acknowledgment_code for r in ack.transaction_responses] == [
        AcknowledgmentCode.ACCEPTED,
        AcknowledgmentCode.REJECTED,
    ]
    assert ack.group_trailer.acknowledgment_code is AcknowledgmentCode.PARTIALLY_ACCEPTED
    assert (ack.group_trailer.received_count, ack.group_trailer.accepted_count) == (2, 1)


def test_golden_999s_parse_into_the_model(read_sample: Callable[[str], str]) -> None:
    rejected = parse(read_sample("999_rejected.x12")).transactions[0]
    assert isinstance(rejected, Acknowledgment999)
    first = rejected.transaction_responses[0]
    assert first.segment_errors[0].contexts[0].context_reference == "PCN20240106Z"
    assert first.segment_errors[1].element_errors[0].element_note.bad_value == "1234567890"
    assert rejected.group_trailer.acknowledgment_code is AcknowledgmentCode.PARTIALLY_ACCEPTED


def test_ta1_accepts_a_clean_interchange_and_rejects_a_broken_envelope(read_sample: Callable[[str], str]) -> None:
    clean = parse(read_sample(SAMPLE))
    ta1 = build_ta1(clean.interchanges[0].header, clean.errors)
    assert (ta1.interchange_control_number, ta1.acknowledgment_code, ta1.note_code) == ("000000101", "A", "000")
    broken = parse(read_sample(SAMPLE).replace("IEA*1*000000101", "IEA*1*000000102"))
    ta1 = build_ta1(broken.interchanges[0].header, broken.errors)
    assert (ta1.acknowledgment_code, ta1.note_code) == ("R", InterchangeErrorCode.CONTROL_NUMBER_MISMATCH.value)
    assert (ta1.interchange_date, ta1.interchange_time) == ("240105", "1200")
