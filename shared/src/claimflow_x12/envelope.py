"""Interchange (ISA/IEA), functional group (GS/GE) and TA1 models, and control-number allocation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from claimflow_x12.errors import ElementErrorCode, X12WriteError
from claimflow_x12.model import E, ElementDecodeError, Loop, Segment
from claimflow_x12.tokenizer import Separators

__all__ = [
    "MAX_CONTROL_NUMBER",
    "ControlNumberAllocator",
    "ControlNumberKind",
    "Envelope",
    "FunctionalGroup",
    "Gs",
    "InMemoryControlNumberAllocator",
    "Interchange",
    "Isa",
    "Ta1",
    "allocate_envelope",
]

MAX_CONTROL_NUMBER = 999_999_999
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


def _yymmdd(value: str) -> date:
    if len(value) != 6 or not value.isdigit():
        raise ValueError(value)
    return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))


@dataclass(slots=True, kw_only=True)
class Isa(Segment):
    """Interchange control header; fields are stored unpadded and padded again by the writer.

    Example::

        ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *240105*1200*^*00501*000000001*0*P*:~

    ISA11 (repetition separator) and ISA16 (component separator) come from the interchange's ``Separators``.
    """

    segment_id: ClassVar[str] = "ISA"
    authorization_qualifier: str = "00"  # ISA01
    authorization_information: str = ""  # ISA02
    security_qualifier: str = "00"  # ISA03
    security_information: str = ""  # ISA04
    sender_id_qualifier: str  # ISA05
    sender_id: str  # ISA06
    receiver_id_qualifier: str  # ISA07
    receiver_id: str  # ISA08
    date: date  # ISA09 (YYMMDD)
    time: str  # ISA10 (HHMM)
    version: str = "00501"  # ISA12
    control_number: int  # ISA13
    acknowledgment_requested: bool = False  # ISA14
    usage_indicator: str = "P"  # ISA15 (P production, T test)

    @classmethod
    def decode_elements(cls, el: list[str], cs: str, rs: str, position: int) -> Isa:
        """Convert the 16 ISA elements, stripping the fixed-width padding."""
        if len(el) != 17:
            raise ElementDecodeError(len(el), ElementErrorCode.TOO_MANY_ELEMENTS, "ISA must have 16 elements")
        for index, width in enumerate(_ISA_WIDTHS[:15], start=1):
            if len(el[index]) != width:
                too_long = len(el[index]) > width
                code = ElementErrorCode.ELEMENT_TOO_LONG if too_long else ElementErrorCode.ELEMENT_TOO_SHORT
                raise ElementDecodeError(index, code, f"ISA{index:02d} must be {width} characters, got {el[index]!r}")
        try:
            isa_date = _yymmdd(el[9])
        except ValueError:
            raise ElementDecodeError(9, ElementErrorCode.INVALID_DATE, f"invalid ISA09 date {el[9]!r}") from None
        if not el[13].isdigit():
            raise ElementDecodeError(13, ElementErrorCode.INVALID_CHARACTER, f"invalid ISA13 {el[13]!r}")
        if el[14] not in ("0", "1"):
            raise ElementDecodeError(14, ElementErrorCode.INVALID_CODE_VALUE, f"invalid ISA14 {el[14]!r}")
        return cls(
            authorization_qualifier=el[1],
            authorization_information=el[2].rstrip(" "),
            security_qualifier=el[3],
            security_information=el[4].rstrip(" "),
            sender_id_qualifier=el[5],
            sender_id=el[6].rstrip(" "),
            receiver_id_qualifier=el[7],
            receiver_id=el[8].rstrip(" "),
            date=isa_date,
            time=el[10],
            version=el[12],
            control_number=int(el[13]),
            acknowledgment_requested=el[14] == "1",
            usage_indicator=el[15],
            position=position,
        )

    def encode_elements(self, cs: str, rs: str) -> list[str]:
        """Write the ISA with every field padded to its fixed width."""
        values = [
            self.authorization_qualifier,
            self.authorization_information,
            self.security_qualifier,
            self.security_information,
            self.sender_id_qualifier,
            self.sender_id,
            self.receiver_id_qualifier,
            self.receiver_id,
            self.date.strftime("%y%m%d"),
            self.time,
            rs or "U",
            self.version,
            f"{self.control_number:09d}",
            "1" if self.acknowledgment_requested else "0",
            self.usage_indicator,
            cs,
        ]
        for value, width in zip(values, _ISA_WIDTHS, strict=True):
            if len(value) > width:
                raise X12WriteError(f"ISA value {value!r} is longer than {width} characters")
        return ["ISA", *(v.ljust(w) for v, w in zip(values, _ISA_WIDTHS, strict=True))]


@dataclass(slots=True, kw_only=True)
class Gs(Segment):
    """Functional group header. Example: ``GS*HC*SUBMITTER*RECEIVER*20240105*1200*1*X*005010X222A1~``"""

    segment_id: ClassVar[str] = "GS"
    functional_id_code: Annotated[str, E(1)]  # GS01 (HC 837, HP 835, HS 270, HB 271, HR 276, HN 277, FA 999)
    application_sender_code: Annotated[str, E(2)]  # GS02
    application_receiver_code: Annotated[str, E(3)]  # GS03
    date: Annotated[date, E(4)]  # GS04
    time: Annotated[str, E(5)]  # GS05
    control_number: Annotated[int, E(6)]  # GS06
    responsible_agency: Annotated[str, E(7)] = "X"  # GS07
    version: Annotated[str, E(8)]  # GS08 (005010X222A1...)


@dataclass(slots=True, kw_only=True)
class Ta1(Segment):
    """Interchange acknowledgment. Example: ``TA1*000000001*240105*1200*A*000~``"""

    segment_id: ClassVar[str] = "TA1"
    interchange_control_number: Annotated[str, E(1)]  # TA101
    interchange_date: Annotated[str, E(2)]  # TA102 (YYMMDD)
    interchange_time: Annotated[str, E(3)]  # TA103
    acknowledgment_code: Annotated[str, E(4)]  # TA104 (A accepted, E accepted with errors, R rejected)
    note_code: Annotated[str, E(5)]  # TA105


@dataclass(slots=True, kw_only=True)
class FunctionalGroup:
    """A GS...GE group of transaction sets of one kind."""

    header: Gs
    transactions: list[Loop] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class Interchange:
    """An ISA...IEA interchange with the separators it is written with."""

    header: Isa
    separators: Separators = field(default_factory=Separators)
    groups: list[FunctionalGroup] = field(default_factory=list)
    acknowledgments: list[Ta1] = field(default_factory=list)


class ControlNumberKind(StrEnum):
    """Which control number is allocated."""

    INTERCHANGE = "ISA13"
    GROUP = "GS06"
    TRANSACTION = "ST02"


@runtime_checkable
class ControlNumberAllocator(Protocol):
    """Hands out control numbers that are never reused for the same sender (async so a DB can back it)."""

    async def allocate(self, kind: ControlNumberKind, sender_id: str, count: int = 1) -> list[int]:
        """Reserve ``count`` consecutive-or-not unique control numbers of ``kind`` for ``sender_id``."""
        ...


class InMemoryControlNumberAllocator:
    """Process-local allocator for tests and one-off tools; numbers restart with the process."""

    def __init__(self, start: int = 1) -> None:
        self._next: dict[tuple[ControlNumberKind, str], int] = {}
        self._start = start
        self._lock = asyncio.Lock()

    async def allocate(self, kind: ControlNumberKind, sender_id: str, count: int = 1) -> list[int]:
        """Reserve ``count`` numbers, wrapping after 999999999."""
        if count < 0:
            raise ValueError("count must not be negative")
        async with self._lock:
            key = (kind, sender_id)
            current = self._next.get(key, self._start)
            numbers = []
            for _ in range(count):
                numbers.append(current)
                current = 1 if current >= MAX_CONTROL_NUMBER else current + 1
            self._next[key] = current
            return numbers


ControlNumber = Annotated[int, Field(ge=1, le=MAX_CONTROL_NUMBER)]


class Envelope(BaseModel):
    """Who an interchange is from and to, and the control numbers already allocated for it."""

    sender_id_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)  # ISA05
    sender_id: str = Field(min_length=2, max_length=15)  # ISA06 (and GS02 by default, which needs 2+)
    receiver_id_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)  # ISA07
    receiver_id: str = Field(min_length=2, max_length=15)  # ISA08 (and GS03 by default)
    application_sender_code: str | None = Field(default=None, min_length=2, max_length=15)  # GS02 (default ISA06)
    application_receiver_code: str | None = Field(default=None, min_length=2, max_length=15)  # GS03 (default ISA08)
    interchange_control_number: ControlNumber  # ISA13 = IEA02
    group_control_number: ControlNumber  # GS06 = GE02
    transaction_control_numbers: list[ControlNumber] = Field(default_factory=list)  # ST02 = SE02, in order
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))  # ISA09/ISA10, GS04/GS05
    usage_indicator: Literal["P", "T"] = "P"  # ISA15
    acknowledgment_requested: bool = False  # ISA14

    def isa(self) -> Isa:
        """The ISA segment for this envelope."""
        return Isa(
            sender_id_qualifier=self.sender_id_qualifier,
            sender_id=self.sender_id,
            receiver_id_qualifier=self.receiver_id_qualifier,
            receiver_id=self.receiver_id,
            date=self.created_at.date(),
            time=self.created_at.strftime("%H%M"),
            control_number=self.interchange_control_number,
            acknowledgment_requested=self.acknowledgment_requested,
            usage_indicator=self.usage_indicator,
        )

    def gs(self, functional_id_code: str, version: str) -> Gs:
        """The GS segment for a group of ``functional_id_code`` transactions."""
        return Gs(
            functional_id_code=functional_id_code,
            application_sender_code=self.application_sender_code or self.sender_id,
            application_receiver_code=self.application_receiver_code or self.receiver_id,
            date=self.created_at.date(),
            time=self.created_at.strftime("%H%M"),
            control_number=self.group_control_number,
            version=version,
        )


async def allocate_envelope(
    allocator: ControlNumberAllocator,
    *,
    sender_id: str,
    receiver_id: str,
    transaction_count: int,
    **fields: Any,
) -> Envelope:
    """Allocate ISA13, GS06 and one ST02 per transaction from ``allocator`` and return the envelope."""
    interchange = await allocator.allocate(ControlNumberKind.INTERCHANGE, sender_id)
    group = await allocator.allocate(ControlNumberKind.GROUP, sender_id)
    transactions = await allocator.allocate(ControlNumberKind.TRANSACTION, sender_id, transaction_count)
    return Envelope(
        sender_id=sender_id,
        receiver_id=receiver_id,
        interchange_control_number=interchange[0],
        group_control_number=group[0],
        transaction_control_numbers=transactions,
        **fields,
    )
