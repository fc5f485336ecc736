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

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant import guard
from eval.splits import split_of
from eval.vector_classifier import (GOLD, PARAPHRASES, POLICYQA, ROOT, fit_logistic, policyqa_questions,
                                    policyqa_sample, precision_recall, read_jsonl, trainer_args,
                                    write_classifier)
from index.embed import Embedder

HAND_WRITTEN = ROOT / "eval" / "guard_questions.jsonl"
SEED = 15
POLICYQA_PER_POLICY = 30          # benign PolicyQA questions sampled per policy
POLICYQA_HELDOUT_SHARE = 0.3      # share of PolicyQA policies held out whole
VERSION = "guard-lr-1"
# train: fit and choose C and the threshold; heldout: report; fresh: written after the patterns and
# the classifier were frozen, so it measures what the pattern author had not seen.
SPLITS = ("train", "heldout", "fresh")

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


def policyqa_examples(path: Path = POLICYQA, seed: int = SEED) -> list[Example]:
    """Benign PolicyQA questions: a seeded sample per policy; whole policies are held out."""
    return [Example(q, False, "heldout" if held else "train", "policyqa")
            for q, held in policyqa_sample(path, seed, POLICYQA_PER_POLICY, POLICYQA_HELDOUT_SHARE)]


def examples(with_policyqa: bool = True) -> list[Example]:
    out = [Example(r["text"], r["label"] == "injection", r["split"], "written") for r in read_jsonl(HAND_WRITTEN)]
    gold = read_jsonl(GOLD)
    gold_split = {it["id"]: ("train" if split_of(it) == "dev" else "heldout") for it in gold}
    out += [Example(it["question"], it["kind"] == "injection", gold_split[it["id"]], "gold") for it in gold]
    out += [Example(p["question"], False, gold_split[p["source_id"]], "paraphrases") for p in read_jsonl(PARAPHRASES)]
    if with_policyqa and POLICYQA.exists():
        out += policyqa_examples()
    elif with_policyqa:
        print(f"PolicyQA questions absent ({POLICYQA}); training without them", file=sys.stderr)
    return out


def train(data: list[Example], vectors: np.ndarray, seed: int = SEED) -> tuple[dict, dict]:
    """The classifier's own out-of-fold precision sets the threshold, not that of "pattern OR
    classifier": the patterns were written looking at the training phrasings, so on them the
    classifier would look redundant."""
    train_idx = [i for i, e in enumerate(data) if e.split == "train"]
    X, y = vectors[train_idx], np.array([data[i].injection for i in train_idx])
    fit = fit_logistic(X, y, VERSION, seed)
    patterns = np.array([guard.matches_injection_pattern(data[i].text) for i in train_idx])
    combined = patterns | (fit.oof >= fit.params["threshold"])
    return fit.params, {"cv_log_loss": fit.cv_log_loss, "train_oof_combined": precision_recall(list(combined), list(y))}


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
    args = trainer_args(argv, "Train the injection classifier of assistant/guard.py.", guard.CLASSIFIER_FILE)
    data = examples(with_policyqa=not args.no_policyqa)
    vectors = Embedder().embed([e.text for e in data])
    params, notes = train(data, vectors)
    clf = guard.InjectionClassifier.of(params)
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
        questions = policyqa_questions()
        qv = Embedder().embed(questions)
        refused = [q for q, v in zip(questions, qv) if guard.is_injection(q, v, clf)]
        results["policyqa_all_refused"] = {"refused": len(refused), "questions": len(questions)}
        print(f"\nall PolicyQA-dev questions (benign) refused: {len(refused)}/{len(questions)} {refused[:5]}")
    write_classifier(args.out, params, {"examples": counts, **results, **notes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
