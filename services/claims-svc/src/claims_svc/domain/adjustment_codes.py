"""What the remittance's reason and remark codes mean, and which denial family each belongs to.

CARCs (claim adjustment reason codes, CAS02/05...) say why an amount was not paid; RARCs (remittance advice
remark codes, LQ*HE and MOA/MIA) add detail. Meanings are paraphrased from the published X12 code lists;
codes not listed here are classified as ``other`` and shown with a pointer to the official list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RootCause(StrEnum):
    """Why a claim was denied, in the terms a billing office sorts its denial work by."""

    ELIGIBILITY = "eligibility"
    CODING = "coding"
    AUTHORIZATION = "authorization"
    TIMELY_FILING = "timely_filing"
    DUPLICATE = "duplicate"
    MEDICAL_NECESSITY = "medical_necessity"
    NON_COVERED = "non_covered"
    BUNDLING = "bundling"
    COORDINATION_OF_BENEFITS = "coordination_of_benefits"
    PROVIDER_ENROLLMENT = "provider_enrollment"
    OTHER = "other"


@dataclass(frozen=True)
class CarcRule:
    """A CARC's meaning and family; ``root_cause`` None means "the remark codes say why" (e.g. CARC 16)."""

    meaning: str
    root_cause: RootCause | None
    action: str | None = None  # more precise than the family's action, where the code calls for it


@dataclass(frozen=True)
class RarcRule:
    """A RARC's meaning and, when it names one, the family of problem it points at."""

    meaning: str
    root_cause: RootCause | None = None
    action: str | None = None


_E = RootCause.ELIGIBILITY
_C = RootCause.CODING
_A = RootCause.AUTHORIZATION
_N = RootCause.NON_COVERED
_M = RootCause.MEDICAL_NECESSITY
_B = RootCause.BUNDLING
_COB = RootCause.COORDINATION_OF_BENEFITS
_P = RootCause.PROVIDER_ENROLLMENT

PATIENT_SHARE_CARCS = frozenset({"1", "2", "3"})
"""Deductible, coinsurance, copay: with group PR the patient's share of a paid claim, never a denial."""

EXPECTED_ADJUSTMENT_CARCS = frozenset({"23", "24", "42", "45", "59", "94", "131", "144", "237", "253"})
"""Adjustments of a claim processed as agreed (prior payer's share, capitation, fee schedule, multiple-procedure
reduction, negotiated discount, incentive, regulatory penalty, sequestration): written off, never worked as denials."""

