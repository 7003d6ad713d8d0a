"""The CMS file loaders, on small files written here, and the versioning of code sets by date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from coding_svc.codesets._files import CodeSetFileError
from coding_svc.codesets.icd10cm import (
    CodeRange,
    IcdFileError,
    load_icd10cm_codes_file,
    load_icd10cm_order_file,
    parse_code_references,
)
from coding_svc.codesets.mce import Sex, extract_mce_edits
from coding_svc.codesets.ncci import ModifierIndicator, MueAdjudication, PtpTable, load_mue_file, load_ptp_files
from coding_svc.codesets.procedures import GlobalPeriod, parse_cpt_lines, parse_global_periods, parse_hcpcs_lines
from coding_svc.codesets.reference import parse_modifier_lines, parse_place_of_service_lines
from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.versioning import EffectivePeriod, fiscal_year_period, quarter_period


def order_record(order: int, code: str, billable: bool, short: str, long: str) -> str:
    return f"{order:05d} {code:<7} {int(billable)} {short:<60} {long}"


def test_order_file_loader_reads_the_fixed_width_layout(tmp_path: Path) -> None:
    path = tmp_path / "icd10cm_order_2027.txt"
    path.write_text(
        "\n".join(
            [
                order_record(1, "A00", False, "Cholera", "Cholera"),
                order_record(
                    2,
                    "A000",
                    True,
                    "Cholera due to Vibrio cholerae 01, biovar cholerae",
                    "Cholera due to Vibrio cholerae 01, biovar cholerae",
                ),
                order_record(
                    3,
                    "S72001",
                    False,
                    "Fx unsp part of neck of right femur",
                    "Fracture of unspecified part of neck of right femur",
                ),
                order_record(
                    4,
                    "S72001A",
                    True,
                    "Fx unsp part of nk of r femur, init for clos fx",
                    "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
                ),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    icd = load_icd10cm_order_file(path, 2027)
    assert icd.version == "FY2027"
    assert icd.period == EffectivePeriod(date(2026, 10, 1), date(2027, 9, 30))
    assert icd.codes["A00"].billable is False
    assert icd.codes["A000"].billable is True
    assert icd.codes["S72001A"].description.endswith("initial encounter for closed fracture")
    assert "S72001" in icd.seventh_character_stems


def test_order_file_loader_rejects_a_line_in_another_layout(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("A000    Cholera due to Vibrio cholerae\n", encoding="utf-8")
    with pytest.raises(IcdFileError, match="line 1"):
        load_icd10cm_order_file(path, 2027)


def test_codes_file_loader_derives_header_codes(tmp_path: Path) -> None:
    path = tmp_path / "icd10cm_codes_2027.txt"
    path.write_text(
        "A000    Cholera due to Vibrio cholerae 01, biovar cholerae\nE119    Type 2 diabetes mellitus "
        "without complications\nS72001A Fracture of unspecified part of neck of right femur, initial\n",
        encoding="utf-8",
    )
    icd = load_icd10cm_codes_file(path, 2027)
    assert icd.codes["E119"].billable
    assert icd.codes["E119"].description == "Type 2 diabetes mellitus without complications"
    assert not icd.codes["E11"].billable
    assert not icd.codes["S7200"].billable
    assert icd.seventh_character_stems == frozenset({"S72001"})


def test_tabular_note_references_are_parsed_as_ranges() -> None:
    ranges = parse_code_references("endocrine disease (E00-E07, E15-E16), type 1 (E10.-), CJD (A81.0-) (G35-)")
    assert ranges == [
        CodeRange("E00", "E07"),
        CodeRange("E15", "E16"),
        CodeRange("E10", "E10"),
        CodeRange("A810", "A810"),
        CodeRange("G35", "G35"),
    ]
    assert CodeRange("E00", "E07").contains("E0390")
    assert not CodeRange("E00", "E07").contains("E080")
    assert parse_code_references("polyneuropathy in diabetes (E08-E13 with .42)") == []


def test_mce_probe_recovers_age_and_sex_designations() -> None:
    fy2026 = extract_mce_edits(["O80", "Z0000", "Z3800", "C61", "I10"], 2026)
    assert fy2026.age["O80"].category == "maternity"
    assert not fy2026.age["O80"].allows(8)
    assert fy2026.age["Z0000"].allows(18)
    assert not fy2026.age["Z0000"].allows(5)
    assert fy2026.age["Z3800"].high == 0
    assert "I10" not in fy2026.age
    assert fy2026.sex["C61"] is Sex.MALE
    assert fy2026.sex["O80"] is Sex.FEMALE
    assert fy2026.sex_edit_enforced is False
    assert extract_mce_edits(["O80"], 2024).sex_edit_enforced is True


def test_cpt_loader_reads_numbers_with_or_without_descriptions() -> None:
    codes = parse_cpt_lines(["# licensed file", "99213\tOffice visit text", "0001U", "J1100 not cpt", ""])
    assert [(c.code, c.description) for c in codes] == [("99213", "Office visit text"), ("0001U", "")]


def test_hcpcs_loader_joins_continuation_records_and_reads_modifiers() -> None:
    procedures, modifiers = parse_hcpcs_lines(
        [
            "HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,ADD DT,ACT EFF DT,TERM DT",
            'E0114,00100,3,"Crutches underarm, other than wood, adjustable",Crutch,19940101,19940101,',
            "E0114,00200,4,or fixed,,,,",
            "G2012,00100,3,Brief check-in,Brief,20190101,20190101,20241231",
            "GT,00100,7,Via interactive audio and video,Telecom,19990101,19990101,",
        ]
    )
    by_code = {p.code: p for p in procedures}
    assert by_code["E0114"].description == "Crutches underarm, other than wood, adjustable or fixed"
    assert by_code["G2012"].terminated == date(2024, 12, 31)
    assert not by_code["G2012"].in_force(date(2025, 1, 1))
    assert modifiers == {"GT": "Via interactive audio and video"}


def test_global_periods_skip_component_rows() -> None:
    periods = parse_global_periods(["title line", "HCPCS,MOD,GLOB DAYS", "20610,,000", "71046,26,XXX", "27447,,090"])
    assert periods == {"20610": GlobalPeriod.DAYS_0, "27447": GlobalPeriod.DAYS_90}
    with pytest.raises(CodeSetFileError):
        parse_global_periods(["HCPCS,MOD,GLOB DAYS", "20610,,ABC"])


def test_ptp_loader_reads_the_cms_text_layout(tmp_path: Path) -> None:
    path = tmp_path / "ccipra-v321r0-f1.txt"
    path.write_text(
        "CPT only copyright American Medical Association\n\n"
        "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
        "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
        "93000\t93005\t*\t19960101\t*\t0\tComprehensive code includes component\n"
        "97530\t97140\t\t20170101\t20240101\t1\tMutually exclusive procedures\n",
        encoding="utf-8",
    )
    table = load_ptp_files([path], quarter_period(2026, 1))
    assert len(table) == 2
    edit = table.find("93000", "93005", date(2026, 1, 2))
    assert edit is not None
    assert edit.modifier_indicator is ModifierIndicator.NOT_ALLOWED
    assert table.find("93005", "93000", date(2026, 1, 2)) is None
    assert table.find("97530", "97140", date(2023, 12, 31)) is not None
    assert table.find("97530", "97140", date(2024, 1, 1)) is None


def test_mue_loader_reads_the_cms_csv_layout(tmp_path: Path) -> None:
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_2026-01-01.csv"
    path.write_text(
        '"CPT codes and descriptions only are copyright American Medical Association."\n'
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"
        "20610,2,1 Line Edit,Anatomic Consideration\n"
        "96372,4,3 Date of Service Edit: Clinical,Clinical: Data\n",
        encoding="utf-8",
    )
    table = load_mue_file(path, quarter_period(2026, 1))
    limit = table.get("96372")
    assert limit is not None
    assert limit.max_units == 4
    assert limit.adjudication is MueAdjudication.DATE_OF_SERVICE_CLINICAL
    other_layout = tmp_path / "other.csv"
    other_layout.write_text("code,units\n20610,2\n", encoding="utf-8")
    with pytest.raises(CodeSetFileError, match="no header row"):
        load_mue_file(other_layout, quarter_period(2026, 1))


def test_modifier_and_place_of_service_tables() -> None:
    modifiers = parse_modifier_lines(["MODIFIER,DESCRIPTION", "25,Separate E/M", "XS,Separate structure"])
    assert "25" in modifiers
    assert "ZZ" not in modifiers
    places = parse_place_of_service_lines(["CODE,NAME", "2,Telehealth other than home", "11,Office"])
    telehealth, office = places.get("02"), places.get("11")
    assert telehealth is not None
    assert telehealth.telehealth
    assert office is not None
    assert not office.telehealth


def test_periods_for_fiscal_years_and_quarters() -> None:
    assert fiscal_year_period(2026) == EffectivePeriod(date(2025, 10, 1), date(2026, 9, 30))
    assert quarter_period(2026, 1) == EffectivePeriod(date(2026, 1, 1), date(2026, 3, 31))
    assert quarter_period(2025, 4).end == date(2025, 12, 31)


def test_a_new_quarter_is_swapped_in_without_touching_the_old_registry(registry: CodeSetRegistry) -> None:
    new_table = PtpTable([], quarter_period(2026, 2), "empty Q2")
    updated = registry.with_ptp(new_table)
    assert updated.at(date(2026, 4, 1)).ptp is new_table
    assert updated.at(date(2026, 3, 31)).ptp is not new_table
    assert registry.at(date(2026, 4, 1)).ptp is not new_table


def test_single_category_blocks_keep_their_billable_category(registry: CodeSetRegistry) -> None:
    """B20, Z66, F99 and R99 are both a block and a category in the tabular: the code must not be lost."""
    fy2026 = registry.at(date(2026, 1, 15)).icd
    for code in ("B20", "Z66", "F99", "R99"):
        entry = fy2026.get(code)
        assert entry is not None, code
        assert entry.billable, code


def test_a_release_is_applied_to_a_new_registry_and_bad_files_are_refused(
    registry: CodeSetRegistry, tmp_path: Path
) -> None:
    from coding_svc.codesets.releases import (
        Release,
        ReleaseError,
        ReleaseKind,
        apply_release,
        check_release,
        release_period,
    )

    period, label = release_period(ReleaseKind.ICD10CM, fiscal_year=2027)
    assert (period.start, period.end, label) == (date(2026, 10, 1), date(2027, 9, 30), "FY2027")
    content = b"E119    Type 2 diabetes mellitus without complications\nZ9999   A code invented for this test\n"
    release = Release(ReleaseKind.ICD10CM, period, "icd10cm_codes_2027.txt", content, label)
    check_release(release)
    updated = apply_release(registry, release)
    assert updated is not registry
    fy2027 = updated.at(date(2026, 10, 1))
    assert fy2027.icd.version == "FY2027"
    assert fy2027.carried_forward == ()
    assert fy2027.icd.get("Z9999") is not None
    assert registry.at(date(2026, 10, 1)).carried_forward == ("ICD-10-CM",), "the old registry is untouched"
    assert updated.at(date(2026, 9, 30)).icd.version == "FY2026"

    ptp_period, ptp_label = release_period(ReleaseKind.NCCI_PTP, quarter="2027q1")
    assert (ptp_period.start, ptp_label) == (date(2027, 1, 1), "2027Q1")
    with pytest.raises(ReleaseError, match="ncci-ptp"):
        check_release(Release(ReleaseKind.NCCI_PTP, ptp_period, "f1.txt", b"not a ptp file\n", ptp_label))
    with pytest.raises(ReleaseError, match="fiscal year"):
        release_period(ReleaseKind.MUE, fiscal_year=2027)
    with pytest.raises(ReleaseError, match="exactly one"):
        release_period(ReleaseKind.MUE)
