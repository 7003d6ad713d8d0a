"""A professional claim as billing thinks of it, independent of X12 and storage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Address:
    """Street, city, state, ZIP (5 or 9 digits)."""

    line1: str
    city: str
    state: str
    postal_code: str
    line2: str | None = None


@dataclass(frozen=True)
class Person:
    """A patient or subscriber as the claim names them."""

    first_name: str
    last_name: str
    birth_date: date
    sex: str  # F, M, U
    address: Address | None = None


@dataclass(frozen=True)
class BillingProvider:
    """The practice that bills (2010AA)."""

    name: str
    npi: str
    tax_id: str
    address: Address | None
    taxonomy_code: str | None = None


@dataclass(frozen=True)
class Payer:
    """Who the claim goes to."""

    payer_id: str
    name: str
    claim_filing: str = "CI"  # SBR09: CI commercial, MB Medicare Part B, MC Medicaid, HM HMO...


@dataclass(frozen=True)
class ClaimLine:
    """One service line (2400)."""

    line_number: int
    procedure_code: str
    charge: Decimal | None
    units: Decimal = Decimal(1)
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = ()
    service_date: date | None = None
    revenue_code: str | None = None  # SV201 (institutional claims)


@dataclass(frozen=True)
class Institutional:
    """What an institutional claim (837I / UB-04) adds to the common claim."""

    type_of_bill: str  # facility type (2 digits) + frequency, e.g. 131: hospital outpatient, original
    admission_type_code: str  # CL101
    patient_status_code: str  # CL103
    attending_npi: str
    attending_last_name: str
    attending_first_name: str | None = None
    admission_source_code: str | None = None  # CL102
    admission_date: date | None = None  # DTP*435

    @property
    def facility_type(self) -> str:
        """CLM05-1: the first two digits of the type of bill."""
        return self.type_of_bill[:2]


PAYER_ORDER = ("primary", "secondary", "tertiary")
"""Payer sequences in the order the plans pay (SBR01 P, S, T)."""


@dataclass(frozen=True)
class ClaimAdjustment:
    """One CAS triple of an earlier payer's adjudication: group (CO, PR, OA, PI, CR), reason (CARC), amount."""

    group_code: str
    reason_code: str
    amount: Decimal


@dataclass(frozen=True)
class LineAdjudication:
    """How an earlier payer adjudicated one of this claim's lines (2430: SVD, CAS)."""

    line_number: int  # the 2400 line it answers
    procedure_code: str  # SVD03-2 as adjudicated
    paid: Decimal  # SVD02
    adjustments: tuple[ClaimAdjustment, ...] = ()
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)  # SVD05 paid units


@dataclass(frozen=True)
class PayerAdjudication:
    """What an earlier payer decided on this claim (its 835): the next payer's 2320 and 2430 report it."""

    paid: Decimal  # AMT*D
    remaining_patient_liability: Decimal  # AMT*EAF (CLP05)
    adjudication_date: date  # DTP*573
    adjustments: tuple[ClaimAdjustment, ...] = ()  # claim-level CAS
    lines: tuple[LineAdjudication, ...] = ()
    payer_claim_number: str | None = None  # CLP07
    reversed: bool = False  # the payer took it back (CLP02 22) and has not re-adjudicated yet


@dataclass(frozen=True)
class OtherCoverage:
    """Another plan of the patient (2320/2330): an earlier payer with its adjudication, or a later one."""

    sequence: str  # primary, secondary, tertiary
    payer: Payer
    member_id: str | None
    relationship_to_subscriber: str = "18"
    subscriber: Person | None = None  # the card holder when not the patient
    group_number: str | None = None
    adjudication: PayerAdjudication | None = None


@dataclass(frozen=True)
class ProfessionalClaim:
    """One 837P claim: who, what, when, for how much."""

    patient_control_number: str
    payer: Payer
    billing: BillingProvider
    rendering_npi: str
    member_id: str | None
    patient: Person
    date_of_service: date
    place_of_service: str
    diagnoses: tuple[str, ...]
    lines: tuple[ClaimLine, ...]
    relationship_to_subscriber: str = "18"  # 18 = the patient is the subscriber
    subscriber: Person | None = None  # the card holder when the patient is a dependent
    group_number: str | None = None
    frequency_code: str = "1"  # 1 original, 7 replacement, 8 void
    payer_claim_number: str | None = None  # REF*F8 for 7 and 8
    prior_authorization: str | None = None  # REF*G1
    notes: tuple[str, ...] = field(default=())
    payer_sequence: str = "primary"  # SBR01 of 2000B: which payer this claim is billed to
    other_coverages: tuple[OtherCoverage, ...] = ()  # 2320/2330, in payer order
    institutional: Institutional | None = None  # set: the claim goes out as an 837I

    @property
    def total_charge(self) -> Decimal:
        """Σ line charges (missing charges count as zero; the scrubber reports them)."""
        return sum((line.charge or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def card_holder(self) -> Person:
        """The subscriber (the patient when they hold the card)."""
        return self.subscriber or self.patient

    @property
    def prior_payers(self) -> tuple[OtherCoverage, ...]:
        """The other plans that already adjudicated the claim (a secondary's primary; a tertiary's two)."""
        return tuple(c for c in self.other_coverages if c.adjudication is not None)


def new_patient_control_number() -> str:
    """CLM01 of a new claim: unique, and short enough (20) for the payers that truncate longer ones."""
    return f"CF{uuid.uuid4().hex[:18].upper()}"
