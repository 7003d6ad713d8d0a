"""Value types shared by event payloads."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

Money = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2),
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}, mode="serialization"),
]
"""A dollar amount: Decimal in Python, a string such as "125.00" on the wire."""

IcdCode = Annotated[str, Field(pattern=r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")]
ProcedureCode = Annotated[str, Field(pattern=r"^[0-9A-Z]{5}$")]
Modifier = Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
Npi = Annotated[str, Field(pattern=r"^[0-9]{10}$")]
PlaceOfService = Annotated[str, Field(pattern=r"^[0-9]{2}$")]


class Frozen(BaseModel):
    """Base for immutable contract models; unknown fields from newer producers are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class ClaimKind(StrEnum):
    """Professional claims go out as 837P / CMS-1500, institutional as 837I / UB-04."""

    PROFESSIONAL = "professional"
    INSTITUTIONAL = "institutional"


class PayerSequence(StrEnum):
    """Order of a payer for one claim (SBR01 P/S/T)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    TERTIARY = "tertiary"


class ClaimAdjustmentGroup(StrEnum):
    """CAS01 claim adjustment group codes."""

    CONTRACTUAL = "CO"
    PATIENT_RESPONSIBILITY = "PR"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    CORRECTION_REVERSAL = "CR"


class ServiceLine(Frozen):
    """One procedure line as coded: code, modifiers, units, diagnosis pointers."""

    line_number: int = Field(ge=1)
    procedure_code: ProcedureCode
    modifiers: tuple[Modifier, ...] = Field(default=(), max_length=4)
    units: Decimal = Field(gt=0, max_digits=9, decimal_places=3)
    diagnosis_pointers: tuple[int, ...] = Field(default=(), max_length=4)
    charge: Money | None = None
    service_date: str | None = Field(default=None, description="ISO date when it differs from the encounter's.")
    revenue_code: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="NUBC revenue code (institutional claims, SV201)."
    )


class Adjustment(Frozen):
    """One CAS adjustment: group code, CARC and amount; at claim level when no line is named."""

    group_code: ClaimAdjustmentGroup
    carc: str = Field(pattern=r"^[0-9A-Z]{1,5}$", description="Claim adjustment reason code.")
    amount: Money
    line_item_control_number: str | None = None
