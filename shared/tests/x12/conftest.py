"""Fixtures for the X12 tests: golden samples and an independent validator (pyx12)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import hypothesis.configuration
import pytest

from claimflow_x12.guides.claim_837_common import (
    BillingProviderNameLoop,
    Clm,
    PayerNameLoop,
    ProviderNameLoop,
    ReceiverLoop,
    SubmitterLoop,
    SubscriberNameLoop,
    YesNoCode,
)
from claimflow_x12.guides.claim_837p import (
    Claim837P,
    ProfessionalBillingProviderLoop,
    ProfessionalClaimLoop,
    ProfessionalServiceLineLoop,
    ProfessionalSubscriberLoop,
    Sv1,
)
from claimflow_x12.segments import (
    N3,
    N4,
    Bht,
    ClaimFilingIndicatorCode,
    DateFormatQualifier,
    Dmg,
    Dtp,
    EntityTypeQualifier,
    GenderCode,
    HealthCareCode,
    Hi,
    Lx,
    Nm1,
    PayerResponsibilityCode,
    Per,
    Prv,
    Ref,
    Sbr,
    St,
)

SAMPLES = Path(__file__).parent / "samples"

# Hypothesis keeps caches in .hypothesis/ under the working directory (the repository root) unless told otherwise.
hypothesis.configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "claimflow-x12-hypothesis")


@pytest.fixture(scope="session")
def samples() -> Path:
    """Directory of the golden sample files."""
    return SAMPLES


def sample_text(name: str) -> str:
    """Read a golden sample exactly (line breaks preserved)."""
    return (SAMPLES / name).read_bytes().decode()


@pytest.fixture(scope="session")
def read_sample() -> Callable[[str], str]:
    """Read a golden sample by file name."""
    return sample_text


# ---------------------------------------------------------------------------------------------------------------
# Model factories (plain functions; exposed as session fixtures so hypothesis tests can use them)


@dataclass(frozen=True)
class LineSpec:
    """One service line for the factory."""

    procedure: str
    charge: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    pointers: tuple[int, ...] = (1,)


def professional_claim(
    patient_control_number: str,
    lines: list[LineSpec],
    diagnoses: list[str],
    *,
    frequency: str = "1",
    payer_claim_number: str | None = None,
    service_date: date = date(2024, 1, 2),
) -> ProfessionalClaimLoop:
    """A 2300 claim whose CLM02 is the sum of its lines."""
    references = [Ref(qualifier="F8", value=payer_claim_number)] if payer_claim_number else []
    codes = [HealthCareCode("ABK" if i == 0 else "ABF", code) for i, code in enumerate(diagnoses)]
    return ProfessionalClaimLoop(
        claim=Clm(
            patient_control_number=patient_control_number,
            total_charge=sum((line.charge for line in lines), Decimal(0)),
            place_of_service="11",
            facility_code_qualifier="B",
            frequency_code=frequency,
            provider_signature=YesNoCode.YES,
            assignment_participation="A",
            benefits_assignment=YesNoCode.YES,
            release_of_information="Y",
        ),
        references=references,
        health_care_codes=[Hi(codes=codes)],
        rendering_provider=ProviderNameLoop(
            name=Nm1(
                entity_identifier="82",
                entity_type=EntityTypeQualifier.PERSON,
                last_name_or_organization="OKAFOR",
                first_name="CHIDI",
                id_qualifier="XX",
                identifier="1497758544",
            ),
            specialty=Prv(provider_code="PE", reference_qualifier="PXC", taxonomy_code="207Q00000X"),
        ),
        service_lines=[
            ProfessionalServiceLineLoop(
                line=Lx(assigned_number=number),
                service=Sv1(
                    procedure_qualifier="HC",
                    procedure_code=line.procedure,
                    modifiers=list(line.modifiers),
                    line_charge=line.charge,
                    units=line.units,
                    diagnosis_pointers=list(line.pointers),
                ),
                dates=[Dtp(qualifier="472", date_format=DateFormatQualifier.DATE, start=service_date)],
                references=[Ref(qualifier="6R", value=f"{patient_control_number}L{number}")],
            )
            for number, line in enumerate(lines, start=1)
        ],
    )


def professional_transaction(claims: list[ProfessionalClaimLoop], control_number: str = "0001") -> Claim837P:
    """An 837P with one billing provider and one subscriber who is the patient."""
    return Claim837P(
        header=St(transaction_set_id="837", control_number=control_number, implementation_reference="005010X222A1"),
        beginning=Bht(
            structure_code="0019",
            purpose_code="00",
            reference_id="BATCH1",
            created_date=date(2024, 1, 5),
            created_time="1200",
            transaction_type_code="CH",
        ),
        submitter=SubmitterLoop(
            submitter=Nm1(
                entity_identifier="41",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization="SUNRISE BILLING LLC",
                id_qualifier="46",
                identifier="CF12345",
            ),
            contacts=[Per(function_code="IC", name="BILLING DESK", number_qualifier_1="TE", number_1="5555550100")],
        ),
        receiver=ReceiverLoop(
            receiver=Nm1(
                entity_identifier="40",
                entity_type=EntityTypeQualifier.ORGANIZATION,
                last_name_or_organization="CLEARHOUSE ONE",
                id_qualifier="46",
                identifier="CH0001",
            )
        ),
        billing_providers=[
            ProfessionalBillingProviderLoop(
                billing_provider=BillingProviderNameLoop(
                    name=Nm1(
                        entity_identifier="85",
                        entity_type=EntityTypeQualifier.ORGANIZATION,
                        last_name_or_organization="SUNRISE FAMILY MEDICINE",
                        id_qualifier="XX",
                        identifier="1234567893",
                    ),
                    address=N3(address_line_1="100 MAIN STREET"),
                    city_state_zip=N4(city="SPRINGFIELD", state="IL", postal_code="62701"),
                    references=[Ref(qualifier="EI", value="371234567")],
                ),
                subscribers=[
                    ProfessionalSubscriberLoop(
                        subscriber_information=Sbr(
                            payer_responsibility=PayerResponsibilityCode.PRIMARY,
                            relationship_code="18",
                            group_number="GRP1234",
                            claim_filing_indicator=ClaimFilingIndicatorCode.COMMERCIAL,
                        ),
                        subscriber=SubscriberNameLoop(
                            name=Nm1(
                                entity_identifier="IL",
                                entity_type=EntityTypeQualifier.PERSON,
                                last_name_or_organization="RIVERA",
                                first_name="MARIA",
                                id_qualifier="MI",
                                identifier="W123456789",
                            ),
                            address=N3(address_line_1="42 ELM AVENUE"),
                            city_state_zip=N4(city="SPRINGFIELD", state="IL", postal_code="62704"),
                            demographics=Dmg(date_format="D8", birth_date=date(1980, 3, 15), gender=GenderCode.FEMALE),
                        ),
                        payer=PayerNameLoop(
                            name=Nm1(
                                entity_identifier="PR",
                                entity_type=EntityTypeQualifier.ORGANIZATION,
                                last_name_or_organization="ACME HEALTH PLAN",
                                id_qualifier="PI",
                                identifier="ACME01",
                            )
                        ),
                        claims=claims,
                    )
                ],
            )
        ],
    )


@pytest.fixture(scope="session")
def make_claim() -> Callable[..., ProfessionalClaimLoop]:
    """Factory for 2300 professional claims."""
    return professional_claim


@pytest.fixture(scope="session")
def make_837p() -> Callable[..., Claim837P]:
    """Factory for 837P transactions."""
    return professional_transaction


@pytest.fixture(scope="session")
def line() -> type[LineSpec]:
    """Service line specification for ``make_claim``."""
    return LineSpec
