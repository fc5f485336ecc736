"""The learned evidence ranker: P(a unit answers the question) from its features.

A logit over assistant.features.FEATURES: a linear part plus, optionally, boosted regression
trees (gradient boosting validated better than logistic regression out of fold). Fit by
``python -m eval.train_ranker`` on PolicyQA-dev folds and the gold dev split; its decision
thresholds (when to abstain, when a further passage is worth citing) are chosen on held-out
folds by the same command. Applied with numpy alone; the model ships as
assistant/models/ranker.json.
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
class Trees:
    """Regression trees whose leaf values add up to a logit, as flat node arrays (a leaf has
    feature -1); ``roots`` holds each tree's first node."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int

    @classmethod
    def from_dict(cls, data: dict) -> "Trees":
        return cls(np.array(data["feature"], np.int32), np.array(data["threshold"], np.float64),
                   np.array(data["missing_left"], bool), np.array(data["left"], np.int32),
                   np.array(data["right"], np.int32), np.array(data["value"], np.float64),
                   np.array(data["roots"], np.int32), int(data["depth"]))

    def to_dict(self) -> dict:
        return {"depth": self.depth, "roots": self.roots.tolist(), "feature": self.feature.tolist(),
                "threshold": self.threshold.tolist(), "missing_left": self.missing_left.astype(int).tolist(),
                "left": self.left.tolist(), "right": self.right.tolist(), "value": self.value.tolist()}

    def __post_init__(self) -> None:
        # For the descent a leaf is its own child and compares with +inf, so every row and tree
        # steps ``depth`` times without asking which nodes are leaves. Features arrive as
        # float32: x <= t holds exactly when x <= the largest float32 not above t.
        leaf = self.feature < 0
        own = np.arange(len(self.feature), dtype=np.int32)
        t32 = self.threshold.astype(np.float32)
        t32 = np.where(t32.astype(np.float64) > self.threshold, np.nextafter(t32, np.float32(-np.inf)), t32)
        children = np.stack([np.where(leaf, own, self.right), np.where(leaf, own, self.left)], axis=1)
        object.__setattr__(self, "_step", (np.where(leaf, 0, self.feature).astype(np.int32),
                                           np.where(leaf, np.float32(np.inf), t32).astype(np.float32),
                                           children.astype(np.int32).ravel()))

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The sum of every tree's leaf for each row (all rows and trees descend together)."""
        x = np.asarray(features, dtype=np.float32)
        if np.isnan(x).any():
            return self._logits_with_missing(x)
        feature, threshold, children = self._step
        base = (np.arange(len(x), dtype=np.int32) * x.shape[1])[:, None]
        flat = x.ravel()
        node = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        for _ in range(self.depth):
            node = children[2 * node + (flat[base + feature[node]] <= threshold[node])]
        return self.value[node].sum(axis=1)

    def _logits_with_missing(self, x: np.ndarray) -> np.ndarray:
        """As logits, with a missing (NaN) value sent where training sent it."""
        feature, threshold, children = self._step
        node = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            v = x[rows, feature[node]]
            go_left = np.where(np.isnan(v), self.missing_left[node] | (self.feature[node] < 0), v <= threshold[node])
            node = children[2 * node + go_left]
        return self.value[node].sum(axis=1)


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
    trees: Trees | None = None    # added to the linear logit when present

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
                   answerable_bias=float(data["answerable"]["bias"]), provenance=data.get("provenance", {}),
                   trees=Trees.from_dict(data["trees"]) if data.get("trees") else None)

    def save(self, path: Path | str = MODEL_PATH) -> None:
        data = {"features": list(self.features), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "weights": self.weights.round(6).tolist(),
                "bias": round(self.bias, 6), "thresholds": asdict(self.thresholds),
                "answerable": {"features": list(ANSWERABLE_FEATURES), "mean": self.answerable_mean.round(6).tolist(),
                               "scale": self.answerable_scale.round(6).tolist(),
                               "weights": self.answerable_weights.round(6).tolist(),
                               "bias": round(self.answerable_bias, 6)},
                "provenance": self.provenance, "trees": None}
        text = json.dumps(data, indent=1)
        if self.trees is not None:  # thousands of nodes: one line per array, not one per number
            arrays = ",\n  ".join(f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                                  for k, v in self.trees.to_dict().items())
            text = text.replace('"trees": null', '"trees": {\n  ' + arrays + "\n }")
        Path(path).write_text(text + "\n", encoding="utf-8")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(relevant) for each row of a FEATURES matrix."""
        if len(features) == 0:
            return np.zeros(0, dtype=np.float32)
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        if self.trees is not None:
            logits = logits + self.trees.logits(features)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))

    def answerable(self, question_features: np.ndarray) -> float:
        """P(the policy answers the question) from assistant.features.answerable_features."""
        logit = ((question_features - self.answerable_mean) / self.answerable_scale) @ self.answerable_weights
        return float(1.0 / (1.0 + np.exp(-np.clip(logit + self.answerable_bias, -30, 30))))

    def weights_by_feature(self) -> dict[str, float]:
        return {name: float(w) for name, w in zip(self.features, self.weights)}
