"""Implementation-guide rules payers reject on, checked on the typed models.

Structure, element syntax and code values are checked while parsing; this module adds the situational and
arithmetic rules: NPI check digits, 837 claim totals and COB line balancing, REF*F8 on replacement/void claims,
the subscriber/patient hierarchy, and 835 claim, line and payment balancing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from claimflow_x12.errors import ElementErrorCode, ErrorLevel, SegmentErrorCode, X12Error, X12ErrorCode
from claimflow_x12.guides.claim_837_common import OtherSubscriberLoop
from claimflow_x12.guides.claim_837i import Claim837I, InstitutionalClaimLoop, InstitutionalSubscriberLoop
from claimflow_x12.guides.claim_837i import iter_claims as iter_institutional_claims
from claimflow_x12.guides.claim_837p import (
    Claim837P,
    ProfessionalClaimLoop,
    ProfessionalSubscriberLoop,
    iter_claims,
)
from claimflow_x12.guides.remittance_835 import Remittance835, iter_claim_payments
from claimflow_x12.model import Loop, Segment, loop_spec
from claimflow_x12.parser import ParseResult
from claimflow_x12.segments import N1, Nm1
from claimflow_x12.transaction import Transaction

__all__ = ["iter_loop_segments", "npi_is_valid", "validate", "validate_transaction"]

ZERO = Decimal(0)


def npi_is_valid(npi: str) -> bool:
    """True for a 10-digit NPI whose last digit is the Luhn check digit over 80840 + the first nine digits."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed("80840" + npi[:9])):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def iter_loop_segments(loop: Loop, loop_id: str | None = None) -> Iterator[tuple[str, Segment]]:
    """Every typed segment of a loop tree with the id of the loop it is in, in writing order."""
    spec = loop_spec(type(loop))
    current = loop_id or spec.loop_id
    for slot in spec.slots:
        value = getattr(loop, slot.name)
        if value is None:
            continue
        for item in value if slot.many else (value,):
            if slot.loop is not None:
                yield from iter_loop_segments(item, slot.loop.loop_id)
            else:
                yield current, item


class _Rules:
    """Collects rule violations for one transaction."""

    def __init__(self, transaction: Transaction) -> None:
        self.control_number = transaction.header.control_number
        self.errors: list[X12Error] = []

    def add(
        self,
        code: X12ErrorCode,
        message: str,
        segment: Segment | None,
        loop_id: str,
        element: int | None = None,
        component: int | None = None,
        value: str | None = None,
        segment_id: str | None = None,
    ) -> None:
        """Record one rule violation located at ``segment``."""
        position = segment.position if segment is not None and segment.position else None
        level = ErrorLevel.ELEMENT if isinstance(code, ElementErrorCode) else ErrorLevel.SEGMENT
        self.errors.append(
            X12Error(
                segment_position=position,
                segment_id=segment_id or (segment.segment_id if segment is not None else None),
                loop_id=loop_id,
                element_position=element,
                component_position=component,
                element_value=value,
                code=code,
                message=message,
                level=level,
                transaction_control_number=self.control_number,
            )
        )

    def npis(self, transaction: Transaction) -> None:
        """Check the Luhn digit of every NPI (NM108/N103 = XX) in the transaction."""
        for loop_id, segment in iter_loop_segments(transaction):
            if isinstance(segment, Nm1) and segment.id_qualifier == "XX":
                npi, element = segment.identifier or "", 9
            elif isinstance(segment, N1) and segment.id_qualifier == "XX":
                npi, element = segment.identifier or "", 4
            else:
                continue
            if not npi_is_valid(npi):
                self.add(
                    ElementErrorCode.PATTERN_MATCH_FAILURE,
                    f"NPI {npi!r} fails the check digit (Luhn over 80840 + first nine digits)",
                    segment,
                    loop_id,
                    element,
                    value=npi,
                )


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


ClaimLoop = ProfessionalClaimLoop | InstitutionalClaimLoop
SubscriberLoop = ProfessionalSubscriberLoop | InstitutionalSubscriberLoop


def _claim_837_rules(rules: _Rules, claim: ClaimLoop, line_total: Decimal, facility_qualifier: str) -> None:
    clm = claim.claim
    if clm.total_charge != line_total:
        rules.add(
            ElementErrorCode.PATTERN_MATCH_FAILURE,
            f"claim {clm.patient_control_number}: CLM02 {_money(clm.total_charge)} "
            f"≠ Σ line charges {_money(line_total)}",
            clm,
            "2300",
            2,
            value=str(clm.total_charge),
        )
    if clm.facility_code_qualifier != facility_qualifier:
        rules.add(
            ElementErrorCode.INVALID_CODE_VALUE,
            f"CLM05-2 must be {facility_qualifier}, got {clm.facility_code_qualifier!r}",
            clm,
            "2300",
            5,
            2,
            clm.facility_code_qualifier,
        )
    references = claim.references
    if clm.frequency_code in ("7", "8") and not any(r.qualifier == "F8" for r in references):
        rules.add(
            SegmentErrorCode.DEPENDENT_SEGMENT_MISSING,
            f"claim {clm.patient_control_number}: frequency {clm.frequency_code} (replacement/void) requires REF*F8 "
            "with the payer's original claim number",
            clm,
            "2300",
            segment_id="REF",
        )
    for other in claim.other_subscribers:
        _cob_rules(rules, other, claim)


