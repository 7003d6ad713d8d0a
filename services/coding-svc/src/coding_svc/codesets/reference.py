"""Small reference code sets: procedure modifiers and place-of-service codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from coding_svc.codesets._files import CodeSetFileError, read_text, table_rows

TELEHEALTH_MODIFIERS = frozenset({"95", "GT"})
TELEHEALTH_PLACES_OF_SERVICE = frozenset({"02", "10"})
DISTINCT_SERVICE_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})


@dataclass(frozen=True, eq=False)
class ModifierSet:
    """Valid procedure modifiers (2 characters) and what each means."""

    descriptions: Mapping[str, str]
    source: str = ""

    def __contains__(self, modifier: object) -> bool:
        return modifier in self.descriptions

    def describe(self, modifier: str) -> str:
        """Plain-language meaning, or empty when unknown."""
        return self.descriptions.get(modifier, "")

    def merged(self, other: Mapping[str, str], source: str) -> ModifierSet:
        """A new set with more modifiers (e.g. the HCPCS file's modifier records)."""
        return ModifierSet(MappingProxyType({**self.descriptions, **other}), f"{self.source}+{source}")


@dataclass(frozen=True, slots=True)
class PlaceOfService:
    """A CMS place-of-service code."""

    code: str
    name: str
    telehealth: bool


@dataclass(frozen=True, eq=False)
class PlaceOfServiceSet:
    """Valid place-of-service codes."""

    places: Mapping[str, PlaceOfService]
    source: str = ""

    def __contains__(self, code: object) -> bool:
        return code in self.places

    def get(self, code: str) -> PlaceOfService | None:
        """The place of service, or None when the code is not valid."""
        return self.places.get(code)


def parse_modifier_lines(lines: Iterable[str], source: str = "") -> ModifierSet:
    """A modifier table (CSV/tab) with columns MODIFIER and DESCRIPTION."""
    descriptions: dict[str, str] = {}
    for record in table_rows(lines, ("MODIFIER", "DESCRIPTION")):
        code = record["MODIFIER"].upper()
        if len(code) != 2 or not code.isalnum():
            raise CodeSetFileError(f"not a modifier: {code!r}")
        descriptions[code] = record["DESCRIPTION"]
    return ModifierSet(MappingProxyType(descriptions), source)


def load_modifiers(path: Path) -> ModifierSet:
    """Modifiers from a CSV/tab table with columns MODIFIER and DESCRIPTION."""
    return parse_modifier_lines(read_text(path).splitlines(), path.name)


def parse_place_of_service_lines(lines: Iterable[str], source: str = "") -> PlaceOfServiceSet:
    """The CMS place-of-service table (CSV/tab) with columns CODE and NAME (TELEHEALTH Y/N optional)."""
    places: dict[str, PlaceOfService] = {}
    for record in table_rows(lines, ("CODE", "NAME"), ("TELEHEALTH",)):
        code = record["CODE"].zfill(2)
        if len(code) != 2 or not code.isdigit():
            raise CodeSetFileError(f"not a place-of-service code: {code!r}")
        flag = record["TELEHEALTH"].upper()
        telehealth = flag == "Y" if flag else code in TELEHEALTH_PLACES_OF_SERVICE
        places[code] = PlaceOfService(code, record["NAME"], telehealth)
    return PlaceOfServiceSet(MappingProxyType(places), source)


def load_places_of_service(path: Path) -> PlaceOfServiceSet:
    """Place-of-service codes from a CSV/tab table with columns CODE and NAME."""
    return parse_place_of_service_lines(read_text(path).splitlines(), path.name)
