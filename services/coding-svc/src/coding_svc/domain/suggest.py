"""Suggest ICD-10-CM codes from an encounter's clinical note, each with the phrase that supports it.

Suggestions are for the coder to accept or reject; they are never applied to the encounter automatically.

How: the note is cut into clauses (sentences, list items, commas); negated text ("denies chest pain",
"no fever") and family history are dropped (a small NegEx-style trigger list); each clause is searched in the
ICD-10-CM index, and a code is suggested only when every essential word of its description or of one of its
inclusion terms appears in the clause (words in parentheses, "unspecified", "without complications" and the
like are non-essential). When several codes fit the same words the unspecified one is preferred: the note did
not say more. Codes written in the note (``E11.9``) are suggested as they are, when valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coding_svc.codesets.icd10cm import IcdCode, format_icd
from coding_svc.codesets.search import IcdSearchIndex, expand_abbreviations, tokenize

# Clauses end at sentence/list punctuation, "&", "/" or the word "and" (one finding per clause, mostly).
_CLAUSE = re.compile(r"(?:[^.;:\n!?,&/a]|a(?!nd\b))+", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(no|not|denies|denied|negative for|without evidence of|ruled out|rule out|r/o|free of|absence of|"
    r"family history|fh of|resolved)\b",
    re.IGNORECASE,
)
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WRITTEN_CODE = re.compile(r"\b[A-TV-Z][0-9][0-9A-Z]\.[0-9A-Z]{1,4}\b")
_WORD = re.compile(r"[A-Za-z0-9]+")
NON_ESSENTIAL = frozenset(
    {
        "unspecified",
        "specified",
        "site",
        "not",
        "nos",
        "without",
        "mellitus",
        "complication",
        "essential",
        "elsewhere",
        "classified",
    }
)
_DEFAULT_MARKERS = ("unspecified", "not specified", "nos")
_SEARCH_DEPTH = 30


@dataclass(frozen=True, slots=True)
class CodeSuggestion:
    """A likely code for the encounter and its evidence: the phrase of the note (with offsets) that matched."""

    code: str
    description: str
    evidence: str
    start: int
    end: int
    confidence: float
    matched_on: str


def _essential_words(phrase: str) -> frozenset[str]:
    return frozenset(w for w in tokenize(_PARENTHESES.sub(" ", phrase)) if w not in NON_ESSENTIAL)


def _mostly_in(tokens: list[str], essential: frozenset[str]) -> bool:
    return bool(tokens) and 2 * sum(t in essential for t in tokens) >= len(tokens)


def _default_rank(entry: IcdCode) -> int:
    """2 for "without complications" codes, 1 for unspecified/NOS codes, else 0: where a bare mention maps."""
    description = entry.description.lower()
    if "without complication" in description:
        return 2
    return int(any(marker in description for marker in _DEFAULT_MARKERS))


class NoteSuggester:
    """Suggests codes from clinical notes against one ICD-10-CM version's search index."""

    __slots__ = ("_index",)

    def __init__(self, index: IcdSearchIndex) -> None:
        self._index = index

    @property
    def version(self) -> str:
        """The ICD-10-CM version the suggestions come from."""
        return self._index.version

    def suggest(self, note: str, limit: int = 10) -> list[CodeSuggestion]:
        """Likely codes for the note, best first, at most one per distinct finding."""
        best: dict[str, CodeSuggestion] = {}
        for suggestion in [*self._written_codes(note), *self._from_clauses(note)]:
            current = best.get(suggestion.code)
            if current is None or suggestion.confidence > current.confidence:
                best[suggestion.code] = suggestion
        ranked = sorted(best.values(), key=lambda s: (-s.confidence, s.start))
        return ranked[:limit]

    def _written_codes(self, note: str) -> list[CodeSuggestion]:
        found: list[CodeSuggestion] = []
        for match in _WRITTEN_CODE.finditer(note.upper()):
            entry = self._index.entry(match.group(0))
            if entry is not None:
                found.append(
                    CodeSuggestion(
                        format_icd(entry.code),
                        entry.description,
                        note[match.start() : match.end()],
                        match.start(),
                        match.end(),
                        1.0,
                        "code",
                    )
                )
        return found

    def _from_clauses(self, note: str) -> list[CodeSuggestion]:
        found: list[CodeSuggestion] = []
        for clause in _CLAUSE.finditer(note):
            text = clause.group(0)
            negation = _NEGATION.search(text)
            affirmed = text[: negation.start()] if negation else text
            found.extend(self._from_clause(note, clause.start(), affirmed))
        return found

    def _from_clause(self, note: str, offset: int, text: str) -> list[CodeSuggestion]:
        words = set(tokenize(expand_abbreviations(text)))
        if not words:
            return []
        candidates: list[tuple[int, int, int, int, int, IcdCode, frozenset[str], str, frozenset[str]]] = []
        for rank, hit in enumerate(self._index.search(text, _SEARCH_DEPTH, prefix=False)):
            entry = self._index.entry(hit.code)
            if entry is None:
                continue
            phrases = [(entry.description, "description"), *((t, "inclusion term") for t in entry.inclusion_terms)]
            for phrase, source in phrases:
                essential = _essential_words(phrase)
                if essential and essential <= words:
                    all_words = frozenset(tokenize(phrase))
                    overlap = len(all_words & words)
                    extras = len(all_words - words)
                    candidates.append(
                        (
                            len(essential),
                            overlap,
                            _default_rank(entry),
                            -extras,
                            -rank,
                            entry,
                            essential,
                            source,
                            all_words,
                        )
                    )
                    break
        # Most specific wording first, then the closest wording; among equals, the unspecified (default) code.
        candidates.sort(key=lambda c: c[:5], reverse=True)
        chosen: list[CodeSuggestion] = []
        covered: list[frozenset[str]] = []
        for size, _overlap, _default, _extras, _rank, entry, essential, source, phrase_words in candidates:
            if any(essential <= earlier for earlier in covered):
                continue
            covered.append(essential)
            start, end = self._evidence_span(text, essential | phrase_words)
            chosen.append(
                CodeSuggestion(
                    format_icd(entry.code),
                    entry.description,
                    note[offset + start : offset + end],
                    offset + start,
                    offset + end,
                    round(min(1.0, 0.5 + 0.5 * size / len(words)), 3),
                    source,
                )
            )
        return chosen

    @staticmethod
    def _evidence_span(text: str, essential: frozenset[str]) -> tuple[int, int]:
        spans = [
            (m.start(), m.end())
            for m in _WORD.finditer(text)
            if _mostly_in(tokenize(expand_abbreviations(m.group(0))), essential)
        ]
        if not spans:
            stripped = text.strip()
            start = text.index(stripped) if stripped else 0
            return start, start + len(stripped)
        return spans[0][0], spans[-1][1]
