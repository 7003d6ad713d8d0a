"""Word search over ICD-10-CM descriptions and inclusion terms: a BM25 inverted index built once per version.

Ranking is BM25 (k1 1.2, b 0.75) over tokens, description tokens counting double, times a coordination factor
(share of query words matched), so "diabetes neuropathy" puts codes with both words first. A query word also
matches vocabulary words it is a prefix of ("neuro" -> "neuropathy") at a lower weight. Very common words
(in more than 2% of codes) only score codes already found by rarer words, and postings are stored best-weight
first so a scan stops after the best 1,500 codes of a word: p99 stays in single-digit milliseconds, at the cost
of rarely missing a long description that matches only very common words.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from coding_svc.codesets.icd10cm import IcdCode, IcdCodeSet, format_icd, looks_like_icd, normalize_icd

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "due",
        "other",
        "than",
        "who",
        "whom",
        "which",
        "this",
        "that",
        "be",
        "with",
    ]
)
_K1 = 1.2
_B = 0.75
_DESCRIPTION_WEIGHT = 2
_PREFIX_WEIGHT = 0.6
_MAX_EXPANSIONS = 40
_COMMON_SHARE = 0.02
_MAX_CANDIDATES = 1500
# Clinical abbreviations coders and notes use; each expands to the words of the tabular.
ABBREVIATIONS: dict[str, str] = {
    "afib": "atrial fibrillation",
    "bph": "benign prostatic hyperplasia",
    "cad": "coronary artery disease",
    "chf": "heart failure",
    "ckd": "chronic kidney disease",
    "copd": "chronic obstructive pulmonary disease",
    "dm": "diabetes mellitus",
    "dvt": "deep vein thrombosis",
    "gerd": "gastro-esophageal reflux disease",
    "hld": "hyperlipidemia",
    "htn": "hypertension",
    "mi": "myocardial infarction",
    "oa": "osteoarthritis",
    "sob": "shortness of breath",
    "t2dm": "type 2 diabetes mellitus",
    "uri": "acute upper respiratory infection",
    "uti": "urinary tract infection",
}


def stem(word: str) -> str:
    """A very light plural stemmer: ``fractures`` -> ``fracture``, ``injuries`` -> ``injury``."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stopwords."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def expand_abbreviations(text: str) -> str:
    """The text with known clinical abbreviations (``htn``, ``uti``...) replaced by their words."""
    return _WORD.sub(lambda m: ABBREVIATIONS.get(m.group(0), m.group(0)), text.lower())


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked code: the code (dotted for display), its description, score and the query words it matched."""

    code: str
    description: str
    billable: bool
    score: float
    matched: tuple[str, ...]


class IcdSearchIndex:
    """Inverted index over one ICD-10-CM version; immutable once built and safe to share between threads."""

    __slots__ = (
        "_average_length",
        "_codes",
        "_common_df",
        "_doc_lengths",
        "_doc_terms",
        "_postings",
        "_vocabulary",
        "version",
    )

    def __init__(self, code_set: IcdCodeSet, *, billable_only: bool = True) -> None:
        self.version = code_set.version
        entries = [c for c in code_set.codes.values() if c.billable or not billable_only]
        entries.sort(key=lambda c: c.code)
        self._codes: tuple[IcdCode, ...] = tuple(entries)
        lengths: list[int] = []
        doc_terms: list[tuple[str, ...]] = []
        raw: dict[str, list[tuple[int, int]]] = {}
        for doc_id, entry in enumerate(entries):
            counts: Counter[str] = Counter()
            for token in tokenize(entry.description):
                counts[token] += _DESCRIPTION_WEIGHT
            for term in entry.inclusion_terms:
                counts.update(tokenize(term))
            lengths.append(sum(counts.values()))
            doc_terms.append(tuple(counts.elements()))
            for token, tf in counts.items():
                raw.setdefault(token, []).append((doc_id, tf))
        self._doc_lengths = array("I", lengths)
        self._doc_terms = tuple(doc_terms)
        self._average_length = (sum(lengths) / len(lengths)) if lengths else 1.0
        # Postings hold the BM25 term weight (without idf), best first, so a common word's scan can stop early.
        self._postings: dict[str, tuple[array[int], array[float]]] = {}
        for token, pairs in raw.items():
            weighted = sorted(((self._weight(tf, d), d) for d, tf in pairs), key=lambda p: (-p[0], p[1]))
            self._postings[token] = (array("I", (d for _, d in weighted)), array("d", (w for w, _ in weighted)))
        self._vocabulary = tuple(sorted(self._postings))
        self._common_df = max(50, int(len(entries) * _COMMON_SHARE))

    def __len__(self) -> int:
        return len(self._codes)

    def _weight(self, tf: int, doc_id: int) -> float:
        norm = _K1 * (1 - _B + _B * self._doc_lengths[doc_id] / self._average_length)
        return tf * (_K1 + 1) / (tf + norm)

    def _idf(self, df: int) -> float:
        return math.log(1 + (len(self._codes) - df + 0.5) / (df + 0.5))

    def _variants(self, word: str, allow_prefix: bool) -> list[tuple[str, float]]:
        variants: list[tuple[str, float]] = []
        if word in self._postings:
            variants.append((word, 1.0))
        if allow_prefix and len(word) >= 3:
            start = bisect.bisect_left(self._vocabulary, word)
            expansions: list[str] = []
            for candidate in self._vocabulary[start:]:
                if not candidate.startswith(word):
                    break
                if candidate != word:
                    expansions.append(candidate)
            expansions.sort(key=lambda t: -len(self._postings[t][0]))
            variants.extend((t, _PREFIX_WEIGHT) for t in expansions[:_MAX_EXPANSIONS])
        return variants

    def search(self, query: str, limit: int = 20, *, prefix: bool = True) -> list[SearchHit]:
        """Codes ranked for a free-text query; a code or code prefix (``E11.6``) lists the codes under it.

        With ``prefix`` the last word also matches longer words (search-as-you-type).
        """
        stripped = query.strip()
        if not stripped:
            return []
        compact = normalize_icd(stripped)
        if " " not in stripped and looks_like_icd(compact) and any(ch.isdigit() for ch in compact):
            return self._by_code(compact, limit)
        words = list(dict.fromkeys(tokenize(expand_abbreviations(stripped))))
        if not words:
            return []
        last_partial = prefix and not query[-1].isspace()
        per_word: list[tuple[int, str, list[tuple[str, float]]]] = []
        for index, word in enumerate(words):
            allow_prefix = prefix and ((index == len(words) - 1 and last_partial) or word not in self._postings)
            variants = self._variants(word, allow_prefix)
            if variants:
                df = sum(len(self._postings[t][0]) for t, _ in variants)
                per_word.append((df, word, variants))
        per_word.sort()
        scores: dict[int, float] = {}
        matched_count: dict[int, int] = {}
        for df, _word, variants in per_word:
            best: dict[int, float] = {}
            if scores and df > self._common_df:
                if len(scores) > _MAX_CANDIDATES:
                    kept = heapq.nlargest(_MAX_CANDIDATES, scores, key=scores.__getitem__)
                    scores = {d: scores[d] for d in kept}
                for doc_id in scores:
                    terms = self._doc_terms[doc_id]
                    for term, factor in variants:
                        tf = terms.count(term)
                        if tf:
                            value = factor * self._idf(len(self._postings[term][0])) * self._weight(tf, doc_id)
                            if value > best.get(doc_id, 0.0):
                                best[doc_id] = value
            else:
                for term, factor in variants:
                    docs, weights = self._postings[term]
                    idf = self._idf(len(docs)) * factor
                    # Weights are sorted: beyond the best _MAX_CANDIDATES the rest cannot reach the top.
                    for doc_id, weight in zip(docs[:_MAX_CANDIDATES], weights[:_MAX_CANDIDATES], strict=True):
                        value = idf * weight
                        if value > best.get(doc_id, 0.0):
                            best[doc_id] = value
            for doc_id, value in best.items():
                scores[doc_id] = scores.get(doc_id, 0.0) + value
                matched_count[doc_id] = matched_count.get(doc_id, 0) + 1
        total = len(words)
        ranked = heapq.nlargest(
            limit,
            scores,
            key=lambda d: (scores[d] * matched_count[d] / total, -self._doc_lengths[d], -d),
        )
        return [
            SearchHit(
                format_icd(self._codes[d].code),
                self._codes[d].description,
                self._codes[d].billable,
                round(scores[d] * matched_count[d] / total, 4),
                self._matched_words(d, per_word),
            )
            for d in ranked
        ]

    def _matched_words(self, doc_id: int, per_word: list[tuple[int, str, list[tuple[str, float]]]]) -> tuple[str, ...]:
        terms = set(self._doc_terms[doc_id])
        return tuple(word for _df, word, variants in per_word if any(t in terms for t, _ in variants))

    def _by_code(self, prefix: str, limit: int) -> list[SearchHit]:
        start = bisect.bisect_left(self._codes, prefix, key=lambda c: c.code)
        hits: list[SearchHit] = []
        for entry in self._codes[start:]:
            if not entry.code.startswith(prefix) or len(hits) >= limit:
                break
            hits.append(SearchHit(format_icd(entry.code), entry.description, entry.billable, 1.0, (prefix,)))
        return hits

    def codes(self) -> Iterable[IcdCode]:
        """The indexed codes, in code order."""
        return self._codes

    def entry(self, code: str) -> IcdCode | None:
        """The indexed code (dotted or dotless), or None."""
        wanted = normalize_icd(code)
        index = bisect.bisect_left(self._codes, wanted, key=lambda c: c.code)
        if index < len(self._codes) and self._codes[index].code == wanted:
            return self._codes[index]
        return None
