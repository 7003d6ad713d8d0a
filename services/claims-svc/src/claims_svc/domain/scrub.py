"""Front-end edits run before a claim leaves: each failure says what is wrong and how to fix it.

These are the reasons clearinghouses and payers reject claims at the door (999/277CA); catching them here
turns a rejection days later into a work-queue item now.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from claimflow_x12 import npi_is_valid
from claims_svc.domain.claim import Address, ProfessionalClaim
from claims_svc.domain.cob import imbalances

_ICD = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


class ScrubCode(StrEnum):
    """Stable identifiers of the scrubber rules (stored on work items: never rename)."""

    PAYER_UNKNOWN = "PAYER_UNKNOWN"
    MEMBER_ID_MISSING = "MEMBER_ID_MISSING"
    MEMBER_ID_FORMAT = "MEMBER_ID_FORMAT"
    BILLING_NPI_INVALID = "BILLING_NPI_INVALID"
    RENDERING_NPI_INVALID = "RENDERING_NPI_INVALID"
    TAX_ID_INVALID = "TAX_ID_INVALID"
    BILLING_ADDRESS_MISSING = "BILLING_ADDRESS_MISSING"
    PATIENT_ADDRESS_MISSING = "PATIENT_ADDRESS_MISSING"
    SUBSCRIBER_ADDRESS_MISSING = "SUBSCRIBER_ADDRESS_MISSING"
    DIAGNOSIS_MISSING = "DIAGNOSIS_MISSING"
    DIAGNOSIS_POINTER_INVALID = "DIAGNOSIS_POINTER_INVALID"
    CHARGE_MISSING = "CHARGE_MISSING"
    TOTAL_ZERO = "TOTAL_ZERO"
    TIMELY_FILING = "TIMELY_FILING"
    PRIOR_AUTH_MISSING = "PRIOR_AUTH_MISSING"
    CORRECTION_REFERENCE_MISSING = "CORRECTION_REFERENCE_MISSING"
    DUPLICATE = "DUPLICATE"
    EARLIER_VERSION_SENT = "EARLIER_VERSION_SENT"
    OTHER_PAYER_UNKNOWN = "OTHER_PAYER_UNKNOWN"
    OTHER_MEMBER_ID_MISSING = "OTHER_MEMBER_ID_MISSING"
    OTHER_MEMBER_ID_FORMAT = "OTHER_MEMBER_ID_FORMAT"
    OTHER_PAYER_UNBALANCED = "OTHER_PAYER_UNBALANCED"
    OTHER_PAYER_REVERSED = "OTHER_PAYER_REVERSED"
    REVENUE_CODE_MISSING = "REVENUE_CODE_MISSING"
    ATTENDING_NPI_INVALID = "ATTENDING_NPI_INVALID"


@dataclass(frozen=True)
class ScrubFinding:
    """One failed rule: where, why, and what to do."""

    code: ScrubCode
    message: str
    fix: str
    line_number: int | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (work queue, API)."""
        return {"code": self.code.value, "message": self.message, "fix": self.fix, "line_number": self.line_number}


@dataclass(frozen=True)
class PayerRules:
    """What one payer requires (the defaults fit most commercial payers)."""

    name: str
    member_id_pattern: str = r"^[0-9A-Z]{2,20}$"
    timely_filing_days: int = 90
    prior_auth_codes: frozenset[str] = frozenset()
    claim_filing: str = "CI"  # SBR09 claim filing indicator of the payer's plans
    corrected_lines: bool = False  # takes a new claim of corrected lines only (else the whole claim is replaced)


@dataclass(frozen=True)
class SentVersion:
    """The sent claim of an earlier version of a claim's EHR encounter: its id and the payer it went to."""

    claim_id: str
    payer_id: str | None


