"""One test per coding edit, firing and not firing, against real FY2026/FY2024 ICD-10-CM and the demo tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest

from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.versioning import CodeSetNotInForce
from coding_svc.domain.edits import EditEngine
from coding_svc.domain.encounter import Encounter, ProcedureLine, Sex
from coding_svc.domain.findings import EditCode, Finding, Severity, has_blocking

ENGINE = EditEngine()


def line(code: str, *modifiers: str, units: int | str = 1, pointers: Sequence[int] = (1,)) -> ProcedureLine:
    return ProcedureLine(code, tuple(modifiers), Decimal(str(units)), tuple(pointers))


def encounter(
    diagnoses: Sequence[str] = ("E11.9", "I10"),
    lines: Sequence[ProcedureLine] = (),
    *,
    sex: Sex = Sex.FEMALE,
    age: int = 40,
    on: date = date(2026, 1, 15),
    place: str = "11",
) -> Encounter:
    return Encounter(on, place, sex, age, tuple(diagnoses), tuple(lines) or (line("99213", pointers=(1, 2)),))


def codes(findings: list[Finding]) -> list[EditCode]:
    return [f.code for f in findings]


def only(findings: list[Finding], code: EditCode) -> Finding:
    matching = [f for f in findings if f.code is code]
    assert len(matching) == 1, findings
    return matching[0]


@pytest.fixture
def check(registry: CodeSetRegistry):  # type: ignore[no-untyped-def]
    def run(*args: object, **kwargs: object) -> list[Finding]:
        return ENGINE.check(encounter(*args, **kwargs), registry)  # type: ignore[arg-type]

    return run


def test_a_clean_office_visit_has_no_findings(check) -> None:  # type: ignore[no-untyped-def]
    assert check() == []


# --- ICD-10-CM ------------------------------------------------------------------------------------------------


def test_invalid_icd_code_is_an_error_with_valid_codes_suggested(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["E11.99", "I10"]), EditCode.ICD_INVALID)
    assert finding.severity is Severity.ERROR
    assert finding.diagnosis_position == 1
    assert "E11.99" in finding.message
    assert "E11.9" in finding.suggested_fix
    assert EditCode.ICD_INVALID not in codes(check(["E11.9", "I10"]))


def test_missing_x_placeholder_suggests_the_padded_code(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["W19A", "I10"], age=80), EditCode.ICD_INVALID)
    assert "W19.XXXA" in finding.suggested_fix


def test_header_code_is_an_error_suggesting_billable_children(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["E11", "I10"]), EditCode.ICD_HEADER_CODE)
    assert finding.severity is Severity.ERROR
    assert "E11.00" in finding.suggested_fix
    assert EditCode.ICD_HEADER_CODE not in codes(check(["E11.65", "I10"]))


def test_missing_seventh_character_is_reported_with_definitions(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["S72.001", "I10"]), EditCode.ICD_MISSING_7TH_CHAR)
    assert "S72.001A" in finding.suggested_fix
    assert "initial encounter for closed fracture" in finding.suggested_fix
    assert EditCode.ICD_HEADER_CODE not in codes(check(["S72.001", "I10"]))
    assert codes(check(["S72.001A", "I10"])) == []


def test_seventh_character_for_laterality_in_diabetic_retinopathy(check) -> None:  # type: ignore[no-untyped-def]
    only(check(["E11.321", "I10"]), EditCode.ICD_MISSING_7TH_CHAR)
    assert codes(check(["E11.3211", "I10"])) == []


def test_excludes1_pair_is_an_error_naming_the_note(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["E11.9", "E10.9"]), EditCode.ICD_EXCLUDES1)
    assert finding.codes == ("E119", "E109")
    assert "type 1 diabetes mellitus" in finding.message
    assert EditCode.ICD_EXCLUDES1 not in codes(check(["E11.9", "I10"]))


def test_excludes1_found_from_either_side(check) -> None:  # type: ignore[no-untyped-def]
    only(check(["I10", "E10.9", "E11.9"]), EditCode.ICD_EXCLUDES1)


def test_manifestation_code_first_listed(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["G63", "E85.4"]), EditCode.ICD_MANIFESTATION_FIRST)
    assert "amyloidosis" in finding.suggested_fix
    assert EditCode.ICD_MANIFESTATION_FIRST not in codes(check(["E85.4", "G63"]))


def test_sex_conflict_is_an_error_while_the_mce_enforced_it(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(
        check(["O80"], [line("99213")], sex=Sex.MALE, age=30, on=date(2024, 3, 1)), EditCode.ICD_SEX_CONFLICT
    )
    assert finding.severity is Severity.ERROR
    assert EditCode.ICD_SEX_CONFLICT not in codes(check(["O80"], [line("99213")], sex=Sex.FEMALE, age=30))


def test_sex_conflict_is_a_warning_after_cms_retired_the_edit(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["C61"], [line("99213")], sex=Sex.FEMALE, age=70), EditCode.ICD_SEX_CONFLICT)
    assert finding.severity is Severity.WARNING
    assert "male" in finding.message
    assert EditCode.ICD_SEX_CONFLICT not in codes(check(["C61"], [line("99213")], sex=Sex.MALE, age=70))
    assert EditCode.ICD_SEX_CONFLICT not in codes(check(["C61"], [line("99213")], sex=Sex.UNKNOWN, age=70))


def test_age_conflict_from_the_mce(check) -> None:  # type: ignore[no-untyped-def]
    delivery = only(check(["O80"], [line("99213")], age=8), EditCode.ICD_AGE_CONFLICT)
    assert "maternity" in delivery.message
    only(check(["Z00.00"], [line("99213")], sex=Sex.MALE, age=5), EditCode.ICD_AGE_CONFLICT)
    assert EditCode.ICD_AGE_CONFLICT not in codes(check(["O80"], [line("99213")], age=30))
    assert EditCode.ICD_AGE_CONFLICT not in codes(check(["Z00.00"], [line("99213")], sex=Sex.MALE, age=40))


def test_external_cause_code_first_listed(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["W19.XXXA", "S72.001A"], age=80), EditCode.ICD_EXTERNAL_CAUSE_FIRST)
    assert finding.diagnosis_position == 1
    assert check(["S72.001A", "W19.XXXA"], age=80) == []


# --- versions -------------------------------------------------------------------------------------------------


def test_date_of_service_picks_the_icd_year_across_the_october_boundary(check) -> None:  # type: ignore[no-untyped-def]
    # C50.A0 was added on 2024-10-01: unknown in FY2024, billable in FY2026.
    assert EditCode.ICD_INVALID in codes(check(["C50.A0"], [line("99213")], on=date(2024, 9, 30)))
    assert EditCode.ICD_INVALID not in codes(check(["C50.A0"], [line("99213")], on=date(2025, 10, 1)))
    # E66.8 was expanded on 2024-10-01: billable in FY2024, a header in FY2026.
    assert codes(check(["E66.8"], [line("99213")], on=date(2024, 9, 30))) == []
    assert EditCode.ICD_HEADER_CODE in codes(check(["E66.8"], [line("99213")], on=date(2025, 10, 1)))


def test_a_date_with_no_icd_year_loaded_is_refused(registry: CodeSetRegistry) -> None:
    with pytest.raises(CodeSetNotInForce) as raised:
        ENGINE.check(encounter(on=date(2023, 3, 1)), registry)
    assert raised.value.kind == "ICD-10-CM"


def test_fy2025_comes_from_its_own_code_list(check) -> None:  # type: ignore[no-untyped-def]
    """FY2025 (drg's list) has E66.811 and a billable G35; FY2026 added E11.A and split G35."""
    fy2025, fy2026 = date(2025, 3, 3), date(2025, 10, 1)
    assert EditCode.ICD_INVALID in codes(check(["E11.A", "I10"], on=fy2025))
    assert EditCode.ICD_INVALID not in codes(check(["E11.A", "I10"], on=fy2026))
    assert codes(check(["G35", "E66.811"], on=fy2025)) == []
    assert EditCode.ICD_HEADER_CODE in codes(check(["G35", "E66.811"], on=fy2026))


def test_a_date_after_the_newest_icd_year_is_checked_against_it_with_a_warning(registry: CodeSetRegistry) -> None:
    in_force = ENGINE.check(encounter(on=date(2026, 9, 30)), registry)
    assert EditCode.CODE_SET_CARRIED_FORWARD not in {f.code for f in in_force}
    after = ENGINE.check(encounter(on=date(2026, 10, 1)), registry)
    warning = only(after, EditCode.CODE_SET_CARRIED_FORWARD)
    assert warning.severity is Severity.WARNING
    assert "ICD-10-CM" in warning.message
    assert registry.at(date(2026, 10, 1)).icd is registry.at(date(2026, 9, 30)).icd
    assert registry.at(date(2026, 10, 1)).carried_forward == ("ICD-10-CM",)


# --- procedures and modifiers ---------------------------------------------------------------------------------


def test_unknown_procedure_code(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("99999")]), EditCode.PROC_INVALID)
    assert finding.line_number == 1
    assert EditCode.PROC_INVALID not in codes(check(lines=[line("J1100", units=4)]))


