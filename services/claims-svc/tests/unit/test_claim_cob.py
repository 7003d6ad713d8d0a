"""Coordination of benefits: the next payer's claim carries the earlier payers' adjudication (2320/2330/2430),
balanced against the charges, and the 837P written for a secondary and a tertiary claim passes pyx12."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from claimflow_kit.testing import Pyx12Check
from claimflow_x12 import Envelope, parse, validate, write_interchange
from claims_svc.domain.claim import (
    Address,
    BillingProvider,
    ClaimAdjustment,
    ClaimLine,
    OtherCoverage,
    Payer,
    PayerAdjudication,
    Person,
    ProfessionalClaim,
)
from claims_svc.domain.cob import (
    RemittedAdjustment,
    RemittedLine,
    adjudication_from,
    adjudication_json,
    coverage_for,
    crossed_over,
    imbalances,
    next_payer_parties,
    next_sequence,
    payer_adjudication,
)
from claims_svc.domain.scrub import PayerRules, ScrubCode, ScrubContext, scrub
from claims_svc.domain.x12_837p import Parties, build_837p

HOME = Address("12 Elm St", "Springfield", "IL", "627011234")
MARIA = Person("Maria", "Lopez", date(1984, 3, 9), "F", HOME)
CARLOS = Person("Carlos", "Lopez", date(1982, 5, 2), "M", HOME)
PPO = Payer("60054", "Sandbox PPO", "CI")
HMO = Payer("HMO01", "Sandbox HMO", "HM")
MEDICAID = Payer("MCAID", "Sandbox Medicaid", "MC")
PAYERS = {
    "60054": PayerRules("Sandbox PPO", r"^W[0-9]{9}$", 90),
    "HMO01": PayerRules("Sandbox HMO", r"^H[0-9]{8}$", 180),
    "MCAID": PayerRules("Sandbox Medicaid", r"^[0-9]{12}$", 365),
}
PARTIES = Parties("ClaimFlow Billing", "CLAIMFLOW", "Billing Desk", "5555550100", "Clearinghouse", "PAYERSANDBOX")
LINES = (
    ClaimLine(1, "99213", Decimal("125.00"), diagnosis_pointers=(1, 2)),
    ClaimLine(2, "36415", Decimal("20.00"), diagnosis_pointers=(1,)),
)
PRIMARY_CLAIM = ProfessionalClaim(
    patient_control_number="CFPRIMARY1",
    payer=PPO,
    billing=BillingProvider(
        "Practice One", "1234567893", "123456789", Address("100 Main St", "Springfield", "IL", "62701")
    ),
    rendering_npi="1245319599",
    member_id="W123456789",
    patient=MARIA,
    date_of_service=date(2026, 11, 16),
    place_of_service="11",
    diagnoses=("J20.9", "R05.9"),
    lines=LINES,
    group_number="GRP60054A",
)

# The primary's 835 (hand-computed): line 1 allowed 100.80 (CO-45 24.20), copay 25.00, paid 75.80; line 2 allowed
# 14.00 (CO-45 6.00), coinsurance 2.80, paid 11.20; sequestration CO-253 1.00 at claim level: paid 87.00 - 1.00.
PRIMARY_835 = {
    "paid": Decimal("86.00"),
    "remaining_patient_liability": Decimal("27.80"),
    "adjustments": [
        RemittedAdjustment("CO", "253", Decimal("1.00")),
        RemittedAdjustment("CO", "45", Decimal("24.20"), "CFPRIMARY1-1"),
        RemittedAdjustment("PR", "3", Decimal("25.00"), "CFPRIMARY1-1"),
        RemittedAdjustment("CO", "45", Decimal("6.00"), "CFPRIMARY1-2"),
        RemittedAdjustment("PR", "2", Decimal("2.80"), "CFPRIMARY1-2"),
    ],
    "remitted_lines": [
        RemittedLine("CFPRIMARY1-1", "99213", Decimal("75.80")),
        RemittedLine("CFPRIMARY1-2", "36415", Decimal("11.20")),
    ],
}


def primary_adjudication() -> PayerAdjudication:
    return payer_adjudication(
        patient_control_number="CFPRIMARY1",
        billed_lines=LINES,
        adjudication_date=date(2026, 11, 30),
        payer_claim_number="60054261130000001",
        **PRIMARY_835,  # type: ignore[arg-type]
    )


def secondary_claim() -> ProfessionalClaim:
    """Billed to the HMO where Maria is her husband's dependent; the PPO (her own plan) paid first."""
    return replace(
        PRIMARY_CLAIM,
        patient_control_number="CFSECOND01",
        payer=HMO,
        payer_sequence="secondary",
        member_id="H10000002",
        subscriber=CARLOS,
        relationship_to_subscriber="01",
        group_number="GRPHMO01",
        other_coverages=(
            OtherCoverage("primary", PPO, "W123456789", group_number="GRP60054A", adjudication=primary_adjudication()),
            OtherCoverage("tertiary", MEDICAID, "100000000009"),
        ),
    )


