"""Segments shared by several implementation guides (names in billing terms, X12 element in the comment)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from claimflow_x12.errors import ElementErrorCode
from claimflow_x12.model import (
    E,
    ElementDecodeError,
    Segment,
    format_date,
    format_decimal,
    parse_date,
    parse_decimal,
)

_new = object.__new__
_fromiso = date.fromisoformat

__all__ = [
    "N1",
    "N3",
    "N4",
    "Aaa",
    "Adjustment",
    "Amt",
    "Bht",
    "Cas",
    "ClaimAdjustmentGroupCode",
    "ClaimFilingIndicatorCode",
    "DateFormatQualifier",
    "Dmg",
    "Dtm",
    "Dtp",
    "EntityTypeQualifier",
    "GenderCode",
    "HealthCareCode",
    "Hi",
    "Lx",
    "Msg",
    "Nm1",
    "Nte",
    "Pat",
    "PayerResponsibilityCode",
    "Per",
    "Prv",
    "Qty",
    "Ref",
    "Sbr",
    "St",
    "Trn",
]


class EntityTypeQualifier(StrEnum):
    """NM102: person or organization."""

    PERSON = "1"
    ORGANIZATION = "2"


class GenderCode(StrEnum):
    """DMG03 administrative sex."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class PayerResponsibilityCode(StrEnum):
    """SBR01 payer responsibility sequence (P primary, S secondary, T tertiary, A-H payers 4-11, U unknown)."""

    PRIMARY = "P"
    SECONDARY = "S"
    TERTIARY = "T"
    PAYER_4 = "A"
    PAYER_5 = "B"
    PAYER_6 = "C"
    PAYER_7 = "D"
    PAYER_8 = "E"
    PAYER_9 = "F"
    PAYER_10 = "G"
    PAYER_11 = "H"
    UNKNOWN = "U"


class ClaimFilingIndicatorCode(StrEnum):
    """SBR09 / CLP06 claim filing indicator: which kind of plan pays."""

    OTHER_NON_FEDERAL = "11"
    PPO = "12"
    POS = "13"
    EPO = "14"
    INDEMNITY = "15"
    HMO_MEDICARE_RISK = "16"
    DENTAL_MAINTENANCE = "17"
    AUTOMOBILE_MEDICAL = "AM"
    BLUE_CROSS_BLUE_SHIELD = "BL"
    CHAMPUS = "CH"
    COMMERCIAL = "CI"
    DISABILITY = "DS"
    FEP = "FI"
    HMO = "HM"
    LIABILITY_MEDICAL = "LM"
    MEDICARE_PART_A = "MA"
    MEDICARE_PART_B = "MB"
    MEDICAID = "MC"
    OTHER_FEDERAL = "OF"
    TITLE_V = "TV"
    VETERANS_AFFAIRS = "VA"
    WORKERS_COMPENSATION = "WC"
    MUTUALLY_DEFINED = "ZZ"


class ClaimAdjustmentGroupCode(StrEnum):
    """CAS01: who the adjustment is attributed to."""

    CONTRACTUAL = "CO"
    CORRECTION_REVERSAL = "CR"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    PATIENT_RESPONSIBILITY = "PR"


class DateFormatQualifier(StrEnum):
    """DTP02: a single date, a date range or a date and time."""

    DATE = "D8"
    RANGE = "RD8"
    DATE_TIME = "DT"


@dataclass(slots=True, kw_only=True)
class St(Segment):
    """Transaction set header. Example: ``ST*837*0001*005010X222A1~``"""

    segment_id: ClassVar[str] = "ST"
    transaction_set_id: Annotated[str, E(1)]  # ST01
    control_number: Annotated[str, E(2)]  # ST02
    implementation_reference: Annotated[str | None, E(3)] = None  # ST03


