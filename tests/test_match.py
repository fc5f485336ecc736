"""The learned question-to-passage match (assistant/match.py, eval/fit_match.py) on synthetic vectors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from assistant.features import FEATURES, MATCH_COLUMNS, match_columns
from assistant.match import MODEL_PATH, MatchModel


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_identity_keeps_the_question_and_is_unit_length():
    v = np.arange(1, 9, dtype=np.float32)
    moved = MatchModel.identity(8).question(v)
    assert np.allclose(moved, unit(v))
    assert np.isclose(np.linalg.norm(moved), 1.0)


def test_match_columns_score_gap_and_rank():
    q = unit(np.array([1.0, 0.0, 0.0]))
    vectors = unit(np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    cols = match_columns(q, vectors)
    assert np.allclose(cols[:, 0], [0.0, 2 ** -0.5, 1.0], atol=1e-6)
    assert np.allclose(cols[:, 1], cols[:, 0] - 1.0, atol=1e-6)
    assert np.allclose(cols[:, 2], np.log1p([2, 1, 0]))
    assert match_columns(q, np.zeros((0, 3), np.float32)).shape == (0, 3)
    assert FEATURES[MATCH_COLUMNS] == ("match", "match_gap", "match_rank")


def test_round_trip(tmp_path):
    model = MatchModel(np.random.default_rng(1).normal(size=(6, 6)).astype(np.float32))
    model.save(tmp_path / "m.npz")
    again = MatchModel.load(tmp_path / "m.npz")
    assert np.array_equal(again.weights, model.weights)


def test_the_shipped_map_fits_the_index_vectors():
    shipped = MatchModel.load(MODEL_PATH)
    assert shipped.weights.shape == (384, 384)
    assert np.isfinite(shipped.weights).all()
    v = unit(np.random.default_rng(2).normal(size=384))
    # it moves questions, but not beyond recognition (the L2 pull toward MiniLM's own cosine)
    assert 0.3 < float(shipped.question(v) @ v) < 0.9999


@dataclass
class _Sample:  # the fields of eval.train_ranker.Sample that fit_match reads
    source: str
    answerable: bool
    labels: np.ndarray
    vectors: np.ndarray
    question: object


@dataclass
class _Q:
    vector: np.ndarray


def _synthetic(rng, n: int, dim: int = 12, candidates: int = 8) -> list[_Sample]:
    """Questions whose answer shares the first half of their vector and distractors that share
    the second half just as much: the cosine cannot tell them apart, a map that weighs the
    first half can."""
    half = dim // 2
    out = []
    for _ in range(n):
        q = unit(rng.normal(size=dim))
        answer = np.concatenate([q[:half], rng.normal(size=dim - half) * 0.3])
        near = np.hstack([rng.normal(size=(candidates - 1, half)) * 0.3, np.tile(q[half:], (candidates - 1, 1))])
        vectors = unit(np.vstack([answer, near]) + 0.05 * rng.normal(size=(candidates, dim)))
        labels = np.zeros(candidates, np.float32)
        labels[0] = 1.0
        order = rng.permutation(candidates)
        out.append(_Sample("policyqa", True, labels[order], vectors[order], _Q(q)))
    return out


def _top1(samples, model: MatchModel) -> float:
    return float(np.mean([s.labels[int(np.argmax(s.vectors @ model.question(s.question.vector)))] for s in samples]))


def test_the_fitted_map_learns_what_the_cosine_misses():
    pytest.importorskip("torch")
    from eval.fit_match import fit_match

    rng = np.random.default_rng(7)
    dim = 12
    train, held_out = _synthetic(rng, 300, dim), _synthetic(rng, 200, dim)
    fitted = fit_match(train, seed=1, learning_rate=0.02)
    before, after = _top1(held_out, MatchModel.identity(dim)), _top1(held_out, fitted)
    assert after > before + 0.3, (before, after)


def test_no_usable_samples_gives_the_identity():
    from eval.fit_match import fit_match

    unanswerable = [_Sample("gold", False, np.zeros(3, np.float32), np.eye(3, dtype=np.float32), _Q(np.ones(3)))]
    assert not fit_match(unanswerable, seed=1).weights.any()
