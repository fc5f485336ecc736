"""python -m eval.train_ranker: fit the practice heads and the evidence ranker; choose thresholds.

Reproducible (seeded) and offline. Data: PolicyQA-dev (../shared/external/policyqa-dev) with
folds by policy — fold VALIDATION_FOLD is held out of everything shipped — and the dev split of
eval/gold.jsonl. Steps:

1. index the PolicyQA policies and the bundled corpus into a work folder (real pipeline);
2. practice heads (question → practice, passage → practices) on the training folds; passages
   of each training fold get probabilities from heads fit without that fold (cross-fitting);
3. candidate features for every training question through Assistant.candidates (the same
   code that answers), labelled by overlap with the gold spans;
   the match map (assistant/match.py, eval/fit_match.py) is cross-fitted the same way: each
   fold's match features come from a map fit without that fold;
4. gradient-boosted trees on them (out of fold they beat logistic regression and a listwise
   softmax: docs/quality.md), exported to the model file and applied with numpy; thresholds
   (abstain, cite) chosen on out-of-fold probabilities;
5. assistant/models/practice.npz, match.npz and ranker.json, with their provenance.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import index  # noqa: F401  (offline switches)
from assistant.features import FEATURES, MATCH_COLUMNS, answerable_features, match_columns
from assistant.match import MODEL_PATH as MATCH_PATH, MatchModel
from assistant.pipeline import Assistant
from assistant.practice import LABELS, MODEL_PATH as PRACTICE_PATH, PracticeModel, label_of
from assistant.ranker import MODEL_PATH as RANKER_PATH, Ranker, Thresholds, Trees
from assistant.retrieve import Retriever
from eval import policyqa
from eval.fit_match import EPOCHS, GOLD_WEIGHT as MATCH_GOLD_WEIGHT, L2, fit_match
from eval.metrics import COVER, EvidenceNotFound, coverage, locate_evidence
from eval.runner import load_gold
from index.config import BUNDLED_CORPUS
from index.embed import Embedder
from index.pipeline import Indexer
from index.store import Store, open_client

SEED = 115
GOLD_WEIGHTS = (3.0, 10.0, 30.0, 100.0)  # a gold dev question weighs as much as this many PolicyQA questions
ABSTAIN_AT_MOST = 0.025  # out-of-fold PolicyQA abstentions allowed (every PolicyQA question has an answer)
PRACTICE_HIT_AT_LEAST = 0.60  # out-of-fold PolicyQA practice hit the citing thresholds must keep (the target)
POLICYQA_KEEP = 0.90     # the chosen weight keeps this share of the best out-of-fold PolicyQA top-1 hit rate
BOOSTING = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 50,
            "l2_regularization": 1.0, "early_stopping": False, "random_state": SEED}
C_PRACTICE = 4.0


@dataclass
class Sample:
    """One training question's candidates."""

    source: str                 # "policyqa" or "gold"
    group: int                  # fold (policyqa) or -1 (gold)
    qid: str
    answerable: bool
    features: np.ndarray
    labels: np.ndarray          # 1 where the candidate overlaps a gold span
    chars: np.ndarray           # the candidates' lengths
    question: object = None     # assistant.features.Question
    terms: list = None          # the candidates' content terms
    spans: np.ndarray = None    # (candidates, 2) the candidates' start/end in the policy text
    gold: list = None           # the gold spans [(start, end)] (for metric-shaped objectives)
    vectors: np.ndarray = None  # (candidates, dim) the candidates' unit vectors


def build_index(db: Path, paths: list[Path], embedder):
    store = Store(open_client(db))
    Indexer(store, lambda: embedder).run(paths)
    return Store(open_client(db))


def unit_practice_labels(store, questions: list[policyqa.PQuestion]) -> dict[str, tuple[list, np.ndarray, np.ndarray]]:
    """Per policy: (unit rows, vectors, 0/1 labels (units × LABELS)) from the annotated segments."""
    segments: dict[str, dict[str, set]] = {}
    for q in questions:
        label = label_of(q.type)
        if label:
            segments.setdefault(q.policy, {}).setdefault(label, set()).update(q.type_segments)
    out = {}
    for pid, gen in store.generations().items():
        rows, vectors = store.unit_rows_of(gen)
        y = np.zeros((len(rows), len(LABELS)), dtype=np.float32)
        for i, (unit, _) in enumerate(rows):
            for j, label in enumerate(LABELS):
                if policyqa.overlaps(unit.start, unit.end, segments.get(pid, {}).get(label, ())):
                    y[i, j] = 1.0
        out[pid] = (rows, vectors, y)
    return out


