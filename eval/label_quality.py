"""Label quality on OPP-115 practice annotations (PolicyQA dev): calibrate, then measure.

    python -m eval.label_quality [--db DIR] [--fit] [--out FILE]

The 20 PolicyQA policies are indexed with the product's own indexer into ``--db``; every
citation unit's row scores come from the product's labeler. A row's gold is the union of
the ``type_segments`` of the OPP-115 practice types that row stands for (the practice model's
own mapping, ``assistant.practice.label_of``).

* recall: a (policy, row) whose practice is annotated anywhere in the policy is not "Not stated";
* precision: a cited passage lies inside a segment annotated with the row's practice (every
  citation of every stated cell counts, including cells of practices the policy never states).

``--fit`` chooses each row's "Not stated" threshold on the training policies (those not in the
practice model's ``validation_policies``) and writes ``insights/calibration.json``; the figures
reported are on the validation policies only. The contact row is not an OPP-115 practice and
is scored on the bundled policies' hand labels instead (tests/test_insights.py).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.entities import tag
from assistant.practice import LABELS, PracticeModel, label_of
from eval import policyqa
from index.settings import Settings
from insights.label import CALIBRATION, Calibration, Labeler, model_id, pick_passages
from insights.records import ROW_KEYS
from insights.service import passages_by_version
from ui.context import AppContext

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "eval" / "results" / "policyqa-db"
DEFAULT_OUT = ROOT / "eval" / "results" / "labels.json"
THRESHOLD_GRID = tuple(float(round(x, 3)) for x in np.arange(0.05, 0.96, 0.025))
EXTRA_RATIO = 0.85
BETA = 2.0
NEIGHBOUR_WEIGHTS = (0.0, 0.3, 0.5, 0.7)   # blend of a passage's probabilities with its chunk's mean


@dataclass
class PolicyScores:
    """One PolicyQA policy: its passages, their row scores and each row's gold segments."""

    policy: str
    passages: list
    scores: np.ndarray                      # passages × ROWS
    gold: dict[str, list[tuple[int, int]]]  # row -> annotated segments


def gold_segments(questions) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """Per policy, per practice label: the segments annotated with it."""
    out: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for q in questions:
        label = label_of(q.type)
        if label:
            out[q.policy][label].update(q.type_segments)
    return {p: {r: sorted(s) for r, s in rows.items()} for p, rows in out.items()}


def inside(start: int, end: int, segments: list[tuple[int, int]]) -> bool:
    return any(a <= start and end <= b for a, b in segments)


def load_scores(ctx, labeler, gold) -> list[PolicyScores]:
    store = ctx.store
    gens = store.generations()
    out = []
    for pid in sorted(gold):
        if pid not in gens:
            continue
        grouped = passages_by_version(*store.unit_rows_of(gens[pid]))
        passages, vectors = next(iter(grouped.values()))   # PolicyQA policies have one version
        out.append(PolicyScores(pid, passages, labeler.row_scores(passages, vectors), gold[pid]))
    return out


def evaluate(policies: list[PolicyScores], thresholds: dict[str, float], extra_ratio: float = EXTRA_RATIO) -> dict:
    """Per-row and overall recall and citation precision at the given thresholds."""
    rows = {}
    totals = np.zeros(4)   # recalled, annotated, citations inside, citations
    for key, t in thresholds.items():
        col = ROW_KEYS.index(key)
        recalled = annotated = good = cited = stated = 0
        for p in policies:
            segs = p.gold.get(key, [])
            col_scores = p.scores[:, col]
            best = float(col_scores.max()) if len(col_scores) else 0.0
            if segs:
                annotated += 1
                recalled += best >= t
            if best >= t:
                stated += 1
                chosen = pick_passages(p.passages, col_scores, max(t, extra_ratio * best))
                cited += len(chosen)
                good += sum(inside(c.start, c.end, segs) for c in chosen)
        rows[key] = {"threshold": t, "annotated": annotated, "recalled": recalled, "stated": stated,
                     "citations": cited, "citations_inside": good,
                     "recall": recalled / annotated if annotated else None,
                     "precision": good / cited if cited else None}
        totals += (recalled, annotated, good, cited)
    return {"rows": rows, "recall": totals[0] / max(totals[1], 1), "precision": totals[2] / max(totals[3], 1),
            "annotated": int(totals[1]), "citations": int(totals[3])}


