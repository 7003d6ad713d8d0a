"""Request and response bodies of the coding API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from claimflow_events import ClaimKind, InstitutionalDetails
from claimflow_events.types import IcdCode, Modifier, Money, Npi, PlaceOfService, ProcedureCode


class AddressIn(BaseModel):
    """A US postal address (the claim needs the patient's and the subscriber's)."""

    model_config = ConfigDict(extra="forbid")

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    postal_code: str = Field(pattern=r"^[0-9]{5}([0-9]{4})?$")


class PatientIn(BaseModel):
    """The patient as the EHR knows them (PHI: stored in coding-svc; only claims-svc receives it, to bill)."""

    model_config = ConfigDict(extra="forbid")

    ehr_patient_id: str = Field(min_length=1, max_length=128)
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    member_id: str | None = Field(default=None, max_length=80)
    address: AddressIn | None = None


class SubscriberIn(BaseModel):
    """The card holder, when the patient is a dependent."""

    model_config = ConfigDict(extra="forbid")

    relationship: Literal["01", "19", "20", "21", "39", "40", "53", "G8"] = Field(
        description="Patient's relationship to the subscriber (X12: 01 spouse, 19 child, G8 other)"
    )
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    address: AddressIn | None = None


class OtherCoverageIn(BaseModel):
    """Another plan of the patient that pays after the primary (coordination of benefits), as on its card."""

    model_config = ConfigDict(extra="forbid")

    payer_sequence: Literal["secondary", "tertiary"] = Field(description="Order in which this plan pays")
    payer_id: str = Field(min_length=1, max_length=80)
    member_id: str = Field(min_length=1, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    subscriber: SubscriberIn | None = Field(
        default=None, description="Only when the patient is not the card holder of this plan"
    )


class ServiceLineIn(BaseModel):
    """A procedure line as documented."""

    model_config = ConfigDict(extra="forbid")

    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: Decimal = Field(default=Decimal(1), gt=0, max_digits=9, decimal_places=3)
    diagnosis_pointers: list[int] = Field(default_factory=list, max_length=4)
    charge: Money | None = Field(default=None, ge=0)
    revenue_code: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="NUBC revenue code: required on institutional encounters"
    )


class GuarantorIn(BaseModel):
    """The person responsible for the patient's balance, when neither the patient nor the card holder."""

    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    address: AddressIn | None = Field(default=None, description="Where statements are mailed")


class EncounterIn(BaseModel):
    """An encounter sent by an EHR. Re-sending the same ``ehr_encounter_id`` is idempotent."""

    model_config = ConfigDict(extra="forbid")

    practice_id: str = Field(min_length=1, max_length=64)
    ehr_encounter_id: str = Field(min_length=1, max_length=128)
    patient: PatientIn
    payer_id: str | None = Field(default=None, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    subscriber: SubscriberIn | None = Field(default=None, description="Only when the patient is not the card holder")
    other_coverages: list[OtherCoverageIn] = Field(
        default_factory=list, max_length=2, description="Secondary and tertiary plans, when the patient has them"
    )
    ehr_guarantor_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The EHR's id of the person responsible for the patient's balance (statements go to them). "
        "A patient's own ehr_patient_id makes that patient's account the guarantor, so a parent who is a patient too "
        "gets one statement. Without it: the primary plan's card holder when the patient is a dependent, else the "
        "patient",
    )
    guarantor: GuarantorIn | None = Field(
        default=None,
        description="Name and mailing address of the guarantor named by ehr_guarantor_id (statements are addressed to "
        "them). Not needed when the guarantor is the patient, or the card holder given in subscriber",
    )
    date_of_service: date
    date_of_service_to: date | None = None
    place_of_service: PlaceOfService
    claim_kind: ClaimKind = ClaimKind.PROFESSIONAL
    rendering_provider_npi: Npi
    billing_provider_npi: Npi
    diagnoses: list[IcdCode] = Field(default_factory=list, max_length=12)
    lines: list[ServiceLineIn] = Field(default_factory=list, max_length=50)
    clinical_note: str | None = Field(default=None, max_length=20000)
    institutional: InstitutionalDetails | None = Field(
        default=None, description="Type of bill, admission codes and attending provider: required when claim_kind "
        "is institutional (the claim goes out as an 837I)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _kind_matches_details(self) -> EncounterIn:
        if self.claim_kind is ClaimKind.INSTITUTIONAL:
            if self.institutional is None:
                raise ValueError("an institutional encounter needs `institutional` (type of bill, admission codes, "
                                 "attending provider)")  # fmt: skip
            missing = [n for n, line in enumerate(self.lines, start=1) if line.revenue_code is None]
            if missing:
                raise ValueError(f"institutional lines need a revenue_code (lines {missing})")
        elif self.institutional is not None:
            raise ValueError("`institutional` is only for claim_kind institutional")
        if self.guarantor is not None and self.ehr_guarantor_id is None:
            raise ValueError("`guarantor` needs `ehr_guarantor_id`: the account their statements are for")
        return self


class EncounterOut(BaseModel):
    """An encounter as stored: its ClaimFlow ids, version and status, and the document."""

    id: str
    practice_id: str
    ehr_encounter_id: str
    version: int
    patient_id: str
    status: str
    eligibility_status: str | None
    date_of_service: date
    document: dict[str, object]
    created_at: datetime
    updated_at: datetime


MAX_BATCH = 200


class EncounterBatchIn(BaseModel):
    """Encounters sent together, e.g. an EHR's export of a day: received in order, in one transaction."""

    model_config = ConfigDict(extra="forbid")

    encounters: list[EncounterIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchErrorOut(BaseModel):
    """Why one encounter of a batch was refused: the error a single post of it would get, with its status."""

    status: int
    error: str
    detail: object
    extra: dict[str, object] | None = None


class EncounterBatchItemOut(BaseModel):
    """The answer for one encounter of a batch, at its position; ``encounter_id`` is set unless it was refused."""

    ehr_encounter_id: str
    outcome: Literal["created", "unchanged", "refused"]
    encounter_id: str | None = None
    version: int | None = None
    patient_id: str | None = None
    status: str | None = None
    error: BatchErrorOut | None = None


class EncounterBatchOut(BaseModel):
    """One answer per encounter sent, in the order sent, and the counts."""

    created: int
    unchanged: int
    refused: int
    results: list[EncounterBatchItemOut]