def fit_practice(unit_x: np.ndarray, unit_y: np.ndarray, q_x: np.ndarray, q_y: list[str],
                 validation: tuple[str, ...] = ()) -> PracticeModel:
    from sklearn.linear_model import LogisticRegression

    dim = unit_x.shape[1]
    uw, ub = np.zeros((dim, len(LABELS)), np.float32), np.full(len(LABELS), -6.0, np.float32)
    for j in range(len(LABELS)):
        if unit_y[:, j].sum() >= 3:
            m = LogisticRegression(C=C_PRACTICE, max_iter=2000).fit(unit_x, unit_y[:, j])
            uw[:, j], ub[j] = m.coef_[0], m.intercept_[0]
    qm = LogisticRegression(C=C_PRACTICE, max_iter=2000).fit(q_x, q_y)
    qw, qb = np.zeros((dim, len(LABELS)), np.float32), np.full(len(LABELS), -20.0, np.float32)
    for k, label in enumerate(qm.classes_):
        j = LABELS.index(label)
        qw[:, j], qb[j] = qm.coef_[k], qm.intercept_[k]
    return PracticeModel(LABELS, qw, qb, uw, ub, validation)


def candidate_samples(assistant, embedder, items, source: str, group: int, spans_of) -> list[Sample]:
    """Features and labels of each question's candidates, through the answering code."""
    out = []
    topics = [assistant.topic(question, (pid,)) for _, question, pid, _ in items]
    vectors = embedder.embed(topics) if topics else []
    for (qid, question, pid, answerable), topic, vector in zip(items, topics, vectors):
        gold = spans_of(qid)
        for table, rows, features, _, q in assistant.candidates(topic, vector, pid):
            labels = np.array([1.0 if policyqa.overlaps(table.units[i].start, table.units[i].end, gold) else 0.0
                               for i in rows.tolist()], dtype=np.float32)
            chars = np.array([len(table.units[i].text) for i in rows.tolist()], dtype=np.float32)
            spans = np.array([(table.units[i].start, table.units[i].end) for i in rows.tolist()], dtype=np.int64)
            out.append(Sample(source, group, qid, answerable, features, labels, chars, q,
                              [table.terms[i] for i in rows.tolist()], spans.reshape(-1, 2), list(gold),
                              table.vectors[rows]))
    return out


def fit_ranker(samples: list[Sample], gold_weight: float) -> Ranker:
    """Boosted trees on the candidates; each question weighs the same (a gold one gold_weight)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.vstack([s.features for s in samples])
    y = np.concatenate([s.labels for s in samples])
    w = np.concatenate([np.full(len(s.labels), (gold_weight if s.source == "gold" else 1.0) / max(1, len(s.labels)))
                        for s in samples])
    w *= len(w) / w.sum()
    m = HistGradientBoostingClassifier(**BOOSTING).fit(x, y, sample_weight=w)
    n = len(FEATURES)
    return Ranker(FEATURES, np.zeros(n, np.float32), np.ones(n, np.float32), np.zeros(n, np.float32),
                  float(np.ravel(m._baseline_prediction)[0]), trees=trees_of(m))


def trees_of(model) -> Trees:
    """A fitted HistGradientBoostingClassifier's trees as flat arrays (its leaf values already
    carry the learning rate)."""
    nodes = [predictors[0].nodes for predictors in model._predictors]
    starts = np.cumsum([0] + [len(n) for n in nodes[:-1]])
    flat = np.concatenate(nodes)
    offset = np.concatenate([np.full(len(n), start) for n, start in zip(nodes, starts)])
    leaf = flat["is_leaf"].astype(bool)
    return Trees(np.where(leaf, -1, flat["feature_idx"]).astype(np.int32), flat["num_threshold"].astype(np.float64),
                 flat["missing_go_to_left"].astype(bool), np.where(leaf, 0, flat["left"] + offset).astype(np.int32),
                 np.where(leaf, 0, flat["right"] + offset).astype(np.int32), flat["value"].astype(np.float64),
                 starts.astype(np.int32), int(flat["depth"].max()))


def pick(s: Sample, p: np.ndarray, th: Thresholds) -> list[int]:
    """The candidates select_likely would cite (same rule, on arrays)."""
    order = np.argsort(-p, kind="stable")
    chosen, chars = [int(order[0])], float(s.chars[order[0]])
    for i in order[1:]:
        if len(chosen) >= th.max_units or p[i] < th.cite_above or p[i] < th.cite_ratio * p[order[0]]:
            break
        if chars + s.chars[i] > th.max_chars:
            continue
        chosen.append(int(i))
        chars += float(s.chars[i])
    return chosen


def cross_fit_match(samples: list[Sample], folds: list[int]) -> dict:
    """Replace each sample's match features by those of a map fit without its fold; how often
    the match alone puts a gold unit first, out of fold, against MiniLM's cosine."""
    for fold in folds:
        model = fit_match([s for s in samples if s.group != fold], seed=SEED)
        for s in samples:
            if s.group == fold:
                s.features[:, MATCH_COLUMNS] = match_columns(model.question(s.question.vector), s.vectors)
    col = {name: i for i, name in enumerate(FEATURES)}
    report = {}
    for source in ("policyqa", "gold"):
        rows = [s for s in samples if s.source == source and s.answerable and s.labels.any()]
        for name in ("dense", "match"):
            hits = [float(s.labels[int(np.argmax(s.features[:, col[name]]))]) for s in rows]
            report[f"{source}_top1_{name}"] = round(float(np.mean(hits)), 4) if hits else None
    return report