def test_deleted_procedure_codes(check) -> None:  # type: ignore[no-untyped-def]
    only(check(lines=[line("99201")]), EditCode.PROC_DELETED)
    finding = only(check(lines=[line("G2012")], on=date(2025, 10, 2)), EditCode.PROC_DELETED)
    assert "2024-12-31" in finding.message
    assert codes(check(lines=[line("G2012")], on=date(2024, 6, 1))) == []


def test_invalid_and_too_many_modifiers(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("99213", "ZZ")]), EditCode.MODIFIER_INVALID)
    assert "ZZ" in finding.message
    assert codes(check(lines=[line("20610", "RT", "KX", "GA", "XS", "59")], age=60)) == [EditCode.MODIFIER_INVALID]
    assert check(lines=[line("20610", "RT")]) == []


def test_em_with_minor_procedure_needs_modifier_25(check) -> None:  # type: ignore[no-untyped-def]
    lines = [line("99213"), line("11720", "GA")]
    finding = only(check(lines=lines), EditCode.EM_WITHOUT_25)
    assert finding.line_number == 1
    assert finding.severity is Severity.ERROR
    assert "25" in finding.suggested_fix
    assert EditCode.EM_WITHOUT_25 not in codes(check(lines=[line("99213", "25"), line("11720", "GA")]))


