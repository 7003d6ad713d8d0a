"""Denial management rules: why a claim was denied, who fixes it, what to do, and by when an appeal is due.

Documented choices where billing practice leaves room:

- What is a denial: every CAS adjustment except the patient's share of a paid claim (group PR with CARC 1, 2
  or 3), adjustments of a claim processed as agreed (``EXPECTED_ADJUSTMENT_CARCS``: fee schedule, capitation,
  sequestration... in any group) and correction/reversal entries (group CR). A remittance with nothing else has
  nothing to work. Other PR amounts (e.g. PR-96 with a signed waiver) are denials the patient was made liable for.
- Dominant reason (precedence rule): the amounts of the denial adjustments are added up per CARC (claim and
  line level together); the CARC with the largest total decides the root cause, owner and action, because the
  work item is worked for the money. Ties go to the family that must be fixed first, in ``PRECEDENCE`` order
  (a claim filed too late, for a patient the payer does not cover, or billed to the wrong payer or by a provider
  it does not know is not paid whatever else is fixed), then to the lower code.
- Codes that defer to the remarks (CARC 16, 125, 226, 227, 252, A1) take the family of their remark codes,
  the first in ``PRECEDENCE`` order that names one; with none they are ``other``.
- MA130 (unprocessable) and N211 (no appeal) take away appeal rights whatever the family.
- Appeal deadline: the remittance date plus the payer's appeal window (Medicare's redetermination window is
  120 days; most commercial payers give 180).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from claims_svc.domain.adjustment_codes import (
    CARCS,
    EXPECTED_ADJUSTMENT_CARCS,
    NO_APPEAL_RARCS,
    PATIENT_SHARE_CARCS,
    RARCS,
    RootCause,
    carc_meaning,
    rarc_meaning,
)
from claims_svc.domain.claim import ClaimLine

DEFAULT_APPEAL_WINDOW_DAYS = 180
MEDICARE_REDETERMINATION_DAYS = 120


class Owner(StrEnum):
    """Who in the billing office works the denial."""

    FRONT_DESK = "front_desk"  # registration, insurance and authorizations
    CODER = "coder"
    BILLER = "biller"


@dataclass(frozen=True)
class Family:
    """How a root cause is worked."""

    owner: Owner
    action: str
    appealable: bool
    correctable: bool


FAMILIES: dict[RootCause, Family] = {
    RootCause.TIMELY_FILING: Family(
        Owner.BILLER,
        "Appeal only with proof of timely filing (the clearinghouse acceptance report of the first submission); "
        "without proof write the balance off: it may not be billed to the patient.",
        appealable=True,
        correctable=False,
    ),
    RootCause.ELIGIBILITY: Family(
        Owner.FRONT_DESK,
        "Verify the patient's coverage for the date of service (run an eligibility check): correct the member id, "
        "name or birth date and send a corrected claim, bill the plan that was active, or bill the patient if "
        "there was no coverage.",
        appealable=False,
        correctable=True,
    ),
    RootCause.COORDINATION_OF_BENEFITS: Family(
        Owner.BILLER,
        "Ask the patient about other coverage and update it: bill the primary payer first, then send this payer "
        "the claim with the primary payer's payment information.",
        appealable=False,
        correctable=True,
    ),
    RootCause.PROVIDER_ENROLLMENT: Family(
        Owner.BILLER,
        "Check the provider's enrollment and credentialing with this payer for the date of service: fix the NPI or "
        "taxonomy on the claim and send a corrected claim, or finish enrollment and resubmit once it is effective.",
        appealable=False,
        correctable=True,
    ),
    RootCause.AUTHORIZATION: Family(
        Owner.FRONT_DESK,
        "Find the authorization for this service: if there is one, send a replacement claim with its number "
        "(REF*G1); if not, request a retro-authorization or appeal with records showing the service was urgent.",
        appealable=True,
        correctable=True,
    ),
    RootCause.DUPLICATE: Family(
        Owner.BILLER,
        "Check whether the original claim was paid: if so, no action is needed; if this was a repeated service, "
        "have a coder add the repeat modifier (76, 77, 91) and send a replacement claim.",
        appealable=False,
        correctable=False,
    ),
    RootCause.CODING: Family(
        Owner.CODER,
        "Review the codes against the documentation and send a replacement claim with the corrected codes; appeal "
        "with the records only if the codes billed were right.",
        appealable=True,
        correctable=True,
    ),
    RootCause.BUNDLING: Family(
        Owner.CODER,
        "Check whether the service was distinct (separate session, site or incision): if so, send a replacement "
        "claim with 59 or XE/XS/XP/XU on the bundled code, documented; otherwise accept the bundling and write the "
        "line off.",
        appealable=True,
        correctable=True,
    ),
    RootCause.MEDICAL_NECESSITY: Family(
        Owner.BILLER,
        "Appeal with the medical records and a letter of medical necessity from the treating provider; check the "
        "payer's coverage policy (LCD/NCD) for the diagnoses it requires.",
        appealable=True,
        correctable=False,
    ),
    RootCause.NON_COVERED: Family(
        Owner.BILLER,
        "Check the patient's benefits for this service: bill the patient if a signed waiver or financial "
        "responsibility form is on file, otherwise write the charge off.",
        appealable=False,
        correctable=False,
    ),
    RootCause.OTHER: Family(
        Owner.BILLER,
        "Read the reason and remark codes on the remittance, then correct and resubmit, appeal or write off; call "
        "the payer if the codes do not explain the denial.",
        appealable=True,
        correctable=True,
    ),
}

PRECEDENCE: tuple[RootCause, ...] = (
    RootCause.TIMELY_FILING,
    RootCause.ELIGIBILITY,
    RootCause.COORDINATION_OF_BENEFITS,
    RootCause.PROVIDER_ENROLLMENT,
    RootCause.AUTHORIZATION,
    RootCause.DUPLICATE,
    RootCause.CODING,
    RootCause.BUNDLING,
    RootCause.MEDICAL_NECESSITY,
    RootCause.NON_COVERED,
    RootCause.OTHER,
)
"""Which family is worked first when two denial reasons carry the same amount."""


@dataclass(frozen=True)
class CasAdjustment:
    """One CAS adjustment from the remittance: group, CARC, amount, and the line it applies to (REF*6R)."""

    group_code: str
    carc: str
    amount: Decimal
    line_item_control_number: str | None = None


@dataclass(frozen=True)
class DenialReason:
    """One denial reason code of the remittance, with its meaning and family (amounts added over lines)."""

    group_code: str
    carc: str
    amount: Decimal
    meaning: str
    root_cause: RootCause


@dataclass(frozen=True)
class Remark:
    """A remark code and what it means."""

    code: str
    meaning: str


@dataclass(frozen=True)
class DenialClassification:
    """The verdict on one denial: root cause, owner, what to do, and the codes behind it."""

    root_cause: RootCause
    carc: str | None  # the dominant CARC (None when the payer sent no adjustment at all)
    group_code: str | None
    owner: Owner
    recommended_action: str
    appealable: bool
    correctable: bool
    reasons: tuple[DenialReason, ...]  # dominant first
    remarks: tuple[Remark, ...]


def is_denial(adjustment: CasAdjustment) -> bool:
    """True for an adjustment someone has to work (see the module docstring for what is not)."""
    if adjustment.group_code == "CR" or adjustment.carc in EXPECTED_ADJUSTMENT_CARCS:
        return False
    return not (adjustment.group_code == "PR" and adjustment.carc in PATIENT_SHARE_CARCS)


def _rank(root_cause: RootCause) -> int:
    return PRECEDENCE.index(root_cause)


def _remark_family(remark_codes: Sequence[str]) -> RootCause | None:
    named = [rule.root_cause for code in remark_codes if (rule := RARCS.get(code)) and rule.root_cause]
    return min(named, key=_rank) if named else None


def _family_of(carc: str, remark_codes: Sequence[str]) -> RootCause:
    rule = CARCS.get(carc)
    if rule is None:
        return RootCause.OTHER
    return rule.root_cause or _remark_family(remark_codes) or RootCause.OTHER


def _action(carc: str | None, root_cause: RootCause, remark_codes: Sequence[str]) -> str:
    rule = CARCS.get(carc) if carc else None
    if rule is not None and rule.root_cause is not None:
        return rule.action or FAMILIES[root_cause].action
    # A code that defers to the remarks: the remark that named the family, else the code's own advice.
    for code in remark_codes:
        remark = RARCS.get(code)
        if remark is not None and remark.root_cause is root_cause:
            return remark.action or FAMILIES[root_cause].action
    for code in remark_codes:
        remark = RARCS.get(code)
        if remark is not None and remark.action and remark.root_cause is None:
            return remark.action
    if rule is not None and rule.action:
        return rule.action
    return FAMILIES[root_cause].action


def classify_denial(adjustments: Sequence[CasAdjustment], remark_codes: Sequence[str]) -> DenialClassification | None:
    """Classify a denial; None when the remittance carries nothing to work (patient share, contractual only)."""
    denials = [a for a in adjustments if is_denial(a)]
    if adjustments and not denials:
        return None
    totals: dict[str, Decimal] = {}
    group_amounts: dict[tuple[str, str], Decimal] = {}
    for adjustment in denials:
        totals[adjustment.carc] = totals.get(adjustment.carc, Decimal(0)) + adjustment.amount
        key = (adjustment.carc, adjustment.group_code)
        group_amounts[key] = group_amounts.get(key, Decimal(0)) + adjustment.amount
    families = {carc: _family_of(carc, remark_codes) for carc in totals}
    ordered = sorted(totals, key=lambda carc: (-totals[carc], _rank(families[carc]), carc))
    reasons = tuple(
        DenialReason(
            group_code=max((g for c, g in group_amounts if c == carc), key=lambda g: (group_amounts[(carc, g)], g)),
            carc=carc,
            amount=totals[carc],
            meaning=carc_meaning(carc),
            root_cause=families[carc],
        )
        for carc in ordered
    )
    remarks = tuple(Remark(code, rarc_meaning(code)) for code in dict.fromkeys(remark_codes))
    if reasons:
        dominant: DenialReason | None = reasons[0]
        root_cause = reasons[0].root_cause
    else:
        dominant = None
        root_cause = _remark_family(remark_codes) or RootCause.OTHER
    family = FAMILIES[root_cause]
    no_appeal = not NO_APPEAL_RARCS.isdisjoint(remark_codes)
    return DenialClassification(
        root_cause=root_cause,
        carc=dominant.carc if dominant else None,
        group_code=dominant.group_code if dominant else None,
        owner=family.owner,
        recommended_action=_action(dominant.carc if dominant else None, root_cause, remark_codes),
        appealable=family.appealable and not no_appeal,
        correctable=family.correctable,
        reasons=reasons,
        remarks=remarks,
    )


def appeal_deadline(denied_on: date, appeal_window_days: int) -> date:
    """The last day an appeal may reach the payer: the remittance date plus the payer's appeal window."""
    return denied_on + timedelta(days=appeal_window_days)


