"""Payload models for the claim lifecycle.

Each payload class is one event type at one schema version. Payloads carry the minimum necessary:
ids, codes and amounts, never full demographics (names, birth dates, addresses, member ids stay in the
owning service's database). Money is a Decimal, serialized as a string; dates are ISO dates.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from claimflow_events.topics import Topic
from claimflow_events.types import (
    Adjustment,
    ClaimKind,
    Frozen,
    IcdCode,
    Money,
    Npi,
    PayerSequence,
    PlaceOfService,
    ServiceLine,
)


class EventPayload(Frozen):
    """Base of every payload: its type name, schema version, topic and aggregate id."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    topic: ClassVar[Topic]
    aggregate_field: ClassVar[str]

    @property
    def aggregate_id(self) -> str:
        """The aggregate id: the envelope subject and the Kafka partition key."""
        return str(getattr(self, self.aggregate_field))


class EncounterReceived(EventPayload):
    """An EHR sent a documented encounter (REST JSON or FHIR); coding and eligibility start from here."""

    event_type: ClassVar[str] = "encounter-received"
    topic: ClassVar[Topic] = Topic.ENCOUNTERS
    aggregate_field: ClassVar[str] = "encounter_id"

    encounter_id: str
    encounter_version: int = Field(ge=1)
    practice_id: str
    ehr_encounter_id: str
    patient_id: str = Field(description="ClaimFlow patient reference, not a name.")
    payer_id: str | None = None
    date_of_service: date
    date_of_service_to: date | None = None
    place_of_service: PlaceOfService
    claim_kind: ClaimKind = ClaimKind.PROFESSIONAL
    rendering_provider_npi: Npi
    billing_provider_npi: Npi
    diagnosis_codes: tuple[IcdCode, ...] = ()
    service_lines: tuple[ServiceLine, ...] = ()


class EligibilityStatus(StrEnum):
    """Outcome of a 270/271 exchange."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    NOT_FOUND = "not-found"
    ERROR = "error"


class EligibilityChecked(EventPayload):
    """Coverage was verified (270/271); key benefit figures only, no demographics."""

    event_type: ClassVar[str] = "eligibility-checked"
    topic: ClassVar[Topic] = Topic.ELIGIBILITY
    aggregate_field: ClassVar[str] = "check_id"

    check_id: str
    encounter_id: str | None = None
    patient_id: str
    payer_id: str
    date_of_service: date
    status: EligibilityStatus
    service_type_codes: tuple[str, ...] = ()
    plan_name: str | None = None
    insurance_type_code: str | None = None
    copay: Money | None = None
    coinsurance_percent: Decimal | None = Field(default=None, ge=0, le=100)
    deductible_remaining: Money | None = None
    out_of_pocket_remaining: Money | None = None
    error_code: str | None = Field(default=None, description="AAA03 reject reason when the payer refused.")


class PostalAddress(Frozen):
    """A US postal address as 837 N3/N4 need it."""

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^[0-9]{5}([0-9]{4})?$")


class PartyPerson(Frozen):
    """A patient or subscriber as the claim names them."""

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: str = Field(pattern=r"^[FMU]$")
    address: PostalAddress | None = None


class Addressee(Frozen):
    """Whom a patient statement is mailed to: the guarantor's name and, when known, postal address."""

    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    address: PostalAddress | None = None


class InstitutionalDetails(Frozen):
    """What an institutional (837I / UB-04) claim adds: the type of bill, admission and discharge codes, and the
    attending provider."""

    type_of_bill: str = Field(
        pattern=r"^[0-9]{3}$", description="Facility type (2 digits, e.g. 13 hospital outpatient) + frequency (1)."
    )
    admission_type_code: str = Field(pattern=r"^[1-9]$", description="CL101 priority of the visit (3 elective...).")
    admission_source_code: str | None = Field(default=None, pattern=r"^[0-9A-Z]$", description="CL102.")
    patient_status_code: str = Field(pattern=r"^[0-9]{2}$", description="CL103 discharge status (01 home...).")
    admission_date: date | None = Field(default=None, description="DTP*435 (inpatient).")
    attending_provider_npi: Npi
    attending_last_name: str = Field(min_length=1, max_length=60)
    attending_first_name: str | None = Field(default=None, max_length=35)


