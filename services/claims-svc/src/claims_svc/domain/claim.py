"""A professional claim as billing thinks of it, independent of X12 and storage."""

from __future__ import annotations

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

    @property
    def total_charge(self) -> Decimal:
        """Σ line charges (missing charges count as zero; the scrubber reports them)."""
        return sum((line.charge or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def card_holder(self) -> Person:
        """The subscriber (the patient when they hold the card)."""
        return self.subscriber or self.patient