def is_full_denial(claim_status_code: str, total_charge: Decimal, denied_amount: Decimal) -> bool:
    """True when the payer denied the whole claim (CLP02 4, or everything billed denied), not some lines."""
    return claim_status_code == "4" or denied_amount >= total_charge


class PaymentResult(StrEnum):
    """What a posted payment says about the claim."""

    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"


def payment_result(
    total_charge: Decimal,
    paid_amount: Decimal,
    patient_responsibility: Decimal,
    adjustments: Sequence[CasAdjustment],
) -> PaymentResult:
    """Paid when the payment, the patient's share and agreed write-offs account for the charge; partially paid
    when some of it was denied (or, without adjustment detail, when payment and patient share fall short of the
    charge); denied when nothing was paid and something was denied."""
    denied = sum((a.amount for a in adjustments if is_denial(a)), Decimal(0))
    if denied > 0:
        return PaymentResult.DENIED if paid_amount <= 0 else PaymentResult.PARTIALLY_PAID
    if not adjustments and paid_amount + patient_responsibility < total_charge:
        return PaymentResult.PARTIALLY_PAID
    return PaymentResult.PAID


# --- automatic correction ---------------------------------------------------------------------------------

TELEHEALTH_PLACES_OF_SERVICE = frozenset({"02", "10"})
TELEHEALTH_MODIFIERS = frozenset({"95", "GT", "93", "FQ"})
AUDIO_VIDEO_TELEHEALTH_MODIFIER = "95"
MAX_MODIFIERS = 4


