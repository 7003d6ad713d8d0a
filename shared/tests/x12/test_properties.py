"""Property-based tests: random valid claims survive write → parse; mutated files never crash the parser."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimflow_x12 import (
    Claim837P,
    Envelope,
    Separators,
    X12ParseError,
    X12WriteError,
    build_999,
    parse,
    serialize,
    validate,
    write_interchange,
)
from claimflow_x12.guides.claim_837p import ProfessionalClaimLoop
from claimflow_x12.guides.remittance_835 import ClaimPaymentLoop, Remittance835
from claimflow_x12.segments import Adjustment, Cas, ClaimAdjustmentGroupCode

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.x12"))
ENVELOPE = Envelope(sender_id="CLAIMFLOW", receiver_id="PAYER", interchange_control_number=1, group_control_number=1)

identifiers = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
money = st.integers(min_value=1, max_value=9_999_999).map(lambda cents: Decimal(cents) / 100)
procedures = st.text(alphabet="0123456789", min_size=5, max_size=5) | st.from_regex(r"[A-Z][0-9]{4}", fullmatch=True)
modifiers = st.lists(st.from_regex(r"[A-Z0-9]{2}", fullmatch=True), max_size=4)
diagnoses = st.lists(st.from_regex(r"[A-Z][0-9]{2}[0-9A-Z]{0,4}", fullmatch=True), min_size=1, max_size=12)
separator_sets = st.sampled_from(
    [Separators(), Separators("|", ">", "!", "'", "\n"), Separators("^", "\\", "{", "!", "\r\n")]
)


@st.composite
def claims(draw: st.DrawFn, make_claim: Callable[..., ProfessionalClaimLoop], line: type) -> ProfessionalClaimLoop:
    codes = draw(diagnoses)
    lines = [
        line(
            draw(procedures),
            draw(money),
            tuple(draw(modifiers)),
            Decimal(draw(st.integers(min_value=1, max_value=99))),
            tuple(draw(st.lists(st.integers(min_value=1, max_value=len(codes)), min_size=1, max_size=4, unique=True))),
        )
        for _ in range(draw(st.integers(min_value=1, max_value=6)))
    ]
    frequency = draw(st.sampled_from(["1", "7", "8"]))
    return make_claim(
        draw(identifiers),
        lines,
        codes,
        frequency=frequency,
        payer_claim_number=draw(identifiers) if frequency != "1" else None,
    )


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_valid_claims_round_trip_through_the_writer(
    data: st.DataObject,
    make_claim: Callable[..., ProfessionalClaimLoop],
    make_837p: Callable[..., Claim837P],
    line: type,
) -> None:
    batch = data.draw(st.lists(claims(make_claim, line), min_size=1, max_size=4))
    transaction = make_837p(batch)
    separators = data.draw(separator_sets)
    text = write_interchange(ENVELOPE, [transaction], separators)
    result = parse(text)
    assert result.errors == []
    assert result.transactions == [transaction]
    assert validate(result) == []
    assert serialize(result.interchanges[0]) == text


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, position, value in edits:
        if not buffer:
            break
        index = position % len(buffer)
        if kind == 0:
            buffer[index] = value
        elif kind == 1:
            del buffer[index]
        elif kind == 2:
            buffer.insert(index, value)
        else:
            buffer[index:index] = buffer[index : index + value % 40]
    return bytes(buffer)


edit_lists = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6
)


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
@settings(max_examples=40, deadline=None, database=None)
@given(edits=edit_lists)
def test_mutated_samples_never_crash_the_parser(path: Path, edits: list[tuple[int, int, int]]) -> None:
    mutated = _mutate(path.read_bytes(), edits)
    result = parse(mutated)
    validate(result)
    build_999(result)
    for interchange in result.interchanges:
        with contextlib.suppress(X12WriteError):
            serialize(interchange)
    with contextlib.suppress(X12ParseError):
        parse(mutated, strict=True)


@st.composite
def remittance_claims(draw: st.DrawFn, template: ClaimPaymentLoop) -> ClaimPaymentLoop:
    """A claim payment whose lines and totals balance: paid = charge - adjustments, at line and claim level."""
    lines = []
    for line_template in template.service_lines[: draw(st.integers(min_value=1, max_value=4))]:
        charge = draw(money)
        contractual = Decimal(draw(st.integers(min_value=0, max_value=int(charge * 100)))) / 100
        adjustments = [
            Cas(group_code=ClaimAdjustmentGroupCode.CONTRACTUAL, adjustments=[Adjustment("45", contractual)])
        ]
        service = dataclasses.replace(line_template.service, line_charge=charge, paid_amount=charge - contractual)
        lines.append(dataclasses.replace(line_template, service=service, adjustments=adjustments))
    charge = sum((line.service.line_charge for line in lines), Decimal(0))
    paid = sum((line.service.paid_amount for line in lines), Decimal(0))
    clp = dataclasses.replace(
        template.claim,
        patient_control_number=draw(identifiers),
        total_charge=charge,
        paid_amount=paid,
        patient_responsibility=None,
    )
    return dataclasses.replace(template, claim=clp, adjustments=[], service_lines=lines)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_balanced_remittances_validate_and_round_trip(
    data: st.DataObject, read_sample: Callable[[str], str]
) -> None:
    sample = parse(read_sample("835_multi_claim_reversal_plb.x12")).transactions[0]
    assert isinstance(sample, Remittance835)
    template = sample.header_numbers[0].claims[0]
    batch = data.draw(st.lists(remittance_claims(template), min_size=1, max_size=5))
    header = dataclasses.replace(sample.header_numbers[0], claims=batch)
    total = sum((claim.claim.paid_amount for claim in batch), Decimal(0))
    remittance = dataclasses.replace(
        sample,
        header_numbers=[header],
        provider_adjustments=[],
        financial_information=dataclasses.replace(sample.financial_information, total_payment=total),
    )
    assert validate(remittance) == []
    text = write_interchange(ENVELOPE, [remittance], data.draw(separator_sets))
    result = parse(text)
    assert result.errors == []
    assert result.transactions == [dataclasses.replace(remittance, header=result.transactions[0].header)]
    unbalanced = dataclasses.replace(
        remittance,
        financial_information=dataclasses.replace(remittance.financial_information, total_payment=total + 1),
    )
    assert [e.segment_id for e in validate(unbalanced)] == ["BPR"]