@dataclass(slots=True, kw_only=True)
class Bht(Segment):
    """Beginning of hierarchical transaction. Example: ``BHT*0019*00*BATCH1*20240105*1200*CH~``"""

    segment_id: ClassVar[str] = "BHT"
    structure_code: Annotated[str, E(1)]  # BHT01 (0019 claims, 0022 eligibility, 0010 status, 0085 277CA)
    purpose_code: Annotated[str, E(2)]  # BHT02 (00 original, 13 request, 11 response, 08 status)
    reference_id: Annotated[str | None, E(3)] = None  # BHT03
    created_date: Annotated[date | None, E(4)] = None  # BHT04
    created_time: Annotated[str | None, E(5)] = None  # BHT05
    transaction_type_code: Annotated[str | None, E(6)] = None  # BHT06 (CH chargeable, RP reporting, TH receipt)


@dataclass(slots=True, kw_only=True)
class Nm1(Segment):
    """Individual or organizational name. Example: ``NM1*85*2*SUNRISE CLINIC*****XX*1234567893~``"""

    segment_id: ClassVar[str] = "NM1"
    entity_identifier: Annotated[str, E(1)]  # NM101 (85 billing provider, IL insured, QC patient, PR payer...)
    entity_type: Annotated[EntityTypeQualifier, E(2)]  # NM102
    last_name_or_organization: Annotated[str | None, E(3)] = None  # NM103
    first_name: Annotated[str | None, E(4)] = None  # NM104
    middle_name: Annotated[str | None, E(5)] = None  # NM105
    name_prefix: Annotated[str | None, E(6)] = None  # NM106
    name_suffix: Annotated[str | None, E(7)] = None  # NM107
    id_qualifier: Annotated[str | None, E(8)] = None  # NM108 (XX NPI, MI member id, PI payer id, 46 ETIN...)
    identifier: Annotated[str | None, E(9)] = None  # NM109


@dataclass(slots=True, kw_only=True)
class N1(Segment):
    """Party identification (835). Example: ``N1*PE*SUNRISE CLINIC*XX*1234567893~``"""

    segment_id: ClassVar[str] = "N1"
    entity_identifier: Annotated[str, E(1)]  # N101 (PR payer, PE payee)
    name: Annotated[str | None, E(2)] = None  # N102
    id_qualifier: Annotated[str | None, E(3)] = None  # N103
    identifier: Annotated[str | None, E(4)] = None  # N104


@dataclass(slots=True, kw_only=True)
class N3(Segment):
    """Street address. Example: ``N3*100 MAIN ST*SUITE 2~``"""

    segment_id: ClassVar[str] = "N3"
    address_line_1: Annotated[str, E(1)]  # N301
    address_line_2: Annotated[str | None, E(2)] = None  # N302


@dataclass(slots=True, kw_only=True)
class N4(Segment):
    """City, state, ZIP. Example: ``N4*SPRINGFIELD*IL*627011234~``"""

    segment_id: ClassVar[str] = "N4"
    city: Annotated[str, E(1)]  # N401
    state: Annotated[str | None, E(2)] = None  # N402
    postal_code: Annotated[str | None, E(3)] = None  # N403
    country_code: Annotated[str | None, E(4)] = None  # N404
    country_subdivision: Annotated[str | None, E(7)] = None  # N407


@dataclass(slots=True, kw_only=True)
class Ref(Segment):
    """Reference identification. Example: ``REF*F8*PAYERCLAIM123~``"""

    segment_id: ClassVar[str] = "REF"
    qualifier: Annotated[str, E(1)]  # REF01 (EI tax id, F8 payer claim number, G1 prior auth, 6R line control...)
    value: Annotated[str, E(2)]  # REF02
    description: Annotated[str | None, E(3)] = None  # REF03


