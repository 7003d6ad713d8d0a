"""The UB-04 (CMS-1450) paper claim of an institutional claim: which form locator (FL) holds what, from the same
domain claim the 837I is built from.

Form locators follow the NUBC UB-04 manual: FL 1 the billing provider, 3a the patient control number, 4 the
type of bill (with its leading 0), 5 the federal tax number, 6 the statement period, 8-11 the patient, 12-17
admission date, type, source and discharge status, 42-47 one row per line (revenue code, HCPCS and modifiers,
service date, units, charges; 22 rows per page, the total on the last row of each page as FL 47 of revenue
code 0001), 50-62 payer, plan and insured, 64 the payer's document control number for a replacement or void,
66-67 the diagnoses (ICD-10 qualifier 0), 76 the attending provider. Nothing here knows about PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from claims_svc.domain.claim import ProfessionalClaim
from claims_svc.domain.cms1500 import Box, address_line, form_date, money, person_name

LINES_PER_PAGE = 22
_RELATIONSHIPS = {"18": "18 Self", "01": "01 Spouse", "19": "19 Child"}


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One row of FL 42-47."""

    revenue_code: str  # FL 42
    hcpcs: str  # FL 44: code and modifiers
    service_date: str  # FL 45, MM DD YY
    units: str  # FL 46
    charge: str  # FL 47


@dataclass(frozen=True, slots=True)
class Ub04Form:
    """One page of a UB-04: its form locators and up to 22 revenue rows."""

    page: int
    pages: int
    boxes: tuple[Box, ...]
    rows: tuple[RevenueRow, ...]

    def box(self, number: str) -> str:
        """The value of a form locator (empty when not filled)."""
        return next((b.value for b in self.boxes if b.number == number), "")


def ub04_forms(claim: ProfessionalClaim) -> list[Ub04Form]:
    """The institutional claim on as many UB-04 pages as its lines need (the total of FL 47 is the page's own)."""
    details = claim.institutional
    if details is None:
        raise ValueError(f"claim {claim.patient_control_number} is professional: its paper form is the CMS-1500")
    insured = claim.card_holder
    service_dates = [line.service_date or claim.date_of_service for line in claim.lines] or [claim.date_of_service]
    attending = f"{details.attending_last_name.upper()}, {(details.attending_first_name or '').upper()}".rstrip(", ")
    common = [
        Box("1", "Billing provider", f"{claim.billing.name}, {address_line(claim.billing.address)}".rstrip(", ")),
        Box("3a", "Patient control no.", claim.patient_control_number),
        Box("4", "Type of bill", f"0{details.type_of_bill}"),
        Box("5", "Fed. tax no.", claim.billing.tax_id),
        Box("6", "Statement covers period", f"{form_date(min(service_dates))} - {form_date(max(service_dates))}"),
        Box("8", "Patient name", person_name(claim.patient)),
        Box("9", "Patient address", address_line(claim.patient.address)),
        Box("10", "Birthdate", form_date(claim.patient.birth_date)),
        Box("11", "Sex", claim.patient.sex),
        Box("12", "Admission date", form_date(details.admission_date) if details.admission_date else ""),
        Box("14", "Priority (type) of visit", details.admission_type_code),
        Box("15", "Point of origin (source)", details.admission_source_code or ""),
        Box("17", "Patient discharge status", details.patient_status_code),
        Box("50", "Payer name", f"{claim.payer.name} ({claim.payer.payer_id})"),
        Box("56", "NPI", claim.billing.npi),
        Box("58", "Insured's name", person_name(insured)),
        Box("59", "Patient relationship", _RELATIONSHIPS.get(claim.relationship_to_subscriber, "G8 Other")),
        Box("60", "Insured's unique ID", claim.member_id or ""),
        Box("62", "Insurance group no.", claim.group_number or ""),
        Box("66", "Diagnosis code qualifier", "0 (ICD-10-CM)"),
        Box("67", "Principal diagnosis", claim.diagnoses[0] if claim.diagnoses else ""),
        Box("67A", "Other diagnoses", "  ".join(claim.diagnoses[1:])),
        Box("76", "Attending", f"NPI {details.attending_npi}  {attending}"),
    ]  # fmt: skip
    if claim.frequency_code in ("7", "8"):
        common.append(Box("64", "Document control number", claim.payer_claim_number or ""))
    if claim.prior_authorization:
        common.append(Box("63", "Treatment authorization code", claim.prior_authorization))
    chunks = [claim.lines[i : i + LINES_PER_PAGE] for i in range(0, len(claim.lines), LINES_PER_PAGE)] or [()]
    forms = []
    for page, lines in enumerate(chunks, start=1):
        rows = tuple(
            RevenueRow(
                revenue_code=line.revenue_code or "",
                hcpcs=" ".join((line.procedure_code, *line.modifiers)),
                service_date=(line.service_date or claim.date_of_service).strftime("%m %d %y"),
                units=f"{line.units.normalize():f}",
                charge=money(line.charge or Decimal(0)),
            )
            for line in lines
        )
        total = sum((line.charge or Decimal(0) for line in lines), Decimal(0))
        forms.append(Ub04Form(page, len(chunks), (*common, Box("47", "Total charges", money(total))), rows))
    return forms
