"""Request and response bodies of the coding API."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from claimflow_events import ClaimKind
from claimflow_events.types import IcdCode, Modifier, Money, Npi, PlaceOfService, ProcedureCode


class PatientIn(BaseModel):
    """The patient as the EHR knows them (PHI: stored in coding-svc only, never put in events)."""

    model_config = ConfigDict(extra="forbid")

    ehr_patient_id: str = Field(min_length=1, max_length=128)
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"]
    member_id: str | None = Field(default=None, max_length=80)


class ServiceLineIn(BaseModel):
    """A procedure line as documented."""

    model_config = ConfigDict(extra="forbid")

    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: Decimal = Field(default=Decimal(1), gt=0, max_digits=9, decimal_places=3)
    diagnosis_pointers: list[int] = Field(default_factory=list, max_length=4)
    charge: Money | None = Field(default=None, ge=0)


class EncounterIn(BaseModel):
    """An encounter sent by an EHR. Re-sending the same ``ehr_encounter_id`` is idempotent."""

    model_config = ConfigDict(extra="forbid")

    practice_id: str = Field(min_length=1, max_length=64)
    ehr_encounter_id: str = Field(min_length=1, max_length=128)
    patient: PatientIn
    payer_id: str | None = Field(default=None, max_length=80)
    date_of_service: date
    date_of_service_to: date | None = None
    place_of_service: PlaceOfService
    claim_kind: ClaimKind = ClaimKind.PROFESSIONAL
    rendering_provider_npi: Npi
    billing_provider_npi: Npi
    diagnoses: list[IcdCode] = Field(default_factory=list, max_length=12)
    lines: list[ServiceLineIn] = Field(default_factory=list, max_length=50)
    clinical_note: str | None = Field(default=None, max_length=20000)


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