@dataclass(slots=True, kw_only=True)
class Per(Segment):
    """Contact information. Example: ``PER*IC*BILLING DESK*TE*5555551234*EM*BILLING@EXAMPLE.COM~``"""

    segment_id: ClassVar[str] = "PER"
    function_code: Annotated[str, E(1)]  # PER01 (IC information contact, BL technical)
    name: Annotated[str | None, E(2)] = None  # PER02
    number_qualifier_1: Annotated[str | None, E(3)] = None  # PER03 (TE phone, EM email, FX fax, UR url)
    number_1: Annotated[str | None, E(4)] = None  # PER04
    number_qualifier_2: Annotated[str | None, E(5)] = None  # PER05
    number_2: Annotated[str | None, E(6)] = None  # PER06
    number_qualifier_3: Annotated[str | None, E(7)] = None  # PER07
    number_3: Annotated[str | None, E(8)] = None  # PER08


@dataclass(slots=True, kw_only=True)
class Dtp(Segment):
    """Date or time period. Example: ``DTP*472*D8*20240105~`` or ``DTP*291*RD8*20240101-20241231~``"""

    segment_id: ClassVar[str] = "DTP"
    qualifier: str  # DTP01 (472 service, 431 onset, 434 statement, 291 plan, 573 adjudication...)
    date_format: DateFormatQualifier  # DTP02
    start: date  # DTP03 (first date)
    end: date | None = None  # DTP03 (range end, RD8)
    time: str | None = None  # DTP03 (HHMM, DT)

    @classmethod
    def decode_elements(cls, el: list[str], cs: str, rs: str, position: int) -> Dtp:
        """Convert DTP elements, splitting a D8/RD8/DT value into dates."""
        if len(el) == 4 and el[2] == "D8" and el[1] and len(el[3]) == 8 and el[3].isdigit():
            try:
                start = _fromiso(el[3])
            except ValueError:
                pass
            else:  # the common case, without the general path's checks
                segment = _new(cls)
                segment.qualifier = el[1]
                segment.date_format = DateFormatQualifier.DATE
                segment.start = start
                segment.end = None
                segment.time = None
                segment.position = position
                segment.extra_elements = None
                return segment
        return cls._decode_general(el, position)

    @classmethod
    def _decode_general(cls, el: list[str], position: int) -> Dtp:
        if len(el) < 4 or not el[1] or not el[2] or not el[3]:
            missing = next(i for i in (1, 2, 3) if len(el) <= i or not el[i])
            raise ElementDecodeError(missing, ElementErrorCode.REQUIRED_ELEMENT_MISSING, "DTP needs 3 elements")
        value = el[3]
        try:
            date_format = DateFormatQualifier(el[2])
        except ValueError:
            raise ElementDecodeError(
                2, ElementErrorCode.INVALID_CODE_VALUE, f"expected D8, RD8 or DT, got {el[2]!r}", value=el[2]
            ) from None
        try:
            if date_format is DateFormatQualifier.RANGE:
                first, _, last = value.partition("-")
                start, end, time = parse_date(first), parse_date(last), None
                if end < start:
                    raise ValueError("range ends before it starts")
            elif date_format is DateFormatQualifier.DATE_TIME:
                if len(value) != 12 or not value.isdigit():
                    raise ValueError("expected CCYYMMDDHHMM")
                start, end, time = parse_date(value[:8]), None, value[8:]
            else:
                start, end, time = parse_date(value), None, None
        except ValueError as exc:
            raise ElementDecodeError(
                3, ElementErrorCode.INVALID_DATE, f"invalid {el[2]} date {value!r}: {exc}"
            ) from None
        extra = {i: el[i] for i in range(4, len(el)) if el[i]} or None
        return cls(
            qualifier=el[1],
            date_format=date_format,
            start=start,
            end=end,
            time=time,
            position=position,
            extra_elements=extra,
        )

    def encode_elements(self, cs: str, rs: str) -> list[str]:
        """Write the DTP elements."""
        if self.date_format is DateFormatQualifier.RANGE:
            value = f"{format_date(self.start)}-{format_date(self.end or self.start)}"
        elif self.date_format is DateFormatQualifier.DATE_TIME:
            value = format_date(self.start) + (self.time or "0000")
        else:
            value = format_date(self.start)
        return ["DTP", self.qualifier, self.date_format.value, value]


