"""835 remittance built from adjudications: one ERA per payee per check run, balanced by construction.

Balancing (what ``claimflow_x12.validate`` checks and every payer must honour): each line's charge minus its CAS
equals its paid amount, each claim's charge minus all its CAS equals CLP04, and BPR02 = Σ CLP04 - Σ PLB. When
reversals make a payee's total negative, the shortfall is carried forward (PLB FB) instead of sending a negative
payment: this ERA pays 0.00 and the next one for that payee takes the amount back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from claimflow_x12.guides.remittance_835 import (
    Bpr,
    ClaimPaymentLoop,
    ClaimStatusCode,
    Clp,
    HeaderNumberLoop,
    Lq,
    PayeeLoop,
    PayerLoop,
    PaymentMethodCode,
    Plb,
    ProviderAdjustment,
    Remittance835,
    ServicePaymentLoop,
    Svc,
    TransactionHandlingCode,
)
from claimflow_x12.segments import (
    N1,
    N3,
    N4,
    Adjustment,
    Amt,
    Cas,
    ClaimAdjustmentGroupCode,
    Dtm,
    EntityTypeQualifier,
    Lx,
    Nm1,
    Per,
    Ref,
    St,
    Trn,
)
from payer_sandbox.domain.adjudication import Adjudication, LineResult
from payer_sandbox.domain.benefits import ZERO
from payer_sandbox.domain.population import Payer

__all__ = ["EraDraft", "build_835", "era_total"]

_PAYER_TAX_ID = "1999999999"  # TRN03/BPR10: "1" + the sandbox payers' (fictitious) EIN


@dataclass(slots=True)
class EraDraft:
    """Everything one 835 (one payment to one payee) carries."""

    payer: Payer
    payee_npi: str
    payee_name: str
    payee_tax_id: str | None
    receiver_id: str  # REF*EV: the submitter the ERA is delivered to
    trace_number: str  # TRN02: check/EFT number
    check_date: date
    adjudications: list[Adjudication] = field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = field(default_factory=list)


def era_total(draft: EraDraft) -> Decimal:
    """BPR02: Σ CLP04 - Σ PLB."""
    paid = sum((a.paid for a in draft.adjudications), ZERO)
    return paid - sum((p.amount for p in draft.provider_adjustments), ZERO)


def _cas(adjustments: list[tuple[ClaimAdjustmentGroupCode, str, Decimal]]) -> list[Cas]:
    """CAS segments: one per group code, at most six reasons each."""
    segments: list[Cas] = []
    for group in ClaimAdjustmentGroupCode:
        reasons = [Adjustment(reason, amount) for g, reason, amount in adjustments if g is group]
        for start in range(0, len(reasons), 6):
            segments.append(Cas(group_code=group, adjustments=reasons[start : start + 6]))
    return segments


def _service_line(result: LineResult) -> ServicePaymentLoop:
    line = result.line
    service = Svc(
        procedure_qualifier=line.qualifier,
        procedure_code=line.procedure_code,
        modifiers=list(line.modifiers),
        line_charge=line.charge,
        paid_amount=result.paid,
        revenue_code=line.revenue_code,
        units_paid=line.units if line.units != 1 else None,
    )
    return ServicePaymentLoop(
        service=service,
        dates=[Dtm(qualifier="472", date=line.service_date)],
        adjustments=_cas([(a.group, a.reason.value, a.amount) for a in result.adjustments]),
        references=[Ref(qualifier="6R", value=line.line_control_number)] if line.line_control_number else [],
        amounts=[Amt(qualifier="B6", amount=result.allowed)] if not result.denied else [],
        remarks=[Lq(code_list_qualifier="HE", remark_code=r.value) for r in result.remarks],
    )


def _claim(adjudication: Adjudication, payer: Payer) -> ClaimPaymentLoop:
    claim = adjudication.claim
    member = adjudication.member
    status = adjudication.status
    patient = Nm1(
        entity_identifier="QC",
        entity_type=EntityTypeQualifier.PERSON,
        last_name_or_organization=member.last_name,
        first_name=member.first_name,
        id_qualifier="MI",
        identifier=member.member_id,
    )
    insured = None
    if claim.is_dependent:
        insured = Nm1(
            entity_identifier="IL",
            entity_type=EntityTypeQualifier.PERSON,
            last_name_or_organization=claim.subscriber_last_name,
            first_name=claim.subscriber_first_name or None,
            id_qualifier="MI",
            identifier=member.member_id,
        )
    rendering = None
    if claim.rendering_npi and claim.rendering_name:
        rendering = Nm1(
            entity_identifier="82",
            entity_type=EntityTypeQualifier.PERSON,
            last_name_or_organization=claim.rendering_name[0],
            first_name=claim.rendering_name[1] or None,
            id_qualifier="XX",
            identifier=claim.rendering_npi,
        )
    crossover = None
    if adjudication.crossed_over_to is not None:
        crossover_id, crossover_name = adjudication.crossed_over_to
        crossover = Nm1(
            entity_identifier="TT",
            entity_type=EntityTypeQualifier.ORGANIZATION,
            last_name_or_organization=crossover_name,
            id_qualifier="PI",
            identifier=crossover_id,
        )
    return ClaimPaymentLoop(
        claim=Clp(
            patient_control_number=claim.patient_control_number,
            status=status,
            total_charge=adjudication.charge,
            paid_amount=adjudication.paid,
            patient_responsibility=adjudication.patient_responsibility,
            claim_filing_indicator=payer.claim_filing,
            payer_claim_control_number=adjudication.payer_claim_control_number,
            facility_type_code=claim.place_of_service,
            frequency_code=claim.frequency_code if status is not ClaimStatusCode.REVERSAL else "1",
        ),
        patient=patient,
        insured=insured,
        service_provider=rendering,
        crossover_carrier=crossover,
        dates=[
            Dtm(qualifier="232", date=claim.first_service_date),
            Dtm(qualifier="233", date=claim.last_service_date),
            Dtm(qualifier="050", date=adjudication.received_on),
        ],
        service_lines=[_service_line(r) for r in adjudication.lines],
    )


def build_835(draft: EraDraft) -> Remittance835:
    """The 835 for one ERA draft (control numbers are stamped by the writer)."""
    payer = draft.payer
    total = era_total(draft)
    if total > 0:
        financial = Bpr(
            transaction_handling=TransactionHandlingCode.REMITTANCE_ONLY,
            total_payment=total,
            credit_debit_flag="C",
            payment_method=PaymentMethodCode.ACH,
            payment_format="CCP",
            sender_dfi_qualifier="01",
            sender_dfi_id="071000013",
            sender_account_qualifier="DA",
            sender_account_number="900000001",
            originating_company_id=_PAYER_TAX_ID,
            receiver_dfi_qualifier="01",
            receiver_dfi_id="071000039",
            receiver_account_qualifier="DA",
            receiver_account_number="800000001",
            payment_date=draft.check_date,
        )
    else:
        financial = Bpr(
            transaction_handling=TransactionHandlingCode.NOTIFICATION_ONLY,
            total_payment=total,
            credit_debit_flag="C",
            payment_method=PaymentMethodCode.NO_PAYMENT,
            payment_date=draft.check_date,
        )
    claims = [_claim(a, payer) for a in draft.adjudications]
    provider_adjustments = [
        Plb(
            provider_identifier=draft.payee_npi,
            fiscal_period_end=date(draft.check_date.year, 12, 31),
            adjustments=draft.provider_adjustments[start : start + 6],
        )
        for start in range(0, len(draft.provider_adjustments), 6)
    ]
    return Remittance835(
        header=St(transaction_set_id="835", control_number="0001", implementation_reference="005010X221A1"),
        financial_information=financial,
        trace=Trn(trace_type_code="1", reference_id=draft.trace_number, originating_company_id=_PAYER_TAX_ID),
        references=[Ref(qualifier="EV", value=draft.receiver_id)],
        dates=[Dtm(qualifier="405", date=draft.check_date)],
        payer=PayerLoop(
            payer=N1(entity_identifier="PR", name=payer.name),
            address=N3(address_line_1="PO BOX 1000"),
            city_state_zip=N4(city="SANDBOX CITY", state="IL", postal_code="60601"),
            references=[Ref(qualifier="2U", value=payer.payer_id)],
            contacts=[
                Per(function_code="BL", name="PROVIDER SERVICES", number_qualifier_1="TE", number_1="8005550100")
            ],
        ),
        payee=PayeeLoop(
            payee=N1(entity_identifier="PE", name=draft.payee_name, id_qualifier="XX", identifier=draft.payee_npi),
            references=[Ref(qualifier="TJ", value=draft.payee_tax_id)] if draft.payee_tax_id else [],
        ),
        header_numbers=[HeaderNumberLoop(header_number=Lx(assigned_number=1), claims=claims)] if claims else [],
        provider_adjustments=provider_adjustments,
    )