def out_of_fold(samples: list[Sample], folds: list[int], gold_weight: float) -> list[tuple[Sample, np.ndarray]]:
    """Each sample's candidate probabilities from a ranker fit without its fold."""
    oof = []
    for fold in folds:
        model = fit_ranker([s for s in samples if s.group != fold and s.answerable], gold_weight)
        oof += [(s, model.probabilities(s.features)) for s in samples if s.group == fold]
    return oof


def top1_hits(oof: list[tuple[Sample, np.ndarray]], source: str) -> float:
    hits = [float(s.labels[int(np.argmax(p))]) for s, p in oof
            if s.source == source and s.answerable and s.labels.any()]
    return float(np.mean(hits)) if hits else 0.0


def choose_gold_weight(samples: list[Sample], folds: list[int]) -> tuple[float, list[tuple[Sample, np.ndarray]], dict]:
    """The weight of gold dev against PolicyQA: the best out-of-fold gold top-1 hit rate among
    the weights that keep POLICYQA_KEEP of the best PolicyQA one (the two sets ask differently:
    PolicyQA generically, per practice; gold specifically)."""
    runs = {gw: out_of_fold(samples, folds, gw) for gw in GOLD_WEIGHTS}
    scores = {gw: (top1_hits(oof, "policyqa"), top1_hits(oof, "gold")) for gw, oof in runs.items()}
    floor = POLICYQA_KEEP * max(p for p, _ in scores.values())
    best = max((gw for gw, (p, _) in scores.items() if p >= floor), key=lambda gw: (scores[gw][1], -gw))
    return best, runs[best], {str(gw): {"policyqa_top1": round(p, 4), "gold_top1": round(g, 4)}
                              for gw, (p, g) in scores.items()}


def cite_score(s: Sample, chosen: list[int]) -> float:
    """What the targets measure of one answer's citations: on PolicyQA the practice hit (a
    cited passage overlaps a span of the asked practice); on gold the mean of citation recall
    (gold spans at least half covered) and citation precision (eval/metrics.py)."""
    if s.source != "gold" or not s.gold:
        return float(s.labels[chosen].max())
    cited = [tuple(s.spans[i]) for i in chosen]
    recall = float(np.mean([coverage(g, cited) >= COVER for g in s.gold]))
    return 0.5 * recall + 0.5 * float(s.labels[chosen].mean())


def choose_citing(oof: list[tuple[Sample, np.ndarray]], base: Thresholds) -> tuple[Thresholds, dict]:
    """cite_above/cite_ratio: the best out-of-fold gold dev cite_score among those that keep the
    PolicyQA practice hit at least PRACTICE_HIT_AT_LEAST (the abstention threshold follows the
    same rule); where none does, the best mean of the two (the best PolicyQA one alone would
    cite three passages whenever it can, at any cost to precision)."""
    def quality(th: Thresholds) -> dict[str, float]:
        by_source: dict[str, list[float]] = {}
        for s, p in oof:
            if not s.answerable or not len(p) or not s.labels.any():
                continue
            by_source.setdefault(s.source, []).append(cite_score(s, pick(s, p, th)))
        return {k: float(np.mean(v)) for k, v in by_source.items()}

    grid = [(a, r) for a in (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4) for r in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]
    scores = {ar: quality(replace(base, cite_above=ar[0], cite_ratio=ar[1])) for ar in grid}

    def rank(ar):
        q = scores[ar]
        kept = q.get("policyqa", 1.0) >= PRACTICE_HIT_AT_LEAST
        return (kept, q.get("gold", 0.0) if kept else (q.get("gold", 0.0) + q.get("policyqa", 0.0)) / 2)

    best = max(grid, key=rank)
    return replace(base, cite_above=best[0], cite_ratio=best[1]), {k: round(v, 4) for k, v in scores[best].items()}


