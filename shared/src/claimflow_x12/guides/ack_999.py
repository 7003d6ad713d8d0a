"""999 implementation acknowledgment, implementation guide 005010X231A1."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, ClassVar

from claimflow_x12.errors import ElementErrorCode, GroupErrorCode, SegmentErrorCode, TransactionErrorCode
from claimflow_x12.model import At, E, Loop, Segment
from claimflow_x12.transaction import Transaction, register_transaction

__all__ = [
    "Acknowledgment999",
    "AcknowledgmentCode",
    "Ak1",
    "Ak2",
    "Ak9",
    "Ctx",
    "ElementErrorLoop",
    "Ik3",
    "Ik4",
    "Ik5",
    "SegmentErrorLoop",
    "TransactionResponseLoop",
]


class AcknowledgmentCode(StrEnum):
    """IK501 / AK901 acknowledgment codes."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    REJECTED_AUTHENTICATION = "M"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"
    REJECTED_ASSURANCE = "W"
    REJECTED_DECRYPTION = "X"


@dataclass(slots=True, kw_only=True)
class Ak1(Segment):
    """Functional group response header. Example: ``AK1*HC*101*005010X222A1~``"""

    segment_id: ClassVar[str] = "AK1"
    functional_id_code: Annotated[str, E(1)]  # AK101 (GS01 of the acknowledged group)
    group_control_number: Annotated[str, E(2)]  # AK102 (GS06)
    version: Annotated[str | None, E(3)] = None  # AK103 (GS08)


@dataclass(slots=True, kw_only=True)
class Ak2(Segment):
    """Transaction set response header. Example: ``AK2*837*0001*005010X222A1~``"""

    segment_id: ClassVar[str] = "AK2"
    transaction_set_id: Annotated[str, E(1)]  # AK201 (ST01)
    control_number: Annotated[str, E(2)]  # AK202 (ST02)
    implementation_reference: Annotated[str | None, E(3)] = None  # AK203 (ST03)


@dataclass(slots=True, kw_only=True)
class Ik3(Segment):
    """Error identification: the segment in error. Example: ``IK3*CLM*23*2300*8~``"""

    segment_id: ClassVar[str] = "IK3"
    segment_id_code: Annotated[str, E(1)]  # IK301
    segment_position: Annotated[int, E(2)]  # IK302 (ST = 1)
    loop_id: Annotated[str | None, E(3)] = None  # IK303
    error_code: Annotated[SegmentErrorCode | None, E(4)] = None  # IK304


@dataclass(slots=True, kw_only=True)
class Ctx(Segment):
    """Context of an error (for example the claim it is in). Example: ``CTX*CLM01:PCN20240105A~``"""

    segment_id: ClassVar[str] = "CTX"
    context_name: Annotated[str, E(1, 1)]  # CTX01-1 (SITUATIONAL TRIGGER or a business unit id such as CLM01)
    context_reference: Annotated[str | None, E(1, 2)] = None  # CTX01-2
    segment_id_code: Annotated[str | None, E(2)] = None  # CTX02
    segment_position: Annotated[int | None, E(3)] = None  # CTX03
    loop_id: Annotated[str | None, E(4)] = None  # CTX04
    element_position: Annotated[int | None, E(5, 1)] = None  # CTX05-1
    component_position: Annotated[int | None, E(5, 2)] = None  # CTX05-2


@dataclass(slots=True, kw_only=True)
class Ik4(Segment):
    """Implementation data element note: the element in error. Example: ``IK4*2**I12*350.00~``"""

    segment_id: ClassVar[str] = "IK4"
    element_position: Annotated[int, E(1, 1)]  # IK401-1
    component_position: Annotated[int | None, E(1, 2)] = None  # IK401-2
    repeat_position: Annotated[int | None, E(1, 3)] = None  # IK401-3
    element_reference: Annotated[str | None, E(2)] = None  # IK402 (data element dictionary number)
    error_code: Annotated[ElementErrorCode, E(3)]  # IK403
    bad_value: Annotated[str | None, E(4)] = None  # IK404