@dataclass(slots=True, kw_only=True)
class Dtm(Segment):
    """Date/time reference (835). Example: ``DTM*232*20240105~``"""

    segment_id: ClassVar[str] = "DTM"
    qualifier: Annotated[str, E(1)]  # DTM01 (232/233 claim statement period, 472 service, 405 production, 050...)
    date: Annotated[date, E(2)]  # DTM02
    time: Annotated[str | None, E(3)] = None  # DTM03


@dataclass(slots=True, kw_only=True)
class Amt(Segment):
    """Monetary amount. Example: ``AMT*B6*80.00~``"""

    segment_id: ClassVar[str] = "AMT"
    qualifier: Annotated[str, E(1)]  # AMT01 (B6 allowed, AU coverage, D payer paid, F5 patient paid, EAF...)
    amount: Annotated[Decimal, E(2)]  # AMT02
    credit_debit_flag: Annotated[str | None, E(3)] = None  # AMT03


@dataclass(slots=True, kw_only=True)
class Qty(Segment):
    """Quantity. Example: ``QTY*90*12~``"""

    segment_id: ClassVar[str] = "QTY"
    qualifier: Annotated[str, E(1)]  # QTY01
    quantity: Annotated[Decimal, E(2)]  # QTY02


@dataclass(slots=True, kw_only=True)
class Nte(Segment):
    """Note. Example: ``NTE*ADD*PATIENT SEEN AFTER HOURS~``"""

    segment_id: ClassVar[str] = "NTE"
    reference_code: Annotated[str, E(1)]  # NTE01
    text: Annotated[str, E(2)]  # NTE02


@dataclass(slots=True, kw_only=True)
class Sbr(Segment):
    """Subscriber information. Example: ``SBR*P*18*GRP1234******CI~``"""

    segment_id: ClassVar[str] = "SBR"
    payer_responsibility: Annotated[PayerResponsibilityCode, E(1)]  # SBR01
    relationship_code: Annotated[str | None, E(2)] = None  # SBR02 (18 self; empty when a 2000C patient follows)
    group_number: Annotated[str | None, E(3)] = None  # SBR03
    group_name: Annotated[str | None, E(4)] = None  # SBR04
    insurance_type_code: Annotated[str | None, E(5)] = None  # SBR05 (secondary Medicare: 12, 13, 14...)
    claim_filing_indicator: Annotated[ClaimFilingIndicatorCode | None, E(9)] = None  # SBR09


@dataclass(slots=True, kw_only=True)
class Pat(Segment):
    """Patient information (patient ≠ subscriber). Example: ``PAT*19~``"""

    segment_id: ClassVar[str] = "PAT"
    relationship_code: Annotated[str | None, E(1)] = None  # PAT01 (01 spouse, 19 child, 20 employee, G8 other)
    date_format: Annotated[str | None, E(5)] = None  # PAT05
    date_of_death: Annotated[date | None, E(6)] = None  # PAT06
    weight_unit: Annotated[str | None, E(7)] = None  # PAT07
    weight: Annotated[Decimal | None, E(8)] = None  # PAT08
    pregnancy_indicator: Annotated[str | None, E(9)] = None  # PAT09


@dataclass(slots=True, kw_only=True)
class Dmg(Segment):
    """Demographics. Example: ``DMG*D8*19800101*F~``"""

    segment_id: ClassVar[str] = "DMG"
    date_format: Annotated[str, E(1)]  # DMG01 (D8)
    birth_date: Annotated[date, E(2)]  # DMG02
    gender: Annotated[GenderCode | None, E(3)] = None  # DMG03


@dataclass(slots=True, kw_only=True)
class Prv(Segment):
    """Provider specialty (taxonomy). Example: ``PRV*BI*PXC*207Q00000X~``"""

    segment_id: ClassVar[str] = "PRV"
    provider_code: Annotated[str, E(1)]  # PRV01 (BI billing, PE performing, AT attending, RF referring)
    reference_qualifier: Annotated[str, E(2)]  # PRV02 (PXC taxonomy)
    taxonomy_code: Annotated[str, E(3)]  # PRV03


