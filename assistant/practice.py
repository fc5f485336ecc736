"""Which privacy practice a question asks about, and which practices a passage states.

Two linear heads over the normalised MiniLM vectors the index already holds, fit by
``python -m eval.train_ranker`` on PolicyQA-dev (OPP-115 practice annotations) with folds by
policy: a softmax over practices for questions, and an independent probability per practice
for passages. Applied with numpy alone; the weights ship in assistant/models/practice.npz.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "models" / "practice.npz"
# OPP-115 categories, with First Party Collection/Use split into what is collected and what it
# is used for, and International and Specific Audiences into children and the rest.
LABELS = ("collect", "use", "share", "choice", "access", "retention", "security", "children",
          "international", "change", "dnt")


def label_of(practice_type: str) -> str | None:
    """The practice label of an OPP-115 type string ``category|||attribute|||value``."""
    category, attribute, value = (practice_type.split("|||") + ["", ""])[:3]
    if category == "First Party Collection/Use":
        return "use" if attribute == "Purpose" else "collect"
    if category == "International and Specific Audiences":
        return "children" if value == "Children" else "international"
    return {"Third Party Sharing/Collection": "share", "User Choice/Control": "choice",
            "User Access, Edit and Deletion": "access", "Data Retention": "retention",
            "Data Security": "security", "Policy Change": "change", "Do Not Track": "dnt"}.get(category)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass(frozen=True)
class PracticeModel:
    labels: tuple[str, ...]
    question_weights: np.ndarray   # (dim, labels)
    question_bias: np.ndarray      # (labels,)
    unit_weights: np.ndarray       # (dim, labels)
    unit_bias: np.ndarray          # (labels,)
    validation_policies: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> "PracticeModel":
        with np.load(path, allow_pickle=False) as data:
            return cls(labels=tuple(str(x) for x in data["labels"]),
                       question_weights=data["question_weights"], question_bias=data["question_bias"],
                       unit_weights=data["unit_weights"], unit_bias=data["unit_bias"],
                       validation_policies=tuple(str(x) for x in data["validation_policies"]))

    def save(self, path: Path | str = MODEL_PATH) -> None:
        np.savez_compressed(path, labels=np.array(self.labels), question_weights=self.question_weights,
                            question_bias=self.question_bias, unit_weights=self.unit_weights,
                            unit_bias=self.unit_bias, validation_policies=np.array(self.validation_policies))

    def question_probs(self, vectors: np.ndarray) -> np.ndarray:
        """(n, labels): how likely each question asks about each practice (rows sum to 1)."""
        logits = np.atleast_2d(vectors) @ self.question_weights + self.question_bias
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def unit_probs(self, vectors: np.ndarray) -> np.ndarray:
        """(n, labels): how likely each passage states each practice (independent)."""
        return _sigmoid(np.atleast_2d(vectors) @ self.unit_weights + self.unit_bias)
