"""Train the off-topic screen of assistant/topic_screen.py: `python -m eval.train_topic`.

Data (label off_topic/on_topic, split train/heldout); no gold or paraphrase test item is read:
- eval/offtopic_questions.jsonl: hand-written questions about anything but privacy policies
  (weather, recipes, code, shopping, sport, maths, travel, health, chit-chat …) and on-topic near
  misses that sound off-topic ("does the vpn feature log my traffic?"); split once with
  random.Random(7), a quarter of each label held out;
- eval/gold.jsonl, dev split only: the items in GOLD_OFF_TOPIC are off-topic, every other
  non-injection item on-topic (train);
- eval/paraphrases.jsonl, dev split only: on-topic (train);
- eval/guard_questions.jsonl: its benign questions, on-topic but for GUARD_OFF_TOPIC (train
  stays train, heldout and fresh are held out);
- ../shared PolicyQA-dev questions (on-topic; a sample per policy, whole policies held out), when present.
On-topic questions that name a bundled policy are added once more without the name, as the
pipeline embeds the question's topic (assistant/route.topic_of leaves the scoped policy's name out).
Model, C and threshold as eval/vector_classifier.py does them: the threshold is the lowest that
keeps out-of-fold precision of "off-topic" >= 0.99. Reports held-out precision/recall and the
false refusals on every PolicyQA question, the gold dev answerable questions and the dev
paraphrases. Writes assistant/data/offtopic_classifier.json; seeded, about a minute on 2 CPUs.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import numpy as np

from assistant import topic_screen
from assistant.vector_classifier import VectorClassifier
from eval.splits import split_of
from eval.vector_classifier import (GOLD, PARAPHRASES, POLICYQA, ROOT, fit_logistic, policyqa_sample,
                                    precision_recall, read_jsonl, trainer_args, write_classifier)
from index.embed import Embedder

WRITTEN = ROOT / "eval" / "offtopic_questions.jsonl"
GUARD_QUESTIONS = ROOT / "eval" / "guard_questions.jsonl"
SEED = 23
POLICYQA_PER_POLICY = 30          # PolicyQA questions sampled per policy
POLICYQA_HELDOUT_SHARE = 0.3      # share of PolicyQA policies held out whole
VERSION = "topic-lr-1"
# Tried from the top, finer than the guard's: the first data set already fell under the floor at 0.95.
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.995, 0.045, -0.005), 3))
LABELS = ("off_topic", "on_topic")
SPLITS = ("train", "heldout")
# Gold dev items about nothing a privacy policy says: weather, a capital, a stock price, a VPN
# to buy. unans-17 (what a session costs on AloPal) is about the service, not its policy: left out.
GOLD_OFF_TOPIC = {"unans-04", "unans-06", "unans-14", "unans-15"}
GOLD_LEFT_OUT = {"unans-17"}
# The guard's benign questions that are not about a policy either ("tell me a joke about
# privacy" is neither: left out).
GUARD_OFF_TOPIC = {"what's the capital of France?", "recommend me a good vpn pls", "write me a poem",
                   "what's the weather in Paris"}
GUARD_LEFT_OUT = {"tell me a joke about privacy"}
# The bundled policies' names as users write them: left out of a question as topic_of does.
POLICY_NAME_RE = re.compile(r"\b(alibaba|aliexpress|alopal|alipartnership|podpartner)(['’]s)?\b", re.I)


@dataclass(frozen=True)
class Example:
    text: str
    off_topic: bool
    split: str        # "train" | "heldout"
    source: str


def without_policy_names(text: str) -> str:
    return " ".join(POLICY_NAME_RE.sub(" ", text).split())


def gold_dev() -> list[dict]:
    return [it for it in read_jsonl(GOLD) if split_of(it) == "dev"]


def examples(with_policyqa: bool = True) -> list[Example]:
    """Every example once (the first source to bring a text decides its label and split)."""
    out = [Example(r["text"], r["label"] == "off_topic", r["split"], "written") for r in read_jsonl(WRITTEN)]
    gold = [it for it in gold_dev() if it["kind"] != "injection" and it["id"] not in GOLD_LEFT_OUT]
    out += [Example(it["question"], it["id"] in GOLD_OFF_TOPIC, "train", "gold") for it in gold]
    out += [Example(p["question"], p["source_id"] in GOLD_OFF_TOPIC, "train", "paraphrases")
            for p in read_jsonl(PARAPHRASES) if split_of(p) == "dev"]
    out += [Example(r["text"], r["text"] in GUARD_OFF_TOPIC, "train" if r["split"] == "train" else "heldout",
                    "guard") for r in read_jsonl(GUARD_QUESTIONS)
            if r["label"] == "benign" and r["text"] not in GUARD_LEFT_OUT]
    out += [Example(without_policy_names(e.text), False, e.split, e.source + " unnamed")
            for e in out if not e.off_topic and without_policy_names(e.text) != e.text]
    if with_policyqa and POLICYQA.exists():
        out += [Example(q, False, "heldout" if held else "train", "policyqa")
                for q, held in policyqa_sample(POLICYQA, SEED, POLICYQA_PER_POLICY, POLICYQA_HELDOUT_SHARE)]
    elif with_policyqa:
        print(f"PolicyQA questions absent ({POLICYQA}); training without them", file=sys.stderr)
    seen: dict[str, Example] = {}
    for e in out:
        if e.text in seen and seen[e.text].off_topic != e.off_topic:
            raise ValueError(f"{e.text!r} is labelled both ways ({seen[e.text].source}, {e.source})")
        seen.setdefault(e.text, e)
    return list(seen.values())


def false_refusals(clf: VectorClassifier, questions: list[str], embedder: Embedder) -> dict:
    """Privacy questions the screen refuses, counted per question asked, each also asked without
    the policy names."""
    asked = questions + [u for u in map(without_policy_names, questions) if u not in questions]
    unique = sorted(set(asked))
    flagged = {q for q, v in zip(unique, embedder.embed(unique)) if clf.flags(v)}
    return {"refused": sum(q in flagged for q in asked), "questions": len(asked), "which": sorted(flagged)}


def _summary(r: dict) -> str:
    return f"precision {r['precision']:.3f} recall {r['recall']:.3f} (tp {r['tp']} fp {r['fp']} fn {r['fn']})"


def main(argv: list[str] | None = None) -> int:
    args = trainer_args(argv, "Train the off-topic screen of assistant/topic_screen.py.", topic_screen.CLASSIFIER_FILE)
    data = examples(with_policyqa=not args.no_policyqa)
    embedder = Embedder()
    vectors = embedder.embed([e.text for e in data])
    train = [i for i, e in enumerate(data) if e.split == "train"]
    y = np.array([data[i].off_topic for i in train])
    fit = fit_logistic(vectors[train], y, VERSION, SEED, thresholds=THRESHOLDS)
    clf = VectorClassifier.of(fit.params)
    counts = {f"{s}_{lab}": sum(e.split == s and e.off_topic == (lab == "off_topic") for e in data)
              for s in SPLITS for lab in LABELS}
    print(f"examples: {counts}; C={fit.params['C']} threshold={fit.params['threshold']}")
    oof = precision_recall(list(fit.oof >= fit.params["threshold"]), list(y))
    held = [i for i, e in enumerate(data) if e.split == "heldout"]
    predicted = [clf.flags(vectors[i]) for i in held]
    heldout = precision_recall(predicted, [data[i].off_topic for i in held])
    print("train out-of-fold", _summary(oof))
    print("out-of-fold false refusals:", [(data[i].text, round(float(p), 3)) for i, p in zip(train, fit.oof)
                                          if p >= fit.params["threshold"] and not data[i].off_topic])
    print("held out         ", _summary(heldout))
    print("held-out misses:", [data[i].text for i, p in zip(held, predicted) if data[i].off_topic and not p])
    print("held-out false refusals:", [data[i].text for i, p in zip(held, predicted) if p and not data[i].off_topic])
    checks = {"gold_dev_answerable": [it["question"] for it in gold_dev() if it["answerable"]],
              "paraphrases_dev": [p["question"] for p in read_jsonl(PARAPHRASES) if split_of(p) == "dev"]}
    if POLICYQA.exists() and not args.no_policyqa:
        checks["policyqa_all"] = [r["question"] for r in read_jsonl(POLICYQA)]
    refusals = {}
    for name, questions in checks.items():
        refusals[name] = false_refusals(clf, questions, embedder)
        r = refusals[name]
        print(f"false refusals, {name}: {r['refused']}/{r['questions']} {r['which'][:10]}")
    write_classifier(args.out, fit.params, {"examples": counts, "cv_log_loss": fit.cv_log_loss,
                                            "train_oof": oof, "heldout": heldout, "false_refusals": refusals})
    return 0


if __name__ == "__main__":
    sys.exit(main())
