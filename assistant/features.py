"""Features of each candidate unit for one question: what the ranker reads.

Dense similarity of the unit and of its chunk, the chunk's hybrid (dense + BM25) rank, IDF
overlap with the unit and with its heading, practice agreement (question practice · unit
practice), typed entities the question asks for, structure and position. Pure functions over
a UnitTable and a Question; the one list of names is FEATURES.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.entities import KINDS, tag
from assistant.records import Hit
from assistant.terms import content_terms, term_pairs, words
from assistant.unit_table import UnitTable

CUES = Path(__file__).resolve().parent / "data" / "answer_kinds.json"
SHORT_UNIT_WORDS = 6

FEATURES = (
    "dense", "dense_gap", "dense_rank", "chunk_hit", "chunk_rrf", "chunk_dense", "lexical", "heading",
    "phrase", "practice_match", "practice_top", "centrality", "position", "bullet", "intro", "has_label",
    "log_words", "short", "named_cover", "asks_named",
    # How specific the question is (its rarest word's IDF, 0..1), alone and with the signals it
    # changes: a generic question ("what do you collect?") is answered by its practice, a
    # specific one ("do you share it with lawyers?") by the passage that says the words.
    "specific", "specific*dense", "specific*lexical", "specific*practice_match",
    *(f"asks_{k}*has_{k}" for k in KINDS), *(f"has_{k}" for k in KINDS),
)


class Idf:
    """Anything with ``idf(term) -> float`` (assistant.evidence.IdfTable)."""

    def idf(self, term: str) -> float:  # pragma: no cover - protocol
        raise NotImplementedError


@dataclass
class Question:
    """What the features need of a question, computed once per question."""

    text: str
    vector: np.ndarray
    terms: list[str]
    pairs: set[tuple[str, str]]
    practice: np.ndarray         # (labels,) P(question asks about practice)
    asks: np.ndarray             # (entity kinds,) 0/1: the question asks for a value of that kind
    named: list[str]             # names the question asks about ("Stripe"), lower-cased
    idf: dict[str, float] = field(default_factory=dict)  # its terms' IDF in the searched index
    idf_ceiling: float = 1.0     # the IDF of a term the index has never seen

    @classmethod
    def of(cls, text: str, vector: np.ndarray, practice: np.ndarray) -> "Question":
        terms = content_terms(text)
        meaningful = set(terms)
        pairs = {p for p in term_pairs(text, drop_generic=False) if p[0] in meaningful and p[1] in meaningful}
        return cls(text=text, vector=np.asarray(vector, dtype=np.float32), terms=terms, pairs=pairs,
                   practice=np.asarray(practice, dtype=np.float32), asks=asks_for(text), named=named_in(text))


@lru_cache(maxsize=1)
def _cues() -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
    data = json.loads(CUES.read_text(encoding="utf-8"))
    return {k: (frozenset(w for w in data[k] if " " not in w), tuple(w for w in data[k] if " " in w)) for k in KINDS}


def asks_for(question: str) -> np.ndarray:
    """1.0 for each entity kind the question's words ask for (assistant/data/answer_kinds.json)."""
    lowered = question.lower()
    present = set(words(lowered))
    return np.array([1.0 if (singles & present or any(p in lowered for p in phrases)) else 0.0
                     for singles, phrases in (_cues()[k] for k in KINDS)], dtype=np.float32)


def organisations_in(question: str) -> set[str]:
    """The organisations a question names (the entity tagger's), lower-cased."""
    return {e.text.lower() for e in tag(question) if e.kind == "org"}


def named_in(question: str) -> list[str]:
    """The organisations the question names ("Stripe", "Google Analytics"); a person's or a
    place's name in a casual question ("… asks Zanzibar") is not what it asks about."""
    return sorted(organisations_in(question))


