"""The CMS-1500 (02/12) paper claim: which box holds what, from the same domain claim the 837P is built from.

Box numbers and contents follow the NUCC 1500 instruction manual: 1 the kind of insurance, 1a the insured's id,
2-7 patient and insured, 11 the insured's group, 21 up to twelve diagnoses (A-L, ICD indicator 0 for ICD-10),
22 resubmission code and original reference for a replacement or void, 23 prior authorization, 24A-J one row per
service line (at most six rows per form: longer claims continue on further forms), 25 tax id, 26 the patient's
account number (the patient control number), 28 total charge, 31-33 rendering, service facility and billing
provider. Nothing here knows about PDF: ``claims_svc.adapters.cms1500_pdf`` lays the boxes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claims_svc.domain.claim import Address, Person, ProfessionalClaim

LINES_PER_FORM = 6
_DIAGNOSIS_LETTERS = "ABCDEFGHIJKL"
_RELATIONSHIPS = {"18": "Self", "01": "Spouse", "19": "Child"}


@dataclass(frozen=True, slots=True)
class Box:
    """One filled box of the form."""

    number: str  # "1a", "21", "24J"...
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One row of box 24."""

    date_from: str  # 24A, MM DD YY
    place_of_service: str  # 24B
    procedure: str  # 24D: code and modifiers
    pointers: str  # 24E: letters into box 21
    charge: str  # 24F
    units: str  # 24G
    rendering_npi: str  # 24J


@dataclass(frozen=True, slots=True)
class Cms1500Form:
    """One page of a CMS-1500: its boxes and up to six service rows."""

    page: int
    pages: int
    boxes: tuple[Box, ...]
    rows: tuple[ServiceRow, ...]

    def box(self, number: str) -> str:
        """The value of a box (empty when not filled)."""
        return next((b.value for b in self.boxes if b.number == number), "")


def person_name(person: Person) -> str:
    """LAST, FIRST as paper forms print names."""
    return f"{person.last_name.upper()}, {person.first_name.upper()}"


def form_date(value: date) -> str:
    """MM DD YYYY."""
    return value.strftime("%m %d %Y")


def address_line(address: Address | None) -> str:
    """An address on one line (empty when unknown)."""
    if address is None:
        return ""
    street = f"{address.line1}, {address.line2}" if address.line2 else address.line1
    return f"{street}, {address.city}, {address.state} {address.postal_code}"


def money(value: Decimal) -> str:
    """Two decimals, no currency sign."""
    return f"{value:.2f}"


def cms1500_forms(claim: ProfessionalClaim, *, payer_address: str = "") -> list[Cms1500Form]:
    """The claim on as many CMS-1500 forms as its lines need (six service rows per form; the total charge in box
    28 is the page's own, as the manual asks for continued claims)."""
    insured = claim.card_holder
    sex = {"F": "F", "M": "M"}.get(claim.patient.sex, "")
    common = [
        Box("0", "Payer", f"{claim.payer.name} ({claim.payer.payer_id}) {payer_address}".strip()),
        Box("1", "Insurance type", "Group health plan"),
        Box("1a", "Insured's ID number", claim.member_id or ""),
        Box("2", "Patient's name", person_name(claim.patient)),
        Box("3", "Patient's birth date, sex", f"{form_date(claim.patient.birth_date)} {sex}".strip()),
        Box("4", "Insured's name", person_name(insured)),
        Box("5", "Patient's address", address_line(claim.patient.address)),
        Box("6", "Patient relationship to insured", _RELATIONSHIPS.get(claim.relationship_to_subscriber, "Other")),
        Box("7", "Insured's address", address_line(insured.address)),
        Box("11", "Insured's policy group", claim.group_number or ""),
        Box("12", "Patient's signature", "SIGNATURE ON FILE"),
        Box("13", "Insured's signature", "SIGNATURE ON FILE"),
        Box("21", "ICD indicator 0; diagnoses", "  ".join(
            f"{_DIAGNOSIS_LETTERS[i]}. {code}" for i, code in enumerate(claim.diagnoses[:12])
        )),
        Box("25", "Federal tax ID (EIN)", claim.billing.tax_id),
        Box("26", "Patient's account no.", claim.patient_control_number),
        Box("27", "Accept assignment", "YES"),
        Box("31", "Rendering provider NPI", claim.rendering_npi),
        Box("32", "Service facility", f"{claim.billing.name}, {address_line(claim.billing.address)}".rstrip(", ")),
        Box("33", "Billing provider", f"{claim.billing.name}, {address_line(claim.billing.address)}".rstrip(", ")),
        Box("33a", "Billing provider NPI", claim.billing.npi),
    ]  # fmt: skip
    if claim.frequency_code in ("7", "8"):
        common.append(
            Box(
                "22",
                "Resubmission code, original ref. no.",
                f"{claim.frequency_code} {claim.payer_claim_number or ''}".strip(),
            )
        )
    if claim.prior_authorization:
        common.append(Box("23", "Prior authorization number", claim.prior_authorization))
    chunks = [claim.lines[i : i + LINES_PER_FORM] for i in range(0, len(claim.lines), LINES_PER_FORM)] or [()]
    forms = []
    for page, lines in enumerate(chunks, start=1):
        rows = tuple(
            ServiceRow(
                date_from=(line.service_date or claim.date_of_service).strftime("%m %d %y"),
                place_of_service=claim.place_of_service,
                procedure=" ".join((line.procedure_code, *line.modifiers)),
                pointers="".join(_DIAGNOSIS_LETTERS[p - 1] for p in line.diagnosis_pointers if 1 <= p <= 12),
                charge=money(line.charge or Decimal(0)),
                units=f"{line.units.normalize():f}",
                rendering_npi=claim.rendering_npi,
            )
            for line in lines
        )
        total = sum((line.charge or Decimal(0) for line in lines), Decimal(0))
        boxes = (*common, Box("28", "Total charge", money(total)))
        forms.append(Cms1500Form(page, len(chunks), boxes, rows))
    return forms