@dataclass(slots=True, kw_only=True)
class Ik5(Segment):
    """Transaction set response trailer. Example: ``IK5*R*I5~``"""

    segment_id: ClassVar[str] = "IK5"
    acknowledgment_code: Annotated[AcknowledgmentCode, E(1)]  # IK501
    error_code_1: Annotated[TransactionErrorCode | None, E(2)] = None  # IK502
    error_code_2: Annotated[TransactionErrorCode | None, E(3)] = None  # IK503
    error_code_3: Annotated[TransactionErrorCode | None, E(4)] = None  # IK504
    error_code_4: Annotated[TransactionErrorCode | None, E(5)] = None  # IK505
    error_code_5: Annotated[TransactionErrorCode | None, E(6)] = None  # IK506

    @property
    def error_codes(self) -> list[TransactionErrorCode]:
        """IK502-IK506 that are present."""
        codes = (self.error_code_1, self.error_code_2, self.error_code_3, self.error_code_4, self.error_code_5)
        return [c for c in codes if c is not None]


@dataclass(slots=True, kw_only=True)
class Ak9(Segment):
    """Functional group response trailer. Example: ``AK9*P*2*2*1~``"""

    segment_id: ClassVar[str] = "AK9"
    acknowledgment_code: Annotated[AcknowledgmentCode, E(1)]  # AK901
    included_count: Annotated[int, E(2)]  # AK902 (GE01)
    received_count: Annotated[int, E(3)]  # AK903
    accepted_count: Annotated[int, E(4)]  # AK904
    error_code_1: Annotated[GroupErrorCode | None, E(5)] = None  # AK905
    error_code_2: Annotated[GroupErrorCode | None, E(6)] = None  # AK906
    error_code_3: Annotated[GroupErrorCode | None, E(7)] = None  # AK907
    error_code_4: Annotated[GroupErrorCode | None, E(8)] = None  # AK908
    error_code_5: Annotated[GroupErrorCode | None, E(9)] = None  # AK909


@dataclass(slots=True, kw_only=True)
class ElementErrorLoop(Loop):
    """2110 implementation data element note."""

    loop_id: ClassVar[str] = "2110"
    element_note: Annotated[Ik4, At(0)]  # IK4
    contexts: Annotated[list[Ctx], At(1)] = field(default_factory=list)  # CTX


@dataclass(slots=True, kw_only=True)
class SegmentErrorLoop(Loop):
    """2100 error identification."""

    loop_id: ClassVar[str] = "2100"
    segment_error: Annotated[Ik3, At(0)]  # IK3
    contexts: Annotated[list[Ctx], At(1)] = field(default_factory=list)  # CTX
    element_errors: Annotated[list[ElementErrorLoop], At(2)] = field(default_factory=list)  # 2110


@dataclass(slots=True, kw_only=True)
class TransactionResponseLoop(Loop):
    """2000 transaction set response: AK2, the segment errors, IK5."""

    loop_id: ClassVar[str] = "2000"
    response_header: Annotated[Ak2, At(0)]  # AK2
    segment_errors: Annotated[list[SegmentErrorLoop], At(1)] = field(default_factory=list)  # 2100
    response_trailer: Annotated[Ik5, At(2)]  # IK5


@register_transaction
@dataclass(slots=True, kw_only=True)
class Acknowledgment999(Transaction):
    """999 implementation acknowledgment transaction set (005010X231A1)."""

    transaction_set_id: ClassVar[str] = "999"
    implementation_reference: ClassVar[str] = "005010X231A1"
    functional_id_code: ClassVar[str] = "FA"
    group_response: Annotated[Ak1, At(1)]  # AK1
    transaction_responses: Annotated[list[TransactionResponseLoop], At(2)] = field(default_factory=list)  # 2000
    group_trailer: Annotated[Ak9, At(3)]  # AK9
