"""A logistic regression on a normalised question embedding, applied with numpy only.

The shape of the shipped classifiers (assistant/data/*_classifier.json, written by the
trainers in eval/ through eval/vector_classifier.py): P = sigmoid(coef · v + intercept), and
the question is flagged when P >= threshold.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class VectorClassifier:
    """P(flagged) from a normalised question embedding: sigmoid(coef · v + intercept)."""
    coef: np.ndarray
    intercept: float
    threshold: float
    version: str

    @classmethod
    def load(cls, path: Path):
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls.of(data)

    @classmethod
    def of(cls, params: dict):
        """From the trainer's parameters: coef, intercept, threshold, version."""
        return cls(np.asarray(params["coef"], dtype=np.float32), float(params["intercept"]),
                   float(params["threshold"]), str(params["version"]))

    def probability(self, vector) -> float:
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.shape != self.coef.shape:
            raise ValueError(f"expected a {self.coef.shape[0]}-dimensional vector, got {v.shape[0]}")
        return float(1.0 / (1.0 + np.exp(-(float(v @ self.coef) + self.intercept))))

    def flags(self, vector) -> bool:
        return self.probability(vector) >= self.threshold
