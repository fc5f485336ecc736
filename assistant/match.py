"""A learned question-to-passage match over the MiniLM vectors the index already holds.

MiniLM was trained for general sentence similarity, so the passage that answers a privacy
question is often not the one nearest to it ("is my info sold?" lands on passages about
selling goods). A linear map of the question vector, fit by ``python -m eval.train_ranker``
with a listwise loss on PolicyQA-dev folds and gold dev (each question's candidates, its gold
passages the positives), moves the question toward the passages that answer such questions.
Its score is the cosine of the moved question with a passage's stored vector; the ranker reads
it as features. Applied with numpy; ships as assistant/models/match.npz.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "models" / "match.npz"


@dataclass(frozen=True)
class MatchModel:
    weights: np.ndarray          # (dim, dim): a question vector v becomes v + v @ weights

    @classmethod
    def identity(cls, dim: int = 384) -> "MatchModel":
        """No change: the match is MiniLM's own cosine."""
        return cls(np.zeros((dim, dim), dtype=np.float32))

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> "MatchModel":
        with np.load(path, allow_pickle=False) as data:
            return cls(np.asarray(data["weights"], dtype=np.float32))

    def save(self, path: Path | str = MODEL_PATH) -> None:
        np.savez_compressed(path, weights=self.weights.astype(np.float32))

    def question(self, vector: np.ndarray) -> np.ndarray:
        """The question's vector moved toward the passages that answer such questions, unit length."""
        v = np.asarray(vector, dtype=np.float32)
        moved = v + v @ self.weights
        norm = float(np.linalg.norm(moved))
        return moved / norm if norm else moved
