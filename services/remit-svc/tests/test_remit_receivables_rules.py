"""AR aging, patient payment application, statements, KPIs and deposit reconciliation: the pure rules.

The dataset is the one the end-to-end test builds through claim-submitted and 835s
(test_remit_receivables.py), here as the ledger balances that posting leaves, aged as of 2026-11-22:

    claim  DOS         age  payer  practice provider  patient  outstanding after the 835s
    R1     2026-11-12   10  60054  PA       N1        pat_r1   insurance 200.00 (never paid)
    R2     2026-10-08   45  60054  PA       N1        pat_a    patient 44.00 (deductible 30 + coinsurance 14)
    R3     2026-09-08   75  87726  PA       N2        pat_r3   denied 300.00 (CO 197)
    R4     2026-08-09  105  87726  PB       N2        pat_c    nothing (paid 80 + CO45 20)
    R5     2026-06-25  150  60054  PB       N1        pat_r5   insurance 120.00 (never paid)
    R6     2026-10-23   30  87726  PB       N2        pat_a    patient 10.00 (copay)
    R7     2026-08-24   90  60054  PA       N1        pat_r7   denied 50.00 (line 2, CO 97)
    R8     2026-07-25  120  60054  PB       N2        pat_r8   insurance 80.00 (never paid)

Patient payments on account: pat_a paid 30.00 (applied to R2, the older claim: 44 - 30 = 14 left);
pat_c paid 25.00 and was refunded 10.00, a credit of 15.00 with nothing to apply it to.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from remit_svc.domain.receivables import (
    BUCKETS,
    Adjudication,
    ClaimActivity,
    ClaimFacts,
    ClaimReceivable,
    GroupBy,
    PatientItem,
    PaymentActivity,
    Period,
    PeriodMoney,
    Ratio,
    age_receivables,
    allocate_patient_payments,
    bucket_of,
    build_statement,
    compute_kpis,
    statement_run,
)
from remit_svc.domain.reconciliation import DepositFact, EraFact, reconcile

AS_OF = date(2026, 11, 22)
D = Decimal


def money(*amounts: str) -> dict[str, Decimal]:
    """Buckets 0-30 .. 120+ and their total."""
    values = [D(a) for a in amounts]
    return {**dict(zip(BUCKETS, values, strict=True)), "total": sum(values, D("0.00"))}


def receivable(
    claim: str, dos: date, payer: str, practice: str, npi: str, patient_id: str, **amounts: str
) -> ClaimReceivable:
    return ClaimReceivable(
        claim_id=claim,
        patient_id=patient_id,
        guarantor_id=patient_id,
        payer_id=payer,
        practice_id=practice,
        provider_npi=npi,
        service_date=dos,
        insurance=D(amounts.get("insurance", "0.00")),
        denied=D(amounts.get("denied", "0.00")),
        patient=D(amounts.get("patient", "0.00")),
    )


N1, N2 = "1234567893", "1245319599"
CLAIMS = [
    receivable("R1", date(2026, 11, 12), "60054", "PA", N1, "pat_r1", insurance="200.00"),
    receivable("R2", date(2026, 10, 8), "60054", "PA", N1, "pat_a", patient="44.00"),
    receivable("R3", date(2026, 9, 8), "87726", "PA", N2, "pat_r3", denied="300.00"),
    receivable("R5", date(2026, 6, 25), "60054", "PB", N1, "pat_r5", insurance="120.00"),
    receivable("R6", date(2026, 10, 23), "87726", "PB", N2, "pat_a", patient="10.00"),
    receivable("R7", date(2026, 8, 24), "60054", "PA", N1, "pat_r7", denied="50.00"),
    receivable("R8", date(2026, 7, 25), "60054", "PB", N2, "pat_r8", insurance="80.00"),
]
ON_ACCOUNT = {"pat_a": D("-30.00"), "pat_c": D("-15.00")}


@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (-3, "0-30"),
        (0, "0-30"),
        (30, "0-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-120"),
        (120, "91-120"),
        (121, "120+"),
        (4000, "120+"),
    ],
)
def test_buckets_include_both_ends(age: int, bucket: str) -> None:
    assert bucket_of(age) == bucket


def test_the_dataset_ages_are_what_the_table_says() -> None:
    ages = {c.claim_id: (AS_OF - c.service_date).days for c in CLAIMS}
    assert ages == {"R1": 10, "R2": 45, "R3": 75, "R5": 150, "R6": 30, "R7": 90, "R8": 120}


def test_patient_payments_go_to_the_oldest_balance_first_and_the_rest_is_a_credit() -> None:
    items = [
        PatientItem("pat_a", "R6", date(2026, 10, 23), D("10.00"), "pat_a"),
        PatientItem("pat_a", "R2", date(2026, 10, 8), D("44.00"), "pat_a"),
    ]
    partly = allocate_patient_payments(items, {"pat_a": D("-30.00")})
    assert partly.applied == {"R2": D("30.00")}
    assert [partly.balance(i) for i in items] == [D("10.00"), D("14.00")]
    assert partly.unapplied == {}
    more = allocate_patient_payments(items, {"pat_a": D("-50.00")})
    assert more.applied == {"R2": D("44.00"), "R6": D("6.00")}
    too_much = allocate_patient_payments(items, {"pat_a": D("-60.00")})
    assert [too_much.balance(i) for i in items] == [D("0.00"), D("0.00")]
    assert too_much.unapplied == {"pat_a": D("-6.00")}
    assert allocate_patient_payments([], {"pat_c": D("-15.00")}).unapplied == {"pat_c": D("-15.00")}


def test_a_claim_credit_pays_the_same_guarantors_other_claims() -> None:
    items = [
        PatientItem("p", "old", date(2026, 1, 1), D("-5.00"), "p"),  # a reversal after the patient paid
        PatientItem("p", "new", date(2026, 2, 1), D("20.00"), "p"),
    ]
    allocation = allocate_patient_payments(items, {})
    assert [allocation.balance(i) for i in items] == [D("0.00"), D("15.00")]


def test_aging_per_payer_practice_provider_and_tenant() -> None:
    by_payer = age_receivables(CLAIMS, ON_ACCOUNT, as_of=AS_OF, by=GroupBy.PAYER, tenant_id="t")
    groups = {g.key: g for g in by_payer.groups}
    # 60054: R1 200 (10 days), R2 44 - 30 = 14 (45), R7 denied 50 (90), R8 80 (120), R5 120 (150).
    assert groups["60054"].total == money("200.00", "14.00", "50.00", "80.00", "120.00")
    assert groups["60054"].patient == money("0.00", "14.00", "0.00", "0.00", "0.00")
    assert groups["60054"].denied == money("0.00", "0.00", "50.00", "0.00", "0.00")
    assert groups["60054"].claims == 5
    # 87726: R6 copay 10 (30 days: still 0-30), R3 denied 300 (75).
    assert groups["87726"].total == money("10.00", "0.00", "300.00", "0.00", "0.00")
    assert groups["87726"].insurance == money("0.00", "0.00", "300.00", "0.00", "0.00")
    assert by_payer.totals.total == money("210.00", "14.00", "350.00", "80.00", "120.00")
    assert by_payer.unapplied_patient_credit == D("-15.00")
    assert by_payer.receivables == D("759.00")  # 774 outstanding - 15 credit = the ledger's AR balance

    by_practice = {
        g.key: g.total["total"]
        for g in age_receivables(CLAIMS, ON_ACCOUNT, as_of=AS_OF, by=GroupBy.PRACTICE, tenant_id="t").groups
    }
    assert by_practice == {"PA": D("564.00"), "PB": D("210.00")}  # 200+14+300+50; 10+80+120
    by_provider = age_receivables(CLAIMS, ON_ACCOUNT, as_of=AS_OF, by=GroupBy.PROVIDER, tenant_id="t")
    assert {g.key: g.total for g in by_provider.groups} == {
        N1: money("200.00", "14.00", "50.00", "0.00", "120.00"),
        N2: money("10.00", "0.00", "300.00", "80.00", "0.00"),
    }
    (tenant,) = age_receivables(CLAIMS, ON_ACCOUNT, as_of=AS_OF, by=GroupBy.TENANT, tenant_id="t").groups
    assert (tenant.key, tenant.claims, tenant.total["total"]) == ("t", 7, D("774.00"))


def test_settled_claims_are_not_aged() -> None:
    settled = receivable("R4", date(2026, 8, 9), "87726", "PB", N2, "pat_c")
    report = age_receivables([settled], {}, as_of=AS_OF, by=GroupBy.PAYER, tenant_id="t")
    assert report.groups == []
    assert report.receivables == 0


def test_kpis_with_their_numerators_and_denominators() -> None:
    period = Period(date(2026, 6, 1), AS_OF)
    dos = {c.claim_id: c.service_date for c in CLAIMS} | {"R4": date(2026, 8, 9)}
    days_to_submit = {"R1": 2, "R2": 3, "R3": 4, "R4": 1, "R5": 10, "R6": 2, "R7": 5, "R8": 3}
    first_paid = {
        "R2": date(2026, 11, 10),
        "R7": date(2026, 11, 10),
        "R4": date(2026, 10, 20),
        "R6": date(2026, 11, 18),
    }
    answers = {"R7": "rejected", "R8": None}
    claims = [
        ClaimFacts(
            claim_id,
            dos[claim_id],
            date.fromordinal(dos[claim_id].toordinal() + days),
            answers.get(claim_id, "accepted"),
            first_paid.get(claim_id),
        )
        for claim_id, days in days_to_submit.items()
    ]
    adjudications = [
        Adjudication("R2", "paid", date(2026, 11, 10)),
        Adjudication("R7", "partially_paid", date(2026, 11, 10), ("97",)),
        Adjudication("R3", "denied", date(2026, 10, 20), ("197",)),
        Adjudication("R4", "paid", date(2026, 10, 20)),
        Adjudication("R6", "paid", date(2026, 11, 18)),
        Adjudication("R9", "denied", date(2026, 5, 1), ("16",)),  # before the period
        Adjudication("R4", "reversed", date(2026, 11, 1)),  # a reversal is not an adjudication
    ]
    result = compute_kpis(
        period,
        claims,
        adjudications,
        PeriodMoney(
            charges=D("1300.00"), contractual=D("140.00"), payer_payments=D("356.00"), patient_payments=D("45.00")
        ),
        receivables=D("759.00"),
        lookback_charges=D("750.00"),
    )
    assert result.clean_claim_rate == Ratio(D(6), D(7), D("0.8571"))  # R8 has no answer; R7's first was a rejection
    assert result.denial_rate == Ratio(D(1), D(5), D("0.2000"))
    assert [(r.carc, r.rate) for r in result.denial_rate_by_carc] == [("197", Ratio(D(1), D(5), D("0.2000")))]
    # 759 / (750 / 90) = 91.08 days
    assert result.days_in_ar == Ratio(D("759.00"), D("8.3333"), D("91.08"))
    assert result.net_collection_rate == Ratio(D("401.00"), D("1160.00"), D("0.3457"))
    assert result.days_to_submission == Ratio(D(30), D(8), D("3.75"))
    assert result.days_to_first_payment == Ratio(D(209), D(4), D("52.25"))  # 33 + 78 + 72 + 26


def test_kpis_of_an_empty_period_have_no_value() -> None:
    empty = compute_kpis(
        Period(AS_OF, AS_OF), [], [], PeriodMoney(*[D("0.00")] * 4), receivables=D("0.00"), lookback_charges=D("0.00")
    )
    assert empty.clean_claim_rate == Ratio(D(0), D(0), None)
    assert empty.days_in_ar.value is None
    assert empty.net_collection_rate.value is None


def test_statement_lines_payments_aging_and_amount_due() -> None:
    activities = [
        ClaimActivity(
            "R6",
            "pat_a",
            "CFR6",
            "87726",
            date(2026, 10, 23),
            charges=D("100.00"),
            insurance_paid=D("70.00"),
            adjustments=D("20.00"),
            deductible=D("0.00"),
            coinsurance=D("0.00"),
            copay=D("10.00"),
            other_patient=D("0.00"),
            pending_insurance=D("0.00"),
        ),
        ClaimActivity(
            "R2",
            "pat_a",
            "CFR2",
            "60054",
            date(2026, 10, 8),
            charges=D("150.00"),
            insurance_paid=D("56.00"),
            adjustments=D("50.00"),
            deductible=D("30.00"),
            coinsurance=D("14.00"),
            copay=D("0.00"),
            other_patient=D("0.00"),
            pending_insurance=D("0.00"),
        ),
    ]
    statement = build_statement(
        "pat_a",
        AS_OF,
        activities,
        {"R2": D("44.00"), "R6": D("10.00")},
        D("-30.00"),
        [PaymentActivity(date(2026, 11, 21), "payment", D("30.00"), "check", "1001")],
    )
    assert [(line.activity.claim_id, line.patient_payments, line.balance) for line in statement.lines] == [
        ("R2", D("30.00"), D("14.00")),
        ("R6", D("0.00"), D("10.00")),
    ]
    assert statement.lines[0].activity.patient_responsibility == D("44.00")
    assert statement.aging == money("10.00", "14.00", "0.00", "0.00", "0.00")
    assert (statement.balance, statement.amount_due, statement.unapplied_credit) == (D("24.00"), D("24.00"), D(0))
    assert (statement.total_charges, statement.total_insurance_paid, statement.total_patient_payments) == (
        D("250.00"),
        D("126.00"),
        D("30.00"),
    )


def test_a_statement_with_only_a_credit_owes_nothing() -> None:
    statement = build_statement(
        "pat_c",
        AS_OF,
        [],
        {},
        D("-15.00"),
        [
            PaymentActivity(date(2026, 11, 20), "payment", D("25.00"), "card", None),
            PaymentActivity(date(2026, 11, 21), "refund", D("10.00"), "card", None),
        ],
    )
    assert (statement.balance, statement.amount_due, statement.unapplied_credit) == (
        D("-15.00"),
        D("0.00"),
        D("-15.00"),
    )
    assert statement.total_patient_payments == D("15.00")


def test_statement_run_lists_guarantors_owing_at_least_the_minimum() -> None:
    items = [
        PatientItem("pat_a", "R2", date(2026, 10, 8), D("44.00"), "pat_a"),
        PatientItem("pat_a", "R6", date(2026, 10, 23), D("10.00"), "pat_a"),
        PatientItem("pat_b", "X1", date(2026, 3, 1), D("5.00"), "pat_b"),
        PatientItem("pat_c", "X2", date(2026, 3, 1), D("5.00"), "pat_c"),
    ]
    on_account = {"pat_a": D("-30.00"), "pat_c": D("-20.00")}
    run = statement_run(items, on_account, as_of=AS_OF, min_balance=D("0.01"))
    assert [(g.guarantor_id, g.balance, g.claims, g.oldest_service_date) for g in run] == [
        ("pat_a", D("24.00"), 2, date(2026, 10, 8)),
        ("pat_b", D("5.00"), 1, date(2026, 3, 1)),
    ]
    assert run[1].aging == money("0.00", "0.00", "0.00", "0.00", "5.00")
    assert [g.guarantor_id for g in statement_run(items, on_account, as_of=AS_OF, min_balance=D("20"))] == ["pat_a"]


def test_one_guarantor_answers_for_several_patients() -> None:
    """A parent's account: both children's claims on one statement-run entry, a payment applied across them."""
    items = [
        PatientItem("gtr_parent", "K1", date(2026, 9, 1), D("40.00"), "pat_kid1"),
        PatientItem("gtr_parent", "K2", date(2026, 10, 1), D("25.00"), "pat_kid2"),
        PatientItem("pat_kid2", "K3", date(2026, 10, 5), D("7.00"), "pat_kid2"),  # an earlier account of their own
    ]
    on_account = {"gtr_parent": D("-50.00")}
    allocation = allocate_patient_payments(items, on_account)
    assert allocation.applied == {"K1": D("40.00"), "K2": D("10.00")}  # oldest first, whichever child it was
    run = statement_run(items, on_account, as_of=AS_OF, min_balance=D("0.01"))
    assert [(g.guarantor_id, g.patient_ids, g.balance, g.claims) for g in run] == [
        ("gtr_parent", ("pat_kid2",), D("15.00"), 1),  # only K2 is still open
        ("pat_kid2", ("pat_kid2",), D("7.00"), 1),
    ]
    activity: dict[str, Any] = {
        "charges": D("100.00"), "insurance_paid": D("40.00"), "adjustments": D("20.00"), "deductible": D("40.00"),
        "coinsurance": D("0.00"), "copay": D("0.00"), "other_patient": D("0.00"), "pending_insurance": D("0.00"),
    }  # fmt: skip
    statement = build_statement(
        "gtr_parent",
        AS_OF,
        [
            ClaimActivity("K2", "pat_kid2", "CFK2", "60054", date(2026, 10, 1), **activity),
            ClaimActivity("K1", "pat_kid1", "CFK1", "60054", date(2026, 9, 1), **activity),
        ],
        {"K1": D("40.00"), "K2": D("40.00")},
        D("-50.00"),
        [],
    )
    assert statement.patient_ids == ("pat_kid1", "pat_kid2")
    assert [(line.activity.patient_id, line.balance) for line in statement.lines] == [
        ("pat_kid1", D("0.00")),
        ("pat_kid2", D("30.00")),
    ]
    assert statement.amount_due == D("30.00")


def era(era_id: str, trace: str, amount: str, payer: str = "60054", status: str = "posted") -> EraFact:
    return EraFact(era_id, trace, payer, D(amount), date(2026, 11, 10), status)


def deposit(deposit_id: str, trace: str, amount: str, payer: str | None = None, day: int = 12) -> DepositFact:
    return DepositFact(deposit_id, trace, D(amount), date(2026, 11, day), payer)


def test_reconciliation_matches_split_eras_and_reports_both_sides_left_over() -> None:
    eras = [
        era("e1", "EFT-P1-1", "206.00"),
        era("e3a", "EFT-P2-2", "70.00", "87726"),
        era("e3b", "EFT-P2-2", "25.00", "87726", status="held"),  # a held ERA still reports money paid
        era("e2", "EFT-P2-1", "80.00", "87726"),
        era("en", "NOTIF-1", "0.00", "87726"),  # notification only: no money, never waits for a deposit
    ]
    deposits = [
        deposit("d1", " eft-p1-1 ", "206.00", "60054"),
        deposit("d2", "EFT-P2-2", "95.00"),
        deposit("d3", "EFT-P2-1", "85.00"),
        deposit("d4", "CHK999", "40.00"),
    ]
    result = reconcile(deposits, eras)
    assert [(m.deposit.id, [e.id for e in m.eras], m.era_total) for m in result.matched] == [
        ("d1", ["e1"], D("206.00")),
        ("d2", ["e3a", "e3b"], D("95.00")),
    ]
    assert [(m.deposit.id, m.era_total, m.difference) for m in result.unreconciled_deposits] == [
        ("d3", D("80.00"), D("5.00")),
        ("d4", D("0.00"), D("40.00")),
    ]
    assert "no ERA" in (result.unreconciled_deposits[1].reason or "")
    assert [e.id for e in result.unreconciled_eras] == ["e2"]


def test_a_deposit_naming_its_payer_takes_only_that_payers_eras_and_each_era_once() -> None:
    eras = [era("a", "123", "50.00", "60054"), era("b", "123", "50.00", "87726")]
    result = reconcile([deposit("d", "123", "50.00", "87726"), deposit("again", "123", "50.00", "87726", 13)], eras)
    assert [(m.deposit.id, [e.id for e in m.eras]) for m in result.matched] == [("d", ["b"])]
    assert [(m.deposit.id, m.difference) for m in result.unreconciled_deposits] == [("again", D("50.00"))]
    assert [e.id for e in result.unreconciled_eras] == ["a"]
