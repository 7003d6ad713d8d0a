"""X12 errors: one model for every problem found while parsing or validating, with codes that map onto the 999/TA1.

The codes are the ones an acknowledgment carries, so a 999 can be built straight from the collected errors:
segment errors become IK3 (IK304), element errors IK4 (IK403), transaction-set errors IK5 (IK502),
functional-group errors AK9 (AK905) and interchange errors TA1 (TA105).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ElementErrorCode",
    "ErrorLevel",
    "GroupErrorCode",
    "InterchangeErrorCode",
    "SegmentErrorCode",
    "TransactionErrorCode",
    "X12Error",
    "X12ErrorCode",
    "X12ParseError",
    "X12WriteError",
]


class ErrorLevel(StrEnum):
    """Which envelope level an error belongs to (decides whether it goes into a TA1, AK9, IK5, IK3 or IK4)."""

    INTERCHANGE = "interchange"
    GROUP = "group"
    TRANSACTION = "transaction"
    SEGMENT = "segment"
    ELEMENT = "element"


class SegmentErrorCode(StrEnum):
    """IK304 implementation segment syntax error codes."""

    UNRECOGNIZED_SEGMENT_ID = "1"
    UNEXPECTED_SEGMENT = "2"
    REQUIRED_SEGMENT_MISSING = "3"
    LOOP_OVER_MAXIMUM = "4"
    SEGMENT_OVER_MAXIMUM_USE = "5"
    SEGMENT_NOT_IN_TRANSACTION = "6"
    SEGMENT_OUT_OF_SEQUENCE = "7"
    SEGMENT_HAS_ELEMENT_ERRORS = "8"
    NOT_USED_SEGMENT_PRESENT = "I4"
    DEPENDENT_SEGMENT_MISSING = "I6"
    LOOP_UNDER_MINIMUM = "I7"
    SEGMENT_UNDER_MINIMUM_USE = "I8"
    DEPENDENT_NOT_USED_SEGMENT_PRESENT = "I9"


class ElementErrorCode(StrEnum):
    """IK403 implementation data element syntax error codes.

    Business-rule failures that concern one element's value (a total that does not balance, an NPI whose
    check digit is wrong) are reported as I12 "implementation pattern match failure", the closest 999 code.
    """

    REQUIRED_ELEMENT_MISSING = "1"
    CONDITIONAL_ELEMENT_MISSING = "2"
    TOO_MANY_ELEMENTS = "3"
    ELEMENT_TOO_SHORT = "4"
    ELEMENT_TOO_LONG = "5"
    INVALID_CHARACTER = "6"
    INVALID_CODE_VALUE = "7"
    INVALID_DATE = "8"
    INVALID_TIME = "9"
    EXCLUSION_CONDITION_VIOLATED = "10"
    TOO_MANY_REPETITIONS = "12"
    TOO_MANY_COMPONENTS = "13"
    CODE_NOT_USED_IN_IMPLEMENTATION = "I6"
    DEPENDENT_ELEMENT_MISSING = "I9"
    NOT_USED_ELEMENT_PRESENT = "I10"
    TOO_FEW_REPETITIONS = "I11"
    PATTERN_MATCH_FAILURE = "I12"


class TransactionErrorCode(StrEnum):
    """IK502 transaction set syntax error codes."""

    NOT_SUPPORTED = "1"
    TRAILER_MISSING = "2"
    CONTROL_NUMBER_MISMATCH = "3"
    SEGMENT_COUNT_MISMATCH = "4"
    SEGMENTS_IN_ERROR = "5"
    INVALID_TRANSACTION_SET_ID = "6"
    INVALID_CONTROL_NUMBER = "7"
    CONTROL_NUMBER_NOT_UNIQUE = "23"
    IMPLEMENTATION_SEGMENTS_IN_ERROR = "I5"
    IMPLEMENTATION_NOT_SUPPORTED = "I6"


class GroupErrorCode(StrEnum):
    """AK905 functional group syntax error codes."""

    NOT_SUPPORTED = "1"
    VERSION_NOT_SUPPORTED = "2"
    TRAILER_MISSING = "3"
    CONTROL_NUMBER_MISMATCH = "4"
    TRANSACTION_COUNT_MISMATCH = "5"
    INVALID_CONTROL_NUMBER = "6"
    CONTROL_NUMBER_NOT_UNIQUE = "19"


class InterchangeErrorCode(StrEnum):
    """TA105 interchange note codes."""

    NO_ERROR = "000"
    CONTROL_NUMBER_MISMATCH = "001"
    INVALID_SEGMENT_TERMINATOR = "002"
    INVALID_SENDER_ID_QUALIFIER = "005"
    INVALID_SENDER_ID = "006"
    INVALID_RECEIVER_ID_QUALIFIER = "007"
    INVALID_RECEIVER_ID = "008"
    INVALID_DATE = "014"
    INVALID_TIME = "015"
    INVALID_STANDARDS_IDENTIFIER = "016"
    INVALID_VERSION = "017"
    INVALID_CONTROL_NUMBER = "018"
    INVALID_ACK_REQUESTED = "019"
    INVALID_TEST_INDICATOR = "020"
    INVALID_GROUP_COUNT = "021"
    INVALID_CONTROL_STRUCTURE = "022"
    PREMATURE_END_OF_FILE = "023"
    INVALID_CONTENT = "024"
    INVALID_COMPONENT_SEPARATOR = "026"


X12ErrorCode = SegmentErrorCode | ElementErrorCode | TransactionErrorCode | GroupErrorCode | InterchangeErrorCode


class X12Error(BaseModel):
    """One problem in an X12 document, located as precisely as the acknowledgments need it.

    ``segment_position`` counts segments within the transaction set (ST = 1), as IK302 does; for envelope
    errors it counts segments within the interchange (ISA = 1).
    """

    model_config = ConfigDict(frozen=True)

    segment_position: int | None
    segment_id: str | None
    loop_id: str | None
    element_position: int | None
    code: X12ErrorCode
    message: str
    level: ErrorLevel = ErrorLevel.SEGMENT
    component_position: int | None = None
    element_value: str | None = None
    transaction_control_number: str | None = None
    group_control_number: str | None = None

    def __str__(self) -> str:
        where = []
        if self.transaction_control_number is not None:
            where.append(f"ST02={self.transaction_control_number}")
        if self.segment_position is not None:
            where.append(f"segment {self.segment_position}")
        if self.segment_id:
            element = ""
            if self.element_position is not None:
                element = f"{self.element_position:02d}"
                if self.component_position is not None:
                    element += f"-{self.component_position}"
            where.append(f"{self.segment_id}{element}")
        if self.loop_id:
            where.append(f"loop {self.loop_id}")
        return f"[{self.level.value} {self.code.value}] {' '.join(where)}: {self.message}"


class X12ParseError(Exception):
    """Raised in strict mode on the first problem, and for input that is not X12 at all."""

    def __init__(self, error: X12Error) -> None:
        super().__init__(str(error))
        self.error = error


class X12WriteError(ValueError):
    """Raised when a model cannot be written as X12 (for example a value containing a separator)."""
