"""ClaimFlow X12 5010 library: streaming tokenizer, typed models per implementation guide, one writer.

Public API::

    parse(data, strict=False) -> ParseResult          # bytes, str, a binary/text stream or a path
    iter_transactions(stream) -> Iterator[ParsedTransaction]   # one transaction set at a time, flat memory
    validate(result_or_transaction) -> list[X12Error]  # parse errors + implementation-guide rules
    serialize(interchange) -> str                      # write back what parse() read (byte-exact)
    write_interchange(envelope, transactions, separators) -> str   # new ISA/GS/ST..SE/GE/IEA
    allocate_envelope(allocator, sender_id=..., receiver_id=..., transaction_count=n) -> Envelope
    build_999(result, errors) -> list[Acknowledgment999];  build_ta1(isa, errors) -> Ta1

Typed transaction sets (one module per guide in ``claimflow_x12.guides``): ``Claim837P`` (005010X222A1),
``Claim837I`` (005010X223A2), ``Remittance835`` (005010X221A1), ``EligibilityInquiry270`` /
``EligibilityResponse271`` (005010X279A1), ``ClaimStatusRequest276`` / ``ClaimStatusResponse277`` (005010X212),
``ClaimAcknowledgment277CA`` (005010X214), ``Acknowledgment999`` (005010X231A1).
Each guide module also has a flat accessor: ``claim_837p.iter_claims`` / ``claim_837i.iter_claims`` (claims under
the subscriber or a dependent), ``remittance_835.iter_claim_payments``, ``eligibility_270_271.summarize_eligibility``
(active?, plan, dates, copay/coinsurance/deductible/out-of-pocket per service type and network, AAA errors),
``claim_ack_277ca.iter_acknowledged_claims`` and ``claim_status_276_277.iter_claim_statuses``.

Errors are ``X12Error(segment_position, segment_id, loop_id, element_position, code, message)`` with codes that
map onto 999 IK3/IK4/IK5, AK9 and TA1 codes; strict mode raises ``X12ParseError`` on the first one.
Typed models are slotted dataclasses (plain-JSON view: ``to_jsonable``); segments the models do not type are kept
in ``extra_segments`` so ``serialize(parse(x))`` gives ``x`` back byte for byte.
"""

from claimflow_x12.ack import build_999, build_ta1
from claimflow_x12.envelope import (
    ControlNumberAllocator,
    ControlNumberKind,
    Envelope,
    FunctionalGroup,
    InMemoryControlNumberAllocator,
    Interchange,
    allocate_envelope,
)
from claimflow_x12.errors import X12Error, X12ParseError, X12WriteError
from claimflow_x12.guides.ack_999 import Acknowledgment999
from claimflow_x12.guides.claim_837i import Claim837I
from claimflow_x12.guides.claim_837p import Claim837P
from claimflow_x12.guides.remittance_835 import Remittance835
from claimflow_x12.jsonable import to_jsonable
from claimflow_x12.parser import ParsedTransaction, ParseResult, X12Reader, iter_transactions, parse
from claimflow_x12.tokenizer import Separators, iter_segments
from claimflow_x12.transaction import Transaction, UnknownTransaction
from claimflow_x12.validate import npi_is_valid, validate
from claimflow_x12.writer import serialize, write_interchange

__all__ = [
    "Acknowledgment999",
    "Claim837I",
    "Claim837P",
    "ControlNumberAllocator",
    "ControlNumberKind",
    "Envelope",
    "FunctionalGroup",
    "InMemoryControlNumberAllocator",
    "Interchange",
    "ParseResult",
    "ParsedTransaction",
    "Remittance835",
    "Separators",
    "Transaction",
    "UnknownTransaction",
    "X12Error",
    "X12ParseError",
    "X12Reader",
    "X12WriteError",
    "allocate_envelope",
    "build_999",
    "build_ta1",
    "iter_segments",
    "iter_transactions",
    "npi_is_valid",
    "parse",
    "serialize",
    "to_jsonable",
    "validate",
    "write_interchange",
]
