"""Coordination of benefits: which plan pays next, and what its claim must say about the plans that paid before.

When the primary's remittance is posted, the secondary payer gets a claim with the same services, plus the
primary's adjudication: the claim-level adjustments and paid amount (2320 CAS, AMT*D), what the patient still
owes (AMT*EAF) and, line by line, what was paid and adjusted (2430 SVD, CAS, DTP*573). A tertiary claim carries
both earlier payers. A payer that forwarded the claim itself (a crossover: CLP02 19/20/21 or an NM1*TT carrier)
has already billed the next plan, so no claim is built for it.

Everything here is pure: the stored claim's JSON in, domain values and JSON out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from claims_svc.domain.claim import (
    PAYER_ORDER,
    ClaimAdjustment,
    ClaimLine,
    LineAdjudication,
    PayerAdjudication,
    ProfessionalClaim,
)

FORWARDED_STATUS_CODES = frozenset({"19", "20", "21"})
"""CLP02: processed as primary/secondary/tertiary and forwarded to the next payer."""

ZERO = Decimal(0)


def next_sequence(sequence: str) -> str | None:
    """The plan that pays after ``sequence`` (None after the tertiary)."""
    position = PAYER_ORDER.index(sequence)
    return PAYER_ORDER[position + 1] if position + 1 < len(PAYER_ORDER) else None


def crossed_over(claim_status_code: str, crossover_carrier: str | None) -> bool:
    """True when the payer forwarded the claim to the next payer itself (CLP02 19-21, or NM1*TT on the 835)."""
    return claim_status_code in FORWARDED_STATUS_CODES or bool(crossover_carrier)


@dataclass(frozen=True)
class RemittedAdjustment:
    """One CAS triple of a remittance, at claim level (no line control number) or on a line."""

    group_code: str
    reason_code: str
    amount: Decimal
    line_item_control_number: str | None = None


@dataclass(frozen=True)
class RemittedLine:
    """One 2110 service payment of a remittance, matched to a billed line by its control number (REF*6R)."""

    line_item_control_number: str
    procedure_code: str
    paid: Decimal
    modifiers: tuple[str, ...] = ()
    units: Decimal | None = None


def payer_adjudication(
    *,
    patient_control_number: str,
    billed_lines: Sequence[ClaimLine],
    paid: Decimal,
    remaining_patient_liability: Decimal,
    adjudication_date: date,
    adjustments: Sequence[RemittedAdjustment],
    remitted_lines: Sequence[RemittedLine] = (),
    payer_claim_number: str | None = None,
) -> PayerAdjudication:
    """A payer's adjudication of a claim, line by line under the billed line numbers.

    Line control numbers are ``<patient control number>-<line>`` (see ``x12_837p.line_control_number``). A billed
    line the remittance names only in adjustments (a denied line without a 2110) was paid nothing. A remittance
    without any line detail adjudicated the claim as a whole: no line adjudications (the 837 then dates the
    other payer's adjudication in 2330B instead of 2430).
    """
    by_control = {f"{patient_control_number}-{line.line_number}": line for line in billed_lines}
    remitted = {r.line_item_control_number: r for r in remitted_lines if r.line_item_control_number in by_control}
    line_cas: dict[str, list[ClaimAdjustment]] = {}
    claim_cas: list[ClaimAdjustment] = []
    for adjustment in adjustments:
        cas = ClaimAdjustment(adjustment.group_code, adjustment.reason_code, adjustment.amount)
        if adjustment.line_item_control_number in by_control:
            line_cas.setdefault(adjustment.line_item_control_number, []).append(cas)
        else:
            claim_cas.append(cas)
    lines: list[LineAdjudication] = []
    if remitted or line_cas:
        for control, billed in by_control.items():
            found = remitted.get(control)
            lines.append(
                LineAdjudication(
                    line_number=billed.line_number,
                    procedure_code=found.procedure_code if found else billed.procedure_code,
                    paid=found.paid if found else ZERO,
                    adjustments=tuple(line_cas.get(control, ())),
                    modifiers=found.modifiers if found else billed.modifiers,
                    units=(found.units if found and found.units is not None else billed.units),
                )
            )
    return PayerAdjudication(
        paid=paid,
        remaining_patient_liability=remaining_patient_liability,
        adjudication_date=adjudication_date,
        adjustments=tuple(claim_cas),
        lines=tuple(lines),
        payer_claim_number=payer_claim_number,
    )


def imbalances(claim: ProfessionalClaim) -> list[str]:
    """Where an earlier payer's adjudication does not account for the claim's charges (empty: balanced).

    For each earlier payer: every line's charge = SVD02 + Σ its CAS, and the claim's charge = AMT*D + Σ claim
    CAS + Σ line CAS (the 005010X222A1 COB balancing rules the next payer's front end applies).
    """
    problems: list[str] = []
    for coverage in claim.prior_payers:
        adjudication = coverage.adjudication
        assert adjudication is not None
        name = coverage.payer.name
        by_line = {line.line_number: line for line in adjudication.lines}
        line_adjusted = ZERO
        if by_line:
            for line in claim.lines:
                found = by_line.get(line.line_number)
                if found is None:
                    problems.append(f"{name} has no adjudication for line {line.line_number}")
                    continue
                adjusted = sum((a.amount for a in found.adjustments), ZERO)
                line_adjusted += adjusted
                if (line.charge or ZERO) != found.paid + adjusted:
                    problems.append(
                        f"line {line.line_number}: charge {line.charge} != {name} paid {found.paid} + adjusted "
                        f"{adjusted}"
                    )
        claim_adjusted = sum((a.amount for a in adjudication.adjustments), ZERO)
        if claim.total_charge != adjudication.paid + claim_adjusted + line_adjusted:
            problems.append(
                f"claim: charge {claim.total_charge} != {name} paid {adjudication.paid} + adjusted "
                f"{claim_adjusted + line_adjusted}"
            )
    return problems


# --- stored form (JSON on the claim row) ---------------------------------------------------------------------


def _cas_json(adjustments: Sequence[ClaimAdjustment]) -> list[dict[str, str]]:
    return [
        {"group_code": a.group_code, "reason_code": a.reason_code, "amount": f"{a.amount:.2f}"} for a in adjustments
    ]


def _cas_from(raw: Sequence[Mapping[str, Any]]) -> tuple[ClaimAdjustment, ...]:
    return tuple(ClaimAdjustment(a["group_code"], a["reason_code"], Decimal(a["amount"])) for a in raw)


def adjudication_json(sequence: str, payer_id: str, adjudication: PayerAdjudication) -> dict[str, Any]:
    """An earlier payer's adjudication as stored on the next payer's claim."""
    return {
        "payer_sequence": sequence,
        "payer_id": payer_id,
        "paid": f"{adjudication.paid:.2f}",
        "remaining_patient_liability": f"{adjudication.remaining_patient_liability:.2f}",
        "adjudication_date": adjudication.adjudication_date.isoformat(),
        "payer_claim_number": adjudication.payer_claim_number,
        "adjustments": _cas_json(adjudication.adjustments),
        "lines": [
            {
                "line_number": line.line_number,
                "procedure_code": line.procedure_code,
                "modifiers": list(line.modifiers),
                "paid": f"{line.paid:.2f}",
                "units": str(line.units),
                "adjustments": _cas_json(line.adjustments),
            }
            for line in adjudication.lines
        ],
        "reversed": adjudication.reversed,
    }


def adjudication_from(raw: Mapping[str, Any]) -> PayerAdjudication:
    """The stored form back as a domain value."""
    return PayerAdjudication(
        paid=Decimal(raw["paid"]),
        remaining_patient_liability=Decimal(raw["remaining_patient_liability"]),
        adjudication_date=date.fromisoformat(raw["adjudication_date"]),
        adjustments=_cas_from(raw["adjustments"]),
        lines=tuple(
            LineAdjudication(
                line_number=int(line["line_number"]),
                procedure_code=line["procedure_code"],
                paid=Decimal(line["paid"]),
                adjustments=_cas_from(line["adjustments"]),
                modifiers=tuple(line["modifiers"]),
                units=Decimal(line["units"]),
            )
            for line in raw["lines"]
        ),
        payer_claim_number=raw.get("payer_claim_number"),
        reversed=bool(raw.get("reversed", False)),
    )


_COVERAGE_KEYS = ("member_id", "group_number", "relationship_to_subscriber", "subscriber")


def coverages_of(parties: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The other plans named in a claim's stored parties, in payer order."""
    raw = (parties or {}).get("other_coverages") or ()
    return [dict(c) for c in raw]


def coverage_for(parties: Mapping[str, Any] | None, sequence: str | None) -> dict[str, Any] | None:
    """The other plan a claim's parties name for payer ``sequence`` (secondary, tertiary), if any."""
    return next((c for c in coverages_of(parties) if c.get("payer_sequence") == sequence), None) if sequence else None


def next_payer_parties(
    parties: Mapping[str, Any], *, payer_id: str, sequence: str, next_payer: str
) -> tuple[str, dict[str, Any]] | None:
    """The payer id and parties of the claim to ``next_payer`` (a sequence), from the parties of the claim billed
    to ``payer_id`` as ``sequence``; None when the patient has no such plan.

    A claim's parties name its own plan at the top (member id, group, card holder) and the patient's other plans
    in ``other_coverages``: the next claim swaps its plan in and this one out.
    """
    others = coverages_of(parties)
    chosen = next((c for c in others if c.get("payer_sequence") == next_payer), None)
    if chosen is None:
        return None
    own = {"payer_sequence": sequence, "payer_id": payer_id, **{k: parties.get(k) for k in _COVERAGE_KEYS}}
    rest = [c for c in others if c is not chosen] + [own]
    swapped = {
        **dict(parties),
        **{k: chosen.get(k) for k in _COVERAGE_KEYS},
        "other_coverages": sorted(rest, key=lambda c: PAYER_ORDER.index(str(c["payer_sequence"]))),
    }
    swapped["relationship_to_subscriber"] = swapped["relationship_to_subscriber"] or "18"
    return str(chosen["payer_id"]), swapped
