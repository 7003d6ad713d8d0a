"""Claims as the sandbox payers see them, read from 837P/837I, and the front-end edits a clearinghouse applies.

Front-end edits decide the 277CA: a claim is rejected (fix and resubmit) before adjudication when the payer id is
unknown, the member id is malformed or matches nobody, an NPI is missing or fails its check digit, or a diagnosis
code is not valid on the date of service. Accepted claims get the payer's claim control number (REF*1K).

A secondary or tertiary claim (SBR01 S/T) carries the earlier payers' adjudication (2320/2430): each line keeps
what they paid and what the latest of them left to the patient, which is what the next payer considers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from claimflow_x12.guides.claim_837_common import LineAdjudicationLoop, OtherSubscriberLoop, ProviderNameLoop
from claimflow_x12.guides.claim_837i import InstitutionalClaimContext
from claimflow_x12.guides.claim_837p import ClaimContext, Sv1
from claimflow_x12.segments import ClaimAdjustmentGroupCode, Dmg, Nm1
from claimflow_x12.validate import npi_is_valid
from payer_sandbox.domain.codes import ClaimStatusCategory
from payer_sandbox.domain.population import Member, Population, normalize_name
from payer_sandbox.domain.reference import diagnosis_problem

__all__ = ["ClaimLine", "FrontEndProblem", "ReceivedClaim", "front_end_edits", "received_claim"]


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One billed service line."""

    number: int  # LX01
    qualifier: str  # SV101-1 / SV202-1 (HC), NU for a revenue-code-only institutional line
    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal
    service_date: date
    line_control_number: str | None  # REF*6R, echoed in the 835
    revenue_code: str | None = None  # SV201 of an institutional line (SVC04 in the 835 when a HCPCS code is billed)
    prior_paid: Decimal = Decimal(0)  # Σ 2430 SVD02: what the earlier payers paid on the line
    remaining_patient_share: Decimal | None = None  # PR adjustments of the latest earlier payer's 2430 (None: none)

    @property
    def billed_revenue_code(self) -> str | None:
        """The NUBC revenue code of an institutional line, whether or not a HCPCS code came with it."""
        return self.procedure_code if self.qualifier == "NU" else self.revenue_code


@dataclass(frozen=True, slots=True)
class FrontEndProblem:
    """Why the clearinghouse returns a claim: STC01 category, status code, entity, and a readable message."""

    category: ClaimStatusCategory
    status_code: str  # claim status code list (508)
    entity_code: str | None
    message: str


@dataclass(slots=True)
class ReceivedClaim:
    """A claim taken from an 837, with the parties needed to adjudicate and answer it."""

    patient_control_number: str  # CLM01
    frequency_code: str  # CLM05-3
    place_of_service: str  # CLM05-1
    total_charge: Decimal
    payer_id: str
    member_id: str
    subscriber_last_name: str
    subscriber_first_name: str
    patient_last_name: str
    patient_first_name: str
    patient_birth_date: date | None
    is_dependent: bool
    billing_npi: str | None
    billing_name: str
    billing_tax_id: str | None
    rendering_npi: str | None
    rendering_name: tuple[str, str] | None
    diagnoses: list[str]
    original_claim_number: str | None  # REF*F8
    prior_authorization: str | None  # REF*G1
    lines: list[ClaimLine]
    institutional: bool = False  # from an 837I: place_of_service holds the facility type code (UB-04 bill type)
    payer_sequence: str = "P"  # SBR01 of 2000B: P primary, S secondary, T tertiary
    prior_payer_ids: tuple[str, ...] = ()  # 2330B NM109 of the earlier payers that adjudicated (payer order)
    rendering_missing_npi: bool = False
    member: Member | None = None  # set by the front-end edits when the patient is found
    problems: list[FrontEndProblem] = field(default_factory=list)

    @property
    def first_service_date(self) -> date:
        """Earliest line date of service."""
        return min(line.service_date for line in self.lines)

    @property
    def last_service_date(self) -> date:
        """Latest line date of service."""
        return max(line.service_date for line in self.lines)

    @property
    def type_of_bill(self) -> str | None:
        """Facility type code + frequency code of an institutional claim (e.g. 131), None for a professional one."""
        return self.place_of_service + self.frequency_code if self.institutional else None


