"""The learned evidence ranker: P(a unit answers the question) from its features.

A logistic regression over assistant.features.FEATURES, fit by ``python -m eval.train_ranker``
on PolicyQA-dev folds and the gold dev split; its decision thresholds (when to abstain, when a
further passage is worth citing) are chosen on held-out folds by the same command. Applied
with numpy alone; the model ships as assistant/models/ranker.json.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.features import ANSWERABLE_FEATURES, FEATURES
from index.settings import AnswerSettings

MODEL_PATH = Path(__file__).resolve().parent / "models" / "ranker.json"


class RankerMismatch(ValueError):
    """A model file written for other features than this code computes."""


@dataclass(frozen=True)
class Thresholds:
    """Decisions on the ranker's probability, each chosen on held-out data by eval.train_ranker."""

    abstain_below: float = 0.50   # P(the policy answers) under which it does not say
    cite_above: float = 0.40      # a further passage is cited when at least this likely
    cite_ratio: float = 0.50      # … and at least this share of the best passage's probability
    max_units: int = 3            # passages cited per policy, at most
    max_chars: int = 600          # cited characters per policy, at most (list expansion aside)


@dataclass(frozen=True)
class Ranker:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    thresholds: Thresholds = Thresholds()
    answerable_mean: np.ndarray = field(default_factory=lambda: np.zeros(len(ANSWERABLE_FEATURES), np.float32))
    answerable_scale: np.ndarray = field(default_factory=lambda: np.ones(len(ANSWERABLE_FEATURES), np.float32))
    answerable_weights: np.ndarray = field(default_factory=lambda: np.zeros(len(ANSWERABLE_FEATURES), np.float32))
    answerable_bias: float = 0.0
    provenance: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH, settings: AnswerSettings | None = None) -> "Ranker":
        """The fitted model; thresholds that ``settings`` sets replace the fitted ones."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        overrides = settings.threshold_overrides() if settings is not None else {}
        if tuple(data["features"]) != FEATURES or tuple(data["answerable"]["features"]) != ANSWERABLE_FEATURES:
            raise RankerMismatch(f"{path} was trained on other features; run python -m eval.train_ranker")
        return cls(features=tuple(data["features"]), mean=np.array(data["mean"], dtype=np.float32),
                   scale=np.array(data["scale"], dtype=np.float32), weights=np.array(data["weights"], dtype=np.float32),
                   bias=float(data["bias"]), thresholds=Thresholds(**{**data["thresholds"], **overrides}),
                   answerable_mean=np.array(data["answerable"]["mean"], dtype=np.float32),
                   answerable_scale=np.array(data["answerable"]["scale"], dtype=np.float32),
                   answerable_weights=np.array(data["answerable"]["weights"], dtype=np.float32),
                   answerable_bias=float(data["answerable"]["bias"]), provenance=data.get("provenance", {}))

    def save(self, path: Path | str = MODEL_PATH) -> None:
        data = {"features": list(self.features), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "weights": self.weights.round(6).tolist(),
                "bias": round(self.bias, 6), "thresholds": asdict(self.thresholds),
                "answerable": {"features": list(ANSWERABLE_FEATURES), "mean": self.answerable_mean.round(6).tolist(),
                               "scale": self.answerable_scale.round(6).tolist(),
                               "weights": self.answerable_weights.round(6).tolist(),
                               "bias": round(self.answerable_bias, 6)},
                "provenance": self.provenance}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(relevant) for each row of a FEATURES matrix."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.float32)
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))

    def answerable(self, question_features: np.ndarray) -> float:
        """P(the policy answers the question) from assistant.features.answerable_features."""
        logit = ((question_features - self.answerable_mean) / self.answerable_scale) @ self.answerable_weights
        return float(1.0 / (1.0 + np.exp(-np.clip(logit + self.answerable_bias, -30, 30))))

    def weights_by_feature(self) -> dict[str, float]:
        return {name: float(w) for name, w in zip(self.features, self.weights)}