def _cob_rules(rules: _Rules, other: OtherSubscriberLoop, claim: ClaimLoop) -> None:
    payer_id = other.other_payer.name.identifier
    for line in claim.service_lines:
        charge = line.service.line_charge
        for adjudication in line.adjudications:
            svd = adjudication.adjudication
            if svd.other_payer_id != payer_id:
                continue
            adjusted = sum((cas.total for cas in adjudication.adjustments), ZERO)
            if charge - adjusted != svd.paid_amount:
                rules.add(
                    ElementErrorCode.PATTERN_MATCH_FAILURE,
                    f"line {line.line.assigned_number}: charge {_money(charge)} - Σ 2430 CAS {_money(adjusted)} ≠ "
                    f"SVD02 paid {_money(svd.paid_amount)}",
                    svd,
                    "2430",
                    2,
                    value=str(svd.paid_amount),
                )
        known = {other.other_payer.name.identifier for other in claim.other_subscribers}
        for adjudication in line.adjudications:
            if adjudication.adjudication.other_payer_id not in known:
                rules.add(
                    ElementErrorCode.PATTERN_MATCH_FAILURE,
                    f"SVD01 {adjudication.adjudication.other_payer_id!r} matches no 2330B other payer id",
                    adjudication.adjudication,
                    "2430",
                    1,
                    value=adjudication.adjudication.other_payer_id,
                )
                break


def _hierarchy_rules(rules: _Rules, subscriber: SubscriberLoop) -> None:
    sbr = subscriber.subscriber_information
    if subscriber.claims and sbr.relationship_code != "18":
        rules.add(
            ElementErrorCode.DEPENDENT_ELEMENT_MISSING,
            "claims directly under the subscriber (2000B) need SBR02 = 18 (patient is the subscriber)",
            sbr,
            "2000B",
            2,
        )
    patients = subscriber.patients
    if patients and sbr.relationship_code == "18":
        rules.add(
            SegmentErrorCode.DEPENDENT_NOT_USED_SEGMENT_PRESENT,
            "a 2000C patient loop is present although SBR02 = 18 says the subscriber is the patient",
            patients[0].patient_information,
            "2000C",
        )
    for patient in patients:
        if patient.patient_information.relationship_code == "18":
            rules.add(
                ElementErrorCode.INVALID_CODE_VALUE,
                "PAT01 = 18 (self) in a 2000C loop: the patient must differ from the subscriber",
                patient.patient_information,
                "2000C",
                1,
                value="18",
            )
    if sbr.claim_filing_indicator is None:
        rules.add(
            ElementErrorCode.REQUIRED_ELEMENT_MISSING, "SBR09 claim filing indicator is required", sbr, "2000B", 9
        )


def _submitter_rules(rules: _Rules, transaction: Claim837P | Claim837I) -> None:
    if not transaction.submitter.contacts:
        rules.add(
            SegmentErrorCode.REQUIRED_SEGMENT_MISSING,
            "1000A submitter contact (PER*IC) is required",
            transaction.submitter.submitter,
            "1000A",
            segment_id="PER",
        )


def _validate_837p(rules: _Rules, transaction: Claim837P) -> None:
    _submitter_rules(rules, transaction)
    for provider in transaction.billing_providers:
        for subscriber in provider.subscribers:
            _hierarchy_rules(rules, subscriber)
    for context in iter_claims(transaction):
        claim = context.claim
        line_total = sum((line.service.line_charge for line in claim.service_lines), ZERO)
        _claim_837_rules(rules, claim, line_total, "B")
        clm = claim.claim
        if clm.frequency_code not in ("1", "7", "8"):
            rules.add(
                ElementErrorCode.INVALID_CODE_VALUE,
                f"CLM05-3 claim frequency must be 1, 7 or 8, got {clm.frequency_code!r}",
                clm,
                "2300",
                5,
                3,
                clm.frequency_code,
            )
        diagnoses = [code for hi in claim.health_care_codes for code in hi.codes if code.qualifier in ("ABK", "ABF")]
        if not diagnoses or diagnoses[0].qualifier != "ABK":
            rules.add(
                SegmentErrorCode.REQUIRED_SEGMENT_MISSING,
                f"claim {clm.patient_control_number}: HI must start with the principal diagnosis (ABK)",
                claim.health_care_codes[0] if claim.health_care_codes else clm,
                "2300",
                segment_id="HI",
            )
        has_claim_date = any(d.qualifier == "472" for d in claim.dates)
        for line in claim.service_lines:
            for pointer in line.service.diagnosis_pointers:
                if not 1 <= pointer <= len(diagnoses):
                    rules.add(
                        ElementErrorCode.PATTERN_MATCH_FAILURE,
                        f"line {line.line.assigned_number}: diagnosis pointer {pointer} but the claim has "
                        f"{len(diagnoses)} diagnoses",
                        line.service,
                        "2400",
                        7,
                        value=str(pointer),
                    )
            if not has_claim_date and line.service_date is None:
                rules.add(
                    SegmentErrorCode.REQUIRED_SEGMENT_MISSING,
                    f"line {line.line.assigned_number}: DTP*472 date of service is required",
                    line.service,
                    "2400",
                    segment_id="DTP",
                )


