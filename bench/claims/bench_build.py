"""Claims built + scrubbed + written as 837P per second, from encounter-coded events, on one core.

Run: ``uv run python bench/claims/bench_build.py [--claims 20000] [--batch 500]``.

Each claim goes through what claims-svc does with an encounter-coded event once its practice is known: the
event is validated from its JSON (as the consumer receives it), turned into the domain claim, scrubbed
(all rules), and written in 837P interchanges of ``--batch`` claims by the X12 library's writer. Side by side,
the floor of the same work: only validating the events from JSON (what any consumer must do), so the ratio
shows what building, scrubbing and writing cost on top.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from claimflow_events import ClaimParties, EncounterCoded, PartyPerson, PostalAddress, ServiceLine
from claimflow_x12 import Envelope, write_interchange
from claims_svc.domain.claim import Address, BillingProvider, ClaimLine, Payer, Person, ProfessionalClaim
from claims_svc.domain.scrub import PayerRules, ScrubContext, scrub
from claims_svc.domain.x12_837p import Parties, build_837p

PROCEDURES = ["99213", "99214", "93000", "36415", "85025", "80053", "71046", "20610", "97110", "90686"]
DIAGNOSES = ["J20.9", "R05.9", "I10", "E11.9", "E78.5", "M54.50", "Z00.00", "J45.909", "K21.9", "F41.1"]
PAYERS = {"60054": PayerRules("Sandbox PPO", r"^W[0-9]{9}$", 90, frozenset({"27447"}))}
PARTIES = Parties("Billing Co", "CLAIMFLOW", "Desk", "5555550100", "Clearinghouse", "PAYERSANDBOX")
BILLING = BillingProvider(
    "Practice One", "1234567893", "123456789", Address("100 Main St", "Springfield", "IL", "62701")
)


@dataclass
class Result:
    """One measured run."""

    name: str
    claims: int
    seconds: float

    @property
    def rate(self) -> float:
        """Claims per second."""
        return self.claims / self.seconds


def events(count: int, seed: int = 7) -> list[str]:
    """encounter-coded payloads as JSON (1-5 lines, 1-4 diagnoses), as the consumer receives them."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        diagnoses = tuple(rng.sample(DIAGNOSES, rng.randint(1, 4)))
        lines = tuple(
            ServiceLine(
                line_number=n,
                procedure_code=rng.choice(PROCEDURES),
                units=Decimal(1),
                diagnosis_pointers=tuple(range(1, min(len(diagnoses), 4) + 1)),
                charge=Decimal(rng.randint(20, 400)),
            )
            for n in range(1, rng.randint(1, 5) + 1)
        )
        event = EncounterCoded(
            encounter_id=f"enc_{index}",
            encounter_version=1,
            practice_id="prac_1",
            patient_id=f"pat_{index}",
            payer_id="60054",
            date_of_service=date(2026, 11, 2) + timedelta(days=index % 14),
            place_of_service="11",
            rendering_provider_npi="1245319599",
            billing_provider_npi="1234567893",
            diagnosis_codes=diagnoses,
            service_lines=lines,
            coded_by="auto",
            coded_at=datetime(2026, 11, 20, tzinfo=UTC),
            parties=ClaimParties(
                member_id=f"W{100000000 + index}",
                patient=PartyPerson(
                    first_name="Maria",
                    last_name=f"Lopez{index}",
                    birth_date=date(1984, 3, 9),
                    sex="F",
                    address=PostalAddress(line1="12 Elm St", city="Springfield", state="IL", postal_code="62701"),
                ),
            ),
        )
        out.append(event.model_dump_json())
    return out


def to_claim(event: EncounterCoded, index: int) -> ProfessionalClaim:
    parties = event.parties
    assert parties is not None
    patient = parties.patient
    address = patient.address
    assert address is not None
    return ProfessionalClaim(
        patient_control_number=f"CF{index:018d}",
        payer=Payer(event.payer_id or "", "Sandbox PPO"),
        billing=BILLING,
        rendering_npi=event.rendering_provider_npi,
        member_id=parties.member_id,
        patient=Person(
            patient.first_name,
            patient.last_name,
            patient.birth_date,
            patient.sex,
            Address(address.line1, address.city, address.state, address.postal_code),
        ),
        date_of_service=event.date_of_service,
        place_of_service=event.place_of_service,
        diagnoses=event.diagnosis_codes,
        lines=tuple(
            ClaimLine(line.line_number, line.procedure_code, line.charge, line.units, line.modifiers,
                      line.diagnosis_pointers)
            for line in event.service_lines
        ),
    )  # fmt: skip


def run_claimflow(payloads: list[str], batch: int) -> Result:
    context = ScrubContext(today=date(2026, 11, 23), payers=PAYERS)
    created = datetime(2026, 11, 23, 12, tzinfo=UTC)
    started = time.perf_counter()
    clean: list[ProfessionalClaim] = []
    written = 0
    for index, payload in enumerate(payloads):
        claim = to_claim(EncounterCoded.model_validate_json(payload), index)
        if not scrub(claim, context):
            clean.append(claim)
        if len(clean) == batch:
            written += _write(clean, created, written)
            clean = []
    if clean:
        written += _write(clean, created, written)
    elapsed = time.perf_counter() - started
    assert written == len(payloads), f"{len(payloads) - written} claims failed the scrubber"
    return Result("ClaimFlow: validate + build + scrub + write 837P", len(payloads), elapsed)


def _write(claims: list[ProfessionalClaim], created: datetime, number: int) -> int:
    envelope = Envelope(
        sender_id="CLAIMFLOW", receiver_id="PAYERSANDBOX", interchange_control_number=number + 1,
        group_control_number=number + 1, transaction_control_numbers=[1], created_at=created,
    )  # fmt: skip
    text = write_interchange(envelope, [build_837p(claims, PARTIES, batch_id="B", created_at=created)])
    assert text.count("CLM*") == len(claims)
    return len(claims)


def run_floor(payloads: list[str]) -> Result:
    started = time.perf_counter()
    for payload in payloads:
        EncounterCoded.model_validate_json(payload)
    return Result("floor: validate the events only", len(payloads), time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    payloads = events(arguments.claims)
    lines = sum(len(json.loads(p)["service_lines"]) for p in payloads) / len(payloads)
    print(f"{arguments.claims} claims, {lines:.1f} lines each on average, batches of {arguments.batch}")
    gc.collect()
    run_claimflow(payloads[:500], arguments.batch)  # warm up
    ours = run_claimflow(payloads, arguments.batch)
    floor = run_floor(payloads)
    print("| path | claims | seconds | claims/s |")
    print("|---|---|---|---|")
    for result in (floor, ours):
        print(f"| {result.name} | {result.claims} | {result.seconds:.2f} | {result.rate:,.0f} |")
    print(f"ratio ClaimFlow / floor: {ours.rate / floor.rate:.2f}")


if __name__ == "__main__":
    main()