@dataclass(frozen=True)
class ScrubContext:
    """What the rules need besides the claim."""

    today: date
    payers: Mapping[str, PayerRules]
    already_submitted: Callable[[ProfessionalClaim], str | None] = field(default=lambda _claim: None)
    # The sent claim of an earlier version of the claim's EHR encounter, if any.
    earlier_version_sent: Callable[[ProfessionalClaim], SentVersion | None] = field(default=lambda _claim: None)


def _address_complete(address: Address | None) -> bool:
    return (
        address is not None
        and bool(address.line1 and address.city)
        and len(address.state) == 2
        and address.postal_code.isdigit()
        and len(address.postal_code) in (5, 9)
    )


def scrub(claim: ProfessionalClaim, context: ScrubContext) -> list[ScrubFinding]:
    """Every rule the claim fails, in a stable order (empty: the claim is clean)."""
    findings: list[ScrubFinding] = []
    add = findings.append
    rules = context.payers.get(claim.payer.payer_id)
    if rules is None:
        add(
            ScrubFinding(
                ScrubCode.PAYER_UNKNOWN,
                f"Payer id {claim.payer.payer_id!r} is not a payer this clearinghouse knows.",
                "Check the payer id on the insurance card against the payer list and correct the encounter.",
            )
        )
    if not claim.member_id:
        add(
            ScrubFinding(
                ScrubCode.MEMBER_ID_MISSING,
                "The subscriber's member id is missing.",
                "Copy the member id from the insurance card into the patient's coverage.",
            )
        )
    elif rules is not None and not re.fullmatch(rules.member_id_pattern, claim.member_id):
        add(
            ScrubFinding(
                ScrubCode.MEMBER_ID_FORMAT,
                f"Member id does not have {rules.name}'s format.",
                "Re-check the member id on the card (prefix letters, no spaces or dashes).",
            )
        )
    if not npi_is_valid(claim.billing.npi):
        add(
            ScrubFinding(
                ScrubCode.BILLING_NPI_INVALID,
                "The billing provider NPI fails the NPI check digit.",
                "Correct the practice's billing NPI in the directory (NPPES lists the right one).",
            )
        )
    if not npi_is_valid(claim.rendering_npi):
        add(
            ScrubFinding(
                ScrubCode.RENDERING_NPI_INVALID,
                "The rendering provider NPI fails the NPI check digit.",
                "Correct the rendering provider's NPI on the encounter.",
            )
        )
    if not (len(claim.billing.tax_id) == 9 and claim.billing.tax_id.isdigit()):
        add(
            ScrubFinding(
                ScrubCode.TAX_ID_INVALID,
                "The billing provider tax id must be 9 digits.",
                "Correct the practice's EIN/SSN in the directory.",
            )
        )
    if not _address_complete(claim.billing.address):
        add(
            ScrubFinding(
                ScrubCode.BILLING_ADDRESS_MISSING,
                "The billing provider has no complete street address (a P.O. box is not allowed here).",
                "Add the practice's street address, city, state and ZIP+4 in the directory.",
            )
        )
    if not _address_complete(claim.card_holder.address):
        code = ScrubCode.SUBSCRIBER_ADDRESS_MISSING if claim.subscriber else ScrubCode.PATIENT_ADDRESS_MISSING
        add(
            ScrubFinding(
                code,
                "The subscriber's address is missing or incomplete.",
                "Ask the EHR to send the patient's (or card holder's) home address with the encounter.",
            )
        )
    if claim.subscriber is not None and not _address_complete(claim.patient.address):
        add(
            ScrubFinding(
                ScrubCode.PATIENT_ADDRESS_MISSING,
                "The patient (a dependent) has no complete address.",
                "Send the patient's address with the encounter.",
            )
        )
    findings.extend(_diagnosis_rules(claim))
    findings.extend(_charge_rules(claim))
    # A later payer's filing limit runs from the earlier payer's adjudication (its 835), not the date of service.
    adjudicated = [c.adjudication.adjudication_date for c in claim.prior_payers if c.adjudication is not None]
    filing_from = max(adjudicated, default=claim.date_of_service)
    if rules is not None and filing_from + timedelta(days=rules.timely_filing_days) < context.today:
        since = "the earlier payer's adjudication" if adjudicated else "the date of service"
        add(
            ScrubFinding(
                ScrubCode.TIMELY_FILING,
                f"{rules.name} accepts claims up to {rules.timely_filing_days} days after {since}; "
                f"this one is {(context.today - filing_from).days} days past it.",
                "File only with proof of timely filing (an earlier acceptance) or write the claim off.",
            )
        )
    if rules is not None and not claim.prior_authorization:
        for line in claim.lines:
            if line.procedure_code in rules.prior_auth_codes:
                add(
                    ScrubFinding(
                        ScrubCode.PRIOR_AUTH_MISSING,
                        f"{rules.name} requires prior authorization for {line.procedure_code}.",
                        "Enter the authorization number (REF*G1) or request one before billing.",
                        line.line_number,
                    )
                )
    if claim.frequency_code in ("7", "8") and not claim.payer_claim_number:
        add(
            ScrubFinding(
                ScrubCode.CORRECTION_REFERENCE_MISSING,
                "A replacement or void must name the payer's claim number of the original (REF*F8).",
                "Take the payer claim control number from the 835 or 277CA of the original claim.",
            )
        )
    findings.extend(_other_payer_rules(claim, context))
    findings.extend(_institutional_rules(claim))
    earlier = context.earlier_version_sent(claim) if claim.frequency_code == "1" else None
    if earlier is not None and earlier.payer_id == claim.payer.payer_id:
        add(
            ScrubFinding(
                ScrubCode.EARLIER_VERSION_SENT,
                f"The EHR changed this encounter after an earlier version of it was sent on claim {earlier.claim_id}.",
                f"Send a replacement (frequency 7) of claim {earlier.claim_id} with these codes, then cancel this "
                "claim.",
            )
        )
    elif earlier is not None:  # the payer changed: the payer that has the visit is not this claim's
        add(
            ScrubFinding(
                ScrubCode.EARLIER_VERSION_SENT,
                f"The EHR changed this encounter after an earlier version of it was sent on claim {earlier.claim_id} "
                f"to payer {earlier.payer_id}, and this claim goes to payer {claim.payer.payer_id}.",
                f"Void claim {earlier.claim_id} (frequency 8) if that payer was wrong, then scrub this claim again; "
                "otherwise cancel this claim.",
            )
        )
    duplicate_of = context.already_submitted(claim) if claim.frequency_code == "1" else None
    if duplicate_of is not None:
        add(
            ScrubFinding(
                ScrubCode.DUPLICATE,
                f"The same services for this patient and date are already billed on claim {duplicate_of}.",
                "A second visit that day: have the EHR send the encounter again with the modifier that says so (25, "
                "59, 76 or 77). Something changed: send a replacement (frequency 7) of that claim. Otherwise cancel "
                "this claim.",
            )
        )
    return findings


