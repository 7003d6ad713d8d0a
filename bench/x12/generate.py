"""Realistic, balanced 835 and 837P test files for the X12 benchmarks (synthetic data, no PHI)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from claimflow_x12 import Claim837P
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

ISA = "ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*{receiver:<15}*240110*0930*^*00501*{control:09d}*0*P*:~"
PROCEDURES = ["99213", "99214", "99203", "87880", "94640", "J1100", "36415", "80053", "93000", "71046"]
DIAGNOSES = ["J069", "R509", "E119", "I10", "Z0000", "M545", "R051", "K219"]
NAMES = [("RIVERA", "MARIA"), ("CHEN", "DAVID"), ("PATEL", "ANITA"), ("GARCIA", "ROSA"), ("SMITH", "JOHN")]
NPIS = ["1234567893", "1497758544", "1881697878", "1657890129"]
CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _835_claim(rng: random.Random, index: int, service: date) -> tuple[list[str], Decimal]:
    """One 2100 loop with three 2110 lines (20-21 segments), balanced at claim and line level."""
    last, first = NAMES[index % len(NAMES)]
    day = service.strftime("%Y%m%d")
    lines: list[str] = []
    charge_total = paid_total = patient_total = Decimal(0)
    for line in range(3):
        charge = Decimal(rng.randint(5000, 40000)) / 100
        contractual = (charge * Decimal("0.2")).quantize(CENT)
        copay = Decimal("20.00") if line == 0 else Decimal(0)
        paid = charge - contractual - copay
        charge_total += charge
        paid_total += paid
        patient_total += copay
        lines += [
            f"SVC*HC:{PROCEDURES[(index + line) % len(PROCEDURES)]}*{_money(charge)}*{_money(paid)}**1",
            f"DTM*472*{day}",
            f"CAS*CO*45*{_money(contractual)}",
            *([f"CAS*PR*3*{_money(copay)}"] if copay else []),
            f"REF*6R*L{index:07d}{line}",
            f"AMT*B6*{_money(charge - contractual)}",
        ]
    claim = [
        f"CLP*PCN{index:08d}*1*{_money(charge_total)}*{_money(paid_total)}*{_money(patient_total)}*12*"
        f"PAYER{index:010d}*11*1",
        f"NM1*QC*1*{last}*{first}****MI*M{index:09d}",
        f"NM1*82*1*OKAFOR*CHIDI****XX*{NPIS[index % len(NPIS)]}",
        f"DTM*232*{day}",
        f"DTM*233*{day}",
        *lines,
    ]
    return claim, paid_total


def _835_transaction(rng: random.Random, first_claim: int, claims: int, control: int) -> list[str]:
    body: list[str] = []
    total = Decimal(0)
    start = date(2024, 1, 2)
    for index in range(first_claim, first_claim + claims):
        claim, paid = _835_claim(rng, index, start + timedelta(days=index % 300))
        body += claim
        total += paid
    segments = [
        f"ST*835*{control:04d}",
        f"BPR*I*{_money(total)}*C*ACH*CCP*01*071000013*DA*123456789*1512345678**01*071000039*DA*987654321*20240112",
        f"TRN*1*EFT{control:07d}*1512345678",
        "DTM*405*20240110",
        "N1*PR*ACME HEALTH PLAN",
        "N3*PO BOX 5000",
        "N4*CHICAGO*IL*60601",
        "N1*PE*SUNRISE FAMILY MEDICINE*XX*1234567893",
        "LX*1",
        *body,
    ]
    return [*segments, f"SE*{len(segments) + 1}*{control:04d}"]


def build_835(claims: int, *, claims_per_transaction: int | None = None, seed: int = 7) -> str:
    """An 835 interchange with ``claims`` claims, in one transaction set or split into several."""
    rng = random.Random(seed)
    per_set = claims_per_transaction or claims
    segments = [ISA.format(sender="ACMEHEALTH", receiver="CLAIMFLOW", control=777).rstrip("~")]
    segments.append("GS*HP*ACMEHEALTH*CLAIMFLOW*20240110*0930*777*X*005010X221A1")
    sets = 0
    for first in range(0, claims, per_set):
        sets += 1
        segments += _835_transaction(rng, first, min(per_set, claims - first), sets)
    segments += [f"GE*{sets}*777", "IEA*1*000000777"]
    return "~".join(segments) + "~"


def _nm1(entity: str, kind: EntityTypeQualifier, name: str, first: str | None, qualifier: str, ident: str) -> Nm1:
    return Nm1(
        entity_identifier=entity,
        entity_type=kind,
        last_name_or_organization=name,
        first_name=first,
        id_qualifier=qualifier,
        identifier=ident,
    )


def _837p_subscriber(rng: random.Random, index: int) -> ProfessionalSubscriberLoop:
    """A subscriber who is the patient, with one claim of three lines (23 segments with the HL)."""
    last, first = NAMES[index % len(NAMES)]
    service = date(2024, 1, 2) + timedelta(days=index % 300)
    lines = []
    for number in range(1, 4):
        lines.append(
            ProfessionalServiceLineLoop(
                line=Lx(assigned_number=number),
                service=Sv1(
                    procedure_qualifier="HC",
                    procedure_code=PROCEDURES[(index + number) % len(PROCEDURES)],
                    modifiers=["25"] if number == 1 else [],
                    line_charge=Decimal(rng.randint(5000, 40000)) / 100,
                    units=Decimal(1),
                    diagnosis_pointers=[1, 2] if number == 1 else [1],
                ),
                dates=[Dtp(qualifier="472", date_format=DateFormatQualifier.DATE, start=service)],
                references=[Ref(qualifier="6R", value=f"L{index:07d}{number}")],
            )
        )
    claim = ProfessionalClaimLoop(
        claim=Clm(
            patient_control_number=f"PCN{index:08d}",
            total_charge=sum((line.service.line_charge for line in lines), Decimal(0)),
            place_of_service="11",
            facility_code_qualifier="B",
            frequency_code="1",
            provider_signature=YesNoCode.YES,
            assignment_participation="A",
            benefits_assignment=YesNoCode.YES,
            release_of_information="Y",
        ),
        health_care_codes=[
            Hi(codes=[HealthCareCode("ABK", DIAGNOSES[index % 8]), HealthCareCode("ABF", DIAGNOSES[(index + 3) % 8])])
        ],
        rendering_provider=ProviderNameLoop(
            name=_nm1("82", EntityTypeQualifier.PERSON, "OKAFOR", "CHIDI", "XX", NPIS[index % len(NPIS)]),
            specialty=Prv(provider_code="PE", reference_qualifier="PXC", taxonomy_code="207Q00000X"),
        ),
        service_lines=lines,
    )
    return ProfessionalSubscriberLoop(
        subscriber_information=Sbr(
            payer_responsibility=PayerResponsibilityCode.PRIMARY,
            relationship_code="18",
            group_number=f"GRP{index % 97:04d}",
            claim_filing_indicator=ClaimFilingIndicatorCode.COMMERCIAL,
        ),
        subscriber=SubscriberNameLoop(
            name=_nm1("IL", EntityTypeQualifier.PERSON, last, first, "MI", f"M{index:09d}"),
            address=N3(address_line_1=f"{index % 900 + 1} ELM AVENUE"),
            city_state_zip=N4(city="SPRINGFIELD", state="IL", postal_code="62704"),
            demographics=Dmg(
                date_format="D8",
                birth_date=date(1950 + index % 60, 1 + index % 12, 1 + index % 28),
                gender=GenderCode.FEMALE if index % 2 else GenderCode.MALE,
            ),
        ),
        payer=PayerNameLoop(
            name=_nm1("PR", EntityTypeQualifier.ORGANIZATION, "ACME HEALTH PLAN", None, "PI", "ACME01")
        ),
        claims=[claim],
    )


def build_837p_model(claims: int, seed: int = 7) -> Claim837P:
    """An 837P transaction set with ``claims`` claims, each under its own subscriber."""
    rng = random.Random(seed)
    return Claim837P(
        header=St(transaction_set_id="837", control_number="0001", implementation_reference="005010X222A1"),
        beginning=Bht(
            structure_code="0019",
            purpose_code="00",
            reference_id="BENCH0001",
            created_date=date(2024, 1, 10),
            created_time="0930",
            transaction_type_code="CH",
        ),
        submitter=SubmitterLoop(
            submitter=_nm1("41", EntityTypeQualifier.ORGANIZATION, "SUNRISE BILLING LLC", None, "46", "CF12345"),
            contacts=[Per(function_code="IC", name="BILLING DESK", number_qualifier_1="TE", number_1="5555550100")],
        ),
        receiver=ReceiverLoop(
            receiver=_nm1("40", EntityTypeQualifier.ORGANIZATION, "CLEARHOUSE ONE", None, "46", "CH0001")
        ),
        billing_providers=[
            ProfessionalBillingProviderLoop(
                billing_provider=BillingProviderNameLoop(
                    name=_nm1("85", EntityTypeQualifier.ORGANIZATION, "SUNRISE FAMILY MEDICINE", None, "XX", NPIS[0]),
                    address=N3(address_line_1="100 MAIN STREET"),
                    city_state_zip=N4(city="SPRINGFIELD", state="IL", postal_code="62701"),
                    references=[Ref(qualifier="EI", value="371234567")],
                ),
                subscribers=[_837p_subscriber(rng, index) for index in range(claims)],
            )
        ],
    )