def _name(nm1: Nm1) -> tuple[str, str]:
    return nm1.last_name_or_organization or "", nm1.first_name or ""


def _rendering(provider: ProviderNameLoop | None) -> tuple[str | None, tuple[str, str] | None, bool]:
    if provider is None:
        return None, None, False
    nm1 = provider.name
    missing = nm1.id_qualifier != "XX" or not nm1.identifier
    return nm1.identifier, _name(nm1), missing


_PAYER_ORDER = "PSTABCDEFGH"  # SBR01 payer responsibility sequence


def _adjudicated_by(loops: list[OtherSubscriberLoop]) -> list[str]:
    """The earlier payers (2330B ids) that adjudicated the claim (their 2320 reports a paid amount), in order."""
    paid = [o for o in loops if any(a.qualifier == "D" for a in o.amounts)]
    paid.sort(key=lambda o: _PAYER_ORDER.index(o.subscriber_information.payer_responsibility.value))
    return [o.other_payer.name.identifier or "" for o in paid]


def _patient_share_left(adjudications: list[LineAdjudicationLoop], payer_id: str | None) -> Decimal | None:
    found = next((a for a in adjudications if a.adjudication.other_payer_id == payer_id), None)
    if found is None:
        return None
    return sum(
        (
            adjustment.amount
            for cas in found.adjustments
            if cas.group_code is ClaimAdjustmentGroupCode.PATIENT_RESPONSIBILITY
            for adjustment in cas.adjustments
        ),
        Decimal(0),
    )


def received_claim(context: ClaimContext | InstitutionalClaimContext, today: date) -> ReceivedClaim:
    """The sandbox's view of one claim of an 837P or 837I."""
    claim = context.claim
    clm = claim.claim
    claim_date = next((d.start for d in claim.dates if d.qualifier in ("472", "434")), today)
    prior_payers = _adjudicated_by(claim.other_subscribers)
    latest = prior_payers[-1] if prior_payers else None
    lines: list[ClaimLine] = []
    for line in claim.service_lines:
        service = line.service
        line_date = line.service_date or claim_date
        control = next((r.value for r in line.references if r.qualifier == "6R"), None)
        revenue_code = None
        if isinstance(service, Sv1):
            qualifier, code = service.procedure_qualifier, service.procedure_code
        elif service.procedure_code:
            qualifier, code = service.procedure_qualifier or "HC", service.procedure_code
            revenue_code = service.revenue_code
        else:
            qualifier, code = "NU", service.revenue_code  # revenue-code-only institutional line
        lines.append(
            ClaimLine(
                number=line.line.assigned_number,
                qualifier=qualifier,
                procedure_code=code,
                modifiers=tuple(service.modifiers),
                charge=service.line_charge,
                units=service.units,
                service_date=line_date,
                line_control_number=control,
                revenue_code=revenue_code,
                prior_paid=sum((a.adjudication.paid_amount for a in line.adjudications), Decimal(0)),
                remaining_patient_share=_patient_share_left(line.adjudications, latest),
            )
        )
    subscriber_nm1 = context.subscriber.subscriber.name
    patient_nm1 = context.patient.patient.name if context.patient else subscriber_nm1
    demographics: Dmg | None = (
        context.patient.patient.demographics if context.patient else context.subscriber.subscriber.demographics
    )
    billing = context.billing_provider.billing_provider
    rendering_npi, rendering_name, rendering_missing = _rendering(claim.rendering_provider)
    diagnoses = [c.code for hi in claim.health_care_codes for c in hi.codes if c.qualifier in ("ABK", "ABF", "ABJ")]
    references = {r.qualifier: r.value for r in claim.references}
    return ReceivedClaim(
        patient_control_number=clm.patient_control_number,
        frequency_code=clm.frequency_code,
        place_of_service=clm.place_of_service,
        total_charge=clm.total_charge,
        payer_id=context.subscriber.payer.name.identifier or "",
        member_id=subscriber_nm1.identifier or "",
        subscriber_last_name=_name(subscriber_nm1)[0],
        subscriber_first_name=_name(subscriber_nm1)[1],
        patient_last_name=_name(patient_nm1)[0],
        patient_first_name=_name(patient_nm1)[1],
        patient_birth_date=demographics.birth_date if demographics else None,
        is_dependent=context.patient is not None,
        billing_npi=billing.name.identifier if billing.name.id_qualifier == "XX" else None,
        billing_name=billing.name.last_name_or_organization or "",
        billing_tax_id=billing.tax_id,
        rendering_npi=rendering_npi,
        rendering_name=rendering_name,
        rendering_missing_npi=rendering_missing,
        diagnoses=diagnoses,
        original_claim_number=references.get("F8"),
        prior_authorization=references.get("G1"),
        lines=lines,
        institutional=isinstance(context, InstitutionalClaimContext),
        payer_sequence=context.subscriber.subscriber_information.payer_responsibility.value,
        prior_payer_ids=tuple(prior_payers),
    )


