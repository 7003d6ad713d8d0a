"""Accumulators stay consistent when requests arrive from many threads at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

from claimflow_x12 import parse
from claimflow_x12.guides.remittance_835 import Remittance835, iter_claim_payments
from payer_sandbox.domain.codes import Network
from payer_sandbox.samples import ClaimRequest, LineRequest, PersonRequest, claim_837p, inquiry_270, to_x12
from payer_sandbox.service import Sandbox
from payer_sandbox.testing import sandbox_settings

MARIA = PersonRequest("LOPEZ", "MARIA", date(1984, 3, 9), "W123456789")


def test_concurrent_claims_never_spend_the_deductible_twice() -> None:
    sandbox = Sandbox(sandbox_settings())
    # 30 joint injections (deductible services, 84.00 allowed each): together far more than the 1500 deductible
    files = [
        to_x12(
            [
                claim_837p(
                    [
                        ClaimRequest(
                            f"PCN{i:03d}",
                            "60054",
                            MARIA,
                            [LineRequest("20610", Decimal("150.00"))],
                            ["J209"],
                            date(2025, 1, 1) + timedelta(days=i),
                        )
                    ]
                )
            ],
            control_number=i + 1,
        )
        for i in range(30)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda item: sandbox.submit("t", f"f{item[0]}.837", item[1]), enumerate(files)))
        eligibility = list(pool.map(lambda _: sandbox.eligibility(to_x12([inquiry_270("60054", MARIA)])), range(8)))
    assert all(r.claims_accepted == 1 for r in receipts)
    assert len(eligibility) == 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(sandbox.advance, [7, 0, 0, 0]))
    deductible = Decimal(0)
    for entry in sandbox.mailbox_list("t", None, 500):
        for transaction in parse(entry.content).transactions:
            if isinstance(transaction, Remittance835):
                for payment in iter_claim_payments(transaction):
                    for line in payment.service_lines:
                        deductible += sum(
                            (a.amount for cas in line.adjustments for a in cas.adjustments if a.reason_code == "1"),
                            Decimal(0),
                        )
    accumulator = sandbox.accumulator("60054:W123456789:00", 2025, Network.IN)
    assert deductible == Decimal("1500.00")
    assert accumulator.deductible_met == Decimal("1500.00")