def test_em_with_major_surgery_accepts_57(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("99214"), line("27447", "RT")], age=70), EditCode.EM_WITHOUT_25)
    assert "57" in finding.suggested_fix
    assert check(lines=[line("99214", "57"), line("27447", "RT")], age=70) == []


def test_em_with_a_service_without_global_period_needs_no_25(check) -> None:  # type: ignore[no-untyped-def]
    assert check(lines=[line("99213"), line("93000")]) == []


def test_ncci_pair_with_indicator_1_fires_and_is_bypassed_by_distinct_service_modifiers(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("11720"), line("11055")]), EditCode.NCCI_PTP)
    assert finding.line_number == 2
    assert "XS" in finding.suggested_fix
    for modifier in ("59", "XS", "XU", "XE", "XP"):
        assert check(lines=[line("11720"), line("11055", modifier)]) == []
    assert check(lines=[line("11720", "TA"), line("11055", "T5")]) == []


def test_ncci_pair_with_indicator_0_cannot_be_bypassed(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("20611", "RT"), line("20610", "59")]), EditCode.NCCI_PTP)
    assert "Remove 20610" in finding.suggested_fix


def test_ncci_edit_respects_effective_and_deletion_dates(check) -> None:  # type: ignore[no-untyped-def]
    pair = [line("97530"), line("97140")]
    assert EditCode.NCCI_PTP in codes(check(lines=pair, on=date(2023, 12, 31)))
    assert EditCode.NCCI_PTP not in codes(check(lines=pair, on=date(2024, 1, 2)))


def test_ncci_indicator_9_never_fires(check) -> None:  # type: ignore[no-untyped-def]
    assert check(lines=[line("97140"), line("97110")]) == []


def test_mue_line_edit_counts_each_line(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("20610", "RT", units=3)]), EditCode.MUE_EXCEEDED)
    assert "per line" in finding.message
    assert check(lines=[line("20610", "RT", units=2), line("20610", "LT", units=2)]) == []


def test_mue_date_of_service_edit_adds_up_lines(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("96372", units=3), line("96372", "76", units=2)]), EditCode.MUE_EXCEEDED)
    assert "5 units" in finding.message
    assert finding.line_number == 1
    assert check(lines=[line("96372", units=2), line("96372", "76", units=2)]) == []


def test_diagnosis_pointer_missing(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("99213", pointers=())]), EditCode.DX_POINTER_MISSING)
    assert finding.line_number == 1


def test_diagnosis_pointer_out_of_range(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("99213", pointers=(1, 3))]), EditCode.DX_POINTER_OUT_OF_RANGE)
    assert "points to diagnosis 3" in finding.message
    assert check(lines=[line("99213", pointers=(2, 1))]) == []


def test_no_diagnosis_at_all(check) -> None:  # type: ignore[no-untyped-def]
    assert EditCode.DX_MISSING in codes(check([], [line("99213", pointers=())]))


def test_telehealth_modifier_needs_a_telehealth_place_of_service(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(lines=[line("99213", "95")], place="11"), EditCode.POS_TELEHEALTH_MISMATCH)
    assert finding.severity is Severity.ERROR
    assert check(lines=[line("99213", "95")], place="10") == []
    assert check(lines=[line("99213", "GT")], place="02") == []


def test_telehealth_place_without_telehealth_modifier_is_a_warning(check) -> None:  # type: ignore[no-untyped-def]
    findings = check(lines=[line("99213")], place="02")
    assert only(findings, EditCode.POS_TELEHEALTH_MISMATCH).severity is Severity.WARNING
    assert not has_blocking(findings)


def test_unknown_place_of_service(check) -> None:  # type: ignore[no-untyped-def]
    only(check(place="00"), EditCode.POS_INVALID)


def test_findings_serialize_for_the_work_queue(check) -> None:  # type: ignore[no-untyped-def]
    finding = only(check(["E11"]), EditCode.ICD_HEADER_CODE)
    assert finding.as_dict()["code"] == "ICD_HEADER_CODE"
    assert finding.as_dict()["diagnosis_position"] == 1