def tertiary_claim() -> ProfessionalClaim:
    # The HMO's 835: the primary's payment and write-off as OA-23, 80 % of what was left, the rest the patient's.
    secondary = payer_adjudication(
        patient_control_number="CFSECOND01",
        billed_lines=LINES,
        paid=Decimal("22.24"),
        remaining_patient_liability=Decimal("5.56"),
        adjudication_date=date(2026, 12, 9),
        adjustments=[
            RemittedAdjustment("OA", "23", Decimal("100.00"), "CFSECOND01-1"),
            RemittedAdjustment("PR", "3", Decimal("5.00"), "CFSECOND01-1"),
            RemittedAdjustment("OA", "23", Decimal("17.20"), "CFSECOND01-2"),
            RemittedAdjustment("PR", "2", Decimal("0.56"), "CFSECOND01-2"),
        ],
        remitted_lines=[
            RemittedLine("CFSECOND01-1", "99213", Decimal("20.00")),
            RemittedLine("CFSECOND01-2", "36415", Decimal("2.24")),
        ],
    )
    return replace(
        PRIMARY_CLAIM,
        patient_control_number="CFTERTIARY",
        payer=MEDICAID,
        payer_sequence="tertiary",
        member_id="100000000009",
        group_number=None,
        other_coverages=(
            OtherCoverage("primary", PPO, "W123456789", group_number="GRP60054A", adjudication=primary_adjudication()),
            OtherCoverage(
                "secondary",
                HMO,
                "H10000002",
                relationship_to_subscriber="01",
                subscriber=CARLOS,
                group_number="GRPHMO01",
                adjudication=secondary,
            ),
        ),
    )


def written(claim: ProfessionalClaim) -> str:
    created = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    envelope = Envelope(
        sender_id="CLAIMFLOW", receiver_id="PAYERSANDBOX", interchange_control_number=21, group_control_number=21,
        transaction_control_numbers=[1], created_at=created,
    )  # fmt: skip
    return write_interchange(envelope, [build_837p([claim], PARTIES, batch_id="COB1", created_at=created)])


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


@pytest.mark.parametrize(
    ("sequence", "expected"), [("primary", "secondary"), ("secondary", "tertiary"), ("tertiary", None)]
)
def test_the_next_plan_in_payer_order(sequence: str, expected: str | None) -> None:
    assert next_sequence(sequence) == expected


@pytest.mark.parametrize(
    ("status", "carrier", "expected"),
    [("1", None, False), ("2", None, False), ("19", None, True), ("20", None, True), ("21", None, True),
     ("1", "SANDBOX MEDICAID", True), ("4", None, False)],
)  # fmt: skip
def test_a_crossover_is_a_forwarded_status_or_a_crossover_carrier(
    status: str, carrier: str | None, expected: bool
) -> None:
    assert crossed_over(status, carrier) is expected


def test_the_primary_835_becomes_claim_and_line_adjudications() -> None:
    adjudication = primary_adjudication()
    assert adjudication.adjustments == (ClaimAdjustment("CO", "253", Decimal("1.00")),)
    first, second = adjudication.lines
    assert (first.line_number, first.procedure_code, first.paid) == (1, "99213", Decimal("75.80"))
    assert first.adjustments == (
        ClaimAdjustment("CO", "45", Decimal("24.20")),
        ClaimAdjustment("PR", "3", Decimal("25.00")),
    )
    assert (second.line_number, second.paid, second.units) == (2, Decimal("11.20"), Decimal(1))
    assert adjudication_from(adjudication_json("primary", "60054", adjudication)) == adjudication
    assert imbalances(secondary_claim()) == []


def test_a_denied_line_without_a_service_payment_was_paid_nothing() -> None:
    adjudication = payer_adjudication(
        patient_control_number="CFPRIMARY1",
        billed_lines=LINES,
        paid=Decimal("0.00"),
        remaining_patient_liability=Decimal("0.00"),
        adjudication_date=date(2026, 11, 30),
        adjustments=[
            RemittedAdjustment("CO", "96", Decimal("125.00"), "CFPRIMARY1-1"),
            RemittedAdjustment("CO", "96", Decimal("20.00"), "CFPRIMARY1-2"),
        ],
    )
    assert [(line.line_number, line.paid, line.procedure_code) for line in adjudication.lines] == [
        (1, Decimal(0), "99213"),
        (2, Decimal(0), "36415"),
    ]
    claim = replace(
        secondary_claim(), other_coverages=(OtherCoverage("primary", PPO, "W123456789", adjudication=adjudication),)
    )
    assert imbalances(claim) == []


