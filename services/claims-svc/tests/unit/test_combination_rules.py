"""Which claims may be combined into one: institutional outpatient visits sharing their UB-04 header, never a stay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from claimflow_kit.errors import InvalidInput
from claims_svc.adapters.tables import Claim
from claims_svc.service.assembly import check_combination

HEADER = {
    "type_of_bill": "131",
    "admission_type_code": "1",
    "patient_status_code": "01",
    "attending_npi": "1497758544",
    "attending_last_name": "Okafor",
}


def hospital_claim(claim_id: str, **header: Any) -> Claim:
    return Claim(
        id=claim_id, tenant_id="t-1", encounter_id=f"enc_{claim_id}", encounter_version=1, practice_id="prac_1",
        patient_id="pat_1", date_of_service=date(2026, 11, 16),
        payer_id="60054", claim_kind="institutional", status="ready", total_charge=Decimal("100.00"),
        diagnosis_codes=["J20.9"], service_lines=[], correlation_id=claim_id, institutional=HEADER | header,
    )  # fmt: skip


def test_outpatient_visits_with_one_header_combine_whatever_their_own_admission_dates() -> None:
    check_combination(
        [hospital_claim("a", admission_date="2026-11-16"), hospital_claim("b", admission_date="2026-11-18")]
    )


@pytest.mark.parametrize("type_of_bill", ["111", "121", "0111"])
def test_an_inpatient_stay_is_never_combined(type_of_bill: str) -> None:
    with pytest.raises(InvalidInput, match="inpatient stay"):
        check_combination(
            [hospital_claim("a", type_of_bill=type_of_bill), hospital_claim("b", type_of_bill=type_of_bill)]
        )


@pytest.mark.parametrize("difference", [{"attending_npi": "1245319599"}, {"patient_status_code": "02"}])
def test_visits_with_different_ub04_headers_are_not_one_claim(difference: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="UB-04 header"):
        check_combination([hospital_claim("a"), hospital_claim("b", **difference)])
