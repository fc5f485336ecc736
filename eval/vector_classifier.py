"""What the classifier trainers share (eval/train_guard.py, eval/train_topic.py): a logistic
regression on normalised MiniLM question vectors (scikit-learn, training only), C chosen by
5-fold cross-validation, the threshold set by the out-of-fold precision floor, the PolicyQA
questions sampled as ordinary privacy questions, and the JSON the runtime
(assistant/vector_classifier.py) reads.
"""
from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.jsonl import numbered_objects

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold.jsonl"
PARAPHRASES = ROOT / "eval" / "paraphrases.jsonl"
POLICYQA = ROOT.parent / "shared" / "external" / "policyqa-dev" / "questions.jsonl"
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
# A refused privacy question costs more than a flagged kind of question answered from the
# policies (that answer still only quotes a policy): the threshold keeps out-of-fold precision here.
PRECISION_FLOOR = 0.99
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.95, 0.04, -0.01), 2))  # tried from the top
EMBEDDING = "index.embed.Embedder.embed_query (normalised MiniLM)"


def read_jsonl(path: Path) -> list[dict]:
    return [row for _, row in numbered_objects(path)]


def policyqa_sample(path: Path, seed: int, per_policy: int, heldout_share: float) -> list[tuple[str, bool]]:
    """(question, held out) for a seeded sample of PolicyQA questions per policy; a share of the
    policies is held out whole, so no held-out question shares a policy with a training one."""
    by_policy: dict[str, list[str]] = {}
    for row in read_jsonl(path):
        by_policy.setdefault(row["policy"], []).append(row["question"])
    rng = random.Random(seed)
    policies = sorted(by_policy)
    rng.shuffle(policies)
    held = set(policies[:round(len(policies) * heldout_share)])
    out = []
    for policy in sorted(by_policy):
        questions = sorted(set(by_policy[policy]))
        out += [(q, policy in held) for q in rng.sample(questions, min(per_policy, len(questions)))]
    return out


def policyqa_questions(path: Path = POLICYQA) -> list[str]:
    """Every distinct PolicyQA question, sorted: the ordinary privacy questions a classifier
    must not flag."""
    return sorted({row["question"] for row in read_jsonl(path)})


def precision_recall(predicted: list[bool], actual: list[bool]) -> dict:
    pairs = [(bool(p), bool(a)) for p, a in zip(predicted, actual)]
    tp = sum(p and a for p, a in pairs)
    fp = sum(p and not a for p, a in pairs)
    fn = sum(a and not p for p, a in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "tp": tp, "fp": fp, "fn": fn, "n": len(actual)}


def best_threshold(probs: np.ndarray, labels: np.ndarray, floor: float = PRECISION_FLOOR,
                   thresholds: tuple[float, ...] = THRESHOLDS) -> float:
    """The lowest threshold at which precision stays >= floor at every threshold above it (most
    recall without flagging more ordinary questions than the floor allows)."""
    best = thresholds[0]
    for t in thresholds:
        if precision_recall(list(probs >= t), list(labels))["precision"] < floor:
            break
        best = float(t)
    return best


@dataclass(frozen=True)
class Fit:
    params: dict             # version, C, threshold, intercept, coef: what the runtime loads
    cv_log_loss: dict        # C -> out-of-fold log loss
    oof: np.ndarray          # out-of-fold P(flagged) of the training rows at the chosen C


def fit_logistic(X: np.ndarray, y: np.ndarray, version: str, seed: int, floor: float = PRECISION_FLOOR,
                 thresholds: tuple[float, ...] = THRESHOLDS, c_grid: tuple[float, ...] = C_GRID) -> Fit:
    """C by 5-fold out-of-fold log loss, the threshold from the out-of-fold probabilities at
    that C, then the model refit on all of X."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = {}
    for c in c_grid:
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        oof = cross_val_predict(lr, X, y, cv=folds, method="predict_proba")[:, 1]
        scores[c] = (float(np.mean(-(y * np.log(oof + 1e-9) + (~y) * np.log(1 - oof + 1e-9)))), oof)
    c = min(scores, key=lambda k: scores[k][0])
    threshold = best_threshold(scores[c][1], y, floor, thresholds)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(X, y)
    params = {"version": version, "C": c, "threshold": threshold, "intercept": float(model.intercept_[0]),
              "coef": [round(float(w), 6) for w in model.coef_[0]]}
    return Fit(params, {str(k): round(v[0], 4) for k, v in scores.items()}, scores[c][1])


def trainer_args(argv: list[str] | None, description: str, out: Path) -> argparse.Namespace:
    """A trainer's command line: --out (the shipped file by default) and --no-policyqa."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", type=Path, default=out)
    ap.add_argument("--no-policyqa", action="store_true", help="train without ../shared PolicyQA questions")
    return ap.parse_args(argv)


def write_classifier(path: Path, params: dict, report: dict) -> None:
    """The runtime's parameters first, then what was measured."""
    path.write_text(json.dumps({**params, "embedding": EMBEDDING, **report}, indent=1) + "\n")
    print(f"wrote {path}")
