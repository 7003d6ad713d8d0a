"""Request and response documents of eligibility-svc."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from claimflow_events.types import Npi

ServiceTypeCode = Field(pattern=r"^[0-9A-Z]{1,2}$")


class PersonIn(BaseModel):
    """A subscriber or dependent as printed on the insurance card."""

    first_name: str = Field(min_length=1, max_length=35)
    last_name: str = Field(min_length=1, max_length=60)
    birth_date: date
    sex: Literal["F", "M", "U"] | None = None
    member_id: str | None = Field(default=None, min_length=2, max_length=80, pattern=r"^[0-9A-Za-z-]+$")


class EligibilityCheckIn(BaseModel):
    """Is this patient covered by this payer on this date, and what will they owe for these services?"""

    practice_id: str = Field(min_length=1, max_length=64)
    provider_npi: Npi
    payer_id: str = Field(min_length=2, max_length=80)
    payer_name: str | None = Field(default=None, max_length=60)
    ehr_patient_id: str = Field(min_length=1, max_length=128)
    encounter_id: str | None = Field(default=None, max_length=40)
    subscriber: PersonIn
    dependent: PersonIn | None = Field(default=None, description="The patient, when not the card holder")
    date_of_service: date
    service_type_codes: list[str] = Field(default_factory=lambda: ["30"], min_length=1, max_length=10)


class BenefitOut(BaseModel):
    """One cost-sharing fact for a service type and network."""

    kind: str
    service_type_code: str
    in_network: bool | None
    coverage_level: str | None
    time_period: str | None
    amount: str | None
    percent: str | None
    notes: list[str]


class ProblemOut(BaseModel):
    """Why the payer refused the inquiry, in words a front desk can act on."""

    code: str
    message: str
    retry: bool


class KeyFiguresOut(BaseModel):
    """The figures the front desk needs for the first service type asked about (in network)."""

    service_type_code: str
    copay: str | None
    coinsurance_percent: str | None
    deductible: str | None
    deductible_remaining: str | None
    out_of_pocket: str | None
    out_of_pocket_remaining: str | None


class EligibilityCheckOut(BaseModel):
    """A coverage check: what was asked, where it stands, and the parsed answer."""

    id: str
    encounter_id: str | None
    patient_id: str
    payer_id: str | None
    date_of_service: date
    service_type_codes: list[str]
    origin: str
    status: str
    cached: bool = False
    batch_id: str | None
    created_at: datetime
    completed_at: datetime | None
    attempts: int
    plan_name: str | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    key_figures: KeyFiguresOut | None = None
    benefits: list[BenefitOut] = Field(default_factory=list)
    problems: list[ProblemOut] = Field(default_factory=list)
    error: dict[str, Any] | None = None


class BatchItemIn(BaseModel):
    """One scheduled patient of a batch (the practice comes from the batch)."""

    provider_npi: Npi
    payer_id: str = Field(min_length=2, max_length=80)
    payer_name: str | None = Field(default=None, max_length=60)
    ehr_patient_id: str = Field(min_length=1, max_length=128)
    subscriber: PersonIn
    dependent: PersonIn | None = None
    date_of_service: date
    service_type_codes: list[str] = Field(default_factory=lambda: ["30"], min_length=1, max_length=10)


class BatchIn(BaseModel):
    """A day's schedule checked as one job."""

    practice_id: str = Field(min_length=1, max_length=64)
    items: list[BatchItemIn] = Field(min_length=1, max_length=2000)


class BatchOut(BaseModel):
    """Progress of a batch; ``checks`` lists the results so far."""

    id: str
    practice_id: str
    total: int
    completed: int
    by_status: dict[str, int]
    done: bool
    created_at: datetime
    checks: list[EligibilityCheckOut] = Field(default_factory=list)
