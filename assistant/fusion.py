"""Reciprocal rank fusion: one ranking from several, robust to incomparable scores."""
from __future__ import annotations

from collections.abc import Hashable, Sequence

from index.settings import AnswerSettings


def rrf(rankings: Sequence[Sequence[Hashable]], k: int = AnswerSettings.rrf_k,
        weights: Sequence[float] | None = None) -> list[tuple[Hashable, float]]:
    """Items of all rankings ordered by sum(weight / (k + rank)), rank starting at 1."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[Hashable, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], str(kv[0])))
