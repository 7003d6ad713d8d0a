"""Writer: envelopes from allocated control numbers, fixed-width ISA, computed counts and HL numbers."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from claimflow_x12 import (
    Claim837P,
    ControlNumberAllocator,
    ControlNumberKind,
    Envelope,
    InMemoryControlNumberAllocator,
    Separators,
    X12WriteError,
    allocate_envelope,
    parse,
    serialize,
    write_interchange,
)


def _transaction(read_sample: Callable[[str], str]) -> Claim837P:
    transaction = parse(read_sample("837p_dependent_corrected.x12")).transactions[0]
    assert isinstance(transaction, Claim837P)
    return transaction


async def test_envelope_control_numbers_come_from_the_allocator_and_never_repeat(
    read_sample: Callable[[str], str],
) -> None:
    allocator = InMemoryControlNumberAllocator()
    assert isinstance(allocator, ControlNumberAllocator)
    transaction = _transaction(read_sample)
    first = await allocate_envelope(allocator, sender_id="CLAIMFLOW", receiver_id="PAYER", transaction_count=2)
    second = await allocate_envelope(allocator, sender_id="CLAIMFLOW", receiver_id="PAYER", transaction_count=1)
    assert (first.interchange_control_number, second.interchange_control_number) == (1, 2)
    assert first.transaction_control_numbers == [1, 2]
    assert second.transaction_control_numbers == [3]
    result = parse(write_interchange(first, [transaction, transaction]))
    assert result.errors == []
    interchange = result.interchanges[0]
    assert interchange.header.control_number == 1
    assert interchange.groups[0].header.control_number == 1
    assert [t.control_number for t in result.transactions] == ["0001", "0002"]


async def test_concurrent_allocations_are_unique() -> None:
    allocator = InMemoryControlNumberAllocator(start=999_999_990)
    batches = await asyncio.gather(*(allocator.allocate(ControlNumberKind.INTERCHANGE, "S", 3) for _ in range(10)))
    numbers = [n for batch in batches for n in batch]
    assert len(set(numbers)) == 30
    assert max(numbers) == 999_999_999
    assert min(numbers) == 1


def test_isa_is_106_characters_with_padded_fields(read_sample: Callable[[str], str]) -> None:
    envelope = _envelope()
    text = write_interchange(envelope, [_transaction(read_sample)])
    isa = text.split("~")[0] + "~"
    assert len(isa) == 106
    assert isa[3] == "*"
    assert isa.split("*")[6] == "CLAIMFLOW      "
    assert isa.split("*")[13] == "000000042"
    assert text.endswith("GE*1*42~IEA*1*000000042~")


def _envelope() -> Envelope:
    return Envelope(
        sender_id="CLAIMFLOW",
        receiver_id="PAYER",
        interchange_control_number=42,
        group_control_number=42,
        created_at=datetime(2024, 1, 5, 12, 0, tzinfo=UTC),
    )


def test_configurable_separators_and_line_breaks(read_sample: Callable[[str], str]) -> None:
    separators = Separators(element="^", component="\\", repetition="{", segment="!", line_break="\r\n")
    text = write_interchange(_envelope(), [_transaction(read_sample)], separators)
    assert text.startswith("ISA^00^")
    assert "SV1^HC\\99214\\25\\GT\\95\\59^200.00" in text
    assert text.count("!\r\n") == text.count("!")
    result = parse(text)
    assert result.errors == []
    assert result.transactions == [_transaction(read_sample)]
    assert serialize(result.interchanges[0]) == text


def test_hl_numbers_and_child_codes_are_computed(read_sample: Callable[[str], str]) -> None:
    transaction = _transaction(read_sample)
    provider = transaction.billing_providers[0]
    doubled = dataclasses.replace(
        transaction, billing_providers=[provider, dataclasses.replace(provider, subscribers=[])]
    )
    text = write_interchange(_envelope(), [doubled])
    hls = [s for s in text.split("~") if s.startswith("HL*")]
    assert hls == ["HL*1**20*1", "HL*2*1*22*1", "HL*3*2*23*0", "HL*4**20*0"]
    assert parse(text).errors == []


def test_segment_counts_are_computed(read_sample: Callable[[str], str]) -> None:
    transaction = _transaction(read_sample)
    claim = transaction.billing_providers[0].subscribers[0].patients[0].claims[0]
    shorter = dataclasses.replace(claim, service_lines=claim.service_lines[:1])
    shorter = dataclasses.replace(
        shorter, claim=dataclasses.replace(claim.claim, total_charge=claim.service_lines[0].service.line_charge)
    )
    patient = dataclasses.replace(transaction.billing_providers[0].subscribers[0].patients[0], claims=[shorter])
    subscriber = dataclasses.replace(transaction.billing_providers[0].subscribers[0], patients=[patient])
    provider = dataclasses.replace(transaction.billing_providers[0], subscribers=[subscriber])
    text = write_interchange(_envelope(), [dataclasses.replace(transaction, billing_providers=[provider])])
    assert "SE*39*0001~" in text
    assert parse(text).errors == []


def test_value_containing_a_separator_is_refused(read_sample: Callable[[str], str]) -> None:
    transaction = _transaction(read_sample)
    submitter = dataclasses.replace(
        transaction.submitter,
        submitter=dataclasses.replace(transaction.submitter.submitter, last_name_or_organization="A*B BILLING"),
    )
    with pytest.raises(X12WriteError, match="separator"):
        write_interchange(_envelope(), [dataclasses.replace(transaction, submitter=submitter)])
    composite = dataclasses.replace(
        transaction.submitter,
        submitter=dataclasses.replace(transaction.submitter.submitter, last_name_or_organization="A:B BILLING"),
    )
    with pytest.raises(X12WriteError, match="separator"):
        write_interchange(_envelope(), [dataclasses.replace(transaction, submitter=composite)])


def test_mixed_transaction_kinds_are_refused_in_one_group(read_sample: Callable[[str], str]) -> None:
    remittance = parse(read_sample("835_multi_claim_reversal_plb.x12")).transactions[0]
    with pytest.raises(X12WriteError, match="one kind"):
        write_interchange(_envelope(), [_transaction(read_sample), remittance])


def test_write_to_a_stream_matches_the_string(read_sample: Callable[[str], str]) -> None:
    stream = io.StringIO()
    write_interchange(_envelope(), [_transaction(read_sample)], stream=stream)
    assert stream.getvalue() == write_interchange(_envelope(), [_transaction(read_sample)])
