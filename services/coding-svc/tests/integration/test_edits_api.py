"""Every coding edit through the HTTP API (positive and negative), code search, suggestions, and loading a new
code-set year with the CLI while the service runs (the October 1 switch)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from claimflow.testing import Stack, TenantFixture, encounter_body
from claimflow_kit.directory import Role
from claimflow_kit.testing import eventually
from coding_svc.domain.findings import EditCode

pytestmark = pytest.mark.integration

DOS = "2026-01-15"  # inside FY2026, the ICD-10-CM year shipped with the service
BIRTH_DATE_FOR_AGE = {5: "2020-06-01", 8: "2017-06-01", 30: "1995-06-01", 40: "1985-06-01", 70: "1955-06-01"}


@dataclass(frozen=True)
class Spec:
    """An encounter that differs from a clean office visit only where it matters."""

    diagnoses: tuple[str, ...] = ("E11.9", "I10")
    lines: tuple[dict[str, Any], ...] = ({"procedure_code": "99213", "diagnosis_pointers": [1]},)
    sex: str = "F"
    age: int = 40
    place: str = "11"
    date_of_service: str = DOS
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self, tenant: TenantFixture) -> dict[str, Any]:
        document = encounter_body(
            tenant,
            diagnoses=list(self.diagnoses),
            lines=[dict(line) for line in self.lines],
            place_of_service=self.place,
            date_of_service=self.date_of_service,
        )
        document["patient"] = {**document["patient"], "sex": self.sex, "birth_date": BIRTH_DATE_FOR_AGE[self.age]}
        return document


def line(code: str, *modifiers: str, units: int = 1, pointers: tuple[int, ...] = (1,)) -> dict[str, Any]:
    return {"procedure_code": code, "modifiers": list(modifiers), "units": str(units), "diagnosis_pointers": pointers}


# edit -> (an encounter that triggers it, the corrected encounter that does not)
EDIT_CASES: dict[EditCode, tuple[Spec, Spec]] = {
    EditCode.DX_MISSING: (Spec(diagnoses=(), lines=(line("99213", pointers=()),)), Spec()),
    EditCode.ICD_INVALID: (Spec(diagnoses=("E11.99", "I10")), Spec(diagnoses=("E11.9", "I10"))),
    EditCode.ICD_HEADER_CODE: (Spec(diagnoses=("E11", "I10")), Spec(diagnoses=("E11.65", "I10"))),
    EditCode.ICD_MISSING_7TH_CHAR: (Spec(diagnoses=("S72.001", "I10")), Spec(diagnoses=("S72.001A", "I10"))),
    EditCode.ICD_EXCLUDES1: (Spec(diagnoses=("E11.9", "E10.9")), Spec(diagnoses=("E11.9", "I10"))),
    EditCode.ICD_MANIFESTATION_FIRST: (Spec(diagnoses=("G63", "E85.4")), Spec(diagnoses=("E85.4", "G63"))),
    EditCode.ICD_SEX_CONFLICT: (Spec(diagnoses=("C61",), sex="F", age=70), Spec(diagnoses=("C61",), sex="M", age=70)),
    EditCode.ICD_AGE_CONFLICT: (Spec(diagnoses=("O80",), age=8), Spec(diagnoses=("O80",), age=30)),
    EditCode.ICD_EXTERNAL_CAUSE_FIRST: (
        Spec(diagnoses=("W19.XXXA", "S72.001A"), age=70),
        Spec(diagnoses=("S72.001A", "W19.XXXA"), age=70),
    ),
    EditCode.PROC_MISSING: (Spec(lines=()), Spec()),
    EditCode.PROC_INVALID: (Spec(lines=(line("99999"),)), Spec(lines=(line("99213"),))),
    EditCode.PROC_DELETED: (Spec(lines=(line("99201"),)), Spec(lines=(line("99202"),))),
    EditCode.MODIFIER_INVALID: (Spec(lines=(line("99213", "ZZ"),)), Spec(lines=(line("99213"),))),
    EditCode.EM_WITHOUT_25: (
        Spec(lines=(line("99214"), line("27447", "RT")), age=70),
        Spec(lines=(line("99214", "57"), line("27447", "RT")), age=70),
    ),
    EditCode.NCCI_PTP: (
        Spec(lines=(line("11720"), line("11055"))),
        Spec(lines=(line("11720"), line("11055", "59"))),
    ),
    EditCode.MUE_EXCEEDED: (Spec(lines=(line("20610", "RT", units=3),)), Spec(lines=(line("20610", "RT", units=2),))),
    EditCode.DX_POINTER_MISSING: (Spec(lines=(line("99213", pointers=()),)), Spec(lines=(line("99213"),))),
    EditCode.DX_POINTER_OUT_OF_RANGE: (
        Spec(lines=(line("99213", pointers=(1, 3)),)),
        Spec(lines=(line("99213", pointers=(2, 1)),)),
    ),
    EditCode.POS_INVALID: (Spec(place="00"), Spec(place="11")),
    EditCode.POS_TELEHEALTH_MISMATCH: (
        Spec(lines=(line("99213", "95"),), place="11"),
        Spec(lines=(line("99213", "95"),), place="10"),
    ),
    EditCode.CODE_SET_CARRIED_FORWARD: (Spec(date_of_service="2026-11-02"), Spec(date_of_service=DOS)),
}


def test_every_edit_has_an_api_case() -> None:
    assert set(EDIT_CASES) == set(EditCode)


async def check(stack: Stack, tenant: TenantFixture, body: dict[str, Any]) -> dict[str, Any]:
    response = await stack.client("coding-svc").post(
        "/v1/encounter-checks", json=body, headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("edit", sorted(EDIT_CASES), ids=str)
async def test_edit_fires_on_the_bad_encounter_and_not_on_the_corrected_one(stack: Stack, edit: EditCode) -> None:
    tenant = await stack.create_tenant()
    bad, good = EDIT_CASES[edit]
    fired = [f for f in (await check(stack, tenant, bad.body(tenant)))["findings"] if f["code"] == edit.value]
    assert fired, f"{edit} did not fire"
    finding = fired[0]
    assert finding["severity"] in ("error", "warning")
    assert finding["message"], finding
    assert finding["suggested_fix"], finding
    corrected = await check(stack, tenant, good.body(tenant))
    assert edit.value not in {f["code"] for f in corrected["findings"]}, corrected["findings"]


async def test_clean_encounter_check_stores_nothing(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    body = Spec().body(tenant)
    result = await check(stack, tenant, body)
    assert result == {"clean": True, "findings": [], "code_sets": result["code_sets"]}
    assert result["code_sets"]["icd10cm"] == "FY2026"
    listed = await stack.client("coding-svc").get("/v1/encounters", headers=tenant.headers(Role.CODER))
    assert listed.json() == []


async def test_icd_search_and_note_suggestions(stack: Stack) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    coder = tenant.headers(Role.CODER)
    words = await coding.get("/v1/code-search/icd10cm", params={"q": "type 2 diabetes", "limit": 5}, headers=coder)
    assert words.status_code == 200, words.text
    hits = words.json()["hits"]
    assert len(hits) == 5
    assert all(h["code"].startswith("E11.") for h in hits), hits
    by_code = await coding.get("/v1/code-search/icd10cm", params={"q": "E11.6"}, headers=coder)
    assert by_code.json()["hits"]
    assert all(h["code"].startswith("E11.6") for h in by_code.json()["hits"])
    old_year = await coding.get(
        "/v1/code-search/icd10cm", params={"q": "diabetes", "date_of_service": "2024-03-01"}, headers=coder
    )
    assert old_year.json()["version"] == "FY2024"

    note = "Patient with type 2 diabetes and essential hypertension. Denies chest pain."
    suggested = await coding.post("/v1/code-suggestions", json={"note": note, "date_of_service": DOS}, headers=coder)
    assert suggested.status_code == 200, suggested.text
    by_code_suggested = {s["code"]: s for s in suggested.json()["suggestions"]}
    assert {"E11.9", "I10"} <= set(by_code_suggested)
    assert not any(code.startswith("R07") for code in by_code_suggested), "a negated finding is not suggested"
    evidence = by_code_suggested["I10"]
    assert note[evidence["start"] : evidence["end"]] == evidence["evidence"]

    body = {**Spec().body(tenant), "clinical_note": note}
    posted = await coding.post("/v1/encounters", json=body, headers=tenant.headers(Role.EHR_INTEGRATION))
    assert posted.status_code == 201, posted.text
    for_encounter = await coding.get(f"/v1/encounters/{posted.json()['id']}/code-suggestions", headers=coder)
    assert for_encounter.status_code == 200
    assert {"E11.9", "I10"} <= {s["code"] for s in for_encounter.json()["suggestions"]}


# A customer-supplied year older than the packaged ones (FY2024 is the oldest), reduced to a few codes.
FY2023_TEST_FILE = (
    "E119    Type 2 diabetes mellitus without complications\n"
    "I10     Essential (primary) hypertension\n"
    "E668    Other obesity\n"
)


async def run_cli(stack: Stack, *args: str) -> tuple[int, str]:
    env = {**os.environ, "CLAIMFLOW_DATABASE_URL": stack.settings["coding-svc"].database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "claimflow",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_a_new_icd_year_loaded_by_the_cli_switches_on_october_1_without_restart(
    stack: Stack, tmp_path: Path
) -> None:
    tenant = await stack.create_tenant()
    coding = stack.client("coding-svc")
    coder = tenant.headers(Role.CODER)
    september = Spec(diagnoses=("E11.9", "J20.9"), date_of_service="2023-09-30")
    october = Spec(diagnoses=("E11.9", "J20.9"), date_of_service="2023-10-01")
    refused = await coding.post(
        "/v1/encounter-checks", json=september.body(tenant), headers=tenant.headers(Role.EHR_INTEGRATION)
    )
    assert refused.status_code == 400
    assert "No ICD-10-CM code set is loaded for date of service 2023-09-30" in refused.json()["detail"]

    broken = tmp_path / "broken.txt"
    broken.write_text("this is not a CMS codes file\n")
    code, output = await run_cli(stack, "codesets", "load", "icd10cm", str(broken), "--fiscal-year", "2023")
    assert code != 0
    assert "icd10cm file broken.txt" in output, output

    release_file = tmp_path / "icd10cm_codes_2023.txt"
    release_file.write_text(FY2023_TEST_FILE)
    code, output = await run_cli(stack, "codesets", "load", "icd10cm", str(release_file), "--fiscal-year", "2023")
    assert code == 0, output
    assert "icd10cm FY2023 (2022-10-01..2023-09-30)" in output

    async def applied() -> dict[str, Any] | None:
        listing = await coding.get("/v1/code-sets", params={"date_of_service": "2023-09-30"}, headers=coder)
        body: dict[str, Any] = listing.json()
        return body if body["in_force"]["icd10cm"] == "FY2023" else None

    listing = await eventually(applied)
    assert [r["label"] for r in listing["releases"] if r["kind"] == "icd10cm"] == ["FY2023"]

    before = await check(stack, tenant, september.body(tenant))
    after = await check(stack, tenant, october.body(tenant))
    assert {(f["code"], f["codes"][0]) for f in before["findings"]} == {("ICD_INVALID", "J209")}
    assert after["findings"] == [], "FY2024 (packaged) is in force from 2023-10-01"
    assert (before["code_sets"]["icd10cm"], after["code_sets"]["icd10cm"]) == ("FY2023", "FY2024")

    again, output = await run_cli(stack, "codesets", "load", "icd10cm", str(release_file), "--fiscal-year", "2023")
    assert again == 0, output
    code, listed = await run_cli(stack, "codesets", "list")
    assert code == 0, listed
    assert listed.count('"label": "FY2023"') == 1, "the same file loaded twice is one release"
