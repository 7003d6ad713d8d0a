"""Combining claims: diagnoses merged without repeats, pointers renumbered, lines renumbered, own dates kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claimflow_events import ServiceLine
from claims_svc.domain.assembly import CannotCombine, ClaimPart, combine, split


def line(number: int, code: str, *pointers: int) -> ServiceLine:
    return ServiceLine(
        line_number=number, procedure_code=code, units=Decimal(1), diagnosis_pointers=pointers, charge=Decimal("50")
    )


def test_two_visits_become_one_claim_with_merged_diagnoses_and_each_lines_own_date() -> None:
    visit = ClaimPart("clm_a", date(2026, 11, 13), ("J20.9", "R05.9"), (line(1, "99213", 1, 2),))
    follow_up = ClaimPart(
        "clm_b", date(2026, 11, 16), ("R05.9", "J45.909"), (line(1, "94640", 2, 1), line(2, "99212", 1))
    )
    combined = combine([follow_up, visit])
    assert combined.date_of_service == date(2026, 11, 13)
    assert combined.diagnoses == ("R05.9", "J45.909", "J20.9")
    assert [(li.line_number, li.procedure_code, li.diagnosis_pointers, li.service_date) for li in combined.lines] == [
        (1, "94640", (2, 1), "2026-11-16"),
        (2, "99212", (1,), "2026-11-16"),
        (3, "99213", (3, 1), None),  # the earliest day is the claim's own
    ]


def test_too_many_diagnoses_or_a_single_claim_cannot_be_combined() -> None:
    codes = [f"J{n:02d}.0" for n in range(13)]
    many = [ClaimPart(f"clm_{n}", date(2026, 11, 13), (code,), (line(1, "99213", 1),)) for n, code in enumerate(codes)]
    with pytest.raises(CannotCombine, match="13 diagnoses"):
        combine(many)
    with pytest.raises(CannotCombine, match="at least two"):
        combine(many[:1])


def test_a_split_gives_each_claim_the_diagnoses_its_lines_point_at() -> None:
    lines = (line(1, "99213", 1, 2), line(2, "94640", 3), line(3, "99212", 2))
    (kept_dx, kept), (moved_dx, moved) = split(("J20.9", "R05.9", "J45.909"), lines, [2])
    assert kept_dx == ("J20.9", "R05.9")
    assert [(li.line_number, li.procedure_code, li.diagnosis_pointers) for li in kept] == [
        (1, "99213", (1, 2)),
        (2, "99212", (2,)),
    ]
    assert moved_dx == ("J45.909",)
    assert [(li.line_number, li.procedure_code, li.diagnosis_pointers) for li in moved] == [(1, "94640", (1,))]
    with pytest.raises(CannotCombine, match="not none or all"):
        split(("J20.9",), lines, [1, 2, 3])
    with pytest.raises(CannotCombine, match="no line 9"):
        split(("J20.9",), lines, [9])