def _other_payer_rules(claim: ProfessionalClaim, context: ScrubContext) -> list[ScrubFinding]:
    """The patient's other plans (2320/2330) must be payers the clearinghouse knows, with a well-formed member id,
    and an earlier payer's adjudication must account for the charges (the next payer rejects it otherwise)."""
    findings = []
    for coverage in claim.other_coverages:
        rules = context.payers.get(coverage.payer.payer_id)
        if rules is None:
            findings.append(
                ScrubFinding(
                    ScrubCode.OTHER_PAYER_UNKNOWN,
                    f"The {coverage.sequence} payer id {coverage.payer.payer_id!r} is not a payer this "
                    "clearinghouse knows.",
                    "Check the payer id on the patient's other insurance card and correct the encounter.",
                )
            )
        if not coverage.member_id:
            findings.append(
                ScrubFinding(
                    ScrubCode.OTHER_MEMBER_ID_MISSING,
                    f"The {coverage.sequence} plan's member id is missing.",
                    "Copy the member id from the patient's other insurance card into the encounter.",
                )
            )
        elif rules is not None and not re.fullmatch(rules.member_id_pattern, coverage.member_id):
            findings.append(
                ScrubFinding(
                    ScrubCode.OTHER_MEMBER_ID_FORMAT,
                    f"The {coverage.sequence} plan's member id does not have {rules.name}'s format.",
                    "Re-check the member id on the patient's other insurance card.",
                )
            )
    findings.extend(
        ScrubFinding(
            ScrubCode.OTHER_PAYER_REVERSED,
            f"The {coverage.sequence} payer reversed its payment (CLP02 22) and has not adjudicated the claim again.",
            "Nothing to do: the claim is built again from the payer's corrected 835 when it is posted.",
        )
        for coverage in claim.other_coverages
        if coverage.adjudication is not None and coverage.adjudication.reversed
    )
    findings.extend(
        ScrubFinding(
            ScrubCode.OTHER_PAYER_UNBALANCED,
            f"The earlier payer's adjudication does not balance: {problem}.",
            "Compare the claim with the earlier payer's 835; post a corrected remittance or fix the charges.",
        )
        for problem in imbalances(claim)
    )
    return findings


