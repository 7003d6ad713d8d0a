"""Code search ranking and note suggestions over the real FY2026 ICD-10-CM."""

from __future__ import annotations

import asyncio
from datetime import date
from functools import cache

import pytest

from coding_svc.codesets.registry import CodeSetRegistry
from coding_svc.codesets.search import IcdSearchIndex, stem, tokenize
from coding_svc.domain.suggest import NoteSuggester
from coding_svc.service.codesets import CodeSetRuntime


@cache
def _index(registry: CodeSetRegistry) -> IcdSearchIndex:
    return IcdSearchIndex(registry.at(date(2026, 1, 1)).icd)


@pytest.fixture
def index(registry: CodeSetRegistry) -> IcdSearchIndex:
    return _index(registry)


def top(index: IcdSearchIndex, query: str, n: int = 3) -> list[str]:
    return [hit.code for hit in index.search(query, n)]


def test_tokens_are_lower_cased_stemmed_and_without_stopwords() -> None:
    assert tokenize("Fractures of the Neck, injuries") == ["fracture", "neck", "injury"]
    assert stem("stress") == "stress"


def test_exact_description_ranks_first(index: IcdSearchIndex) -> None:
    assert top(index, "pain in right knee", 1) == ["M25.561"]
    assert top(index, "type 2 diabetes neuropathy", 1) == ["E11.40"]


def test_inclusion_terms_are_searched(index: IcdSearchIndex) -> None:
    assert top(index, "high blood pressure", 1) == ["I10"]


def test_prefix_of_the_last_word_matches(index: IcdSearchIndex) -> None:
    assert "E11.40" in top(index, "type 2 diabetes neuropa", 3)
    assert index.search("neuropa", 5, prefix=False) == []  # an unknown word without prefix matching finds nothing


def test_abbreviations_are_expanded(index: IcdSearchIndex) -> None:
    assert "J44.9" in top(index, "copd", 5)


def test_code_prefix_lists_the_codes_under_it(index: IcdSearchIndex) -> None:
    hits = index.search("E11.6", 50)
    assert hits
    assert all(h.code.startswith("E11.6") for h in hits)
    assert all(h.billable for h in hits)


def test_words_matching_more_of_the_query_rank_higher(index: IcdSearchIndex) -> None:
    hits = index.search("ankle sprain left initial", 10)
    assert hits[0].code.startswith("S93.")
    assert hits[0].code.endswith("2A")
    assert set(hits[0].matched) == {"ankle", "sprain", "left", "initial"}


def test_note_suggestions_carry_their_evidence_and_skip_negated_findings(index: IcdSearchIndex) -> None:
    note = (
        "Assessment: type 2 diabetes mellitus without complications. Essential hypertension. "
        "Denies chest pain. Family history of colon cancer. Acute sinusitis."
    )
    suggestions = {s.code: s for s in NoteSuggester(index).suggest(note)}
    assert set(suggestions) == {"E11.9", "I10", "J01.90"}
    hypertension = suggestions["I10"]
    assert note[hypertension.start : hypertension.end] == hypertension.evidence == "Essential hypertension"
    assert "R07.9" not in suggestions


def test_note_suggestions_read_abbreviations_and_written_codes(index: IcdSearchIndex) -> None:
    suggestions = {s.code: s for s in NoteSuggester(index).suggest("Pt has COPD and HTN. Dx: E78.5")}
    assert suggestions["J44.9"].evidence == "COPD"
    assert suggestions["I10"].evidence == "HTN"
    assert suggestions["E78.5"].matched_on == "code"
    assert suggestions["E78.5"].confidence == 1.0


def test_a_note_without_findings_suggests_nothing(index: IcdSearchIndex) -> None:
    assert NoteSuggester(index).suggest("No fever. Denies cough. Follow up in 2 weeks.") == []


async def test_concurrent_searches_of_a_version_build_its_index_once(registry: CodeSetRegistry) -> None:
    runtime = CodeSetRuntime(registry)
    day = date(2026, 1, 1)
    first, second, third = await asyncio.gather(*(runtime.search_index(day) for _ in range(3)))
    assert first is second is third
    assert await runtime.search_index(day) is first
    assert first.search("pain in right knee", 1)[0].code == "M25.561"
