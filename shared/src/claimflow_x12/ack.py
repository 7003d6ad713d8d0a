"""Acknowledgments built from collected errors: a 999 per functional group and a TA1 per interchange."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from claimflow_x12.envelope import Isa, Ta1
from claimflow_x12.errors import (
    ElementErrorCode,
    ErrorLevel,
    GroupErrorCode,
    InterchangeErrorCode,
    SegmentErrorCode,
    TransactionErrorCode,
    X12Error,
)
from claimflow_x12.guides.ack_999 import (
    Acknowledgment999,
    AcknowledgmentCode,
    Ak1,
    Ak2,
    Ak9,
    Ctx,
    ElementErrorLoop,
    Ik3,
    Ik4,
    Ik5,
    SegmentErrorLoop,
    TransactionResponseLoop,
)
from claimflow_x12.guides.claim_837i import Claim837I
from claimflow_x12.guides.claim_837i import iter_claims as iter_institutional_claims
from claimflow_x12.guides.claim_837p import Claim837P
from claimflow_x12.guides.claim_837p import iter_claims as iter_professional_claims
from claimflow_x12.parser import GroupReport, ParseResult
from claimflow_x12.segments import St
from claimflow_x12.tokenizer import Separators
from claimflow_x12.transaction import Transaction
from claimflow_x12.validate import validate

__all__ = ["build_999", "build_999_for_group", "build_ta1"]

_MAX_CODES = 5


_CLAIM_LOOPS = ("2300", "2310", "2320", "2330", "2400", "2410", "2420", "2430")
_DEFAULTS = Separators()
_DEFAULT_DELIMITERS = _DEFAULTS.element + _DEFAULTS.component + _DEFAULTS.repetition + _DEFAULTS.segment


def _delimiters(group: GroupReport) -> str:
    """The delimiters of the received group and the writer's defaults: what an echoed value must not contain."""
    received = {(p.separators.element, p.separators.component, p.separators.repetition) for p in group.transactions}
    return _DEFAULT_DELIMITERS + "".join("".join(chars) for chars in received)


def _echo(value: str, delimiters: str) -> str:
    """A value copied from the received file (a bad element, an id) without delimiter characters, so that the
    999 can be written: a simple element may hold the sender's component or repetition separator."""
    return "".join(c for c in value if c not in delimiters)


def _claim_starts(transaction: Transaction | None) -> list[tuple[int, str]]:
    """(CLM position, CLM01) of every claim of an 837, so an error can be tied to the claim it is in."""
    if isinstance(transaction, Claim837P):
        claims = [context.claim.claim for context in iter_professional_claims(transaction)]
    elif isinstance(transaction, Claim837I):
        claims = [context.claim.claim for context in iter_institutional_claims(transaction)]
    else:
        return []
    return sorted((clm.position, clm.patient_control_number) for clm in claims if clm.position)


def _claim_context(error: X12Error, claims: list[tuple[int, str]], delimiters: str) -> list[Ctx]:
    """CTX*CLM01:<patient control number> for an error inside a claim (the 999's business unit identifier)."""
    if not claims or error.segment_position is None or not (error.loop_id or "").startswith(_CLAIM_LOOPS):
        return []
    index = bisect.bisect_right(claims, (error.segment_position, "\uffff")) - 1
    if index < 0:
        return []
    return [Ctx(context_name="CLM01", context_reference=_echo(claims[index][1], delimiters))]


def _segment_loops(errors: list[X12Error], claims: list[tuple[int, str]], delimiters: str) -> list[SegmentErrorLoop]:
    """One IK3 per erroneous segment, with an IK4 for each element error in it."""
    loops: dict[tuple[int, str], SegmentErrorLoop] = {}
    for error in errors:
        if error.segment_position is None or not error.segment_id:
            continue
        key = (error.segment_position, error.segment_id)
        loop = loops.get(key)
        is_element = isinstance(error.code, ElementErrorCode) and error.element_position is not None
        if loop is None:
            segment_code = error.code if isinstance(error.code, SegmentErrorCode) else None
            loop = SegmentErrorLoop(
                segment_error=Ik3(
                    segment_id_code=_echo(error.segment_id, delimiters),
                    segment_position=error.segment_position,
                    # IK303 holds at most 4 characters: 2010AA is reported as 2010.
                    loop_id=error.loop_id[:4] if error.loop_id and error.loop_id != "HEADER" else None,
                    error_code=SegmentErrorCode.SEGMENT_HAS_ELEMENT_ERRORS if is_element else segment_code,
                ),
                contexts=_claim_context(error, claims, delimiters),
            )
            loops[key] = loop
        if is_element:
            assert isinstance(error.code, ElementErrorCode)
            assert error.element_position is not None
            value = _echo(error.element_value or "", delimiters)
            loop.element_errors.append(
                ElementErrorLoop(
                    element_note=Ik4(
                        element_position=error.element_position,
                        component_position=error.component_position,
                        error_code=error.code,
                        bad_value=value[:99] if value else None,
                    )
                )
            )
    return sorted(loops.values(), key=lambda loop: loop.segment_error.segment_position)


