"""Segments shared by the claim status guides (276/277 X212 and 277CA X214)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar

from claimflow_x12.model import E, Segment

__all__ = ["StatusSvc", "Stc"]


@dataclass(slots=True, kw_only=True)
class Stc(Segment):
    """Status information. Example: ``STC*A2:20:PR*20240106*WQ*475.00~``"""

    segment_id: ClassVar[str] = "STC"
    category_code: Annotated[str, E(1, 1)]  # STC01-1 (A1/A2 accepted, A3/A7 rejected, A4 not found, F1 paid...)
    status_code: Annotated[str | None, E(1, 2)] = None  # STC01-2 (claim status code list 508)
    entity_code: Annotated[str | None, E(1, 3)] = None  # STC01-3 (entity the status refers to)
    code_list_qualifier: Annotated[str | None, E(1, 4)] = None  # STC01-4 (NCPDP reject codes)
    status_date: Annotated[date | None, E(2)] = None  # STC02
    action_code: Annotated[str | None, E(3)] = None  # STC03 (WQ accepted, U rejected)
    total_charge: Annotated[Decimal | None, E(4)] = None  # STC04
    paid_amount: Annotated[Decimal | None, E(5)] = None  # STC05
    adjudication_date: Annotated[date | None, E(6)] = None  # STC06
    payment_method: Annotated[str | None, E(7)] = None  # STC07
    check_date: Annotated[date | None, E(8)] = None  # STC08
    check_number: Annotated[str | None, E(9)] = None  # STC09
    second_category_code: Annotated[str | None, E(10, 1)] = None  # STC10-1
    second_status_code: Annotated[str | None, E(10, 2)] = None  # STC10-2
    second_entity_code: Annotated[str | None, E(10, 3)] = None  # STC10-3
    third_category_code: Annotated[str | None, E(11, 1)] = None  # STC11-1
    third_status_code: Annotated[str | None, E(11, 2)] = None  # STC11-2
    third_entity_code: Annotated[str | None, E(11, 3)] = None  # STC11-3
    message: Annotated[str | None, E(12)] = None  # STC12

    @property
    def accepted(self) -> bool:
        """True for acknowledgment categories that mean the claim entered adjudication (A1, A2, A5)."""
        return self.category_code in ("A1", "A2", "A5")

    @property
    def rejected(self) -> bool:
        """True for categories that mean "fix and resubmit" (A3, A6, A7, A8)."""
        return self.category_code in ("A3", "A6", "A7", "A8")


@dataclass(slots=True, kw_only=True)
class StatusSvc(Segment):
    """Service line information in claim status. Example: ``SVC*HC:99214*200.00*0~``"""

    segment_id: ClassVar[str] = "SVC"
    procedure_qualifier: Annotated[str, E(1, 1)]  # SVC01-1
    procedure_code: Annotated[str, E(1, 2)]  # SVC01-2
    modifiers: Annotated[list[str], E(1, 3, 6)] = field(default_factory=list)  # SVC01-3..6
    line_charge: Annotated[Decimal, E(2)]  # SVC02
    paid_amount: Annotated[Decimal | None, E(3)] = None  # SVC03
    revenue_code: Annotated[str | None, E(4)] = None  # SVC04
    units: Annotated[Decimal | None, E(7)] = None  # SVC07