def fit_answerable(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    m = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit((x - mean) / scale, y)
    return mean, scale, m.coef_[0], float(m.intercept_[0])


def choose_abstention(rows: list[tuple[Sample, np.ndarray]], groups: list[int]) -> tuple[tuple, float, dict]:
    """The answerable model (fit on question-level features of out-of-fold rankings) and its
    threshold: the one best for gold dev abstention accuracy among those that keep out-of-fold
    PolicyQA abstentions at most ABSTAIN_AT_MOST."""
    x = np.array([answerable_features(s.question, s.features, p, s.terms) for s, p in rows])
    y = np.array([1 if s.answerable else 0 for s, _ in rows])
    g = np.array(groups)
    oof = np.zeros(len(rows))
    for fold in sorted(set(groups)):
        mean, scale, w, b = fit_answerable(x[g != fold], y[g != fold])
        oof[g == fold] = 1 / (1 + np.exp(-(((x[g == fold] - mean) / scale) @ w + b)))
    pqa = np.array([s.source == "policyqa" for s, _ in rows])

    def score(t: float) -> float:
        gold_acc = float(((oof[~pqa] >= t) == (y[~pqa] == 1)).mean()) if (~pqa).any() else 1.0
        return gold_acc - (10.0 if (oof[pqa] < t).mean() > ABSTAIN_AT_MOST else 0.0)

    # among equally good thresholds the highest: the PolicyQA limit already guards answerable questions
    t = float(max(np.round(np.arange(0.05, 0.95, 0.01), 2), key=lambda t: (score(t), t)))
    report = {"policyqa_oof_abstain": round(float((oof[pqa] < t).mean()), 4),
              "gold_dev_oof_abstention_accuracy": round(float(((oof[~pqa] >= t) == (y[~pqa] == 1)).mean()), 4)}
    return fit_answerable(x, y), t, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_ranker", description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="work folder for the indexes (kept; default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RANKER_PATH.parent, help="where the model files go")
    parser.add_argument("--policyqa", type=Path, default=None, help="PolicyQA-dev folder")
    parser.add_argument("--dump", type=Path, help="also pickle the training candidates (Sample list) to this file")
    parser.add_argument("--max-policyqa", type=int, default=2000, help="PolicyQA training questions used (seeded sample)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        questions = policyqa.load_questions(args.policyqa)
    except policyqa.PolicyQAMissing as exc:
        print(f"train_ranker: {exc}", file=sys.stderr)
        return 2
    embedder = Embedder()
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="policychat-train-")
    work = args.work or Path(tmp.name)
    pqa_store = build_index(work / "policyqa", policyqa.policy_files(args.policyqa), embedder)
    gold_store = build_index(work / "gold", [BUNDLED_CORPUS], embedder)
    print(f"indexes ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    fold_of = policyqa.folds(sorted({q.policy for q in questions}))
    validation = tuple(sorted(p for p, f in fold_of.items() if f == policyqa.VALIDATION_FOLD))
    train_folds = sorted({f for f in fold_of.values() if f != policyqa.VALIDATION_FOLD})
    train_qs = [q for q in questions if fold_of[q.policy] != policyqa.VALIDATION_FOLD]
    units = unit_practice_labels(pqa_store, questions)
    q_vectors = embedder.embed([q.question for q in train_qs])
    q_labels = [label_of(q.type) for q in train_qs]

    def practice_without(fold: int | None) -> PracticeModel:
        pol = [p for p in units if fold_of.get(p) in train_folds and fold_of.get(p) != fold]
        ux = np.vstack([units[p][1] for p in pol])
        uy = np.vstack([units[p][2] for p in pol])
        keep = [i for i, q in enumerate(train_qs) if fold_of[q.policy] != fold and q_labels[i]]
        return fit_practice(ux, uy, q_vectors[keep], [q_labels[i] for i in keep], validation)

    practice = practice_without(None)
    print(f"practice heads fit in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    rng = np.random.default_rng(SEED)
    sample_ids = {q.id for q in rng.permutation(np.array(train_qs, dtype=object))[:args.max_policyqa]}
    by_id = {q.id: q for q in questions}
    samples: list[Sample] = []
    placeholder = Ranker(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0)
    unmoved = MatchModel.identity(q_vectors.shape[1])  # the match features are cross-fitted below
    for fold in train_folds:
        fold_practice = practice_without(fold)
        retriever = Retriever(pqa_store, embedder, practice=fold_practice)
        assistant = Assistant(retriever, embedder, ranker=placeholder, match=unmoved)
        items = [(q.id, q.question, q.policy, True) for q in train_qs if fold_of[q.policy] == fold and q.id in sample_ids]
        samples += candidate_samples(assistant, embedder, items, "policyqa", fold, lambda qid: by_id[qid].type_spans)
    print(f"policyqa candidates in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    gold_items = [g for g in load_gold() if g.get("split") == "dev" and g["kind"] != "injection"
                  and (g.get("policy") or not g["answerable"])]
    texts = gold_store.source_texts()
    gold_spans = {}
    for g in gold_items:
        if not g["answerable"]:
            gold_spans[g["id"]] = []
            continue
        try:
            gold_spans[g["id"]] = [span for pid, span in locate_evidence(g["evidence"], texts) if pid == g["policy"]]
        except EvidenceNotFound:
            gold_spans[g["id"]] = []
    gold_assistant = Assistant(Retriever(gold_store, embedder, practice=practice), embedder, ranker=placeholder,
                               match=unmoved)
    # An off-topic question without a policy ("what's the weather in Paris") is unanswerable by each.
    gold_samples = candidate_samples(gold_assistant, embedder,
                                     [(g["id"], g["question"], pid, bool(g["answerable"])) for g in gold_items
                                      for pid in ([g["policy"]] if g.get("policy") else sorted(texts))],
                                     "gold", -1, lambda qid: gold_spans[qid])
    for i, s in enumerate(gold_samples):
        s.group = i % len(train_folds)   # gold dev is cross-fitted alongside the PolicyQA folds
        s.group = train_folds[s.group]
    samples += gold_samples
    match_report = cross_fit_match(samples, train_folds)
    match = fit_match(samples, seed=SEED)
    print(f"match map fit in {time.perf_counter() - started:.0f} s: {match_report}", file=sys.stderr)
    if args.dump:  # for experiments on the same candidates
        args.dump.write_bytes(pickle.dumps(samples))
    answerable = [s for s in samples if s.answerable]

    gold_weight, oof, weight_sweep = choose_gold_weight(samples, train_folds)
    thresholds, cite_quality = choose_citing(oof, Thresholds())
    (a_mean, a_scale, a_w, a_b), abstain_below, report = choose_abstention(oof, [s.group for s, _ in oof])
    thresholds = replace(thresholds, abstain_below=abstain_below)
    report["cite_quality"] = cite_quality  # cite_score out of fold, per data set
    fitted = fit_ranker(answerable, gold_weight)
    provenance = {
        "command": "python -m eval.train_ranker", "seed": SEED, "folds": policyqa.FOLDS,
        "validation_policies": list(validation), "policyqa_questions": sum(s.source == "policyqa" for s in samples),
        "gold_dev_questions": len(gold_samples), "gold_weight": gold_weight, "gold_weight_sweep": weight_sweep,
        "model": {"kind": "HistGradientBoostingClassifier", **{k: v for k, v in BOOSTING.items() if k != "random_state"}},
        "rows": int(sum(len(s.labels) for s in samples)), "out_of_fold": report,
        "match": {"fit": "eval/fit_match.py", "epochs": EPOCHS, "l2": L2, "gold_weight": MATCH_GOLD_WEIGHT,
                  "out_of_fold": match_report},
        "seconds": round(time.perf_counter() - started),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    practice.save(args.out / PRACTICE_PATH.name)
    match.save(args.out / MATCH_PATH.name)
    ranker = replace(fitted, thresholds=thresholds, answerable_mean=a_mean.astype(np.float32),
                     answerable_scale=a_scale.astype(np.float32), answerable_weights=a_w.astype(np.float32),
                     answerable_bias=a_b, provenance=provenance)
    ranker.save(args.out / RANKER_PATH.name)
    print(json.dumps({"thresholds": thresholds.__dict__, **provenance}, indent=1))
    splits = np.bincount(ranker.trees.feature[ranker.trees.feature >= 0], minlength=len(FEATURES))
    for name, count in sorted(zip(FEATURES, splits.tolist()), key=lambda kv: -kv[1]):
        print(f"  {name:24s} {count:5d} splits", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