def _validate_837i(rules: _Rules, transaction: Claim837I) -> None:
    _submitter_rules(rules, transaction)
    for provider in transaction.billing_providers:
        for subscriber in provider.subscribers:
            _hierarchy_rules(rules, subscriber)
    for context in iter_institutional_claims(transaction):
        claim = context.claim
        line_total = sum((line.service.line_charge for line in claim.service_lines), ZERO)
        _claim_837_rules(rules, claim, line_total, "A")
        if not any(d.qualifier == "434" for d in claim.dates):
            rules.add(
                SegmentErrorCode.REQUIRED_SEGMENT_MISSING,
                f"claim {claim.claim.patient_control_number}: DTP*434 statement dates are required",
                claim.claim,
                "2300",
                segment_id="DTP",
            )


def _validate_835(rules: _Rules, transaction: Remittance835) -> None:
    paid_total = ZERO
    for claim in iter_claim_payments(transaction):
        clp = claim.claim
        paid_total += clp.paid_amount
        adjusted = claim.adjustment_total
        if clp.total_charge - adjusted != clp.paid_amount:
            rules.add(
                ElementErrorCode.PATTERN_MATCH_FAILURE,
                f"claim {clp.patient_control_number}: charge {_money(clp.total_charge)} - Σ CAS {_money(adjusted)} "
                f"≠ paid {_money(clp.paid_amount)}",
                clp,
                "2100",
                4,
                value=str(clp.paid_amount),
            )
        for line in claim.service_lines:
            svc = line.service
            line_adjusted = line.adjustment_total
            if svc.line_charge - line_adjusted != svc.paid_amount:
                rules.add(
                    ElementErrorCode.PATTERN_MATCH_FAILURE,
                    f"claim {clp.patient_control_number} line {svc.procedure_code}: charge {_money(svc.line_charge)} "
                    f"- Σ CAS {_money(line_adjusted)} ≠ paid {_money(svc.paid_amount)}",
                    svc,
                    "2110",
                    3,
                    value=str(svc.paid_amount),
                )
    provider_adjustments = sum((plb.total for plb in transaction.provider_adjustments), ZERO)
    bpr = transaction.financial_information
    if paid_total - provider_adjustments != bpr.total_payment:
        rules.add(
            ElementErrorCode.PATTERN_MATCH_FAILURE,
            f"BPR02 {_money(bpr.total_payment)} ≠ Σ CLP04 {_money(paid_total)} - Σ PLB {_money(provider_adjustments)}",
            bpr,
            "HEADER",
            2,
            value=str(bpr.total_payment),
        )


_GUIDE_RULES: dict[type[Transaction], Callable[[_Rules, Transaction], None]] = {
    Claim837P: _validate_837p,  # type: ignore[dict-item]
    Claim837I: _validate_837i,  # type: ignore[dict-item]
    Remittance835: _validate_835,  # type: ignore[dict-item]
}


def validate_transaction(transaction: Transaction) -> list[X12Error]:
    """Implementation-guide rule violations in one transaction model (syntax is checked by the parser)."""
    rules = _Rules(transaction)
    rules.npis(transaction)
    guide_rules = _GUIDE_RULES.get(type(transaction))
    if guide_rules is not None:
        guide_rules(rules, transaction)
    return rules.errors


def validate(target: ParseResult | Transaction | Iterable[Transaction]) -> list[X12Error]:
    """All errors: for a ParseResult its parse errors plus the rules of every transaction; else the rules only."""
    if isinstance(target, Transaction):
        return validate_transaction(target)
    if isinstance(target, ParseResult):
        errors = list(target.errors)
        for group in target.groups:
            for parsed in group.transactions:
                if parsed.transaction is not None:
                    for error in validate_transaction(parsed.transaction):
                        errors.append(
                            error.model_copy(update={"group_control_number": str(group.header.control_number)})
                        )
        return errors
    return [error for transaction in target for error in validate_transaction(transaction)]
