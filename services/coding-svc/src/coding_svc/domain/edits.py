"""The coding edit engine: checks one encounter against the code sets in force on its date of service.

Every edit is a plain function of (encounter, code sets) -> findings, so each can be read and tested alone.
Lookups are dict/set indexes precomputed per code-set version; nothing here touches a file or a network.

Documented rules where the guidelines leave room for choice:

- E/M with a procedure (``EM_WITHOUT_25``): an E/M line (office/outpatient, hospital, ED, nursing facility,
  home, consults, preventive) billed with a procedure whose MPFS global period is 000 or 010 (a minor
  procedure) needs modifier 25 on the E/M line; with a 090-day global (major surgery) it needs 25 or 57
  (decision for surgery). A CPT procedure in the surgery range 10004-69990 with no known global period is
  treated as minor, and reported as a warning.
- NCCI PTP: the edit is in force from its effective date up to the day before its deletion date. Indicator 0
  always fires; indicator 1 is bypassed when the column 2 line carries 59, XE, XS, XP, XU or another
  NCCI-associated modifier (24, 25, 27, 57, 58, 78, 79, 91), or when the two lines carry different anatomic
  modifiers (LT/RT, E1-E4, FA-F9, TA-T9, LC/LD/RC...); indicator 9 never fires.
- MUE: adjudication indicator 1 compares each line's units; 2 and 3 compare the units of all lines of the code.
- Sex conflicts: CMS retired the MCE sex edit from FY2025; for those years a sex conflict is a warning.
- Telehealth: modifier 95 or GT needs place of service 02 or 10 (error); place of service 02/10 with no line
  carrying 95, GT or 93 is a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from coding_svc.codesets.icd10cm import IcdCodeSet, format_icd, looks_like_icd, normalize_icd
from coding_svc.codesets.mce import Sex
from coding_svc.codesets.procedures import GlobalPeriod, ProcedureKind
from coding_svc.codesets.reference import (
    DISTINCT_SERVICE_MODIFIERS,
    TELEHEALTH_MODIFIERS,
    TELEHEALTH_PLACES_OF_SERVICE,
)
from coding_svc.codesets.registry import CodeSetRegistry, CodeSets
from coding_svc.domain.encounter import MAX_DIAGNOSES, MAX_MODIFIERS, Encounter
from coding_svc.domain.findings import EditCode, Finding, Severity

EditFunction = Callable[[Encounter, CodeSets], list[Finding]]


def _code_range(low: int, high: int) -> frozenset[str]:
    return frozenset(str(n) for n in range(low, high + 1))


EVALUATION_AND_MANAGEMENT = (
    _code_range(99202, 99205)  # office, new patient
    | _code_range(99211, 99215)  # office, established
    | _code_range(99221, 99239)  # hospital inpatient/observation
    | _code_range(99242, 99255)  # consultations
    | _code_range(99281, 99285)  # emergency department
    | _code_range(99304, 99316)  # nursing facility
    | _code_range(99341, 99350)  # home or residence
    | _code_range(99381, 99397)  # preventive medicine
)
NCCI_BYPASS_MODIFIERS = DISTINCT_SERVICE_MODIFIERS | frozenset({"24", "25", "27", "57", "58", "78", "79", "91"})
ANATOMIC_MODIFIERS = frozenset(
    {"LT", "RT", "E1", "E2", "E3", "E4", "LC", "LD", "LM", "RC", "RI"}
    | {f"F{c}" for c in "A123456789"}
    | {f"T{c}" for c in "A123456789"}
)
AUDIO_ONLY_MODIFIER = "93"
_SURGERY_RANGE = (10004, 69990)
_EXTERNAL_CAUSE_CHAPTER = frozenset("VWXY")


def _finding(
    code: EditCode,
    severity: Severity,
    message: str,
    fix: str,
    *,
    line: int | None = None,
    position: int | None = None,
    codes: Iterable[str] = (),
) -> Finding:
    return Finding(code, severity, message, fix, line, position, tuple(codes))


# --- diagnoses -------------------------------------------------------------------------------------------------


def _unknown_icd(icd: IcdCodeSet, code: str, position: int) -> Finding:
    shown = format_icd(code)
    if len(code) <= 6 and code.ljust(6, "X") in icd.seventh_character_stems:
        return _missing_seventh(icd, code, position)
    if len(code) == 7 and looks_like_icd(code):
        padded = code[:-1].rstrip("X").ljust(6, "X") + code[-1]
        if padded != code and padded in icd.codes and icd.codes[padded].billable:
            return _finding(
                EditCode.ICD_INVALID,
                Severity.ERROR,
                f"{shown} is not a valid ICD-10-CM code for {icd.version}.",
                f"Use {format_icd(padded)}: the placeholder X keeps the 7th character in position 7.",
                position=position,
                codes=(code,),
            )
    for length in range(min(len(code) - 1, 6), 2, -1):
        parent = icd.codes.get(code[:length])
        if parent is not None:
            options = ", ".join(format_icd(c) for c in icd.billable_under(parent.code, 5))
            fix = f"Choose a valid code under {format_icd(parent.code)} ({parent.description})" + (
                f", e.g. {options}." if options else "."
            )
            break
    else:
        fix = "Check the code against the documentation and the ICD-10-CM tabular for the date of service."
    return _finding(
        EditCode.ICD_INVALID,
        Severity.ERROR,
        f"{shown} is not a valid ICD-10-CM code for {icd.version} ({icd.period.start} to {icd.period.end}).",
        fix,
        position=position,
        codes=(code,),
    )


def _missing_seventh(icd: IcdCodeSet, code: str, position: int) -> Finding:
    stem = code.ljust(6, "X")
    definitions = icd.notes.seventh_characters.get(stem, {})
    valid = [c for c in icd.billable_under(stem, 20) if len(c) == 7]
    examples = ", ".join(
        f"{format_icd(c)} ({definitions[c[-1]]})" if c[-1] in definitions else format_icd(c) for c in valid[:3]
    )
    return _finding(
        EditCode.ICD_MISSING_7TH_CHAR,
        Severity.ERROR,
        f"{format_icd(code)} needs a 7th character (e.g. A initial, D subsequent, S sequela encounter).",
        f"Add the 7th character the documentation supports, with X placeholders to fill position 7: {examples}."
        if examples
        else "Add the 7th character the documentation supports, with X placeholders to fill position 7.",
        position=position,
        codes=(code,),
    )


def _header(icd: IcdCodeSet, code: str, position: int) -> Finding:
    entry = icd.codes[code]
    options = ", ".join(format_icd(c) for c in icd.billable_under(code, 5))
    return _finding(
        EditCode.ICD_HEADER_CODE,
        Severity.ERROR,
        f"{format_icd(code)} ({entry.description or 'category'}) is a header, not a billable code: "
        "more characters are required.",
        f"Code to the highest specificity documented, e.g. {options}." if options else "Code to full specificity.",
        position=position,
        codes=(code,),
    )


def diagnosis_code_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """Invalid, header and incomplete (7th character) codes, and MCE age and sex conflicts."""
    icd = code_sets.icd
    codes = icd.codes
    stems = icd.seventh_character_stems
    age_table = icd.mce.age
    sex_table = icd.mce.sex
    findings: list[Finding] = []
    for position, raw in enumerate(encounter.diagnoses, start=1):
        code = normalize_icd(raw)
        entry = codes.get(code)
        if entry is None:
            findings.append(_unknown_icd(icd, code, position))
            continue
        if not entry.billable:
            if len(code) <= 6 and code.ljust(6, "X") in stems:
                findings.append(_missing_seventh(icd, code, position))
            else:
                findings.append(_header(icd, code, position))
            continue
        ages = age_table.get(code)
        if ages is not None and not ages.allows(encounter.patient_age):
            findings.append(
                _finding(
                    EditCode.ICD_AGE_CONFLICT,
                    Severity.ERROR,
                    f"{format_icd(code)} ({entry.description}) is a {ages.category} diagnosis "
                    f"(ages {ages.low}-{ages.high}); the patient is {encounter.patient_age}.",
                    "Check the patient's date of birth and the diagnosis; correct whichever is wrong.",
                    position=position,
                    codes=(code,),
                )
            )
        required = sex_table.get(code)
        if required is not None and encounter.patient_sex is not Sex.UNKNOWN and required != encounter.patient_sex:
            enforced = icd.mce.sex_edit_enforced
            findings.append(
                _finding(
                    EditCode.ICD_SEX_CONFLICT,
                    Severity.ERROR if enforced else Severity.WARNING,
                    f"{format_icd(code)} ({entry.description}) is designated for "
                    f"{'female' if required is Sex.FEMALE else 'male'} patients; the patient's recorded sex is "
                    f"{'female' if encounter.patient_sex is Sex.FEMALE else 'male'}.",
                    "Check the recorded sex and the diagnosis; if both are right (e.g. a transgender patient), "
                    "keep the code and document it"
                    + ("." if not enforced else ", and follow the payer's instructions for sex-conflict overrides."),
                    position=position,
                    codes=(code,),
                )
            )
    return findings


def sequencing_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """First-listed diagnosis rules: no external-cause code and no manifestation code first."""
    if not encounter.diagnoses:
        return []
    icd = code_sets.icd
    first = normalize_icd(encounter.diagnoses[0])
    findings: list[Finding] = []
    if first[:1] in _EXTERNAL_CAUSE_CHAPTER:
        findings.append(
            _finding(
                EditCode.ICD_EXTERNAL_CAUSE_FIRST,
                Severity.ERROR,
                f"{format_icd(first)} is an external-cause code (V00-Y99) and may never be first-listed.",
                "List the injury or condition it explains first and move the external-cause code after it.",
                position=1,
                codes=(first,),
            )
        )
    if first in icd.notes.manifestations:
        note = icd.notes.code_first.get(first, "")
        underlying = "; ".join(line.strip() for line in note.splitlines()[:4] if line.strip())
        findings.append(
            _finding(
                EditCode.ICD_MANIFESTATION_FIRST,
                Severity.ERROR,
                f"{format_icd(first)} ({icd.codes[first].description}) is a manifestation code and may not be "
                "first-listed.",
                f"Sequence the underlying condition first (code first: {underlying})."
                if underlying
                else "Sequence the underlying condition first.",
                position=1,
                codes=(first,),
            )
        )
    return findings


def excludes1_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """Pairs of diagnoses that an Excludes1 note says are never coded together."""
    diagnoses = encounter.diagnoses
    if len(diagnoses) < 2:
        return []
    icd = code_sets.icd
    notes = icd.notes.excludes1
    codes = [normalize_icd(d) for d in diagnoses]
    findings: list[Finding] = []
    for i, first in enumerate(codes):
        first_notes = notes.get(first, ())
        for j in range(i + 1, len(codes)):
            second = codes[j]
            if second == first:
                continue
            note = next((n for n in first_notes if n.excluded.contains(second)), None)
            if note is None:
                note = next((n for n in notes.get(second, ()) if n.excluded.contains(first)), None)
            if note is None:
                continue
            findings.append(
                _finding(
                    EditCode.ICD_EXCLUDES1,
                    Severity.ERROR,
                    f"{format_icd(first)} and {format_icd(second)} may not be coded together: Excludes1 at "
                    f"{format_icd(note.declared_on)} — {note.text}.",
                    "Keep the code the documentation supports and remove the other (Excludes1 means the two "
                    "conditions cannot occur together).",
                    position=j + 1,
                    codes=(first, second),
                )
            )
    return findings


def pointer_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """Diagnosis pointers: every line points to at least one diagnosis, and only to existing ones."""
    count = len(encounter.diagnoses)
    findings: list[Finding] = []
    if count == 0:
        findings.append(
            _finding(
                EditCode.DX_MISSING,
                Severity.ERROR,
                "The encounter has no diagnosis.",
                "Add the diagnoses documented for the visit.",
            )
        )
    elif count > MAX_DIAGNOSES:
        findings.append(
            _finding(
                EditCode.DX_POINTER_OUT_OF_RANGE,
                Severity.ERROR,
                f"The encounter has {count} diagnoses; a professional claim carries at most {MAX_DIAGNOSES}.",
                "Keep the diagnoses that support the services billed.",
            )
        )
    for number, line in enumerate(encounter.lines, start=1):
        if not line.diagnosis_pointers:
            findings.append(
                _finding(
                    EditCode.DX_POINTER_MISSING,
                    Severity.ERROR,
                    f"Line {number} ({line.procedure_code}) does not point to any diagnosis.",
                    "Point the line to the diagnosis (1-12) that supports it.",
                    line=number,
                    codes=(line.procedure_code,),
                )
            )
            continue
        for pointer in line.diagnosis_pointers:
            if not 1 <= pointer <= min(count, MAX_DIAGNOSES):
                findings.append(
                    _finding(
                        EditCode.DX_POINTER_OUT_OF_RANGE,
                        Severity.ERROR,
                        f"Line {number} ({line.procedure_code}) points to diagnosis {pointer}, but the encounter "
                        f"has {count}.",
                        f"Use a pointer between 1 and {min(count, MAX_DIAGNOSES)}." if count else "Add diagnoses.",
                        line=number,
                        codes=(line.procedure_code,),
                    )
                )
    return findings


# --- procedures and modifiers ----------------------------------------------------------------------------------


def procedure_code_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """Unknown, not-yet-effective and deleted CPT/HCPCS codes; invalid or too many modifiers."""
    procedures = code_sets.procedures
    modifiers = code_sets.modifiers
    day = encounter.date_of_service
    findings: list[Finding] = []
    if not encounter.lines:
        findings.append(
            _finding(
                EditCode.PROC_MISSING,
                Severity.ERROR,
                "The encounter has no service line.",
                "Add the services performed.",
            )
        )
    for number, line in enumerate(encounter.lines, start=1):
        code = line.procedure_code
        entry = procedures.codes.get(code)
        if entry is None or (entry.added is not None and day < entry.added):
            when = f" until {entry.added}" if entry is not None and entry.added is not None else ""
            findings.append(
                _finding(
                    EditCode.PROC_INVALID,
                    Severity.ERROR,
                    f"Line {number}: {code} is not a valid CPT/HCPCS code{when} for a service on {day}.",
                    "Check the code against the documentation and the current CPT/HCPCS code set.",
                    line=number,
                    codes=(code,),
                )
            )
        elif entry.terminated is not None and day > entry.terminated:
            findings.append(
                _finding(
                    EditCode.PROC_DELETED,
                    Severity.ERROR,
                    f"Line {number}: {code} was deleted; its last valid date of service was {entry.terminated}.",
                    "Replace it with the code that succeeded it for this date of service.",
                    line=number,
                    codes=(code,),
                )
            )
        if len(line.modifiers) > MAX_MODIFIERS:
            findings.append(
                _finding(
                    EditCode.MODIFIER_INVALID,
                    Severity.ERROR,
                    f"Line {number} ({code}) has {len(line.modifiers)} modifiers; at most {MAX_MODIFIERS} fit.",
                    "Keep the payment-affecting modifiers first and drop informational ones.",
                    line=number,
                    codes=(code,),
                )
            )
        for modifier in line.modifiers:
            if modifier not in modifiers:
                findings.append(
                    _finding(
                        EditCode.MODIFIER_INVALID,
                        Severity.ERROR,
                        f"Line {number} ({code}): {modifier!r} is not a valid modifier.",
                        "Remove it or use the modifier the documentation supports.",
                        line=number,
                        codes=(code, modifier),
                    )
                )
    return findings


def _surgery_range(code: str) -> bool:
    return code.isdigit() and _SURGERY_RANGE[0] <= int(code) <= _SURGERY_RANGE[1]


def em_modifier_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """An E/M billed with a procedure that has a global period needs modifier 25 (or 57 before major surgery)."""
    lines = encounter.lines
    em_lines = [(n, line) for n, line in enumerate(lines, start=1) if line.procedure_code in EVALUATION_AND_MANAGEMENT]
    if not em_lines or len(em_lines) == len(lines):
        return []
    procedures = code_sets.procedures.codes
    major: tuple[str, GlobalPeriod | None] | None = None
    minor: tuple[str, GlobalPeriod | None] | None = None
    assumed: tuple[str, GlobalPeriod | None] | None = None
    for line in lines:
        code = line.procedure_code
        entry = procedures.get(code)
        if code in EVALUATION_AND_MANAGEMENT or entry is None:
            continue
        period = entry.global_period
        if period is not None and period.is_major:
            major = major or (code, period)
        elif period is not None and period.is_minor:
            minor = minor or (code, period)
        elif period is None and entry.kind is ProcedureKind.CPT and _surgery_range(code):
            assumed = assumed or (code, None)
    chosen = major or minor or assumed
    if chosen is None:
        return []
    procedure, period = chosen
    findings: list[Finding] = []
    for number, line in em_lines:
        modifiers = set(line.modifiers)
        if "25" in modifiers or (period is not None and period.is_major and "57" in modifiers):
            continue
        if period is not None and period.is_major:
            message = (
                f"Line {number}: E/M {line.procedure_code} is billed with {procedure} (90-day global) without "
                "modifier 25 or 57; the visit is included in the surgery's global package."
            )
            fix = (
                f"Append 57 to {line.procedure_code} if this visit was the decision for surgery, or 25 if it was a "
                "significant, separately identifiable service; otherwise remove the E/M."
            )
        else:
            kind = f"{period.value}-day global" if period is not None else "assumed global period"
            message = (
                f"Line {number}: E/M {line.procedure_code} is billed on the same day as minor procedure "
                f"{procedure} ({kind}) without modifier 25."
            )
            fix = (
                f"Append 25 to {line.procedure_code} if the visit was significant and separately identifiable "
                "from the procedure (documented separately); otherwise remove the E/M."
            )
        findings.append(
            _finding(
                EditCode.EM_WITHOUT_25,
                Severity.ERROR if period is not None else Severity.WARNING,
                message,
                fix,
                line=number,
                codes=(line.procedure_code, procedure),
            )
        )
    return findings


def ncci_ptp_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """NCCI procedure-to-procedure pairs in force on the date of service, honouring the modifier indicator."""
    lines = encounter.lines
    if len(lines) < 2:
        return []
    ptp = code_sets.ptp
    day = encounter.date_of_service.toordinal()
    codes = [line.procedure_code for line in lines]
    findings: list[Finding] = []
    for i, column1 in enumerate(codes):
        row = ptp.row(column1)
        if row is None:
            continue
        for j, column2 in enumerate(codes):
            if i == j or column2 == column1:
                continue
            entries = row.get(column2)
            if entries is None:
                continue
            for effective, deleted, indicator, edit in entries:
                if not effective <= day < deleted or indicator == 9:
                    continue
                if indicator == 1 and _ptp_bypassed(lines[i].modifiers, lines[j].modifiers):
                    break
                findings.append(_ptp_finding(j + 1, column1, column2, indicator, edit.rationale))
                break
    return findings


def _ptp_bypassed(column1_modifiers: tuple[str, ...], column2_modifiers: tuple[str, ...]) -> bool:
    if not NCCI_BYPASS_MODIFIERS.isdisjoint(column2_modifiers):
        return True
    anatomic1 = ANATOMIC_MODIFIERS.intersection(column1_modifiers)
    anatomic2 = ANATOMIC_MODIFIERS.intersection(column2_modifiers)
    return bool(anatomic1 and anatomic2 and anatomic1 != anatomic2)


def _ptp_finding(line: int, column1: str, column2: str, indicator: int, rationale: str) -> Finding:
    why = f" ({rationale})" if rationale else ""
    if indicator == 0:
        message = (
            f"Line {line}: {column2} is not payable with {column1} on the same day{why}; "
            "NCCI allows no modifier for this pair."
        )
        fix = f"Remove {column2}; it is included in {column1}."
    else:
        message = f"Line {line}: {column2} is bundled into {column1} on the same day{why}."
        fix = (
            f"If {column2} was a distinct service (different session, site, organ or incision), append XE, XS, XP, "
            f"XU or 59 to {column2} and document it; otherwise remove {column2}."
        )
    return _finding(
        EditCode.NCCI_PTP, Severity.ERROR, message, fix, line=line, codes=(column1, column2, str(indicator))
    )


def mue_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """Medically unlikely edits: units per line (MAI 1) or per code and date of service (MAI 2 and 3)."""
    mue = code_sets.mue.limits
    findings: list[Finding] = []
    totals: dict[str, Decimal] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(encounter.lines, start=1):
        limit = mue.get(line.procedure_code)
        if limit is None:
            continue
        if limit.adjudication == 1:
            if line.units > limit.max_units:
                findings.append(_mue_finding(number, line.procedure_code, line.units, limit.max_units, 1))
        else:
            totals[line.procedure_code] = totals.get(line.procedure_code, Decimal(0)) + line.units
            first_line.setdefault(line.procedure_code, number)
    for code, units in totals.items():
        limit = mue[code]
        if units > limit.max_units:
            findings.append(_mue_finding(first_line[code], code, units, limit.max_units, int(limit.adjudication)))
    return findings


def _mue_finding(line: int, code: str, units: Decimal, max_units: int, indicator: int) -> Finding:
    shown = units.normalize() if units == units.to_integral_value() else units
    if indicator == 1:
        message = f"Line {line}: {shown} units of {code} on one line exceed the MUE of {max_units} per line."
        fix = (
            f"Report at most {max_units} on this line; if more were medically necessary, report the rest on "
            "separate lines with the appropriate modifier (e.g. 76, 91, anatomic) and documentation."
        )
    elif indicator == 2:
        message = f"{shown} units of {code} on this date of service exceed the MUE of {max_units} (policy limit)."
        fix = f"Reduce the units of {code} to {max_units}; this limit is set by policy and is not appealable."
    else:
        message = f"{shown} units of {code} on this date of service exceed the MUE of {max_units} (clinical limit)."
        fix = (
            f"Correct the units of {code} to {max_units}, or keep them and be ready to appeal with records that "
            "show medical necessity."
        )
    return _finding(EditCode.MUE_EXCEEDED, Severity.ERROR, message, fix, line=line, codes=(code,))


def place_of_service_edits(encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
    """Valid place of service, and telehealth modifiers consistent with it."""
    place = encounter.place_of_service
    findings: list[Finding] = []
    if place not in code_sets.places_of_service:
        findings.append(
            _finding(
                EditCode.POS_INVALID,
                Severity.ERROR,
                f"{place!r} is not a valid place-of-service code.",
                "Use the two-digit CMS place-of-service code where the service was performed (e.g. 11 office).",
                codes=(place,),
            )
        )
    telehealth_place = place in TELEHEALTH_PLACES_OF_SERVICE
    any_telehealth_modifier = False
    for number, line in enumerate(encounter.lines, start=1):
        telehealth = TELEHEALTH_MODIFIERS.intersection(line.modifiers)
        if telehealth or AUDIO_ONLY_MODIFIER in line.modifiers:
            any_telehealth_modifier = True
        if telehealth and not telehealth_place:
            shown = "/".join(sorted(telehealth))
            findings.append(
                _finding(
                    EditCode.POS_TELEHEALTH_MISMATCH,
                    Severity.ERROR,
                    f"Line {number} ({line.procedure_code}) carries telehealth modifier {shown} but the place of "
                    f"service is {place}.",
                    "Use place of service 10 (patient at home) or 02 (elsewhere) for a telehealth visit, or remove "
                    f"{shown} if the visit was in person.",
                    line=number,
                    codes=(line.procedure_code, *sorted(telehealth)),
                )
            )
    if telehealth_place and encounter.lines and not any_telehealth_modifier:
        findings.append(
            _finding(
                EditCode.POS_TELEHEALTH_MISMATCH,
                Severity.WARNING,
                f"Place of service {place} is telehealth but no line carries a telehealth modifier (95, GT or 93).",
                "Append 95 (audio-video) or 93 (audio-only) to the telehealth services as the payer requires, "
                "or correct the place of service if the visit was in person.",
                codes=(place,),
            )
        )
    return findings


ALL_EDITS: tuple[EditFunction, ...] = (
    diagnosis_code_edits,
    sequencing_edits,
    excludes1_edits,
    pointer_edits,
    procedure_code_edits,
    em_modifier_edits,
    ncci_ptp_edits,
    mue_edits,
    place_of_service_edits,
)


class EditEngine:
    """Runs the coding edits; stateless apart from the chosen edit list, so one instance serves all threads."""

    __slots__ = ("_edits",)

    def __init__(self, edits: Iterable[EditFunction] = ALL_EDITS) -> None:
        self._edits = tuple(edits)

    def evaluate(self, encounter: Encounter, code_sets: CodeSets) -> list[Finding]:
        """Every finding for the encounter against the given code sets, in a stable order."""
        findings: list[Finding] = []
        for edit in self._edits:
            findings.extend(edit(encounter, code_sets))
        return findings

    def check(self, encounter: Encounter, registry: CodeSetRegistry) -> list[Finding]:
        """Every finding against the code sets in force on the encounter's date of service.

        Raises ``CodeSetNotInForce`` when a code set is not loaded for that date.
        """
        code_sets = registry.at(encounter.date_of_service)
        findings = self.evaluate(encounter, code_sets)
        if code_sets.carried_forward:
            findings.append(carried_forward_warning(encounter, code_sets))
        return findings


def carried_forward_warning(encounter: Encounter, code_sets: CodeSets) -> Finding:
    """Warn that the date of service is after the newest loaded release of some code sets."""
    kinds = ", ".join(code_sets.carried_forward)
    return _finding(
        EditCode.CODE_SET_CARRIED_FORWARD,
        Severity.WARNING,
        f"No {kinds} release is loaded for {encounter.date_of_service.isoformat()}; the codes were checked "
        f"against the newest loaded release ({code_sets.icd.version} for ICD-10-CM).",
        "Ask an administrator to load the current release (claimflow codesets load); codes new in that release "
        "will be reported as invalid until then.",
    )
