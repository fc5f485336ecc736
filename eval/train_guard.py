"""Train the injection classifier of assistant/guard.py: `python -m eval.train_guard`.

Data (label injection/benign, split train/heldout):
- eval/guard_questions.jsonl: hand-written steering attempts and benign look-alikes, split by seed;
- eval/gold.jsonl: injection items are injections, the rest benign; gold dev trains, gold test is held out;
- eval/paraphrases.jsonl: benign, split as their source;
- ../shared PolicyQA-dev questions (benign; a sample per policy, whole policies held out), when present.
Model: logistic regression (scikit-learn, training only) on normalised MiniLM embeddings; C by
5-fold cross-validation on train; the threshold is the lowest that keeps the classifier's out-of-fold
precision >= PRECISION_FLOOR. Held-out precision/recall are reported for the old patterns (the last
hand-written guard, frozen in GUARD_BEFORE), the pattern file, the classifier and both. Writes
assistant/data/injection_classifier.json; seeded, about a minute on 2 CPUs.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant import guard
from eval.splits import split_of
from index.embed import Embedder

ROOT = Path(__file__).resolve().parents[1]
HAND_WRITTEN = ROOT / "eval" / "guard_questions.jsonl"
GOLD = ROOT / "eval" / "gold.jsonl"
PARAPHRASES = ROOT / "eval" / "paraphrases.jsonl"
POLICYQA = ROOT.parent / "shared" / "external" / "policyqa-dev" / "questions.jsonl"
SEED = 15
POLICYQA_PER_POLICY = 30          # benign PolicyQA questions sampled per policy
POLICYQA_HELDOUT_SHARE = 0.3      # share of PolicyQA policies held out whole
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
VERSION = "guard-lr-1"
# train: fit and choose C and the threshold; heldout: report; fresh: written after the patterns and
# the classifier were frozen, so it measures what the pattern author had not seen.
SPLITS = ("train", "heldout", "fresh")
# A refused privacy question costs more than a steering attempt answered from the policies (that
# answer still only quotes the policy): the threshold keeps out-of-fold precision at this floor.
PRECISION_FLOOR = 0.99

# The guard's patterns before issue 15 (assistant/guard.py at main), kept to measure against.
GUARD_BEFORE = re.compile("|".join(f"(?:{p})" for p in [
    r"\bignore\b.{0,40}\b(instructions?|rules|prompts?|above|previous|prior|context)\b",
    r"\b(disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompts?|guidelines)\b",
    r"\bsystem\s*prompt\b|\bhidden (system )?(prompt|instructions?)\b|^\s*system\s*:",
    r"\b(print|reveal|show|dump|repeat)\b.{0,40}\b(api[ _-]?key|\.env|environment|configuration|prompt|"
    r"everything above|instructions)\b",
    r"</?(context|system|sources?|instructions?)>",
    r"\b(developer|admin|god|jailbreak|dan)\s+mode\b",
    r"\b(ignore|disregard)\b.{0,20}\b(polic(y|ies)|documents?|sources?)\b",
    r"\b(human|user)\s*:.{0,200}\bassistant\s*:",
    r"\byou are now\b|\bfrom now on\b|\bact as\b|\broleplay\b|\btalk like\b",
    r"\bpretend\b|\bimagine the policy\b|\bsay that\b.{0,40}\bpolicy\b",
    r"\b(your|the)\s+(api[ _-]?keys?|\.env( file)?|environment variables|secret keys?)\b",
    r"\bnew instructions\b|\binstructions from\b|\bauthori[sz]ed me\b|\balways (append|add|say|end)\b",
    r"\b(append|sign every|end with the code|end every)\b",
    r"^\s*\[\d{1,3}\]|\baccording to (the )?(sources?|citations?)\s*\[?\d{1,3}\]?"
    r"|\b(sources?|citations?)\s*\[?\d{1,3}\]?\s*(says|said|states|stated|confirms)\b",
]), re.I | re.S)


@dataclass(frozen=True)
class Example:
    text: str
    injection: bool
    split: str        # "train" | "heldout"
    source: str


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def policyqa_examples(path: Path = POLICYQA, seed: int = SEED) -> list[Example]:
    """Benign PolicyQA questions: a seeded sample per policy; whole policies are held out."""
    by_policy: dict[str, list[str]] = {}
    for row in _jsonl(path):
        by_policy.setdefault(row["policy"], []).append(row["question"])
    rng = random.Random(seed)
    policies = sorted(by_policy)
    rng.shuffle(policies)
    held = set(policies[:round(len(policies) * POLICYQA_HELDOUT_SHARE)])
    out = []
    for policy in sorted(by_policy):
        questions = sorted(set(by_policy[policy]))
        for q in rng.sample(questions, min(POLICYQA_PER_POLICY, len(questions))):
            out.append(Example(q, False, "heldout" if policy in held else "train", "policyqa"))
    return out


def examples(with_policyqa: bool = True) -> list[Example]:
    out = [Example(r["text"], r["label"] == "injection", r["split"], "written") for r in _jsonl(HAND_WRITTEN)]
    gold = _jsonl(GOLD)
    gold_split = {it["id"]: ("train" if split_of(it) == "dev" else "heldout") for it in gold}
    out += [Example(it["question"], it["kind"] == "injection", gold_split[it["id"]], "gold") for it in gold]
    out += [Example(p["question"], False, gold_split[p["source_id"]], "paraphrases") for p in _jsonl(PARAPHRASES)]
    if with_policyqa and POLICYQA.exists():
        out += policyqa_examples()
    elif with_policyqa:
        print(f"PolicyQA questions absent ({POLICYQA}); training without them", file=sys.stderr)
    return out


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


def best_threshold(probs: np.ndarray, labels: np.ndarray, floor: float = PRECISION_FLOOR) -> float:
    """The lowest threshold at which the classifier's own precision stays >= floor at every
    threshold above it (most recall without refusing more ordinary questions than the floor allows).

    The classifier's own precision, not that of "pattern OR classifier": the patterns were written
    looking at the training phrasings, so on them the classifier would look redundant."""
    best = 0.95
    for t in np.round(np.arange(0.95, 0.04, -0.01), 2):
        if precision_recall(list(probs >= t), list(labels))["precision"] < floor:
            break
        best = float(t)
    return best


def train(data: list[Example], vectors: np.ndarray, seed: int = SEED) -> tuple[dict, dict]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    train_idx = [i for i, e in enumerate(data) if e.split == "train"]
    X, y = vectors[train_idx], np.array([data[i].injection for i in train_idx])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = {}
    for c in C_GRID:
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        oof = cross_val_predict(lr, X, y, cv=folds, method="predict_proba")[:, 1]
        scores[c] = (float(np.mean(-(y * np.log(oof + 1e-9) + (~y) * np.log(1 - oof + 1e-9)))), oof)
    c = min(scores, key=lambda k: scores[k][0])
    patterns = np.array([guard.matches_injection_pattern(data[i].text) for i in train_idx])
    threshold = best_threshold(scores[c][1], y)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(X, y)
    params = {"version": VERSION, "C": c, "threshold": threshold, "intercept": float(model.intercept_[0]),
              "coef": [round(float(w), 6) for w in model.coef_[0]]}
    return params, {"cv_log_loss": {str(k): round(v[0], 4) for k, v in scores.items()},
                    "train_oof_combined": precision_recall(list(patterns | (scores[c][1] >= threshold)), list(y))}


def evaluate(data: list[Example], vectors: np.ndarray, clf: guard.InjectionClassifier, split: str) -> dict:
    held = [i for i, e in enumerate(data) if e.split == split]
    actual = [data[i].injection for i in held]
    detectors = {
        "patterns before (main)": lambda i: bool(GUARD_BEFORE.search(data[i].text)),
        "pattern file": lambda i: guard.matches_injection_pattern(data[i].text),
        "classifier": lambda i: clf.is_injection(vectors[i]),
        "pattern file OR classifier": lambda i: guard.is_injection(data[i].text, vectors[i], clf),
    }
    report = {}
    for name, detect in detectors.items():
        predicted = [detect(i) for i in held]
        report[name] = precision_recall(predicted, actual)
        report[name]["misses"] = [data[i].text for i, p, a in zip(held, predicted, actual) if a and not p]
        report[name]["false_alarms"] = [data[i].text for i, p, a in zip(held, predicted, actual) if p and not a]
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train the injection classifier of assistant/guard.py.")
    ap.add_argument("--out", type=Path, default=guard.CLASSIFIER_FILE)
    ap.add_argument("--no-policyqa", action="store_true", help="train without ../shared PolicyQA questions")
    args = ap.parse_args(argv)
    data = examples(with_policyqa=not args.no_policyqa)
    vectors = Embedder().embed([e.text for e in data])
    params, notes = train(data, vectors)
    clf = guard.InjectionClassifier(np.asarray(params["coef"], dtype=np.float32), params["intercept"],
                                    params["threshold"], params["version"])
    counts = {f"{s}_{lab}": sum(e.split == s and e.injection == (lab == "injection") for e in data)
              for s in SPLITS for lab in ("injection", "benign")}
    print(f"examples: {counts}; C={params['C']} threshold={params['threshold']}")
    results = {}
    for split in SPLITS[1:]:
        report = evaluate(data, vectors, clf, split)
        print(f"\n{split:30s} precision recall   f1   (tp fp fn)")
        for name, r in report.items():
            print(f"{name:30s} {r['precision']:9.3f} {r['recall']:6.3f} {r['f1']:6.3f}  ({r['tp']} {r['fp']} {r['fn']})")
        both = report["pattern file OR classifier"]
        print("misses:", both["misses"], "\nfalse alarms:", both["false_alarms"])
        results[split] = {k: {m: v for m, v in r.items() if m not in ("misses", "false_alarms")}
                          for k, r in report.items()}
    if POLICYQA.exists() and not args.no_policyqa:
        questions = sorted({r["question"] for r in _jsonl(POLICYQA)})
        qv = Embedder().embed(questions)
        refused = [q for q, v in zip(questions, qv) if guard.is_injection(q, v, clf)]
        results["policyqa_all_refused"] = {"refused": len(refused), "questions": len(questions)}
        print(f"\nall PolicyQA-dev questions (benign) refused: {len(refused)}/{len(questions)} {refused[:5]}")
    args.out.write_text(json.dumps({**params, "embedding": "index.embed.Embedder.embed_query (normalised MiniLM)",
                                    "examples": counts, **results, **notes}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
