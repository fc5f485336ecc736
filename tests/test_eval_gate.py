"""The quality gate: the gold set through the real model and index, ours and the naive baseline.

One eval pass per test session (module fixture): 127 questions for each system.
"""
from __future__ import annotations

import argparse
import json

import pytest

from eval.metrics import HIGHER_IS_BETTER

# Gates sit a little below MEASURED values (docs/quality.md), on the splits nobody tuned on:
# gold test, the paraphrases and the held-out PolicyQA-dev policies. Gold dev is reported,
# not gated (the ranker's weights and thresholds were chosen on it).
# Measured 2026-12-02 14:02 UTC (docs/quality.md), with spelling correction: gold test recall
# 0.644, precision 0.505, abstention 0.930; rewordings citing the original's evidence 0.776 (all
# 156) and 0.724 (the 87 test ones, which chose nothing); PolicyQA held out: practice hit 0.656
# (top-3 sentences 0.443), 474 characters, 2.5 % abstentions.
SPLIT_GATES = {
    "gold test": {"citation_recall": 0.59, "citation_precision": 0.47, "abstention_accuracy": 0.89},
    "paraphrases": {"cites_original": 0.72},
    "paraphrases test": {"cites_original": 0.67},
    # Measured 2026-12-06 00:05 UTC: 38 questions on the held-out PolicyQA policies, recall 0.711,
    # precision 0.759, abstention 0.895, citing one of its gold passages 0.879. Needs ../shared.
    "specific held out": {"citation_recall": 0.66, "citation_precision": 0.70, "abstention_accuracy": 0.84,
                          "cites_original": 0.82},
}
NEEDS_SHARED = {"specific held out"}
POLICYQA_GATES = {"practice_hit": 0.61, "abstain_at_most": 0.03, "chars_at_most": 600, "over_baseline": 0.15}
THRESHOLDS = {
    # Whole gold set: things that must always hold, and generous latencies (shared CI machines).
    "ours": {"quote_exact": 1.0, "forbidden_violations": 0, "errors": 0, "latency_p50": 2.0, "latency_p95": 10.0},
    # Ours must not be worse than the naive baseline (0.0); it never abstains and cites whole
    # 1,000-character chunks (measured 09:51 UTC: recall 0.801 vs 0.567, precision 0.697 vs 0.189).
    "vs_baseline": {"abstention_accuracy": 0.0, "false_answer_rate": 0.0, "citation_precision": 0.0,
                    "citation_recall": 0.0,
                    "answer_points": 0.0, "quote_exact": 0.0, "forbidden_violations": 0.0},
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def eval_run(ctx, embedder, tmp_path_factory):
    from eval.baseline import shared_baseline
    from eval.runner import run_eval

    out = tmp_path_factory.mktemp("eval") / "results" / "latest.json"
    baseline = shared_baseline(embedder)
    results = run_eval(ctx, mode="extractive", baseline=baseline, out=out)
    return results, out, baseline


def _report(results: dict) -> str:
    ours, base = results["ours"]["totals"], results["baseline"]["totals"]
    lines = [f"{'metric':<24} {'ours':>10} {'baseline':>10} {'threshold':>12}"]
    for metric in HIGHER_IS_BETTER:
        limit = THRESHOLDS["ours"].get(metric)
        sign = ">=" if HIGHER_IS_BETTER[metric] else "<="
        lines.append(f"{metric:<24} {_num(ours.get(metric)):>10} {_num(base.get(metric)):>10} "
                     f"{(sign + ' ' + _num(limit)) if limit is not None else '':>12}")
    return "\n".join(lines)


def _num(v) -> str:
    return "None" if v is None else (str(v) if isinstance(v, int) else f"{v:.3f}")


def test_quality_gate(eval_run):
    results, _, _ = eval_run
    ours, base = results["ours"]["totals"], results["baseline"]["totals"]
    failed = []
    for metric, limit in THRESHOLDS["ours"].items():
        value = ours.get(metric)
        ok = value is not None and (value >= limit if HIGHER_IS_BETTER[metric] else value <= limit)
        if not ok:
            failed.append(f"ours {metric} = {_num(value)}, needs {'>=' if HIGHER_IS_BETTER[metric] else '<='} "
                          f"{_num(limit)}")
    for metric, margin in THRESHOLDS["vs_baseline"].items():
        o, b = ours.get(metric), base.get(metric)
        gain = None if o is None or b is None else (o - b if HIGHER_IS_BETTER[metric] else b - o)
        if gain is None or gain < margin - 1e-12:
            failed.append(f"{metric}: ours {_num(o)} vs baseline {_num(b)}, needs to be better by >= {margin}")
    print(_report(results))  # shown with -s / -rP, and always on failure below
    assert not failed, "quality gate failed:\n  " + "\n  ".join(failed) + "\n\n" + _report(results)


def test_split_gates(eval_run):
    from eval.suite import splits_table

    results, _, _ = eval_run
    splits = results["splits"]
    pqa = splits["policyqa validation"]
    gated = {split: gates for split, gates in SPLIT_GATES.items() if split not in NEEDS_SHARED or "skipped" not in pqa}
    failed = [f"{split} {metric} = {_num(splits[split]['ours'].get(metric))}, needs >= {limit}"
              for split, gates in gated.items() for metric, limit in gates.items()
              if (splits[split]["ours"].get(metric) or 0.0) < limit]
    if "skipped" not in pqa:
        ours, base = pqa["ours"], pqa["baseline"]
        if ours["practice_hit"] < POLICYQA_GATES["practice_hit"]:
            failed.append(f"PolicyQA practice hit {ours['practice_hit']} < {POLICYQA_GATES['practice_hit']}")
        if ours["practice_hit"] - base["practice_hit"] < POLICYQA_GATES["over_baseline"]:
            failed.append(f"PolicyQA practice hit {ours['practice_hit']} not {POLICYQA_GATES['over_baseline']} "
                          f"above the top-3 sentences' {base['practice_hit']}")
        if ours["abstain"] > POLICYQA_GATES["abstain_at_most"] or ours["chars"] > POLICYQA_GATES["chars_at_most"]:
            failed.append(f"PolicyQA abstain {ours['abstain']} / chars {ours['chars']} over the limits")
    print(splits_table(splits))
    assert not failed, "split gates failed:\n  " + "\n  ".join(failed) + "\n\n" + splits_table(splits)


def test_policyqa_part_says_why_it_is_skipped(tmp_path, embedder):
    from eval.suite import policyqa_validation

    out = policyqa_validation(embedder, lambda store: None, baseline=False, folder=tmp_path)
    assert "skipped" in out and "PolicyQA-dev is not at" in out["skipped"]


def test_results_file_has_every_gold_id(eval_run):
    from eval.runner import load_gold

    results, out, _ = eval_run
    assert out.is_file()
    data = json.loads(out.read_text(encoding="utf-8"))
    gold_ids = [it["id"] for it in load_gold()]
    for system in ("ours", "baseline"):
        rows = data[system]["questions"]
        assert [r["id"] for r in rows] == gold_ids, system
        for r in rows:
            for key in ("abstained", "expected", "citation_recall", "citation_precision", "points_hit",
                        "points_missed", "causes", "latency_s"):
                assert key in r, (system, r["id"], key)
    assert data["meta"]["questions"] == len(gold_ids)
    assert set(data["ours"]["by_policy"]) >= {"alibaba", "aliexpress", "alipartnership", "alopal", "podpartner"}
    assert data["ours"]["totals"] == results["ours"]["totals"]


def test_baseline_never_abstains_and_cites_whole_chunks(eval_run):
    results, _, baseline = eval_run
    chunks = {(c.policy, c.start, c.end) for c in baseline.chunks}
    rows = results["baseline"]["questions"]
    assert not any(r["abstained"] for r in rows)
    assert results["baseline"]["totals"]["false_abstention_rate"] == 0.0
    assert results["baseline"]["totals"]["false_answer_rate"] == 1.0
    assert results["baseline"]["totals"]["quote_exact"] == 1.0
    for r in rows:
        assert 1 <= r["n_citations"] <= 4, r["id"]
        for policy, start, end, _ in r["citations"]:
            assert (policy, start, end) in chunks, r["id"]
            if r["policy"]:
                assert policy == r["policy"], r["id"]


def test_our_citations_are_verbatim_and_scoped(eval_run):
    results, _, _ = eval_run
    for r in results["ours"]["questions"]:
        if r["policy"]:
            assert all(c[0] == r["policy"] for c in r["citations"]), r["id"]
        if r["abstained"]:
            continue
        assert r["quote_exact"] in (None, 1.0), r["id"]


def test_cli_tables_json_and_out(ctx, eval_run, tmp_path, capsys):
    """`policychat eval` glue on a three-question gold file (the baseline is already built)."""
    from eval.runner import DEFAULT_GOLD, run_cli

    lines = DEFAULT_GOLD.read_text(encoding="utf-8").splitlines()
    wanted = {"alip-01", "unans-04", "inj-01"}
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(ln for ln in lines if json.loads(ln)["id"] in wanted) + "\n", encoding="utf-8")
    out = tmp_path / "nested" / "r.json"
    args = argparse.Namespace(gold=str(gold), json=False, mode="extractive", baseline=True, out=str(out))
    assert run_cli(ctx, args) == 0
    printed = capsys.readouterr().out
    assert "| metric" in printed and "| ours" in printed and "baseline" in printed
    assert "## Per policy" in printed and "## Per kind" in printed
    assert {r["id"] for r in json.loads(out.read_text())["ours"]["questions"]} == wanted

    args.json, args.baseline, args.mode = True, False, "llm"
    assert run_cli(ctx, args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["meta"]["mode"] == "llm" and data["baseline"] is None
    assert len(data["ours"]["questions"]) == 3


def test_cli_rejects_missing_gold(ctx, tmp_path):
    from eval.runner import run_cli
    from index.errors import UserError

    args = argparse.Namespace(gold=str(tmp_path / "nope.jsonl"), json=False, mode="extractive",
                              baseline=False, out=str(tmp_path / "r.json"))
    with pytest.raises(UserError, match="no such file"):
        run_cli(ctx, args)