def test_a_claim_level_only_remittance_dates_the_adjudication_in_2330b(pyx12_errors: Pyx12Check) -> None:
    adjudication = payer_adjudication(
        patient_control_number="CFPRIMARY1",
        billed_lines=LINES,
        paid=Decimal("100.00"),
        remaining_patient_liability=Decimal("20.00"),
        adjudication_date=date(2026, 11, 30),
        adjustments=[RemittedAdjustment("CO", "45", Decimal("25.00")), RemittedAdjustment("PR", "1", Decimal("20.00"))],
    )
    assert adjudication.lines == ()
    claim = replace(
        secondary_claim(), other_coverages=(OtherCoverage("primary", PPO, "W123456789", adjudication=adjudication),)
    )
    assert imbalances(claim) == []
    text = written(claim)
    assert "DTP*573*D8*20261130" in segments(text)
    assert not any(s.startswith("SVD") for s in segments(text))
    assert pyx12_errors(text) == []


def test_an_adjudication_that_does_not_account_for_the_charges_holds_the_claim() -> None:
    unbalanced = payer_adjudication(
        patient_control_number="CFPRIMARY1",
        billed_lines=LINES,
        adjudication_date=date(2026, 11, 30),
        payer_claim_number=None,
        **{**PRIMARY_835, "paid": Decimal("90.00")},  # type: ignore[arg-type]
    )
    claim = replace(
        secondary_claim(), other_coverages=(OtherCoverage("primary", PPO, "W123456789", adjudication=unbalanced),)
    )
    assert imbalances(claim) == ["claim: charge 145.00 != Sandbox PPO paid 90.00 + adjusted 59.00"]
    context = ScrubContext(today=date(2026, 12, 1), payers=PAYERS)
    assert ScrubCode.OTHER_PAYER_UNBALANCED in {f.code for f in scrub(claim, context)}


def test_the_scrubber_checks_the_other_payers_like_the_payer_billed() -> None:
    context = ScrubContext(today=date(2026, 12, 1), payers=PAYERS)
    assert scrub(secondary_claim(), context) == []
    unknown = replace(
        secondary_claim(),
        other_coverages=(
            secondary_claim().other_coverages[0],
            OtherCoverage("tertiary", Payer("99999", "99999"), None),
        ),
    )
    assert [(f.code, f.message) for f in scrub(unknown, context)] == [
        (ScrubCode.OTHER_PAYER_UNKNOWN, "The tertiary payer id '99999' is not a payer this clearinghouse knows."),
        (ScrubCode.OTHER_MEMBER_ID_MISSING, "The tertiary plan's member id is missing."),
    ]


def test_timely_filing_of_a_secondary_counts_from_the_primary_adjudication() -> None:
    # 95 days after the date of service, but 81 after the primary's 835: within the HMO's 180, and the PPO's 90.
    late_primary = replace(secondary_claim(), payer=PPO, member_id="W123456789", date_of_service=date(2026, 8, 28))
    context = ScrubContext(today=date(2026, 12, 1), payers=PAYERS)
    assert ScrubCode.TIMELY_FILING not in {f.code for f in scrub(late_primary, context)}
    assert ScrubCode.TIMELY_FILING in {f.code for f in scrub(replace(late_primary, other_coverages=()), context)}, (
        "the same claim to a primary counts from the date of service"
    )


def test_the_parties_of_the_next_claim_swap_the_plans() -> None:
    primary_parties = {
        "member_id": "W123456789",
        "group_number": "GRP60054A",
        "patient": {"first_name": "Maria"},
        "relationship_to_subscriber": "18",
        "subscriber": None,
        "other_coverages": [
            {"payer_sequence": "secondary", "payer_id": "HMO01", "member_id": "H10000002", "group_number": "G2",
             "relationship_to_subscriber": "01", "subscriber": {"first_name": "Carlos"}},
            {"payer_sequence": "tertiary", "payer_id": "MCAID", "member_id": "100000000009", "group_number": None,
             "relationship_to_subscriber": "18", "subscriber": None},
        ],
    }  # fmt: skip
    found = next_payer_parties(primary_parties, payer_id="60054", sequence="primary", next_payer="secondary")
    assert found is not None
    payer_id, parties = found
    assert payer_id == "HMO01"
    assert (parties["member_id"], parties["relationship_to_subscriber"]) == ("H10000002", "01")
    assert parties["subscriber"] == {"first_name": "Carlos"}
    assert parties["patient"] == {"first_name": "Maria"}
    assert [(c["payer_sequence"], c["payer_id"], c["member_id"]) for c in parties["other_coverages"]] == [
        ("primary", "60054", "W123456789"),
        ("tertiary", "MCAID", "100000000009"),
    ]
    tertiary = next_payer_parties(parties, payer_id="HMO01", sequence="secondary", next_payer="tertiary")
    assert tertiary is not None
    assert tertiary[0] == "MCAID"
    assert [c["payer_sequence"] for c in tertiary[1]["other_coverages"]] == ["primary", "secondary"]
    assert next_payer_parties(tertiary[1], payer_id="MCAID", sequence="tertiary", next_payer="tertiary") is None

    # The plan a sequence names, as the payment handler asks before it looks for a next payer's claim.
    assert (coverage_for(primary_parties, "secondary") or {}).get("payer_id") == "HMO01"
    assert (coverage_for(primary_parties, "tertiary") or {}).get("payer_id") == "MCAID"
    assert coverage_for(tertiary[1], "tertiary") is None, "the tertiary claim's parties name no tertiary plan"
    assert coverage_for(primary_parties, None) is None, "no sequence after the tertiary"
    assert coverage_for(None, "secondary") is None


