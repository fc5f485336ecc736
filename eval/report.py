"""Markdown tables of eval results: totals, per policy, per kind, failures by cause.

Plain pipe tables read fine in a terminal and paste straight into docs/quality.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.metrics import CAUSES, HIGHER_IS_BETTER, better

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = EVAL_DIR / "results" / "latest.json"  # written by eval.runner, read here

LABELS = {
    "abstention_accuracy": "abstention accuracy",
    "false_abstention_rate": "false-abstention rate (answerable)",
    "false_answer_rate": "false-answer rate (unanswerable + injection)",
    "citation_recall": "citation recall",
    "citation_precision": "citation precision",
    "citation_recall_strict": "citation recall, strict (no alternatives)",
    "citation_precision_strict": "citation precision, strict (no alternatives)",
    "answer_points": "answer-point coverage",
    "retrieval_recall": "retrieval recall@5",
    "retrieval_mrr": "retrieval MRR@5",
    "quote_exact": "verbatim quotes (quote == source[start:end])",
    "forbidden_violations": "forbidden-string violations",
    "errors": "errors",
    "latency_p50": "latency p50",
    "latency_p95": "latency p95",
}
GROUP_METRICS = [
    ("abstention_accuracy", "abst.acc"),
    ("citation_recall", "cit.R"),
    ("citation_precision", "cit.P"),
    ("answer_points", "points"),
    ("retrieval_recall", "R@5"),
    ("retrieval_mrr", "MRR"),
]


def fmt(metric: str, value) -> str:
    if value is None:
        return "–"
    if metric.startswith("latency"):
        return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def totals_table(results: dict) -> str:
    ours = results["ours"]["totals"]
    base = (results.get("baseline") or {}).get("totals")
    header = ["metric", "ours"] + (["baseline", "ours better"] if base else [])
    rows = []
    for metric in HIGHER_IS_BETTER:
        cells = [LABELS.get(metric, metric), fmt(metric, ours.get(metric))]
        if metric == "forbidden_violations":
            cells[1] += f" / {ours['n_forbidden_checked']}"
        if base:
            b = fmt(metric, base.get(metric))
            if metric == "forbidden_violations":
                b += f" / {base['n_forbidden_checked']}"
            verdict = better(metric, ours.get(metric), base.get(metric))
            same = ours.get(metric) == base.get(metric)
            cells += [b, "=" if same else ("yes" if verdict else ("no" if verdict is not None else "–"))]
        rows.append(cells)
    return _table(header, rows)


def group_table(results: dict, grouping: str, title: str) -> str:
    ours = results["ours"][grouping]
    base = (results.get("baseline") or {}).get(grouping)
    header = [title, "n"]
    for _, short in GROUP_METRICS:
        header.append(f"{short} ours/base" if base else short)
    rows = []
    for group, summary in ours.items():
        cells = [group, str(summary["n"])]
        for metric, _ in GROUP_METRICS:
            cell = fmt(metric, summary.get(metric))
            if base:
                cell += " / " + fmt(metric, base[group].get(metric))
            cells.append(cell)
        rows.append(cells)
    return _table(header, rows)


def failures_table(results: dict) -> str:
    systems = [("ours", results["ours"])] + ([("baseline", results["baseline"])] if results.get("baseline") else [])
    header = ["cause", *(name for name, _ in systems)]
    rows = []
    for cause, text in CAUSES.items():
        counts = [len(s["failures"].get(cause, [])) for _, s in systems]
        if any(counts):
            rows.append([f"{cause} ({text})", *(str(c) for c in counts)])
    return _table(header, rows) if rows else "(no failures)"


def render_tables(results: dict) -> str:
    meta = results["meta"]
    head = (f"{meta['questions']} gold questions · mode {meta['mode']} · retrieval k={meta['retrieval_k']} · "
            f"{meta['seconds']:.1f}s")
    if meta.get("baseline"):
        b = meta["baseline"]
        head += (f" · baseline: {b['chunks']} chunks of {b['chunk_size']}/{b['chunk_overlap']}, "
                 f"top-{b['top_k']}, answer = " + ("top chunk" if b['answer_style'] == "first" else "all chunks"))
    parts = [head]
    if results.get("splits"):
        from eval.suite import splits_table  # here: eval.suite loads numpy and the PolicyQA reader

        parts += ["", "## Splits (tuned on gold dev and the dev paraphrases only)", "", splits_table(results["splits"])]
    parts += ["", "## Totals (whole gold set)", "", totals_table(results),
             "", "## Per policy", "", group_table(results, "by_policy", "policy"),
             "", "## Per kind", "", group_table(results, "by_kind", "kind"),
             "", "## Failures by cause (questions)", "", failures_table(results)]
    return "\n".join(parts)


def failure_listing(results: dict, system: str = "ours") -> str:
    """Failing questions grouped by cause, one line each (for the error-analysis section)."""
    sysres = results.get(system)
    if not sysres:
        return ""
    by_id = {r["id"]: r for r in sysres["questions"]}
    out = []
    for cause, ids in sysres["failures"].items():
        out.append(f"### {cause}: {CAUSES[cause]} ({len(ids)})\n")
        for qid in ids:
            r = by_id[qid]
            detail = []
            if r["citation_recall"] is not None:
                detail.append(f"cit.R {r['citation_recall']:.2f}")
            if r["citation_precision"] is not None:
                detail.append(f"cit.P {r['citation_precision']:.2f}")
            if r["retrieval_recall"] is not None:
                detail.append(f"R@5 {r['retrieval_recall']:.2f}")
            if r["points_missed"]:
                detail.append("missed: " + ", ".join(r["points_missed"]))
            if r["forbidden"]:
                detail.append("forbidden: " + ", ".join(r["forbidden"]))
            out.append(f"- `{qid}` ({r['kind']}) {r['question']!r}" + (f" — {'; '.join(detail)}" if detail else ""))
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """`python -m eval.report [RESULTS.json] [--failures]`: re-render a saved results file."""
    parser = argparse.ArgumentParser(prog="python -m eval.report", description=main.__doc__)
    parser.add_argument("results", nargs="?", default=str(DEFAULT_OUT))
    parser.add_argument("--failures", action="store_true", help="also list failing questions by cause")
    parser.add_argument("--system", default="ours", choices=["ours", "baseline"],
                        help="whose failures to list (default: ours)")
    args = parser.parse_args(argv)
    results = json.loads(Path(args.results).read_text(encoding="utf-8"))
    print(render_tables(results))
    if args.failures:
        print("\n## Failing questions by cause (" + args.system + ")\n")
        print(failure_listing(results, args.system))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
