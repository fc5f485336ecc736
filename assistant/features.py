"""Features of each candidate unit for one question: what the ranker reads.

Dense similarity of the unit and of its chunk, the learned match (assistant/match.py) with
its gap to the best candidate and its rank, the chunk's hybrid (dense + BM25) rank, IDF
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
from index.text import is_list_intro

CUES = Path(__file__).resolve().parent / "data" / "answer_kinds.json"
# Part of the features' definition, not settings: the shipped ranker (models/ranker.json) was
# fit on features computed with them, so they change only with a re-run of eval.train_ranker.
SHORT_UNIT_WORDS = 6     # words: a unit shorter than this sets the "short" feature

FEATURES = (
    "dense", "dense_gap", "dense_rank", "chunk_hit", "chunk_rrf", "chunk_dense", "lexical", "heading",
    "phrase", "practice_match", "practice_top", "centrality", "position", "bullet", "intro", "has_label",
    "log_words", "short", "named_cover", "asks_named",
    # How specific the question is (its rarest word's IDF, 0..1), alone and with the signals it
    # changes: a generic question ("what do you collect?") is answered by its practice, a
    # specific one ("do you share it with lawyers?") by the passage that says the words.
    "specific", "specific*dense", "specific*lexical", "specific*practice_match",
    *(f"asks_{k}*has_{k}" for k in KINDS), *(f"has_{k}" for k in KINDS),
    "match", "match_gap", "match_rank",
)
MATCH_COLUMNS = slice(FEATURES.index("match"), FEATURES.index("match") + 3)


class Idf:
    """Anything with ``idf(term) -> float`` (assistant.terms.IdfTable, the Retriever)."""

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
    matched: np.ndarray | None = None  # the vector moved by the match model (None: the vector itself)
    idf: dict[str, float] = field(default_factory=dict)  # its terms' IDF in the searched index
    idf_ceiling: float = 1.0     # the IDF of a term the index has never seen

    @classmethod
    def of(cls, text: str, vector: np.ndarray, practice: np.ndarray,
           matched: np.ndarray | None = None) -> "Question":
        terms = content_terms(text)
        meaningful = set(terms)
        pairs = {p for p in term_pairs(text, drop_generic=False) if p[0] in meaningful and p[1] in meaningful}
        return cls(text=text, vector=np.asarray(vector, dtype=np.float32), terms=terms, pairs=pairs,
                   practice=np.asarray(practice, dtype=np.float32), asks=asks_for(text), named=named_in(text),
                   matched=None if matched is None else np.asarray(matched, dtype=np.float32))


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


@lru_cache(maxsize=1024)  # a cross-policy question asks it again for every policy it searches
def organisations_in(question: str) -> frozenset[str]:
    """The organisations a question names (the entity tagger's), lower-cased."""
    return frozenset(e.text.lower() for e in tag(question) if e.kind == "org")


def named_in(question: str) -> list[str]:
    """The organisations the question names ("Stripe", "Google Analytics"); a person's or a
    place's name in a casual question ("… asks Zanzibar") is not what it asks about."""
    return sorted(organisations_in(question))


def _shares(weights: dict[str, float], sets) -> list[float]:
    """For each set, the share of the question's term weight it holds."""
    total = sum(weights.values())
    if not total:
        return [0.0] * len(sets)
    items = list(weights.items())
    return [sum(w for t, w in items if t in present) / total for present in sets]


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
    idx = [int(i) for i in rows]
    rows = np.asarray(idx, dtype=np.intp)
    out = np.zeros((len(idx), len(FEATURES)), dtype=np.float32)
    if not idx:
        return out
    # Column by column rather than row by row (a cross-policy question scores hundreds of
    # candidates). Each column is computed as the per-row expression was, in the same dtype
    # (float32 where numpy arrays meet Python floats), and goes through float64 into the
    # float32 matrix as the row tuples did: the features are bit-identical.
    units = [table.units[i] for i in idx]
    hit_rank = [rank.get(u.chunk_id) for u in units]
    n_words = [len(u.text.split()) for u in units]
    dense = dense_all[rows]
    cols = np.zeros((len(idx), 24), dtype=np.float64)
    cols[:, 0] = dense
    cols[:, 1] = dense - best
    cols[:, 2] = [math.log1p(r) for r in dense_rank[rows].tolist()]
    cols[:, 3] = [0.0 if r is None else 1.0 for r in hit_rank]
    cols[:, 4] = [0.0 if r is None else 1.0 / (1 + r) for r in hit_rank]
    cols[:, 5] = [chunk_dense.get(u.chunk_id, 0.0) for u in units]
    cols[:, 6] = _shares(weights, [table.terms[i] for i in idx])
    cols[:, 7] = _shares(weights, [table.section_terms[i] for i in idx])
    if q.pairs:
        cols[:, 8] = [1.0 if q.pairs & table.pairs[i] else 0.0 for i in idx]
    if q.practice.size:
        cols[:, 9] = [float(q.practice @ table.practice[i]) for i in idx]
        cols[:, 10] = table.practice[rows, practice_top]
    cols[:, 11] = table.centrality[rows]
    cols[:, 12] = table.position[rows]
    cols[:, 13] = [1.0 if u.bullet else 0.0 for u in units]
    cols[:, 14] = [1.0 if is_list_intro(u.text) else 0.0 for u in units]
    cols[:, 15] = [1.0 if u.label else 0.0 for u in units]
    cols[:, 16] = [math.log1p(w) for w in n_words]
    cols[:, 17] = [1.0 if w < SHORT_UNIT_WORDS else 0.0 for w in n_words]
    if q.named:
        haystacks = [f"{u.label} {u.text}".lower() for u in units]
        cols[:, 18] = [sum(1 for n in q.named if n in h) / len(q.named) for h in haystacks]
        cols[:, 19] = 1.0
    else:
        cols[:, 18] = 1.0
    cols[:, 20] = specific
    cols[:, 21] = specific * dense
    out[:, :24] = cols
    out[:, 22] = specific * out[:, 6]
    out[:, 23] = specific * out[:, 9]
    has = table.entities[rows]
    out[:, 24:24 + len(KINDS)] = q.asks * has
    out[:, 24 + len(KINDS):MATCH_COLUMNS.start] = has
    out[:, MATCH_COLUMNS] = match_columns(q.vector if q.matched is None else q.matched, table.vectors[rows])
    return out


def match_columns(matched: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """The match features of candidates with these unit ``vectors``: the cosine with the moved
    question vector, its gap to the best candidate, and log(1 + its rank among them)."""
    score = np.asarray(vectors, dtype=np.float32) @ np.asarray(matched, dtype=np.float32)
    out = np.zeros((len(score), 3), dtype=np.float32)
    if not len(score):
        return out
    rank = np.empty(len(score), dtype=np.float32)
    rank[np.argsort(-score, kind="stable")] = np.arange(len(score), dtype=np.float32)
    out[:, 0], out[:, 1], out[:, 2] = score, score - score.max(), np.log1p(rank)
    return out


# The best passage's practice agreement is left out: without it, out-of-fold gold dev abstention
# accuracy rose from 0.805 to 0.883 at the same PolicyQA abstention limit (docs/quality.md).
ANSWERABLE_FEATURES = ("top_logit", "top_dense", "top_lexical", "named_missing", "kinds_missing", "rare_missing")
TOP_FOR_KINDS = 10       # top passages searched for what the question names or asks for (fit with, as above)


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
