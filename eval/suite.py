"""Every validation split side by side: gold dev, gold test, paraphrases, PolicyQA-dev held out.

Gold dev is what the ranker was tuned on; gold test, the paraphrases of gold questions and the
held-out PolicyQA policies were never tuned on. The PolicyQA part reads ../shared and is
skipped, with the reason, where that folder is absent (it is not part of the product).
"""
from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np

from assistant.practice import PracticeModel
from eval import metrics as M
from eval import policyqa
from eval.paraphrases import as_gold_items, load_paraphrases
from eval.scoring import score_question
from eval.splits import select
from eval.specific import DEFAULT_SPECIFIC, load_specific
from index.pipeline import Indexer
from index.store import Store, open_client

SPLIT_METRICS = ("citation_recall", "citation_precision", "abstention_accuracy", "answer_points")
BASELINE_SENTENCES = 3
_SENTENCE = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.M)


def gold_splits(rows: list[dict], items: list[dict]) -> dict[str, dict]:
    """Totals of the gold rows per split."""
    by_id = {it["id"]: it for it in items}
    out = {}
    for split in ("dev", "test"):
        wanted = {it["id"] for it in select(list(by_id.values()), split)}
        out[f"gold {split}"] = M.summarize([r for r in rows if r["id"] in wanted])
    return out


def cited_totals(rows: list[dict]) -> dict:
    """Gold totals plus the share of answerable questions whose answer cites one of their gold
    passages (for a rewording: one of its original's)."""
    totals = M.summarize(rows)
    answerable = [r for r in rows if r["answerable"]]
    totals["cites_original"] = (sum(any(r["gold_cited"] or ()) for r in answerable) / len(answerable)
                                if answerable else None)
    return totals


def paraphrase_items(gold: list[dict]) -> list[dict]:
    return as_gold_items(load_paraphrases(), gold)


def policyqa_validation(embedder, ask_factory: Callable, baseline: bool,
                        folder: Path | None = None, specific: Path = DEFAULT_SPECIFIC) -> dict:
    """The held-out PolicyQA policies (those the shipped models name as validation) indexed
    afresh and asked their questions: score.py's measures for us and, with ``baseline``, for
    the top-3 MiniLM sentences; under "specific", the gold measures of the specific questions
    written about those policies (eval/specific.py). {"skipped": reason} without ../shared."""
    try:
        questions = policyqa.load_questions(folder)
    except policyqa.PolicyQAMissing as exc:
        return {"skipped": str(exc)}
    validation = set(PracticeModel.load().validation_policies)
    questions = [q for q in questions if q.policy in validation]
    files = [p for p in policyqa.policy_files(folder) if p.stem in validation]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="policychat-pqa-") as tmp:
        store = Store(open_client(Path(tmp)))
        Indexer(store, lambda: embedder).run(files)
        ask = ask_factory(store)
        ours = policyqa.score(questions, {q.id: ask(q.question, q.policy) for q in questions})
        written = load_specific(specific) if specific.is_file() else []
        held_out = [it for it in written if it["policy"] in validation]
        texts = store.source_texts()
        specific_rows = score_items(held_out, lambda it: ask(it["question"], it["policy"]), texts)
        store = None
    out = {"ours": ours, "policies": sorted(validation), "seconds": round(time.perf_counter() - started, 1)}
    if specific_rows:
        out["specific"] = {"ours": cited_totals(specific_rows)}
    if baseline:
        out["baseline"] = policyqa.score(questions, sentence_baseline(embedder, files, questions))
        if specific_rows:
            cited = sentence_baseline(embedder, files, [SimpleNamespace(**it) for it in held_out])
            base_rows = score_items(held_out, lambda it: quoted(cited[it["id"]], texts), texts)
            out["specific"]["baseline"] = cited_totals(base_rows)
    return out


def score_items(items: list[dict], answer_of: Callable[[dict], dict], texts: dict[str, str]) -> list[dict]:
    """Gold result rows of gold-shaped items; ``answer_of(item)`` gives the answer contract."""
    return [score_question(it, answer_of(it), texts, None, None) for it in items]


def quoted(answer: dict, texts: dict[str, str]) -> dict:
    """An answer contract whose citations carry their quote (the sentence baseline's give offsets)."""
    return {**answer, "citations": [{**c, "quote": texts[c["policy"]][c["start"]:c["end"]]}
                                    for c in answer["citations"]]}


def sentence_baseline(embedder, files: list[Path], questions) -> dict[str, dict]:
    """The folder's reference: cite the top 3 sentences by MiniLM cosine; never abstain."""
    units = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if len(m.group().strip()) > 3]
        spans = [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans]
        units[path.stem] = (spans, embedder.embed([text[s:e] for s, e in spans]))
    vectors = embedder.embed([q.question for q in questions])
    out = {}
    for q, v in zip(questions, vectors):
        spans, unit_vectors = units[q.policy]
        top = np.argsort(-(unit_vectors @ v), kind="stable")[:BASELINE_SENTENCES]
        out[q.id] = {"abstained": False, "citations": [{"policy": q.policy, "start": spans[i][0], "end": spans[i][1]}
                                                       for i in sorted(top.tolist())]}
    return out


def splits_table(splits: dict) -> str:
    """A markdown table: one row per split, ours and the baseline side by side."""
    lines = ["| split | n | citation recall | citation precision | abstention accuracy | answer points |"
             " baseline recall | baseline precision |", "|---|---|---|---|---|---|---|---|"]
    for name, both in splits.items():
        if name == "policyqa validation":
            continue
        ours, base = both["ours"], both.get("baseline") or {}
        cells = [name, str(ours.get("n", "–"))] + [M_fmt(ours.get(m)) for m in SPLIT_METRICS] + \
                [M_fmt(base.get("citation_recall")), M_fmt(base.get("citation_precision"))]
        lines.append("| " + " | ".join(cells) + " |")
    for name in ("paraphrases", "paraphrases test", "specific held out"):
        para = splits.get(name, {}).get("ours", {})
        if "cites_original" in para:
            whose = "the original's" if name.startswith("paraphrases") else "its"
            lines.append(f"\n{name} citing one of {whose} gold passages: {M_fmt(para['cites_original'])}"
                         f" (baseline {M_fmt((splits[name].get('baseline') or {}).get('cites_original'))})")
    pqa = splits.get("policyqa validation")
    if pqa:
        if "skipped" in pqa:
            lines.append(f"\nPolicyQA-dev validation: skipped ({pqa['skipped']})")
        else:
            ours, base = pqa["ours"], pqa.get("baseline") or {}
            lines.append(f"\nPolicyQA-dev held-out policies ({', '.join(pqa['policies'])}; {ours['n']} questions):")
            lines.append("| system | practice hit | hit | seg | chars | abstain |\n|---|---|---|---|---|---|")
            for name, s in (("ours", ours), ("top-3 sentences", base)):
                if s:
                    lines.append(f"| {name} | {s['practice_hit']:.3f} | {s['hit']:.3f} | {s['seg']:.3f} | "
                                 f"{s['chars']} | {s['abstain']:.3f} |")
    return "\n".join(lines)


def M_fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"
