"""835 health care claim payment/advice (remittance), implementation guide 005010X221A1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from claimflow_x12.errors import ElementErrorCode
from claimflow_x12.guides.claim_837_common import Moa
from claimflow_x12.model import At, E, ElementDecodeError, Loop, Segment, format_date, format_decimal, parse_date
from claimflow_x12.model import parse_decimal as _parse_decimal
from claimflow_x12.segments import N1, N3, N4, Amt, Cas, ClaimFilingIndicatorCode, Dtm, Lx, Nm1, Per, Qty, Ref, Trn
from claimflow_x12.transaction import Transaction, register_transaction

__all__ = [
    "Bpr",
    "ClaimPaymentLoop",
    "ClaimStatusCode",
    "Clp",
    "HeaderNumberLoop",
    "Lq",
    "PayeeLoop",
    "PayerLoop",
    "PaymentMethodCode",
    "Plb",
    "ProviderAdjustment",
    "Remittance835",
    "ServicePaymentLoop",
    "Svc",
    "TransactionHandlingCode",
    "iter_claim_payments",
]


class TransactionHandlingCode(StrEnum):
    """BPR01: whether money moves with this remittance."""

    PAYMENT_WITH_REMITTANCE = "C"
    PAYMENT_ONLY = "D"
    NOTIFICATION_ONLY = "H"
    REMITTANCE_ONLY = "I"
    PRENOTIFICATION = "P"
    SPLIT_PAYMENT_AND_REMITTANCE = "U"
    HANDLING_PARTY_OPTION = "X"


class PaymentMethodCode(StrEnum):
    """BPR04 payment method."""

    ACH = "ACH"
    BOOK_ENTRY = "BOP"
    CHECK = "CHK"
    FEDERAL_RESERVE_WIRE = "FWT"
    NO_PAYMENT = "NON"


class ClaimStatusCode(StrEnum):
    """CLP02 claim status."""

    PROCESSED_AS_PRIMARY = "1"
    PROCESSED_AS_SECONDARY = "2"
    PROCESSED_AS_TERTIARY = "3"
    DENIED = "4"
    PRIMARY_FORWARDED = "19"
    SECONDARY_FORWARDED = "20"
    TERTIARY_FORWARDED = "21"
    REVERSAL = "22"
    NOT_OUR_CLAIM = "23"
    PREDETERMINATION = "25"


@dataclass(slots=True, kw_only=True)
class Bpr(Segment):
    """Financial information: the payment total and how it moves. Example: ``BPR*I*1250.00*C*ACH*CCP*01*...~``"""

    segment_id: ClassVar[str] = "BPR"
    transaction_handling: Annotated[TransactionHandlingCode, E(1)]  # BPR01
    total_payment: Annotated[Decimal, E(2)]  # BPR02 (= Σ CLP04 - Σ PLB)
    credit_debit_flag: Annotated[str, E(3)]  # BPR03 (C credit, D debit)
    payment_method: Annotated[PaymentMethodCode, E(4)]  # BPR04
    payment_format: Annotated[str | None, E(5)] = None  # BPR05 (CCP, CTX)
    sender_dfi_qualifier: Annotated[str | None, E(6)] = None  # BPR06
    sender_dfi_id: Annotated[str | None, E(7)] = None  # BPR07 (routing number)
    sender_account_qualifier: Annotated[str | None, E(8)] = None  # BPR08
    sender_account_number: Annotated[str | None, E(9)] = None  # BPR09
    originating_company_id: Annotated[str | None, E(10)] = None  # BPR10
    originating_company_supplemental_code: Annotated[str | None, E(11)] = None  # BPR11
    receiver_dfi_qualifier: Annotated[str | None, E(12)] = None  # BPR12
    receiver_dfi_id: Annotated[str | None, E(13)] = None  # BPR13
    receiver_account_qualifier: Annotated[str | None, E(14)] = None  # BPR14
    receiver_account_number: Annotated[str | None, E(15)] = None  # BPR15
    payment_date: Annotated[date, E(16)]  # BPR16 (check issue or EFT effective date)


@dataclass(slots=True, kw_only=True)
class Clp(Segment):
    """Claim payment information. Example: ``CLP*PCN20240105A*1*475.00*300.00*40.00*12*ACME2024010500042*11*1~``"""

    segment_id: ClassVar[str] = "CLP"
    patient_control_number: Annotated[str, E(1)]  # CLP01 (the 837 CLM01)
    status: Annotated[ClaimStatusCode, E(2)]  # CLP02
    total_charge: Annotated[Decimal, E(3)]  # CLP03
    paid_amount: Annotated[Decimal, E(4)]  # CLP04
    patient_responsibility: Annotated[Decimal | None, E(5)] = None  # CLP05
    claim_filing_indicator: Annotated[ClaimFilingIndicatorCode, E(6)]  # CLP06
    payer_claim_control_number: Annotated[str | None, E(7)] = None  # CLP07
    facility_type_code: Annotated[str | None, E(8)] = None  # CLP08 (place of service / type of bill)
    frequency_code: Annotated[str | None, E(9)] = None  # CLP09
    drg_code: Annotated[str | None, E(11)] = None  # CLP11
    drg_weight: Annotated[Decimal | None, E(12)] = None  # CLP12
    discharge_fraction: Annotated[Decimal | None, E(13)] = None  # CLP13


@dataclass(slots=True, kw_only=True)
class Svc(Segment):
    """Service payment information. Example: ``SVC*HC:99214:25*200.00*150.00**1~``"""

    segment_id: ClassVar[str] = "SVC"
    procedure_qualifier: Annotated[str, E(1, 1)]  # SVC01-1 (HC, NU revenue code, AD, ER...)
    procedure_code: Annotated[str, E(1, 2)]  # SVC01-2
    modifiers: Annotated[list[str], E(1, 3, 6)] = field(default_factory=list)  # SVC01-3..6
    procedure_description: Annotated[str | None, E(1, 7)] = None  # SVC01-7
    line_charge: Annotated[Decimal, E(2)]  # SVC02
    paid_amount: Annotated[Decimal, E(3)]  # SVC03
    revenue_code: Annotated[str | None, E(4)] = None  # SVC04
    units_paid: Annotated[Decimal | None, E(5)] = None  # SVC05
    original_procedure_qualifier: Annotated[str | None, E(6, 1)] = None  # SVC06-1 (when adjudicated ≠ billed)
    original_procedure_code: Annotated[str | None, E(6, 2)] = None  # SVC06-2
    original_modifiers: Annotated[list[str], E(6, 3, 6)] = field(default_factory=list)  # SVC06-3..6
    original_procedure_description: Annotated[str | None, E(6, 7)] = None  # SVC06-7
    original_units: Annotated[Decimal | None, E(7)] = None  # SVC07


@dataclass(slots=True, kw_only=True)
class Lq(Segment):
    """Health care remark code. Example: ``LQ*HE*N130~``"""

    segment_id: ClassVar[str] = "LQ"
    code_list_qualifier: Annotated[str, E(1)]  # LQ01 (HE RARC, RX NCPDP reject)
    remark_code: Annotated[str, E(2)]  # LQ02


@dataclass(slots=True)
class ProviderAdjustment:
    """One PLB reason/reference/amount (a positive amount reduces the payment)."""

    reason_code: str  # PLB03-1 (WO overpayment recovery, L6 interest, FB forward balance...)
    amount: Decimal  # PLB04
    reference_id: str | None = None  # PLB03-2


@dataclass(slots=True, kw_only=True)
class Plb(Segment):
    """Provider-level adjustment. Example: ``PLB*1234567893*20241231*WO:ACME2023122900017*25.00*L6*-3.10~``"""

    segment_id: ClassVar[str] = "PLB"
    provider_identifier: str  # PLB01
    fiscal_period_end: date  # PLB02
    adjustments: list[ProviderAdjustment] = field(default_factory=list)  # PLB03-PLB14

    @property
    def total(self) -> Decimal:
        """Sum of the adjustment amounts."""
        return sum((a.amount for a in self.adjustments), Decimal(0))

    @classmethod
    def decode_elements(cls, el: list[str], cs: str, rs: str, position: int) -> Plb:
        """Convert PLB elements into adjustment pairs."""
        n = len(el)
        if n < 5 or not el[1] or not el[2]:
            raise ElementDecodeError(
                1, ElementErrorCode.REQUIRED_ELEMENT_MISSING, "PLB needs a provider, date, one pair"
            )
        if n > 15:
            raise ElementDecodeError(15, ElementErrorCode.TOO_MANY_ELEMENTS, "PLB has at most 14 elements")
        try:
            period_end = parse_date(el[2])
        except ValueError:
            raise ElementDecodeError(2, ElementErrorCode.INVALID_DATE, f"invalid PLB02 date {el[2]!r}") from None
        adjustments = []
        for index in range(3, n, 2):
            reason = el[index]
            amount = el[index + 1] if index + 1 < n else ""
            if not reason and not amount:
                continue
            if not reason or not amount:
                raise ElementDecodeError(index, ElementErrorCode.CONDITIONAL_ELEMENT_MISSING, "PLB pair is incomplete")
            code, _, reference = reason.partition(cs)
            try:
                value = _parse_decimal(amount)
            except ValueError:
                raise ElementDecodeError(
                    index + 1, ElementErrorCode.INVALID_CHARACTER, f"bad amount {amount!r}"
                ) from None
            adjustments.append(ProviderAdjustment(code, value, reference or None))
        return cls(provider_identifier=el[1], fiscal_period_end=period_end, adjustments=adjustments, position=position)

    def encode_elements(self, cs: str, rs: str) -> list[str]:
        """Write the PLB elements."""
        el = ["PLB", self.provider_identifier, format_date(self.fiscal_period_end)]
        for adjustment in self.adjustments:
            reason = adjustment.reason_code + (cs + adjustment.reference_id if adjustment.reference_id else "")
            el += [reason, format_decimal(adjustment.amount)]
        return el


@dataclass(slots=True, kw_only=True)
class ServicePaymentLoop(Loop):
    """2110 service line payment: SVC, dates, line adjustments, line control number, allowed amount, remarks."""

    loop_id: ClassVar[str] = "2110"
    service: Annotated[Svc, At(0)]  # SVC
    dates: Annotated[list[Dtm], At(1)] = field(default_factory=list)  # DTM*472 / 150 / 151
    adjustments: Annotated[list[Cas], At(2)] = field(default_factory=list)  # CAS
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*6R line item control number
    amounts: Annotated[list[Amt], At(4)] = field(default_factory=list)  # AMT*B6 allowed
    quantities: Annotated[list[Qty], At(5)] = field(default_factory=list)  # QTY
    remarks: Annotated[list[Lq], At(6)] = field(default_factory=list)  # LQ*HE

    @property
    def adjustment_total(self) -> Decimal:
        """Σ of every line-level CAS amount."""
        return sum((cas.total for cas in self.adjustments), Decimal(0))

    @property
    def line_item_control_number(self) -> str | None:
        """REF*6R: the 837 line id this payment answers."""
        return next((r.value for r in self.references if r.qualifier == "6R"), None)

    @property
    def allowed_amount(self) -> Decimal | None:
        """AMT*B6 allowed amount."""
        return next((a.amount for a in self.amounts if a.qualifier == "B6"), None)


@dataclass(slots=True, kw_only=True)
class ClaimPaymentLoop(Loop):
    """2100 claim payment: CLP, claim adjustments, names, dates, references and service lines."""

    loop_id: ClassVar[str] = "2100"
    claim: Annotated[Clp, At(0)]  # CLP
    adjustments: Annotated[list[Cas], At(1)] = field(default_factory=list)  # CAS (claim level)
    patient: Annotated[Nm1, At(2, ("QC",))]  # NM1*QC
    insured: Annotated[Nm1 | None, At(2, ("IL",))] = None  # NM1*IL
    corrected_patient: Annotated[Nm1 | None, At(2, ("74",))] = None  # NM1*74
    service_provider: Annotated[Nm1 | None, At(2, ("82",))] = None  # NM1*82 rendering provider
    crossover_carrier: Annotated[Nm1 | None, At(2, ("TT",))] = None  # NM1*TT
    corrected_priority_payer: Annotated[Nm1 | None, At(2, ("PR",))] = None  # NM1*PR
    other_subscriber: Annotated[Nm1 | None, At(2, ("GB",))] = None  # NM1*GB
    outpatient_adjudication: Annotated[Moa | None, At(3)] = None  # MOA
    references: Annotated[list[Ref], At(4)] = field(default_factory=list)  # REF*EA, REF*1L
    dates: Annotated[list[Dtm], At(5)] = field(default_factory=list)  # DTM*232/233 statement period, 050 received
    contacts: Annotated[list[Per], At(6)] = field(default_factory=list)  # PER*CX
    amounts: Annotated[list[Amt], At(7)] = field(default_factory=list)  # AMT*AU coverage amount
    quantities: Annotated[list[Qty], At(8)] = field(default_factory=list)  # QTY
    service_lines: Annotated[list[ServicePaymentLoop], At(9)] = field(default_factory=list)  # 2110

    @property
    def adjustment_total(self) -> Decimal:
        """Σ of claim-level CAS plus every line-level CAS."""
        claim_level = sum((cas.total for cas in self.adjustments), Decimal(0))
        return claim_level + sum((line.adjustment_total for line in self.service_lines), Decimal(0))

    def adjustments_by_group(self) -> dict[str, Decimal]:
        """Total adjusted per CAS group code (CO, PR, OA, PI, CR), claim and lines together."""
        totals: dict[str, Decimal] = {}
        segments = [*self.adjustments, *(cas for line in self.service_lines for cas in line.adjustments)]
        for cas in segments:
            totals[cas.group_code.value] = totals.get(cas.group_code.value, Decimal(0)) + cas.total
        return totals


@dataclass(slots=True, kw_only=True)
class HeaderNumberLoop(Loop):
    """2000 header number: groups claims (e.g. by provider or bill type)."""

    loop_id: ClassVar[str] = "2000"
    header_number: Annotated[Lx, At(0)]  # LX
    claims: Annotated[list[ClaimPaymentLoop], At(1)] = field(default_factory=list)  # 2100


@dataclass(slots=True, kw_only=True)
class PayerLoop(Loop):
    """1000A payer identification."""

    loop_id: ClassVar[str] = "1000A"
    payer: Annotated[N1, At(0, ("PR",))]  # N1*PR
    address: Annotated[N3, At(1)]  # N3
    city_state_zip: Annotated[N4, At(2)]  # N4
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*2U payer id
    contacts: Annotated[list[Per], At(4)] = field(default_factory=list)  # PER*CX / BL / IC


@dataclass(slots=True, kw_only=True)
class PayeeLoop(Loop):
    """1000B payee identification (the provider being paid)."""

    loop_id: ClassVar[str] = "1000B"
    payee: Annotated[N1, At(0, ("PE",))]  # N1*PE (N103 XX, N104 NPI)
    address: Annotated[N3 | None, At(1)] = None  # N3
    city_state_zip: Annotated[N4 | None, At(2)] = None  # N4
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*TJ tax id


@register_transaction
@dataclass(slots=True, kw_only=True)
class Remittance835(Transaction):
    """835 claim payment/advice transaction set (005010X221A1)."""

    transaction_set_id: ClassVar[str] = "835"
    implementation_reference: ClassVar[str] = "005010X221A1"
    functional_id_code: ClassVar[str] = "HP"
    passthrough_segments: ClassVar[frozenset[str]] = frozenset({"CUR", "RDM", "TS3", "TS2", "MIA"})
    financial_information: Annotated[Bpr, At(1)]  # BPR
    trace: Annotated[Trn, At(2)]  # TRN (TRN02 check/EFT trace number, TRN03 payer id)
    references: Annotated[list[Ref], At(3)] = field(default_factory=list)  # REF*EV receiver id, REF*F2 version
    dates: Annotated[list[Dtm], At(4)] = field(default_factory=list)  # DTM*405 production date
    payer: Annotated[PayerLoop, At(5)]  # 1000A
    payee: Annotated[PayeeLoop, At(6)]  # 1000B
    header_numbers: Annotated[list[HeaderNumberLoop], At(7)] = field(default_factory=list)  # 2000
    provider_adjustments: Annotated[list[Plb], At(8)] = field(default_factory=list)  # PLB


def iter_claim_payments(transaction: Remittance835) -> Iterator[ClaimPaymentLoop]:
    """Every 2100 claim payment in document order."""
    for header in transaction.header_numbers:
        yield from header.claims