@dataclass(slots=True, kw_only=True)
class Lx(Segment):
    """Line or header number. Example: ``LX*1~``"""

    segment_id: ClassVar[str] = "LX"
    assigned_number: Annotated[int, E(1)]  # LX01


@dataclass(slots=True, kw_only=True)
class Trn(Segment):
    """Trace number. Example: ``TRN*1*12345678*1999999999~``"""

    segment_id: ClassVar[str] = "TRN"
    trace_type_code: Annotated[str, E(1)]  # TRN01 (1 current transaction, 2 referenced transaction)
    reference_id: Annotated[str, E(2)]  # TRN02 (check/EFT number on an 835)
    originating_company_id: Annotated[str | None, E(3)] = None  # TRN03
    originating_company_supplemental_id: Annotated[str | None, E(4)] = None  # TRN04


@dataclass(slots=True, kw_only=True)
class Msg(Segment):
    """Free-form message text. Example: ``MSG*PLAN RENEWS ON JANUARY 1~``"""

    segment_id: ClassVar[str] = "MSG"
    text: Annotated[str, E(1)]  # MSG01


@dataclass(slots=True, kw_only=True)
class Aaa(Segment):
    """Request validation: why a request could not be answered. Example: ``AAA*N**72*C~``"""

    segment_id: ClassVar[str] = "AAA"
    valid_request: Annotated[str, E(1)]  # AAA01 (Y/N)
    reject_reason_code: Annotated[str | None, E(3)] = None  # AAA03 (72 invalid member id, 42 unable to respond...)
    follow_up_action_code: Annotated[str | None, E(4)] = None  # AAA04 (C correct and resubmit, R resubmit...)


@dataclass(slots=True)
class Adjustment:
    """One CAS reason/amount/quantity triple."""

    reason_code: str  # CAS02/05/08/11/14/17 (CARC)
    amount: Decimal  # CAS03/06/09/12/15/18
    quantity: Decimal | None = None  # CAS04/07/10/13/16/19


@dataclass(slots=True, kw_only=True)
class Cas(Segment):
    """Claim or line adjustment: a group code and up to six CARC triples. Example: ``CAS*CO*45*20.00**253*1.60~``"""

    segment_id: ClassVar[str] = "CAS"
    group_code: ClaimAdjustmentGroupCode  # CAS01
    adjustments: list[Adjustment] = field(default_factory=list)  # CAS02-CAS19

    @property
    def total(self) -> Decimal:
        """Sum of the adjustment amounts in this segment."""
        return sum((a.amount for a in self.adjustments), Decimal(0))

    @classmethod
    def decode_elements(cls, el: list[str], cs: str, rs: str, position: int) -> Cas:
        """Convert CAS elements into a group code and triples."""
        n = len(el)
        if n < 4 or not el[1]:
            raise ElementDecodeError(1, ElementErrorCode.REQUIRED_ELEMENT_MISSING, "CAS needs a group code")
        group = _CAS_GROUPS.get(el[1])
        if group is None:
            raise ElementDecodeError(1, ElementErrorCode.INVALID_CODE_VALUE, f"invalid CAS group code {el[1]!r}")
        if n > 20:
            raise ElementDecodeError(20, ElementErrorCode.TOO_MANY_ELEMENTS, "CAS has at most 19 elements")
        adjustments = []
        for start in range(2, n, 3):
            reason = el[start]
            amount = el[start + 1] if start + 1 < n else ""
            quantity = el[start + 2] if start + 2 < n else ""
            if not reason or not amount:
                if not reason and not amount and not quantity:
                    continue
                raise ElementDecodeError(
                    start if not reason else start + 1,
                    ElementErrorCode.CONDITIONAL_ELEMENT_MISSING,
                    "each CAS adjustment needs a reason code and an amount",
                )
            try:
                if not amount.lstrip("-").replace(".", "", 1).isdigit():
                    raise ValueError(amount)
                adjustments.append(Adjustment(reason, Decimal(amount), parse_decimal(quantity) if quantity else None))
            except (ValueError, ArithmeticError):
                raise ElementDecodeError(
                    start + 1, ElementErrorCode.INVALID_CHARACTER, f"invalid amount in {el!r}"
                ) from None
        segment = _new(cls)
        segment.group_code = group
        segment.adjustments = adjustments
        segment.position = position
        segment.extra_elements = None
        return segment

    def encode_elements(self, cs: str, rs: str) -> list[str]:
        """Write the CAS elements."""
        el = ["CAS", self.group_code.value]
        for adjustment in self.adjustments:
            quantity = format_decimal(adjustment.quantity) if adjustment.quantity is not None else ""
            el += [adjustment.reason_code, format_decimal(adjustment.amount), quantity]
        while not el[-1]:
            el.pop()
        return el


