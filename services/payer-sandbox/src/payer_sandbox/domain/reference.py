"""Small reference tables the sandbox payers adjudicate with: fee schedule, NCCI pairs, diagnosis code checks.

These are deliberately tiny, illustrative tables (not CMS's files): enough to make every denial reason and
write-off reproducible. The real code sets live in coding-svc; the sandbox must not depend on them, because it
plays the part of an outside payer whose edits ClaimFlow's own scrubber may or may not catch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from payer_sandbox.domain.codes import ServiceType

__all__ = [
    "DISTINCT_SERVICE_MODIFIERS",
    "NcciPair",
    "base_fee",
    "diagnosis_problem",
    "institutional_service_type",
    "ncci_pair",
    "service_type_for",
]

# Base allowed amounts per unit (Medicare-like national amounts, rounded); each payer applies its multiplier.
_BASE_FEES: dict[str, Decimal] = {
    code: Decimal(amount)
    for code, amount in {
        "99202": "75.00", "99203": "115.00", "99204": "170.00", "99205": "225.00",
        "99211": "25.00", "99212": "57.00", "99213": "92.00", "99214": "130.00", "99215": "183.00",
        "99283": "70.00", "99284": "120.00", "99285": "175.00", "99387": "140.00", "99397": "130.00",
        "36415": "3.00", "80053": "11.00", "85025": "8.00", "87880": "17.00", "81002": "4.00",
        "93000": "17.00", "93005": "8.00", "93010": "9.00", "71046": "30.00", "70553": "400.00", "73721": "230.00",
        "97110": "30.00", "97140": "28.00", "97530": "35.00", "96372": "15.00", "90471": "17.00", "90686": "20.00",
        "20610": "60.00", "27447": "1400.00", "22612": "1500.00", "94640": "15.00", "92015": "20.00",
        "15780": "450.00", "90834": "100.00", "90837": "140.00", "J1100": "0.15",
    }.items()
}  # fmt: skip
_UNLISTED_RATE = Decimal("0.60")  # unknown codes are allowed at 60 % of the charge ("usual and customary")


def base_fee(procedure_code: str) -> Decimal | None:
    """Base allowed amount per unit, or None when the code is not on the schedule."""
    return _BASE_FEES.get(procedure_code)


def unlisted_allowed(charge: Decimal) -> Decimal:
    """Allowed amount of a code that is not on the fee schedule."""
    return (charge * _UNLISTED_RATE).quantize(Decimal("0.01"))


def service_type_for(procedure_code: str, place_of_service: str) -> ServiceType:
    """The benefit category a line falls in, from its place of service and procedure code."""
    if place_of_service == "23" or procedure_code.startswith("9928"):
        return ServiceType.EMERGENCY
    if place_of_service == "20":
        return ServiceType.URGENT_CARE
    if place_of_service == "21":
        return ServiceType.HOSPITAL
    if procedure_code.startswith("908"):
        return ServiceType.MENTAL_HEALTH
    if re.fullmatch(r"992[01][1-5]", procedure_code):
        return ServiceType.OFFICE_VISIT
    return ServiceType.HEALTH_BENEFIT_PLAN


def institutional_service_type(revenue_codes: list[str], facility_type: str) -> ServiceType:
    """The benefit category of a whole institutional visit (UB-04), from its revenue codes and facility type.

    An emergency room visit (revenue 045x) is emergency care for every line of the bill, the way plans apply one
    ER copay per visit; 0456 is urgent care; any other hospital bill, inpatient (11x, 12x) or outpatient, is
    hospital care."""
    if "0456" in revenue_codes:
        return ServiceType.URGENT_CARE
    if any(code.startswith("045") for code in revenue_codes):
        return ServiceType.EMERGENCY
    if facility_type == "13" and all(code.startswith(("090", "091")) for code in revenue_codes):
        return ServiceType.MENTAL_HEALTH  # outpatient behavioral health
    return ServiceType.HOSPITAL


@dataclass(frozen=True, slots=True)
class NcciPair:
    """A procedure-to-procedure edit: column 2 is not paid with column 1 on the same day."""

    column_1: str
    column_2: str
    modifier_indicator: int  # 0 never together; 1 allowed with a distinct-service modifier


_NCCI = {
    (p.column_1, p.column_2): p
    for p in (
        NcciPair("93000", "93005", 0),
        NcciPair("93000", "93010", 0),
        NcciPair("97140", "97530", 1),
        NcciPair("97530", "97110", 1),
        NcciPair("20610", "96372", 1),
        NcciPair("99214", "96372", 1),
        NcciPair("80053", "36415", 1),
    )
}
DISTINCT_SERVICE_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU", "25"})


def ncci_pair(column_1: str, column_2: str) -> NcciPair | None:
    """The edit that applies when ``column_2`` is billed with ``column_1`` on the same day, if any."""
    return _NCCI.get((column_1, column_2))


_ICD10_FORMAT = re.compile(r"[A-TV-Z][0-9][0-9A-Z]([0-9A-Z]{1,4})?")
# Category headers that are not billable on their own (a more specific code exists).
_NOT_BILLABLE = frozenset({"J44", "E11", "M54", "S72", "J20", "Z00", "F32", "M25"})
# Codes valid only for part of the calendar: (first valid date, last valid date or None).
_VALIDITY: dict[str, tuple[date | None, date | None]] = {
    "U071": (date(2020, 4, 1), None),  # COVID-19, added April 2020
    "M545": (None, date(2021, 9, 30)),  # low back pain, split into M54.50/.51/.59 on 2021-10-01
    "M5450": (date(2021, 10, 1), None),
    "M5451": (date(2021, 10, 1), None),
    "M5459": (date(2021, 10, 1), None),
    "R051": (date(2020, 10, 1), None),  # acute cough (R05 became a category on 2020-10-01)
    "R059": (date(2020, 10, 1), None),
    "R05": (None, date(2020, 9, 30)),
}


def diagnosis_problem(code: str, date_of_service: date) -> str | None:
    """Why an ICD-10-CM code (sent without its dot) is invalid on the date of service, or None when it is valid."""
    if not _ICD10_FORMAT.fullmatch(code):
        return f"{code} is not an ICD-10-CM code"
    window = _VALIDITY.get(code)
    if window is not None:
        first, last = window
        if (first is not None and date_of_service < first) or (last is not None and date_of_service > last):
            return f"{code} is not valid on {date_of_service.isoformat()}"
        return None
    if code in _NOT_BILLABLE:
        return f"{code} is a category header, not a billable code"
    return None