class OtherCoverage(Frozen):
    """Another plan of the patient that pays after the primary: its order, payer, and whose card it is."""

    payer_sequence: PayerSequence = Field(description="SBR01 of this plan: secondary or tertiary.")
    payer_id: str = Field(min_length=1, max_length=80)
    member_id: str | None = Field(default=None, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    relationship_to_subscriber: str = Field(
        default="18", pattern=r"^(18|01|19|20|21|39|40|53|G8)$", description="X12 individual relationship (18 self)."
    )
    subscriber: PartyPerson | None = Field(default=None, description="The card holder when not the patient.")


class ClaimParties(Frozen):
    """Who a claim is for: the demographics billing needs (PHI; carried only where the consumer bills)."""

    member_id: str | None = Field(default=None, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    patient: PartyPerson
    relationship_to_subscriber: str = Field(
        default="18", pattern=r"^(18|01|19|20|21|39|40|53|G8)$", description="X12 individual relationship (18 self)."
    )
    subscriber: PartyPerson | None = Field(default=None, description="The card holder when not the patient.")
    other_coverages: tuple[OtherCoverage, ...] = Field(
        default=(),
        max_length=2,
        description="Plans that pay after this one (coordination of benefits), in payer order: the secondary, "
        "then the tertiary.",
    )
    guarantor_id: str | None = Field(
        default=None,
        max_length=40,
        description="The account the patient's share is billed to (statements, patient payments): the EHR's "
        "guarantor, else the primary plan's card holder when the patient is a dependent; absent: the patient.",
    )
    statement_to: Addressee | None = Field(
        default=None,
        description="The guarantor as statements are addressed: the EHR's guarantor, the card holder or the patient; "
        "absent when the EHR named a guarantor without saying who they are.",
    )


class EncounterCoded(EventPayload):
    """Coding is final: the codes a claim can be built from."""

    event_type: ClassVar[str] = "encounter-coded"
    topic: ClassVar[Topic] = Topic.ENCOUNTERS
    aggregate_field: ClassVar[str] = "encounter_id"

    encounter_id: str
    encounter_version: int = Field(ge=1)
    practice_id: str
    patient_id: str
    payer_id: str | None = None
    date_of_service: date
    date_of_service_to: date | None = None
    place_of_service: PlaceOfService
    claim_kind: ClaimKind = ClaimKind.PROFESSIONAL
    rendering_provider_npi: Npi
    billing_provider_npi: Npi
    diagnosis_codes: tuple[IcdCode, ...] = Field(min_length=1, max_length=12)
    service_lines: tuple[ServiceLine, ...] = Field(min_length=1)
    coded_by: str = Field(description="Coder or 'auto' when no edit needed a person.")
    coded_at: datetime
    parties: ClaimParties | None = Field(
        default=None, description="Patient and subscriber as the claim must name them (claims-svc bills from it)."
    )
    institutional: InstitutionalDetails | None = Field(
        default=None, description="Type of bill, admission codes and attending provider (claim_kind institutional)."
    )


class CodingFinding(Frozen):
    """One coding edit that fired: stable code, severity and a message without PHI."""

    code: str
    severity: str
    message: str
    line_number: int | None = None


class CodingReviewRequired(EventPayload):
    """Edits found problems a coder must resolve before the encounter can be billed."""

    event_type: ClassVar[str] = "coding-review-required"
    topic: ClassVar[Topic] = Topic.ENCOUNTERS
    aggregate_field: ClassVar[str] = "encounter_id"

    encounter_id: str
    encounter_version: int = Field(ge=1)
    practice_id: str
    findings: tuple[CodingFinding, ...] = Field(min_length=1)


class ClaimLineSubmitted(Frozen):
    """A submitted claim line with the control number the 835 will return (REF*6R)."""

    line_item_control_number: str
    procedure_code: str
    modifiers: tuple[str, ...] = ()
    units: Decimal
    charge: Money
    service_date: date


class ClaimSubmitted(EventPayload):
    """A claim left for the payer inside an 837 interchange."""

    event_type: ClassVar[str] = "claim-submitted"
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "claim_id"

    claim_id: str
    encounter_ids: tuple[str, ...] = Field(min_length=1)
    practice_id: str
    patient_id: str
    payer_id: str
    payer_sequence: PayerSequence = PayerSequence.PRIMARY
    claim_kind: ClaimKind = ClaimKind.PROFESSIONAL
    patient_control_number: str = Field(description="CLM01; the key the 835 returns.")
    claim_frequency_code: str = Field(pattern=r"^[178]$", description="CLM05-3: 1 original, 7 replace, 8 void.")
    payer_claim_control_number: str | None = Field(default=None, description="REF*F8 for frequency 7 and 8.")
    total_charge: Money
    lines: tuple[ClaimLineSubmitted, ...] = Field(min_length=1)
    interchange_control_number: str = Field(description="ISA13 of the interchange that carried the claim.")
    submitted_at: datetime
    rendering_provider_npi: Npi | None = Field(default=None, description="2310B; AR is aged per provider.")
    prior_claim_id: str | None = Field(
        default=None,
        description="A secondary or tertiary claim: the previous payer's claim, whose patient balance this payer "
        "is now billed for.",
    )
    guarantor_id: str | None = Field(
        default=None,
        max_length=40,
        description="The account the patient's share of this claim is billed to; absent: the patient's own.",
    )
    patient_name: str | None = Field(
        default=None, max_length=121, description="First and last name, as a patient statement lists the claim (PHI)."
    )
    statement_to: Addressee | None = Field(
        default=None,
        description="Whom the guarantor's statements are mailed to, as of this claim (PHI; remit-svc bills patients).",
    )


class AcknowledgmentSource(StrEnum):
    """Which acknowledgment decided: the 999 (syntax) or the 277CA (claim level)."""

    FUNCTIONAL_ACK = "999"
    CLAIM_ACK = "277CA"


class ClaimAccepted(EventPayload):
    """The clearinghouse/payer accepted the claim into adjudication."""

    event_type: ClassVar[str] = "claim-accepted"
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "claim_id"

    claim_id: str
    patient_control_number: str
    payer_id: str
    source: AcknowledgmentSource
    payer_claim_control_number: str | None = None
    status_category_codes: tuple[str, ...] = ()
    accepted_at: datetime


class RejectionReason(Frozen):
    """Why an acknowledgment rejected a claim (status/error code plus text)."""

    code: str
    description: str


class ClaimRejected(EventPayload):
    """The claim was rejected before adjudication; it must be fixed and resubmitted."""

    event_type: ClassVar[str] = "claim-rejected"
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "claim_id"

    claim_id: str
    patient_control_number: str
    payer_id: str
    source: AcknowledgmentSource
    reasons: tuple[RejectionReason, ...] = Field(min_length=1)
    rejected_at: datetime


class ClaimResubmitted(EventPayload):
    """A corrected, replacement or void claim went out for an earlier claim."""

    event_type: ClassVar[str] = "claim-resubmitted"
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "claim_id"

    claim_id: str
    original_claim_id: str
    claim_frequency_code: str = Field(pattern=r"^[178]$")
    reason: str
    resubmitted_at: datetime
    corrected_lines: tuple[str, ...] = Field(
        default=(),
        description="Line item control numbers of the original claim that a claim of corrected lines only "
        "(frequency 1, for payers that take them) carries now; empty when the whole claim is superseded.",
    )


class ClaimDenied(EventPayload):
    """An 835 denied the claim (or part of it): the codes that explain why."""

    event_type: ClassVar[str] = "claim-denied"
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "claim_id"

    claim_id: str
    patient_control_number: str
    payer_id: str
    era_id: str
    payer_claim_control_number: str | None = None
    claim_status_code: str = Field(description="CLP02.")
    total_charge: Money
    denied_amount: Money
    adjustments: tuple[Adjustment, ...] = ()
    remark_codes: tuple[str, ...] = Field(default=(), description="RARCs (LQ*HE, MOA/MIA).")
    denied_at: datetime


class LineAdjudication(Frozen):
    """How the payer adjudicated one service line (835 loop 2110): what the next payer's 837 reports in 2430 SVD.

    The line's CAS adjustments travel in the payment's ``adjustments`` under the same line item control number.
    """

    line_item_control_number: str
    procedure_code: str = Field(description="SVC01-2 as adjudicated.")
    modifiers: tuple[str, ...] = ()
    charge: Money
    paid_amount: Money
    units: Decimal | None = Field(default=None, description="SVC05 paid units (None: as billed).")


class PaymentPosted(EventPayload):
    """An 835 claim payment was posted to the ledger."""

    event_type: ClassVar[str] = "payment-posted"
    topic: ClassVar[Topic] = Topic.CLAIMS
    aggregate_field: ClassVar[str] = "claim_id"

    claim_id: str
    patient_control_number: str
    payer_id: str
    payer_sequence: PayerSequence = PayerSequence.PRIMARY
    era_id: str
    trace_number: str = Field(description="TRN02: check or EFT number.")
    payer_claim_control_number: str | None = None
    claim_status_code: str = Field(description="CLP02.")
    total_charge: Money
    paid_amount: Money
    patient_responsibility: Money
    deductible: Money = Decimal("0")
    coinsurance: Money = Decimal("0")
    copay: Money = Decimal("0")
    adjustments: tuple[Adjustment, ...] = ()
    is_reversal: bool = False
    crossed_over_to: str | None = Field(default=None, description="Payer the claim was forwarded to (CLP02 19-21).")
    lines: tuple[LineAdjudication, ...] = Field(default=(), description="Each service line's adjudication (2110).")
    adjudicated_on: date | None = Field(default=None, description="BPR16: the payer's check or EFT date.")
    posted_at: datetime


class PatientBalanceUpdated(EventPayload):
    """A guarantor's balance changed (patient responsibility, payment or refund)."""

    event_type: ClassVar[str] = "patient-balance-updated"
    topic: ClassVar[Topic] = Topic.PATIENT_ACCOUNTS
    aggregate_field: ClassVar[str] = "guarantor_id"

    guarantor_id: str
    patient_id: str | None = Field(
        default=None, description="The patient whose claim or payment it was; absent: a payment on the whole account."
    )
    claim_id: str | None = None
    change: Money
    balance: Money
    reason: str
    updated_at: datetime


ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    EncounterReceived,
    EligibilityChecked,
    EncounterCoded,
    CodingReviewRequired,
    ClaimSubmitted,
    ClaimAccepted,
    ClaimRejected,
    ClaimResubmitted,
    ClaimDenied,
    PaymentPosted,
    PatientBalanceUpdated,
)
"""Every current payload model; the catalog and the committed schemas are built from this list."""