def _response(
    header: St, errors: list[X12Error], transaction: Transaction | None, delimiters: str
) -> TransactionResponseLoop:
    transaction_codes = [e.code for e in errors if isinstance(e.code, TransactionErrorCode)]
    segment_loops = _segment_loops(errors, _claim_starts(transaction), delimiters)
    located = [e for e in errors if not isinstance(e.code, TransactionErrorCode)]
    codes: list[TransactionErrorCode] = []
    for code in transaction_codes:
        if code not in codes:
            codes.append(code)
    if located:
        syntax = any(not e.code.value.startswith("I") for e in located)
        codes.append(
            TransactionErrorCode.SEGMENTS_IN_ERROR if syntax else TransactionErrorCode.IMPLEMENTATION_SEGMENTS_IN_ERROR
        )
    codes = codes[:_MAX_CODES]
    padded: list[TransactionErrorCode | None] = [*codes, *([None] * (_MAX_CODES - len(codes)))]
    return TransactionResponseLoop(
        response_header=Ak2(
            transaction_set_id=_echo(header.transaction_set_id, delimiters),
            control_number=_echo(header.control_number, delimiters),
            implementation_reference=None
            if header.implementation_reference is None
            else _echo(header.implementation_reference, delimiters),
        ),
        segment_errors=segment_loops,
        response_trailer=Ik5(
            acknowledgment_code=AcknowledgmentCode.REJECTED if errors else AcknowledgmentCode.ACCEPTED,
            error_code_1=padded[0],
            error_code_2=padded[1],
            error_code_3=padded[2],
            error_code_4=padded[3],
            error_code_5=padded[4],
        ),
    )


def build_999_for_group(
    group: GroupReport, errors: Iterable[X12Error] = (), control_number: str = "0001"
) -> Acknowledgment999:
    """The 999 for one functional group: its parse errors plus ``errors`` (e.g. from ``validate``)."""
    extra = list(errors)
    delimiters = _delimiters(group)
    responses = []
    accepted = 0
    for parsed in group.transactions:
        number = parsed.header.control_number
        transaction_errors = list(parsed.errors)
        transaction_errors += [
            e
            for e in extra
            if e.transaction_control_number == number
            and e.level not in (ErrorLevel.GROUP, ErrorLevel.INTERCHANGE)
            and e not in transaction_errors
        ]
        response = _response(parsed.header, transaction_errors, parsed.transaction, delimiters)
        if response.response_trailer.acknowledgment_code is AcknowledgmentCode.ACCEPTED:
            accepted += 1
        responses.append(response)
    group_codes: list[GroupErrorCode] = []
    for error in [*group.errors, *(e for e in extra if e.level is ErrorLevel.GROUP)]:
        if isinstance(error.code, GroupErrorCode) and error.code not in group_codes:
            group_codes.append(error.code)
    received = len(group.transactions)
    if group_codes or accepted == 0:
        code = AcknowledgmentCode.REJECTED
    elif accepted < received:
        code = AcknowledgmentCode.PARTIALLY_ACCEPTED
    else:
        code = AcknowledgmentCode.ACCEPTED
    padded: list[GroupErrorCode | None] = [
        *group_codes[:_MAX_CODES],
        *([None] * (_MAX_CODES - len(group_codes[:_MAX_CODES]))),
    ]
    header = group.header
    return Acknowledgment999(
        header=St(transaction_set_id="999", control_number=control_number, implementation_reference="005010X231A1"),
        group_response=Ak1(
            functional_id_code=_echo(header.functional_id_code, delimiters),
            group_control_number=str(header.control_number),
            version=_echo(header.version, delimiters) or None,
        ),
        transaction_responses=responses,
        group_trailer=Ak9(
            acknowledgment_code=code,
            included_count=received,
            received_count=received,
            accepted_count=accepted,
            error_code_1=padded[0],
            error_code_2=padded[1],
            error_code_3=padded[2],
            error_code_4=padded[3],
            error_code_5=padded[4],
        ),
    )


def build_999(result: ParseResult, errors: Iterable[X12Error] | None = None) -> list[Acknowledgment999]:
    """One 999 per functional group of ``result``; ``errors`` defaults to ``validate(result)`` minus parse errors."""
    if errors is None:
        errors = [e for e in validate(result) if e not in result.errors]
    extra = list(errors)
    acknowledgments = []
    for index, group in enumerate(result.groups, start=1):
        group_number = str(group.header.control_number)
        group_errors = [e for e in extra if e.group_control_number in (None, group_number)]
        acknowledgments.append(build_999_for_group(group, group_errors, f"{index:04d}"))
    return acknowledgments


def build_ta1(interchange: Isa, errors: Iterable[X12Error] = ()) -> Ta1:
    """The TA1 for an interchange: accepted, or rejected with the first interchange-level error's note code."""
    codes = [e.code for e in errors if isinstance(e.code, InterchangeErrorCode) and e.level is ErrorLevel.INTERCHANGE]
    note = codes[0] if codes else InterchangeErrorCode.NO_ERROR
    return Ta1(
        interchange_control_number=f"{interchange.control_number:09d}",
        interchange_date=interchange.date.strftime("%y%m%d"),
        interchange_time=interchange.time,
        acknowledgment_code="R" if codes else "A",
        note_code=note.value,
    )