def _problem(category: ClaimStatusCategory, status: str, entity: str | None, message: str) -> FrontEndProblem:
    return FrontEndProblem(category, status, entity, message)


def _find_patient(claim: ReceivedClaim, population: Population) -> Member | FrontEndProblem:
    payer = population.payers[claim.payer_id]
    if not payer.member_id_valid(claim.member_id):
        return _problem(ClaimStatusCategory.REJECTED_INVALID, "164", "IL", "INVALID SUBSCRIBER ID FORMAT")
    subscriber = population.subscriber(claim.payer_id, claim.member_id)
    if subscriber is None:
        return _problem(ClaimStatusCategory.REJECTED_INVALID, "33", "IL", "SUBSCRIBER NOT FOUND")
    if not claim.is_dependent:
        if normalize_name(claim.subscriber_last_name) != subscriber.last_name:
            return _problem(ClaimStatusCategory.REJECTED_INVALID, "164", "IL", "SUBSCRIBER NAME DOES NOT MATCH ID")
        return subscriber
    dependent = population.dependent(
        claim.payer_id, claim.member_id, claim.patient_first_name, claim.patient_birth_date
    )
    if dependent is None:
        return _problem(ClaimStatusCategory.REJECTED_INVALID, "33", "QC", "PATIENT NOT FOUND UNDER SUBSCRIBER")
    return dependent


def front_end_edits(claim: ReceivedClaim, population: Population) -> list[FrontEndProblem]:
    """The reasons this claim is returned before adjudication (empty: accepted). Sets ``claim.member``."""
    if claim.payer_id not in population.payers:
        return [_problem(ClaimStatusCategory.RETURNED_UNPROCESSABLE, "116", "PR", "UNKNOWN PAYER ID")]
    problems: list[FrontEndProblem] = []
    found = _find_patient(claim, population)
    if isinstance(found, FrontEndProblem):
        problems.append(found)
    else:
        claim.member = found
    if not claim.billing_npi or not npi_is_valid(claim.billing_npi):
        problems.append(_problem(ClaimStatusCategory.REJECTED_INVALID, "562", "85", "BILLING PROVIDER NPI INVALID"))
    if claim.rendering_missing_npi or (claim.rendering_npi is not None and not npi_is_valid(claim.rendering_npi)):
        problems.append(_problem(ClaimStatusCategory.REJECTED_INVALID, "562", "82", "RENDERING PROVIDER NPI INVALID"))
    if not claim.diagnoses:
        problems.append(_problem(ClaimStatusCategory.REJECTED_INVALID, "254", None, "PRINCIPAL DIAGNOSIS MISSING"))
    for index, code in enumerate(claim.diagnoses):
        reason = diagnosis_problem(code, claim.first_service_date)
        if reason is not None:
            status = "254" if index == 0 else "255"
            problems.append(_problem(ClaimStatusCategory.REJECTED_INVALID, status, None, reason.upper()[:264]))
    return problems