def _institutional_rules(claim: ProfessionalClaim) -> list[ScrubFinding]:
    """What an 837I needs beyond the common claim: a revenue code on every line, a valid attending NPI."""
    if claim.institutional is None:
        return []
    findings = [
        ScrubFinding(
            ScrubCode.REVENUE_CODE_MISSING,
            f"Line {line.line_number} has no revenue code (an institutional line is billed by revenue code).",
            "Add the NUBC revenue code of the department that provided the service (e.g. 0450 emergency room).",
            line.line_number,
        )
        for line in claim.lines
        if not line.revenue_code
    ]
    if not npi_is_valid(claim.institutional.attending_npi):
        findings.append(
            ScrubFinding(
                ScrubCode.ATTENDING_NPI_INVALID,
                "The attending provider NPI fails the NPI check digit.",
                "Correct the attending physician's NPI on the encounter (NPPES lists the right one).",
            )
        )
    return findings


def _diagnosis_rules(claim: ProfessionalClaim) -> list[ScrubFinding]:
    findings = []
    if not claim.diagnoses or not all(_ICD.fullmatch(code) for code in claim.diagnoses):
        findings.append(
            ScrubFinding(
                ScrubCode.DIAGNOSIS_MISSING,
                "The claim needs at least one well-formed ICD-10-CM diagnosis.",
                "Send the encounter back to coding.",
            )
        )
    for line in claim.lines if claim.institutional is None else ():  # an 837I line points at no diagnosis
        pointers = line.diagnosis_pointers
        if not pointers or len(pointers) > 4 or any(p < 1 or p > min(len(claim.diagnoses), 12) for p in pointers):
            findings.append(
                ScrubFinding(
                    ScrubCode.DIAGNOSIS_POINTER_INVALID,
                    f"Line {line.line_number} must point to 1-4 of the claim's diagnoses.",
                    "Fix the line's diagnosis pointers in the coder work queue.",
                    line.line_number,
                )
            )
    return findings


def _charge_rules(claim: ProfessionalClaim) -> list[ScrubFinding]:
    findings = [
        ScrubFinding(
            ScrubCode.CHARGE_MISSING,
            f"Line {line.line_number} ({line.procedure_code}) has no charge and the fee schedule has none.",
            "Add the procedure to the practice's fee schedule or send the charge with the encounter.",
            line.line_number,
        )
        for line in claim.lines
        if line.charge is None
    ]
    if not findings and claim.total_charge <= Decimal(0) and claim.frequency_code != "8":
        findings.append(
            ScrubFinding(
                ScrubCode.TOTAL_ZERO,
                "The claim's total charge is zero.",
                "Zero-charge claims are only sent when the payer asks for them (encounter data); check the charges.",
            )
        )
    return findings