CARCS: dict[str, CarcRule] = {
    "4": CarcRule(
        "The procedure code is inconsistent with the modifier used, or a required modifier is missing.",
        _C,
        "Check the line's modifiers against the documentation (e.g. 25, 59 or XE/XS/XP/XU, LT/RT, 26/TC, 95) "
        "and send a replacement claim with the corrected modifiers.",
    ),
    "5": CarcRule(
        "The procedure code or type of bill is inconsistent with the place of service.",
        _C,
        "Check the place of service against where the service was performed (11 office, 22 outpatient hospital, "
        "02/10 telehealth) and send a replacement claim.",
    ),
    "6": CarcRule("The procedure is inconsistent with the patient's age.", _C),
    "7": CarcRule("The procedure is inconsistent with the patient's sex.", _C),
    "8": CarcRule("The procedure code is inconsistent with the provider type or specialty (taxonomy).", _P),
    "9": CarcRule("The diagnosis is inconsistent with the patient's age.", _C),
    "10": CarcRule("The diagnosis is inconsistent with the patient's sex.", _C),
    "11": CarcRule(
        "The diagnosis is inconsistent with the procedure.",
        _C,
        "Check that the diagnoses the line points to support the procedure (pointers, specificity): correct them "
        "and send a replacement claim, or appeal with the records if the coding was right.",
    ),
    "12": CarcRule("The diagnosis is inconsistent with the provider type.", _C),
    "15": CarcRule(
        "The authorization number is missing, invalid, or does not apply to the billed services or provider.",
        _A,
        "Find the authorization for this service and send a replacement claim with its number (REF*G1).",
    ),
    "16": CarcRule("The claim or service lacks information or has submission/billing errors.", None),
    "18": CarcRule("Exact duplicate claim or service.", RootCause.DUPLICATE),
    "19": CarcRule("Work-related injury or illness: the workers' compensation carrier is liable.", _COB),
    "20": CarcRule("The injury or illness is covered by the liability carrier.", _COB),
    "21": CarcRule("The injury or illness is the liability of the no-fault carrier.", _COB),
    "22": CarcRule("This care may be covered by another payer per coordination of benefits.", _COB),
    "26": CarcRule("Expenses incurred before coverage began.", _E),
    "27": CarcRule(
        "Expenses incurred after coverage terminated.",
        _E,
        "Verify the patient's coverage on the date of service: bill the plan that was active then, or the patient "
        "if there was none.",
    ),
    "29": CarcRule("The time limit for filing has expired.", RootCause.TIMELY_FILING),
    "31": CarcRule(
        "The patient cannot be identified as the payer's insured.",
        _E,
        "Check the member id, name and birth date against the insurance card (run an eligibility check) and send "
        "a corrected claim.",
    ),
    "32": CarcRule("The payer's records show the patient is not an eligible dependent.", _E),
    "33": CarcRule("The insured has no dependent coverage.", _E),
    "35": CarcRule("The lifetime benefit maximum has been reached.", _N),
    "39": CarcRule("Services were denied when authorization was requested.", _A),
    "40": CarcRule("The charges do not meet the qualifications for emergent or urgent care.", _M),
    "49": CarcRule("Non-covered: a routine or preventive exam, or a diagnostic exam done with one.", _N),
    "50": CarcRule("Non-covered: the payer does not deem the services a medical necessity.", _M),
    "51": CarcRule("Non-covered: pre-existing condition.", _N),
    "52": CarcRule("The referring, prescribing or rendering provider may not refer, order or perform this.", _P),
    "55": CarcRule("The procedure, treatment or drug is deemed experimental or investigational.", _M),
    "56": CarcRule("The procedure or treatment has not been deemed proven to be effective.", _M),
    "58": CarcRule("The treatment was rendered in an inappropriate or invalid place of service.", _C),
    "62": CarcRule("Denied or reduced for absent or exceeded precertification/authorization.", _A),
    "96": CarcRule("Non-covered charge(s) (the remark codes say why).", _N),
    "97": CarcRule(
        "The benefit for this service is included in the payment for another service already adjudicated.", _B
    ),
    "109": CarcRule(
        "Not covered by this payer: the claim must go to the correct payer.",
        _E,
        "Find the payer that covered the patient on the date of service (eligibility check, insurance card) and "
        "bill that payer.",
    ),
    "119": CarcRule("The benefit maximum for this period or occurrence has been reached.", _N),
    "125": CarcRule("Submission or billing error(s).", None),
    "140": CarcRule("The patient's or insured's health identification number and name do not match.", _E),
    "146": CarcRule("The diagnosis was invalid for the date of service.", _C),
    "150": CarcRule("The information submitted does not support this level of service.", _C),
    "151": CarcRule("The information submitted does not support this many or this frequency of services.", _M),
    "167": CarcRule(
        "This diagnosis (these diagnoses) is not covered.",
        _M,
        "Check the diagnoses against the payer's coverage policy for the service: if the record supports a covered "
        "diagnosis, send a replacement claim; otherwise appeal with the records, or bill the patient if a waiver "
        "(ABN) was signed.",
    ),
    "170": CarcRule("Payment is denied when performed or billed by this type of provider.", _P),
    "177": CarcRule("The patient has not met the required eligibility requirements.", _E),
    "181": CarcRule("The procedure code was invalid on the date of service.", _C),
    "182": CarcRule("The procedure modifier was invalid on the date of service.", _C),
    "183": CarcRule("The referring provider is not eligible to refer the service billed.", _P),
    "185": CarcRule("The rendering provider is not eligible to perform the service billed.", _P),
    "189": CarcRule("An unlisted or 'not otherwise classified' code was billed when a specific code exists.", _C),
    "197": CarcRule("Precertification/authorization/notification is absent.", _A),
    "198": CarcRule("Precertification/authorization/notification was exceeded.", _A),
    "200": CarcRule("Expenses incurred during a lapse in coverage.", _E),
    "204": CarcRule("This service, equipment or drug is not covered under the patient's current benefit plan.", _N),
    "206": CarcRule("The National Provider Identifier is missing.", _P),
    "207": CarcRule("The National Provider Identifier is invalid.", _P),
    "208": CarcRule("The National Provider Identifier is not matched.", _P),
    "226": CarcRule(
        "Information requested from the billing or rendering provider was not provided or was incomplete.",
        None,
        "Send the payer the information it asked for (the remark codes say what) and ask for reprocessing.",
    ),
    "227": CarcRule(
        "Information requested from the patient or insured was not provided or was incomplete.",
        None,
        "Ask the patient to answer the payer's request (e.g. an accident or other-insurance questionnaire), then "
        "ask the payer to reprocess.",
    ),
    "234": CarcRule("This procedure is not paid separately.", _B),
    "236": CarcRule(
        "This procedure or procedure/modifier combination is not compatible with another procedure on the same day "
        "(NCCI).",
        _B,
    ),
    "242": CarcRule(
        "Services not provided by network/primary care providers.",
        _P,
        "Check the provider's network participation with this payer for the date of service: if the provider is in "
        "network, ask provider relations to correct it and reprocess; if not, bill the patient as the plan allows "
        "or write the charge off.",
    ),
    "243": CarcRule("Services not authorized by network/primary care providers.", _A),
    "252": CarcRule(
        "An attachment or other documentation is required to adjudicate this claim or service.",
        None,
        "Send the documentation the payer asked for (the remark codes say which) as a claim attachment (PWK) or "
        "through the payer's portal.",
    ),
    "288": CarcRule("Referral absent.", _A),
    "A1": CarcRule("Claim or service denied (the remark codes say why).", None),
    "B5": CarcRule("Coverage or program guidelines were not met or were exceeded.", _M),
    "B7": CarcRule("This provider was not certified or eligible to be paid for this service on this date.", _P),
    "B9": CarcRule("The patient is enrolled in a hospice.", _COB),
    "B13": CarcRule(
        "Previously paid: payment for this service may have been made in an earlier payment.", RootCause.DUPLICATE
    ),
}

