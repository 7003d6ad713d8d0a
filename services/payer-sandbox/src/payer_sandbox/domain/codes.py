"""Code values the sandbox payers answer with (X12 code lists, CARC/RARC), as enums."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AaaReason", "Carc", "ClaimStatusCategory", "Network", "PayerKind", "Rarc", "ServiceType"]


class ServiceType(StrEnum):
    """EQ01/EB03 service type codes the sandbox plans describe."""

    MEDICAL_CARE = "1"
    HEALTH_BENEFIT_PLAN = "30"
    CHIROPRACTIC = "33"
    HOSPITAL = "47"
    EMERGENCY = "86"
    PHARMACY = "88"
    OFFICE_VISIT = "98"
    URGENT_CARE = "UC"
    MENTAL_HEALTH = "MH"
    VISION = "AL"


class Network(StrEnum):
    """Whether the provider is in the plan's network (EB12 Y/N)."""

    IN = "in"
    OUT = "out"


class PayerKind(StrEnum):
    """The line of business a sandbox payer imitates."""

    MEDICARE = "medicare"
    MEDICAID = "medicaid"
    COMMERCIAL_PPO = "commercial-ppo"
    COMMERCIAL_HMO = "commercial-hmo"


class AaaReason(StrEnum):
    """AAA03 request validation reject reasons used by the sandbox."""

    UNABLE_TO_RESPOND = "42"  # 2100A: try again later
    PATIENT_NOT_FOUND = "67"  # 2100D: no such dependent
    BIRTH_DATE_MISMATCH = "71"
    INVALID_MEMBER_ID = "72"
    INVALID_NAME = "73"
    SUBSCRIBER_NOT_FOUND = "75"
    INVALID_PARTICIPANT = "79"  # 2100A: unknown payer id
    INVALID_BIRTH_DATE = "58"


class Carc(StrEnum):
    """Claim adjustment reason codes the sandbox adjudication uses."""

    DEDUCTIBLE = "1"
    COINSURANCE = "2"
    COPAY = "3"
    DIAGNOSIS_INCONSISTENT = "11"  # the procedure is inconsistent with the diagnosis
    LACKS_INFORMATION = "16"  # claim lacks information or has billing errors (the RARC says which)
    DUPLICATE = "18"
    OTHER_PAYER_PRIMARY = "22"  # may be covered by another payer per coordination of benefits
    PRIOR_PAYER = "23"  # the impact of prior payer(s) adjudication, including payments and adjustments
    COVERAGE_TERMINATED = "27"
    TIMELY_FILING = "29"
    FEE_SCHEDULE = "45"
    NOT_MEDICALLY_NECESSARY = "50"
    NON_COVERED = "96"
    BUNDLED = "97"
    PRIOR_AUTHORIZATION = "197"
    NOT_COVERED_BY_PLAN = "204"
    NCCI_INCOMPATIBLE = "236"
    OUT_OF_NETWORK = "242"


class Rarc(StrEnum):
    """Remittance advice remark codes sent with the denials (LQ*HE)."""

    BUNDLED_COMPONENT = "M15"  # separately billed services bundled as components of the same procedure
    MISSING_AUTHORIZATION = "M62"  # missing/incomplete/invalid treatment authorization code
    MISSING_DIAGNOSIS = "M76"  # missing/incomplete/invalid diagnosis or condition
    PRIMARY_PAYER_INFORMATION = "MA04"  # secondary payment cannot be considered without the primary's information
    INCOMPLETE_CLAIM = "MA130"  # incomplete/invalid information, unprocessable: submit a new claim
    NOT_COVERED_SAME_SESSION = "M80"  # not covered when performed during the same session as another service
    PATIENT_INELIGIBLE = "N30"  # patient ineligible for this service
    CONSULT_PLAN_DOCUMENTS = "N130"  # consult plan benefit documents for restrictions
    STATUTORILY_EXCLUDED = "N425"  # statutorily excluded service


class ClaimStatusCategory(StrEnum):
    """STC01-1 claim status categories (code list 507) the sandbox answers 277CAs and 277s with."""

    ACCEPTED = "A2"  # accepted into the adjudication system
    RETURNED_UNPROCESSABLE = "A3"
    NOT_FOUND = "A4"  # the claim cannot be found in the adjudication system
    REJECTED_INVALID = "A7"
    PENDING = "P1"  # in process: in the adjudication system, no remittance yet
    PAID = "F1"  # finalized, payment made
    DENIED = "F2"  # finalized, denied
    REVISED = "F3"  # finalized, adjudication since changed (reversed by a replacement or void)
    NO_PAYMENT = "F4"  # finalized, adjudication complete with no payment forthcoming
    SEARCH_UNSUCCESSFUL = "D0"  # the member asked about is unknown: no claims can be searched
    REQUEST_ERROR = "E0"  # the request itself cannot be answered (e.g. a payer id the sandbox does not know)
