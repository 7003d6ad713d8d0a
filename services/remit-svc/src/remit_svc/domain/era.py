"""What one 835 says, in posting terms: the payment, each claim payment and its lines, provider adjustments.

The X12 models carry every segment; posting needs a smaller, flat view with the money as ``Decimal`` and the
identifiers that matching and duplicate detection use. ``era_from_835`` builds it; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from claimflow_x12.guides.remittance_835 import ClaimPaymentLoop, Remittance835, ServicePaymentLoop, iter_claim_payments
from claimflow_x12.segments import Cas

ZERO = Decimal("0.00")

# CLP02 values.
PROCESSED = frozenset({"1", "2", "3", "19", "20", "21"})
DENIED = "4"
REVERSAL = "22"
NOT_OUR_CLAIM = "23"
PREDETERMINATION = "25"
FORWARDED = frozenset({"19", "20", "21"})


@dataclass(frozen=True, slots=True)
class CasAmount:
    """One CAS triple: group code (CO, PR, OA, PI, CR), CARC and amount (negative on a reversal)."""

    group_code: str
    carc: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LinePayment:
    """One 2110 service payment."""

    procedure_code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal | None
    service_date: date | None
    line_item_control_number: str | None
    adjustments: tuple[CasAmount, ...]
    allowed: Decimal | None = None
    remark_codes: tuple[str, ...] = ()
    billed_procedure_code: str | None = None  # SVC06 when the payer adjudicated a different code than billed
    billed_modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """One 2100 claim payment."""

    patient_control_number: str
    status_code: str  # CLP02
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_control_number: str | None
    adjustments: tuple[CasAmount, ...]  # claim level
    lines: tuple[LinePayment, ...]
    remark_codes: tuple[str, ...] = ()
    crossover_payer: str | None = None
    statement_from: date | None = None

    @property
    def is_reversal(self) -> bool:
        """CLP02 22: the payer takes back an earlier payment (amounts are negative)."""
        return self.status_code == REVERSAL

    @property
    def all_adjustments(self) -> tuple[CasAmount, ...]:
        """Claim-level adjustments followed by every line's."""
        return self.adjustments + tuple(a for line in self.lines for a in line.adjustments)


@dataclass(frozen=True, slots=True)
class ProviderAdjustmentAmount:
    """One PLB reason/amount; a positive amount reduces the payment (recoupment), a negative one adds (interest)."""

    provider_identifier: str
    reason_code: str
    reference: str | None
    amount: Decimal
    fiscal_period_end: date


@dataclass(frozen=True, slots=True)
class Era:
    """One 835 transaction set: one payment (or notification) from one payer to one payee."""

    payer_id: str
    payer_name: str | None
    trace_number: str  # TRN02: the check or EFT number
    payment_amount: Decimal  # BPR02
    handling_code: str  # BPR01
    payment_method: str  # BPR04
    payment_date: date  # BPR16
    payee_npi: str | None
    claims: tuple[ClaimPayment, ...]
    provider_adjustments: tuple[ProviderAdjustmentAmount, ...] = field(default=())

    @property
    def fingerprint(self) -> str:
        """What makes two ERAs the same remittance: payer, trace number and the amounts, claim by claim.

        A split ERA (one check reported in several 835s) shares the trace number but not the claim amounts, so
        its parts have different fingerprints; the same 835 delivered twice has the same one.
        """
        parts = [self.payer_id, self.trace_number, str(self.payment_amount)]
        parts += sorted(f"{c.patient_control_number}|{c.status_code}|{c.charge}|{c.paid}" for c in self.claims)
        parts += sorted(f"{p.reason_code}|{p.reference}|{p.amount}" for p in self.provider_adjustments)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cas(segments: list[Cas]) -> tuple[CasAmount, ...]:
    return tuple(
        CasAmount(cas.group_code.value, adjustment.reason_code, adjustment.amount)
        for cas in segments
        for adjustment in cas.adjustments
    )


def _line(loop: ServicePaymentLoop) -> LinePayment:
    svc = loop.service
    service_date = next((d.date for d in loop.dates if d.qualifier in ("472", "150")), None)
    return LinePayment(
        procedure_code=svc.procedure_code,
        modifiers=tuple(m for m in svc.modifiers if m),
        charge=svc.line_charge,
        paid=svc.paid_amount,
        units=svc.units_paid,
        service_date=service_date,
        line_item_control_number=loop.line_item_control_number,
        adjustments=_cas(loop.adjustments),
        allowed=loop.allowed_amount,
        remark_codes=tuple(r.remark_code for r in loop.remarks if r.code_list_qualifier == "HE"),
        billed_procedure_code=svc.original_procedure_code,
        billed_modifiers=tuple(m for m in svc.original_modifiers if m),
    )


def _claim(loop: ClaimPaymentLoop) -> ClaimPayment:
    clp = loop.claim
    moa = loop.outpatient_adjudication
    remarks = (
        tuple(
            r
            for r in (moa.remark_code_1, moa.remark_code_2, moa.remark_code_3, moa.remark_code_4, moa.remark_code_5)
            if r
        )
        if moa
        else ()
    )
    crossover = loop.crossover_carrier
    return ClaimPayment(
        patient_control_number=clp.patient_control_number,
        status_code=clp.status.value,
        charge=clp.total_charge,
        paid=clp.paid_amount,
        patient_responsibility=clp.patient_responsibility or ZERO,
        payer_claim_control_number=clp.payer_claim_control_number,
        adjustments=_cas(loop.adjustments),
        lines=tuple(_line(line) for line in loop.service_lines),
        remark_codes=remarks,
        crossover_payer=(crossover.last_name_or_organization or crossover.identifier) if crossover else None,
        statement_from=next((d.date for d in loop.dates if d.qualifier == "232"), None),
    )


def era_from_835(transaction: Remittance835) -> Era:
    """The posting view of one 835.

    The payer is identified by REF*2U (payer identification number) in 1000A, else N1*PR's identifier, else TRN03
    (the payer's company id) — the same precedence clearinghouses use to route ERAs.
    """
    payer_loop = transaction.payer
    payer_id = (
        next((r.value for r in payer_loop.references if r.qualifier == "2U"), None)
        or payer_loop.payer.identifier
        or transaction.trace.originating_company_id
        or (payer_loop.payer.name or "UNKNOWN")
    )
    bpr = transaction.financial_information
    payee = transaction.payee.payee
    return Era(
        payer_id=payer_id,
        payer_name=payer_loop.payer.name,
        trace_number=transaction.trace.reference_id,
        payment_amount=bpr.total_payment,
        handling_code=bpr.transaction_handling.value,
        payment_method=bpr.payment_method.value,
        payment_date=bpr.payment_date,
        payee_npi=payee.identifier if payee.id_qualifier == "XX" else None,
        claims=tuple(_claim(loop) for loop in iter_claim_payments(transaction)),
        provider_adjustments=tuple(
            ProviderAdjustmentAmount(
                plb.provider_identifier,
                adjustment.reason_code,
                adjustment.reference_id,
                adjustment.amount,
                plb.fiscal_period_end,
            )
            for plb in transaction.provider_adjustments
            for adjustment in plb.adjustments
        ),
    )