NO_APPEAL_RARCS = frozenset({"MA130", "N211"})
"""Remarks that take away appeal rights: the claim was unprocessable (send a new one) or the decision is final."""

RARCS: dict[str, RarcRule] = {
    "M15": RarcRule("Separately billed services or tests were bundled as components of the same procedure.", _B),
    "M20": RarcRule("Missing, incomplete or invalid HCPCS code.", _C),
    "M51": RarcRule("Missing, incomplete or invalid procedure code(s).", _C),
    "M62": RarcRule("Missing, incomplete or invalid treatment authorization code.", _A),
    "M76": RarcRule("Missing, incomplete or invalid diagnosis or condition.", _C),
    "M77": RarcRule("Missing, incomplete or invalid place of service.", _C),
    "M80": RarcRule("Not covered when performed in the same session or on the same date as another service.", _B),
    "M86": RarcRule("Denied because payment was already made for the same or a similar service.", RootCause.DUPLICATE),
    "M119": RarcRule("Missing, incomplete, invalid, deactivated or withdrawn National Drug Code (NDC).", _C),
    "M127": RarcRule("Missing patient medical record for this service.", _M),
    "MA04": RarcRule(
        "Secondary payment cannot be considered without the primary payer's identity or payment information.",
        _COB,
        "Send this payer the claim again with the primary payer's adjudication (2320/2430 loops) or its EOB.",
    ),
    "MA18": RarcRule("The claim information is also being forwarded to the patient's supplemental insurer."),
    "MA27": RarcRule("Missing, incomplete or invalid entitlement number or name shown on the claim.", _E),
    "MA61": RarcRule("Missing, incomplete or invalid Social Security or health insurance claim number.", _E),
    "MA130": RarcRule(
        "The claim has incomplete or invalid information and is unprocessable: no appeal rights; submit a new "
        "claim with the complete and correct information.",
        None,
        "Correct the claim (the other remark codes say what was missing or invalid) and send it again as a new "
        "claim; an unprocessable claim has no appeal rights.",
    ),
    "N30": RarcRule("Patient ineligible for this service.", _E),
    "N54": RarcRule("The claim information is inconsistent with the pre-certified or authorized services.", _A),
    "N56": RarcRule("The procedure code billed is not correct or valid for the services or date billed.", _C),
    "N95": RarcRule("This provider type or specialty may not bill this service.", _P),
    "N115": RarcRule("This decision was based on a Local Coverage Determination (LCD).", _M),
    "N130": RarcRule("Consult the plan's benefit documents or guidelines for restrictions on this service.", _N),
    "N211": RarcRule("You may not appeal this decision."),
    "N265": RarcRule(
        "Missing, incomplete or invalid ordering provider primary identifier.",
        _P,
        "Add the ordering provider's NPI (2420E) and send a corrected claim.",
    ),
    "N286": RarcRule(
        "Missing, incomplete or invalid referring provider primary identifier.",
        _P,
        "Add the referring provider's NPI (2310A) and send a corrected claim.",
    ),
    "N290": RarcRule(
        "Missing, incomplete or invalid rendering provider primary identifier.",
        _P,
        "Put the rendering provider's NPI as enrolled with this payer on the claim (2310B) and send a corrected claim.",
    ),
    "N382": RarcRule("Missing, incomplete or invalid patient identifier.", _E),
    "N386": RarcRule("This decision was based on a National Coverage Determination (NCD).", _M),
    "N425": RarcRule("Statutorily excluded service(s).", _N),
    "N479": RarcRule("Missing Explanation of Benefits (coordination of benefits or Medicare secondary payer).", _COB),
    "N519": RarcRule("Invalid combination of HCPCS modifiers.", _C),
    "N522": RarcRule("Duplicate of a claim processed, or to be processed, as a crossover claim.", RootCause.DUPLICATE),
    "N822": RarcRule("Missing procedure modifier(s).", _C),
    "N823": RarcRule("Incomplete or invalid procedure modifier(s).", _C),
}


def carc_meaning(carc: str) -> str:
    """What a CARC means (paraphrased), or where to look it up."""
    rule = CARCS.get(carc)
    return rule.meaning if rule else f"Reason code {carc} (see the X12 claim adjustment reason code list)."


def rarc_meaning(rarc: str) -> str:
    """What a RARC means (paraphrased), or where to look it up."""
    rule = RARCS.get(rarc)
    return rule.meaning if rule else f"Remark code {rarc} (see the X12 remittance advice remark code list)."