def test_the_secondary_837_reports_the_primary_adjudication(pyx12_errors: Pyx12Check) -> None:
    text = written(secondary_claim())
    result = parse(text)
    assert result.errors == []
    assert validate(result) == []
    assert pyx12_errors(text) == []
    found = segments(text)
    subscriber = found.index("HL*2*1*22*1")
    assert found[subscriber + 1] == "SBR*S**GRPHMO01******HM"
    other = found.index("SBR*P*18*GRP60054A******CI")
    assert found[other : other + 7] == [
        "SBR*P*18*GRP60054A******CI",
        "CAS*CO*253*1.00",
        "AMT*D*86.00",
        "AMT*EAF*27.80",
        "OI***Y***Y",
        "NM1*IL*1*LOPEZ*MARIA****MI*W123456789",
        "N3*12 ELM ST",
    ]
    assert "NM1*PR*2*SANDBOX PPO*****PI*60054" in found
    assert "SBR*T*18*******MC" in found
    line_1 = found.index("REF*6R*CFSECOND01-1")
    assert found[line_1 + 1 : line_1 + 5] == [
        "SVD*60054*75.80*HC:99213**1",
        "CAS*CO*45*24.20",
        "CAS*PR*3*25.00",
        "DTP*573*D8*20261130",
    ]
    line_2 = found.index("REF*6R*CFSECOND01-2")
    assert found[line_2 + 1 : line_2 + 5] == [
        "SVD*60054*11.20*HC:36415**1",
        "CAS*CO*45*6.00",
        "CAS*PR*2*2.80",
        "DTP*573*D8*20261130",
    ]


def test_the_tertiary_837_reports_both_earlier_payers(pyx12_errors: Pyx12Check) -> None:
    claim = tertiary_claim()
    assert imbalances(claim) == []
    text = written(claim)
    assert validate(parse(text)) == []
    assert pyx12_errors(text) == []
    found = segments(text)
    assert "SBR*T*18*******MC" in found
    secondary = found.index("SBR*S*01*GRPHMO01******HM")
    assert found[secondary + 1 : secondary + 5] == [
        "AMT*D*22.24",
        "AMT*EAF*5.56",
        "OI***Y***Y",
        "NM1*IL*1*LOPEZ*CARLOS****MI*H10000002",
    ], "no claim-level CAS: the HMO adjusted line by line"
    line_1 = found.index("REF*6R*CFTERTIARY-1")
    assert found[line_1 + 1 : line_1 + 9] == [
        "SVD*60054*75.80*HC:99213**1",
        "CAS*CO*45*24.20",
        "CAS*PR*3*25.00",
        "DTP*573*D8*20261130",
        "SVD*HMO01*20.00*HC:99213**1",
        "CAS*OA*23*100.00",
        "CAS*PR*3*5.00",
        "DTP*573*D8*20261209",
    ]


def test_a_primary_claim_names_the_plans_that_pay_after_it(pyx12_errors: Pyx12Check) -> None:
    claim = replace(
        PRIMARY_CLAIM,
        other_coverages=(
            OtherCoverage("secondary", HMO, "H10000002", "01", CARLOS, "GRPHMO01"),
            OtherCoverage("tertiary", MEDICAID, "100000000009"),
        ),
    )
    text = written(claim)
    assert pyx12_errors(text) == []
    found = segments(text)
    assert "SBR*P*18*GRP60054A******CI" in found
    assert "SBR*S*01*GRPHMO01******HM" in found
    assert "NM1*IL*1*LOPEZ*CARLOS****MI*H10000002" in found
    assert not any(s.startswith(("AMT*D", "SVD")) for s in found), "nobody adjudicated it yet"