_CAS_GROUPS: dict[str, ClaimAdjustmentGroupCode] = {code.value: code for code in ClaimAdjustmentGroupCode}


@dataclass(slots=True)
class HealthCareCode:
    """One HI composite: qualifier (ABK principal diagnosis, ABF other, BE value code...) and code."""

    qualifier: str  # HIxx-1
    code: str  # HIxx-2
    date_format: str | None = None  # HIxx-3
    date_value: str | None = None  # HIxx-4
    amount: Decimal | None = None  # HIxx-5
    present_on_admission: str | None = None  # HIxx-9


@dataclass(slots=True, kw_only=True)
class Hi(Segment):
    """Health care codes: diagnoses, condition/occurrence/value codes. Example: ``HI*ABK:J449*ABF:E119~``"""

    segment_id: ClassVar[str] = "HI"
    codes: list[HealthCareCode] = field(default_factory=list)  # HI01-HI12

    @classmethod
    def decode_elements(cls, el: list[str], cs: str, rs: str, position: int) -> Hi:
        """Convert HI composites."""
        if len(el) > 13:
            raise ElementDecodeError(13, ElementErrorCode.TOO_MANY_ELEMENTS, "HI has at most 12 codes")
        codes = []
        for index in range(1, len(el)):
            if not el[index]:
                continue
            parts = el[index].split(cs)
            if len(parts) == 2 and parts[0] and parts[1]:  # the usual qualifier:code, built without __init__
                code = _new(HealthCareCode)
                code.qualifier, code.code = parts
                code.date_format = code.date_value = code.amount = code.present_on_admission = None
                codes.append(code)
                continue
            if len(parts) < 2 or not parts[0] or not parts[1]:
                raise ElementDecodeError(
                    index, ElementErrorCode.REQUIRED_ELEMENT_MISSING, "HI code needs a qualifier and a code", 2
                )
            if len(parts) > 9:
                raise ElementDecodeError(index, ElementErrorCode.TOO_MANY_COMPONENTS, "HI composite has 9 components")
            parts += [""] * (9 - len(parts))
            try:
                amount = parse_decimal(parts[4]) if parts[4] else None
            except ValueError:
                raise ElementDecodeError(index, ElementErrorCode.INVALID_CHARACTER, "invalid HI amount", 5) from None
            codes.append(
                HealthCareCode(parts[0], parts[1], parts[2] or None, parts[3] or None, amount, parts[8] or None)
            )
        segment = _new(cls)
        segment.codes = codes
        segment.position = position
        segment.extra_elements = None
        return segment

    def encode_elements(self, cs: str, rs: str) -> list[str]:
        """Write the HI composites."""
        el = ["HI"]
        for code in self.codes:
            parts = [
                code.qualifier,
                code.code,
                code.date_format or "",
                code.date_value or "",
                format_decimal(code.amount) if code.amount is not None else "",
                "",
                "",
                "",
                code.present_on_admission or "",
            ]
            el.append(cs.join(parts).rstrip(cs))
        return el
