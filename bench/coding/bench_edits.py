"""Coding benchmark: edit-engine throughput with a large NCCI table, and ICD-10-CM search latency.

Run: ``uv run python bench/coding/bench_edits.py [--encounters N] [--ptp-pairs N] [--write]``.
``--write`` records the results in bench/coding/RESULTS.md.

Setup: the real FY2026 ICD-10-CM (simple-icd-10-cm tabular + MCE), the demo CPT/HCPCS set widened with
synthetic CPT-like codes, a generated NCCI PTP table (default 600,000 pairs over those codes) and a generated
MUE table. Encounters are realistic in shape: 3-6 diagnoses drawn from a pool of billable codes, 1-5 lines
(an E/M on most), modifiers on some lines, units 1-3, pointers into the diagnoses.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from coding_svc.codesets.demo import (
    DEMO_PERIOD,
    load_demo_modifiers,
    load_demo_places_of_service,
    load_demo_procedures,
    load_fy2026_icd,
)
from coding_svc.codesets.ncci import ModifierIndicator, MueAdjudication, MueLimit, MueTable, PtpEdit, PtpTable
from coding_svc.codesets.procedures import GlobalPeriod, ProcedureCode, ProcedureKind
from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.search import IcdSearchIndex
from coding_svc.domain.edits import EditEngine
from coding_svc.domain.encounter import Encounter, ProcedureLine, Sex
from coding_svc.domain.suggest import NoteSuggester

RESULTS = Path(__file__).with_name("RESULTS.md")
EM_CODES = ["99212", "99213", "99214", "99215", "99203", "99204"]
MODIFIERS = ["25", "59", "XS", "RT", "LT", "GA", "KX", "76"]
FY2026_START = date(2025, 10, 1)


@dataclass
class Setup:
    registry: CodeSetRegistry
    procedure_pool: list[str]
    diagnosis_pool: list[str]
    index: IcdSearchIndex
    seconds_to_load: float


def build_setup(rng: random.Random, ptp_pairs: int) -> Setup:
    started = time.perf_counter()
    icd = load_fy2026_icd()
    procedures = load_demo_procedures()
    synthetic = sorted({f"{rng.randint(10021, 69990):05d}" for _ in range(4000)} - set(procedures.codes))[:3000]
    procedures = procedures.merged(
        (ProcedureCode(code, ProcedureKind.CPT, global_period=rng.choice(list(GlobalPeriod))) for code in synthetic),
        "synthetic",
    )
    pool = [*synthetic, *(c for c in procedures.codes if c not in EM_CODES)]
    edits: list[PtpEdit] = []
    seen: set[tuple[str, str]] = set()
    while len(edits) < ptp_pairs:
        column1, column2 = rng.choice(pool), rng.choice(pool)
        if column1 == column2 or (column1, column2) in seen:
            continue
        seen.add((column1, column2))
        deleted = date(2027, 1, 1) if rng.random() < 0.05 else None
        indicator = rng.choices(list(ModifierIndicator), weights=(30, 65, 5))[0]
        edits.append(PtpEdit(column1, column2, date(2015, 1, 1), deleted, indicator))
    for em in EM_CODES:
        for column1 in rng.sample(pool, 200):
            edits.append(PtpEdit(column1, em, date(2015, 1, 1), None, ModifierIndicator.ALLOWED))
    ptp = PtpTable(edits, DEMO_PERIOD, f"generated {len(edits)} pairs")
    limits = {
        code: MueLimit(code, rng.randint(1, 4), rng.choice(list(MueAdjudication)))
        for code in rng.sample(pool + EM_CODES, 2000)
    }
    mue = MueTable(MappingProxyType(limits), DEMO_PERIOD, "generated")
    registry = CodeSetRegistry.of(
        icd=[icd],
        procedures=[procedures],
        modifiers=load_demo_modifiers(),
        places_of_service=load_demo_places_of_service(),
        ptp=[ptp],
        mue=[mue],
    )
    seconds = time.perf_counter() - started
    billable = [c.code for c in icd.billable_codes()]
    diagnosis_pool = [*rng.sample(billable, 800), "E119", "I10", "E785", "J0190", "M25561", "Z0000", "E1140"]
    return Setup(registry, pool, diagnosis_pool, IcdSearchIndex(icd), seconds)


def make_encounters(rng: random.Random, setup: Setup, count: int) -> list[Encounter]:
    encounters: list[Encounter] = []
    for _ in range(count):
        diagnoses = tuple(rng.sample(setup.diagnosis_pool, rng.randint(3, 6)))
        line_count = rng.randint(1, 5)
        codes = ([rng.choice(EM_CODES)] if rng.random() < 0.8 else []) + rng.sample(setup.procedure_pool, line_count)
        lines = tuple(
            ProcedureLine(
                code,
                tuple(rng.sample(MODIFIERS, rng.randint(0, 2))) if rng.random() < 0.4 else (),
                Decimal(rng.randint(1, 3)),
                tuple(sorted(rng.sample(range(1, len(diagnoses) + 1), rng.randint(1, min(4, len(diagnoses)))))),
            )
            for code in codes[:line_count]
        )
        encounters.append(
            Encounter(
                FY2026_START + timedelta(days=rng.randint(0, 364)),
                rng.choice(["11", "11", "11", "22", "10", "02"]),
                rng.choice([Sex.FEMALE, Sex.MALE]),
                rng.randint(0, 95),
                diagnoses,
                lines,
            )
        )
    return encounters


def bench_edits(setup: Setup, encounters: list[Encounter], rounds: int = 3) -> tuple[float, float]:
    engine = EditEngine()
    registry = setup.registry
    for encounter in encounters[:500]:
        engine.check(encounter, registry)
    best = 0.0
    findings = 0
    gc.collect()
    for _ in range(rounds):
        started = time.perf_counter()
        findings = 0
        for encounter in encounters:
            findings += len(engine.check(encounter, registry))
        best = max(best, len(encounters) / (time.perf_counter() - started))
    return best, findings / len(encounters)


def search_queries(rng: random.Random, index: IcdSearchIndex, count: int) -> list[str]:
    fixed = [
        "type 2 diabetes neuropathy",
        "high blood pressure",
        "fracture neck right femur initial",
        "acute sinusitis",
        "pain in right knee",
        "chest pain",
        "copd exacerbation",
        "urinary tract infection",
        "ankle sprain left initial",
        "initial encounter",
        "left",
        "diab neuro",
        "E11.6",
    ]
    descriptions = [c.description for c in index.codes()]
    queries = list(fixed)
    while len(queries) < count:
        words = [w for w in rng.choice(descriptions).lower().replace(",", " ").split() if len(w) > 2]
        if not words:
            continue
        picked = rng.sample(words, min(len(words), rng.randint(1, 3)))
        if rng.random() < 0.3:
            picked[-1] = picked[-1][: max(3, len(picked[-1]) // 2)]
        queries.append(" ".join(picked))
    return queries


def bench_search(index: IcdSearchIndex, queries: list[str]) -> tuple[float, float, float]:
    timings: list[float] = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, 20)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return statistics.median(timings), p99, timings[-1]


def bench_scan_search(index: IcdSearchIndex, queries: list[str]) -> tuple[float, float, float]:
    """The straightforward alternative, side by side: scan every description for every query word (what a
    ``LIKE '%word%'`` query or a loop over the code list does), best matches first."""
    documents = [(c.code, c.description.lower()) for c in index.codes()]
    timings: list[float] = []
    for query in queries:
        words = query.lower().split()
        started = time.perf_counter()
        hits = [(code, text) for code, text in documents if all(word in text for word in words)]
        hits.sort(key=lambda hit: len(hit[1]))
        del hits[20:]
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return statistics.median(timings), p99, timings[-1]


def bench_suggest(index: IcdSearchIndex) -> float:
    note = (
        "58 yo F here for follow up of type 2 diabetes mellitus without complications and essential hypertension. "
        "Also hyperlipidemia. Denies chest pain, no fever. Right knee pain after a fall last week. "
        "Assessment: acute sinusitis; COPD stable. Plan: amoxicillin, recheck A1c in 3 months."
    )
    suggester = NoteSuggester(index)
    suggester.suggest(note)
    started = time.perf_counter()
    for _ in range(20):
        suggester.suggest(note)
    return (time.perf_counter() - started) / 20 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encounters", type=int, default=20000)
    parser.add_argument("--ptp-pairs", type=int, default=600_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="record the results in RESULTS.md")
    args = parser.parse_args()
    rng = random.Random(20260115)
    setup = build_setup(rng, args.ptp_pairs)
    encounters = make_encounters(rng, setup, args.encounters)
    # What the service does after loading code sets: move them out of the collector's way.
    gc.collect()
    gc.freeze()
    per_second, findings = bench_edits(setup, encounters)
    queries = search_queries(rng, setup.index, args.queries)
    p50, p99, worst = bench_search(setup.index, queries)
    scan_p50, scan_p99, scan_worst = bench_scan_search(setup.index, queries)
    suggest_ms = bench_suggest(setup.index)
    ptp_pairs = len(setup.registry.at(FY2026_START).ptp)
    lines = [
        "# Coding benchmark results",
        "",
        "Recorded by `uv run python bench/coding/bench_edits.py --write` "
        f"(Python {platform.python_version()}, {platform.machine()}, one core, {time.strftime('%Y-%m-%d')}).",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| edit engine, realistic encounters (3-6 dx, 1-5 lines), {ptp_pairs:,} NCCI PTP pairs "
        f"| **{per_second:,.0f} encounters/s** ({findings:.2f} findings/encounter) | >= 5,000/s |",
        f"| ICD-10-CM word search, {args.queries} queries, top 20 | p50 **{p50:.2f} ms**, p99 **{p99:.2f} ms** "
        f"(max {worst:.2f} ms) | p99 < 20 ms |",
        f"| same queries, side by side: substring scan of every description | p50 {scan_p50:.2f} ms, "
        f"p99 {scan_p99:.2f} ms (max {scan_worst:.2f} ms); the index is {scan_p99 / p99:.0f}x faster at p99 | - |",
        f"| note suggestions, 5-sentence note | {suggest_ms:.1f} ms per note | - |",
        f"| load FY2026 ICD-10-CM + MCE probe + generate tables | {setup.seconds_to_load:.1f} s | once per version |",
        "",
        "Encounters are generated with a fixed seed: 80% carry an E/M, lines draw from 3,000 synthetic CPT-like",
        "codes plus the demo set, so PTP, MUE, E/M-25 and invalid-code edits all fire on part of the load.",
        "Search queries: 13 fixed coder queries plus words sampled from real descriptions (30% with the last",
        "word cut to a prefix). After loading, the benchmark calls `gc.freeze()` as the service should: without it",
        "the collector's full passes over the millions of code-set objects add pauses of 100+ ms to random requests.",
        "",
    ]
    text = "\n".join(lines)
    if args.write:
        RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