def f_beta(precision: float, recall: float, beta: float = BETA) -> float:
    b2 = beta * beta
    return 0.0 if precision + recall == 0 else (1 + b2) * precision * recall / (b2 * precision + recall)


def fit_thresholds(policies: list[PolicyScores]) -> dict[str, float]:
    """Per row, the threshold with the best F-beta of recall and citation precision on ``policies``
    (ties: the higher threshold). Recall weighs double (beta 2): the practice model scores the
    text it was trained on more confidently than new text, so thresholds fitted on its training
    policies run high; on validation policies F2 lost less recall than F1 for little precision."""
    out = {}
    for key in practice_rows():
        best = (-1.0, 0.5)
        for t in THRESHOLD_GRID:
            r = evaluate(policies, {key: t})["rows"][key]
            if r["recall"] is None:
                continue
            score = f_beta(r["precision"] if r["precision"] is not None else 1.0, r["recall"])
            if score >= best[0]:
                best = (score, t)
        out[key] = best[1]
    return out


def table(result: dict) -> str:
    lines = ["| row | threshold | annotated | recall | citations | precision |", "|---|---|---|---|---|---|"]
    for key, r in result["rows"].items():
        rec = "–" if r["recall"] is None else f"{r['recall']:.2f} ({r['recalled']}/{r['annotated']})"
        pre = "–" if r["precision"] is None else f"{r['precision']:.2f} ({r['citations_inside']}/{r['citations']})"
        lines.append(f"| {key} | {r['threshold']:.3f} | {r['annotated']} | {rec} | {r['citations']} | {pre} |")
    lines.append(f"| **all** | | {result['annotated']} | **{result['recall']:.3f}** | {result['citations']} | "
                 f"**{result['precision']:.3f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=str(DEFAULT_DB), help="index of the PolicyQA policies (built if missing)")
    ap.add_argument("--fit", action="store_true", help="choose thresholds on the training policies and "
                    "write insights/calibration.json")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    try:
        questions = policyqa.load_questions()
    except policyqa.PolicyQAMissing as exc:
        print(f"skipped: {exc}")
        return 0

    model = PracticeModel.load()
    validation = set(model.validation_policies)
    ctx = AppContext.from_settings(Settings.from_env(db=args.db))
    report = ctx.index(policyqa.policy_files())
    print(f"index: {report.count('indexed')} indexed, {report.count('unchanged')} unchanged → {args.db}",
          file=sys.stderr)
    gold = gold_segments(questions)

    def split(labeler):
        policies = load_scores(ctx, labeler, gold)
        return ([p for p in policies if p.policy not in validation], [p for p in policies if p.policy in validation])

    if args.fit:  # every choice on the training policies; the validation ones are only reported
        fits = []
        for weight in NEIGHBOUR_WEIGHTS:
            labeler = Labeler(model, tag, Calibration({}, neighbour_weight=weight))
            train, valid = split(labeler)
            thresholds = fit_thresholds(train)
            fitted = evaluate(train, thresholds)
            fits.append((f_beta(fitted["precision"], fitted["recall"]), -weight, weight, thresholds, fitted, valid, train))
        _, _, weight, thresholds, fitted, valid, train = max(fits, key=lambda f: f[:2])
        CALIBRATION.write_text(json.dumps({
            "model": model_id(model), "extra_ratio": EXTRA_RATIO, "neighbour_weight": weight,
            "fitted_on": sorted(p.policy for p in train),
            "rows": {k: {"threshold": t, "train_recall": fitted["rows"][k]["recall"],
                         "train_precision": fitted["rows"][k]["precision"]} for k, t in thresholds.items()},
        }, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {CALIBRATION}", file=sys.stderr)
    else:
        labeler = Labeler(model, tag, Calibration.load())
        train, valid = split(labeler)
        thresholds = {k: labeler.threshold(k) for k in practice_rows()}
    result = evaluate(valid, thresholds)
    print(f"Validation policies ({len(valid)}): {', '.join(sorted(p.policy for p in valid))}\n")
    print(table(result))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": _dt.date.today().isoformat(), "validation": sorted(p.policy for p in valid),
                               "train": evaluate(train, thresholds), "validation_result": result},
                              indent=1) + "\n", encoding="utf-8")
    return 0


def practice_rows() -> tuple[str, ...]:
    """The label rows OPP-115 annotates: every practice label (contact is not one)."""
    return LABELS


if __name__ == "__main__":
    sys.exit(main())