@dataclass(frozen=True)
class AutoCorrection:
    """A replacement claim no person needs to decide: the lines with the modifier they get, and why."""

    lines: tuple[ClaimLine, ...]
    reason: str


def _denied_line_numbers(
    adjustments: Sequence[CasAdjustment], patient_control_number: str, lines: Sequence[ClaimLine]
) -> set[int] | None:
    """The claim's lines the adjustments name (REF*6R is ``<CLM01>-<line>``); a claim-level adjustment names
    every line. None when a line control number is not one of ours."""
    numbers: set[int] = set()
    for adjustment in adjustments:
        control = adjustment.line_item_control_number
        if control is None:
            numbers.update(line.line_number for line in lines)
            continue
        prefix, _, suffix = control.rpartition("-")
        if prefix != patient_control_number or not suffix.isdigit():
            return None
        numbers.add(int(suffix))
    return numbers


def modifier_auto_correction(
    classification: DenialClassification,
    adjustments: Sequence[CasAdjustment],
    *,
    patient_control_number: str,
    place_of_service: str | None,
    lines: Sequence[ClaimLine],
) -> AutoCorrection | None:
    """The telehealth modifier fix for a CARC 4 denial, when the claim itself shows which modifier is missing.

    Rule: every denial reason on the remittance is CARC 4 (modifier missing or inconsistent); the claim's place
    of service is telehealth (02 or 10), which is what coding's POS_TELEHEALTH_MISMATCH warning flags when no
    line carries 95, GT, 93 or FQ; and each denied line carries none of them and has room for one more modifier.
    Then 95 (synchronous audio-video, the telehealth default) is appended to each denied line. Anything else -
    another reason besides CARC 4, an in-person place of service, a line that already has a telehealth
    modifier, a line the remittance names that is not on the claim - is left to a person.
    """
    if not classification.reasons or any(reason.carc != "4" for reason in classification.reasons):
        return None
    if place_of_service not in TELEHEALTH_PLACES_OF_SERVICE:
        return None
    denied = _denied_line_numbers([a for a in adjustments if is_denial(a)], patient_control_number, lines)
    by_number = {line.line_number: line for line in lines}
    if not denied or not denied <= by_number.keys():
        return None
    fixed = []
    for line in lines:
        if line.line_number not in denied:
            fixed.append(line)
            continue
        if not TELEHEALTH_MODIFIERS.isdisjoint(line.modifiers) or len(line.modifiers) >= MAX_MODIFIERS:
            return None
        fixed.append(replace(line, modifiers=(*line.modifiers, AUDIO_VIDEO_TELEHEALTH_MODIFIER)))
    shown = ", ".join(str(n) for n in sorted(denied))
    return AutoCorrection(
        lines=tuple(fixed),
        reason=f"CARC 4: telehealth modifier 95 added to line(s) {shown} (place of service {place_of_service})",
    )