def _share(weights: dict[str, float], present: frozenset[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def candidate_features(q: Question, table: UnitTable, rows: np.ndarray, hits: list[Hit], idf: Idf,
                       dense_all: np.ndarray) -> np.ndarray:
    """(len(rows), len(FEATURES)) for the table's ``rows``; ``dense_all`` is the question's
    similarity to every unit of the table (for ranks and gaps)."""
    rank = {h.chunk.id: i for i, h in enumerate(hits)}
    chunk_dense = {h.chunk.id: h.dense for h in hits}
    order = np.argsort(-dense_all, kind="stable")
    dense_rank = np.empty(len(dense_all), dtype=np.float32)
    dense_rank[order] = np.arange(len(dense_all), dtype=np.float32)
    best = float(dense_all.max()) if len(dense_all) else 0.0
    practice_top = int(np.argmax(q.practice)) if q.practice.size else 0
    q.idf = weights = {t: idf.idf(t) for t in q.terms}
    q.idf_ceiling = idf.idf("\x00unseen") or 1.0
    specific = max(weights.values(), default=0.0) / q.idf_ceiling
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float32)
    for j, i in enumerate(rows):
        unit = table.units[i]
        in_hits = unit.chunk_id in rank
        n_words = len(unit.text.split())
        haystack = f"{unit.label} {unit.text}".lower()
        named = [n for n in q.named if n in haystack]
        pair_hit = bool(q.pairs & table.pairs[i]) if q.pairs else False
        has = table.entities[i]
        out[j, :24] = (
            dense_all[i], dense_all[i] - best, math.log1p(dense_rank[i]),
            1.0 if in_hits else 0.0, 1.0 / (1 + rank[unit.chunk_id]) if in_hits else 0.0,
            chunk_dense.get(unit.chunk_id, 0.0),
            _share(weights, table.terms[i]), _share(weights, table.section_terms[i]),
            1.0 if pair_hit else 0.0,
            float(q.practice @ table.practice[i]) if q.practice.size else 0.0,
            float(table.practice[i, practice_top]) if q.practice.size else 0.0,
            table.centrality[i], table.position[i], 1.0 if unit.bullet else 0.0,
            1.0 if unit.text.rstrip().endswith(":") else 0.0, 1.0 if unit.label else 0.0,
            math.log1p(n_words), 1.0 if n_words < SHORT_UNIT_WORDS else 0.0,
            len(named) / len(q.named) if q.named else 1.0, 1.0 if q.named else 0.0,
            specific, specific * dense_all[i], 0.0, 0.0,
        )
        out[j, 22] = specific * out[j, 6]
        out[j, 23] = specific * out[j, 9]
        out[j, 24:24 + len(KINDS)] = q.asks * has
        out[j, 24 + len(KINDS):] = has
    return out


# The best passage's practice agreement is left out: without it, out-of-fold gold dev abstention
# accuracy rose from 0.805 to 0.883 at the same PolicyQA abstention limit (docs/quality.md).
ANSWERABLE_FEATURES = ("top_logit", "top_dense", "top_lexical", "named_missing", "kinds_missing", "rare_missing")
TOP_FOR_KINDS = 10


def answerable_features(q: Question, features: np.ndarray, probs: np.ndarray,
                        unit_terms: list[frozenset[str]]) -> np.ndarray:
    """Question-level signals of whether the policy answers at all: how good the best passage
    is, and whether what the question names, asks for (a duration, an address) or says in its
    rarest word appears in any of the top passages. ``unit_terms`` are the candidates' terms."""
    if len(probs) == 0:
        return np.array([-10.0, 0.0, 0.0, 1.0 if q.named else 0.0, 1.0 if q.asks.any() else 0.0, 1.0], np.float32)
    col = {name: i for i, name in enumerate(FEATURES)}
    order = np.argsort(-probs, kind="stable")
    top = features[order[:TOP_FOR_KINDS]]
    p = float(np.clip(probs[order[0]], 1e-6, 1 - 1e-6))
    has = top[:, col[f"has_{KINDS[0]}"]:col[f"has_{KINDS[0]}"] + len(KINDS)].max(axis=0)
    asked = q.asks > 0
    return np.array([
        math.log(p / (1 - p)), features[:, col["dense"]].max(), features[:, col["lexical"]].max(),
        (1.0 - float(top[:5, col["named_cover"]].max())) if q.named else 0.0,
        float((1.0 - has[asked]).mean()) if asked.any() else 0.0,
        rare_missing(q, [unit_terms[i] for i in order[:5]]),
    ], dtype=np.float32)


def rare_missing(q: Question, top_terms: list[frozenset[str]]) -> float:
    """The IDF (against the ceiling) of the question's rarest word that none of the top passages
    has: "facial recognition", "insurance companies" asked of a policy that never says them."""
    present = frozenset().union(*top_terms) if top_terms else frozenset()
    return max((w for t, w in q.idf.items() if t not in present), default=0.0) / q.idf_ceiling
