"""`policychat eval`: run the gold set through the assistant (and the naive baseline), score it.

For every gold line the assistant is asked ``ctx.assistant.ask(question, policy=...)`` and
timed; its contract is scored with ``eval.metrics``. Retrieval is scored separately from
``ctx.retriever.search(question, Scope(...), k=RETRIEVAL_K)``. With ``baseline=True`` the
naive LangChain RAG (``eval.baseline``) answers the same questions in the same run.

Retrieval scope: the question's policy (or every policy) and the *current* version, except
for gold evidence that lies in an older version (the alibaba "version" questions): there the
retriever is told the evidence's version label (an oracle scope, one search per label,
results interleaved), so recall@k measures the ranking rather than version detection — the
assistant's own version handling is scored by its citations.
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from assistant.records import Scope
from eval import metrics as M
from eval.baseline import NaiveRAG, read_corpus, shared_baseline
from eval.jsonl import numbered_objects
from eval.report import DEFAULT_OUT, EVAL_DIR, render_tables
from eval.scoring import score_question
from index.errors import UserError
from index.progress import progress_bar

# The assistant pipeline, the retriever and eval.suite (PolicyQA, paraphrases) are imported by
# run_splits, the one step that builds assistants of its own.

DEFAULT_GOLD = EVAL_DIR / "gold.jsonl"
RETRIEVAL_K = 5


# --- gold --------------------------------------------------------------------------------------
def load_gold(path: Path | str = DEFAULT_GOLD) -> list[dict]:
    items = []
    for n, item in numbered_objects(path):
        for field in ("id", "question", "answerable", "evidence", "answer_points", "kind"):
            if field not in item:
                raise ValueError(f"{path}:{n}: missing field {field!r}")
        items.append(item)
    ids = Counter(it["id"] for it in items)
    dups = [i for i, c in ids.items() if c > 1]
    if dups:
        raise ValueError(f"{path}: duplicate ids {dups}")
    return items


def gold_policies(items: list[dict]) -> set[str]:
    return {it["policy"] for it in items if it.get("policy")} | \
        {ev["policy"] for it in items for ev in it["evidence"]}


def system_results(rows: list[dict]) -> dict:
    """Aggregates, failures grouped by cause, and the per-question rows of one system."""
    failures: dict[str, list[str]] = {cause: [] for cause in M.CAUSES}
    for r in rows:
        for cause in r["causes"]:
            failures[cause].append(r["id"])
    return {**M.aggregate(rows), "failures": {c: ids for c, ids in failures.items() if ids},
            "questions": rows}


# --- our assistant -----------------------------------------------------------------------------
def _source_texts(ctx, policies: set[str]) -> dict[str, str]:
    """The source text citations index into: the store's copy, else the bundled file."""
    raw = read_corpus()
    texts = {}
    for pid in policies:
        text = None
        try:
            text = ctx.store.source_text(pid)
        except Exception:  # an unreachable store surfaces later, when the assistant is asked
            text = None
        texts[pid] = text if text is not None else raw.get(pid, "")
    return texts


def _scopes(ctx, item: dict, gold: list[tuple[str, M.Span]]):
    """Retrieval scopes for a question (see the module docstring): current, plus any older
    version that holds gold evidence."""
    policies = (item["policy"],) if item.get("policy") else None
    wanted: list[str | None] = []
    for pid, (s, e) in gold:
        policy = ctx.retriever.policies.get(pid)
        old = next((v.label for v in (policy.versions if policy else [])
                    if not v.current and v.start <= s and e <= v.end), None)
        if old not in wanted:
            wanted.append(old)
    return [Scope(policies, label) for label in (wanted or [None])]


def our_retrieval(ctx, item: dict, gold: list[tuple[str, M.Span]], k: int = RETRIEVAL_K):
    scopes = _scopes(ctx, item, gold)
    ranked = [ctx.retriever.search(item["question"], sc, k=k) for sc in scopes]
    out, seen = [], set()
    for i in range(k):  # round-robin over the scopes' rankings
        for hits in ranked:
            if i < len(hits) and hits[i].chunk.id not in seen:
                seen.add(hits[i].chunk.id)
                out.append((hits[i].chunk.policy, (hits[i].chunk.start, hits[i].chunk.end)))
    return out[:k], scopes


def run_ours(ctx, items: list[dict], texts: dict[str, str],
             progress: Callable[[str], None] | None = None) -> tuple[list[dict], Counter]:
    rows, modes = [], Counter()
    for item in items:
        error = None
        started = time.perf_counter()
        try:
            answer = ctx.assistant.ask(item["question"], policy=item.get("policy"))
            contract = answer.to_contract()
            modes[getattr(answer, "mode", "?")] += 1
        except Exception as exc:  # one broken question must not hide the other 126
            error = f"{type(exc).__name__}: {exc}"
            contract = {"answer": "", "abstained": True, "citations": []}
        latency = time.perf_counter() - started
        retrieved, scope_note = None, None
        if item["answerable"]:
            gold = M.locate_evidence(item["evidence"], texts)
            retrieved, scopes = our_retrieval(ctx, item, gold)
            scope_note = [[list(s.policies) if s.policies else None, s.version] for s in scopes]
        row = score_question(item, contract, texts, retrieved, latency, error)
        row["retrieval_scopes"] = scope_note
        rows.append(row)
        if progress:
            progress(item["id"])
    return rows, modes


# --- the baseline ------------------------------------------------------------------------------
def run_baseline(baseline, items: list[dict], progress: Callable[[str], None] | None = None) -> list[dict]:
    rows = []
    for item in items:
        started = time.perf_counter()
        contract = baseline.ask(item["question"], policy=item.get("policy"))
        latency = time.perf_counter() - started
        retrieved = None
        if item["answerable"]:
            retrieved = [(c.policy, (c.start, c.end))
                         for c in baseline.search(item["question"], item.get("policy"), RETRIEVAL_K)]
        rows.append(score_question(item, contract, baseline.texts, retrieved, latency))
        if progress:
            progress(item["id"])
    return rows


# --- the run -----------------------------------------------------------------------------------
def run_eval(ctx, gold_path: Path | str | None = None, mode: str = "extractive", baseline=False,
             out: Path | str | None = None, baseline_style: str = "first",
             progress: Callable[[str], None] | None = None) -> dict:
    """Score the assistant (and, if ``baseline``, the naive RAG) on the gold set.

    ``baseline`` is a bool or a prebuilt ``eval.baseline.NaiveRAG``. Writes the results JSON to
    ``out`` when given (parent folders created) and returns the results dict.
    """
    started = time.perf_counter()
    gold_path = Path(gold_path or DEFAULT_GOLD)
    items = load_gold(gold_path)
    texts = _source_texts(ctx, gold_policies(items))
    ours_rows, modes = run_ours(ctx, items, texts, progress)
    ours_seconds = time.perf_counter() - started

    base, base_meta, base_rows = None, None, None
    if baseline:
        t0 = time.perf_counter()
        nb = baseline if isinstance(baseline, NaiveRAG) else shared_baseline(ctx.embedder,
                                                                             answer_style=baseline_style)
        built = time.perf_counter() - t0
        t1 = time.perf_counter()
        base_rows = run_baseline(nb, items, progress)
        base = system_results(base_rows)
        base_meta = {"answer_style": nb.answer_style, "chunks": len(nb.documents),
                     "chunk_size": 1000, "chunk_overlap": 200, "top_k": 4,
                     "build_seconds": round(built, 2), "run_seconds": round(time.perf_counter() - t1, 2)}

    splits = None
    if gold_path.resolve() == DEFAULT_GOLD.resolve():
        splits = run_splits(ctx, items, ours_rows, base, nb if baseline else None, texts, progress)
    results = {
        "meta": {
            "gold": str(gold_path),
            "questions": len(items),
            "mode": mode,
            "answer_modes": dict(modes),
            "retrieval_k": RETRIEVAL_K,
            "cover_threshold": M.COVER,
            "db": str(getattr(ctx, "chroma_url", None) or getattr(ctx, "db_dir", "")),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "ours_seconds": round(ours_seconds, 2),
            "seconds": round(time.perf_counter() - started, 2),
            "baseline": base_meta,
        },
        "ours": system_results(ours_rows),
        "baseline": base,
        "splits": splits,
    }
    if out:
        write_results(results, out)
    return results


def run_splits(ctx, items: list[dict], ours_rows: list[dict], base: dict | None, nb, texts: dict[str, str],
               progress: Callable[[str], None] | None = None) -> dict:
    """gold dev, gold test, the paraphrases and the held-out PolicyQA policies, ours beside the
    baseline (eval/suite.py)."""
    from assistant.pipeline import Assistant
    from assistant.retrieve import Retriever
    from eval import suite

    base_rows = {r["id"]: r for r in (base or {}).get("questions", [])}
    out = {}
    for name, totals in suite.gold_splits(ours_rows, items).items():
        out[name] = {"ours": totals}
        if base_rows:
            ids = {it["id"] for it in items if it.get("split") == name.split()[-1]}
            out[name]["baseline"] = M.summarize([base_rows[i] for i in ids if i in base_rows])
    para = suite.paraphrase_items(items)
    para_rows, _ = run_ours(ctx, para, texts, progress)
    base_para = run_baseline(nb, para, progress) if nb is not None else None
    split_of = {p["id"]: p["split"] for p in para}
    # the dev rewordings chose knobs (docs/quality.md); the test ones never did
    for name, wanted in (("paraphrases", None), ("paraphrases test", "test")):
        pick = [r for r in para_rows if wanted is None or split_of[r["id"]] == wanted]
        out[name] = {"ours": suite.cited_totals(pick)}
        if base_para is not None:
            out[name]["baseline"] = suite.cited_totals(
                [r for r in base_para if wanted is None or split_of[r["id"]] == wanted])

    def ask_factory(store):
        assistant = Assistant(Retriever(store, ctx.embedder), ctx.embedder)
        return lambda question, policy: assistant.ask(question, policy=policy).to_contract()

    out["policyqa validation"] = suite.policyqa_validation(ctx.embedder, ask_factory, nb is not None)
    if "specific" in out["policyqa validation"]:  # gold-style questions on policies never tuned on
        out["specific held out"] = out["policyqa validation"].pop("specific")
    return out


def write_results(results: dict, out: Path | str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def run_cli(ctx, args) -> int:
    """`policychat eval [--gold F] [--json] [--mode M] [--baseline] [--out F]`."""
    gold_path = Path(args.gold) if args.gold else DEFAULT_GOLD
    if not gold_path.is_file():
        raise UserError(f"{gold_path}: no such file")
    try:
        items = load_gold(gold_path)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    indexed = set(ctx.store.policies())
    if not indexed:
        raise UserError("no policies indexed; run `policychat index` first")
    missing = sorted(gold_policies(items) - indexed)
    if missing:
        raise UserError(f"the gold set needs policies that are not indexed: {', '.join(missing)}")

    out = Path(args.out) if args.out else DEFAULT_OUT
    total = len(items) * (2 if args.baseline else 1)
    with progress_bar(total, "q", "eval", enabled=not args.json) as step:
        results = run_eval(ctx, gold_path, args.mode, bool(args.baseline), out=out,
                           progress=(lambda _id: step()) if step else None)
    modes = results["meta"]["answer_modes"]
    if modes and set(modes) != {args.mode}:
        print(f"note: --mode {args.mode} requested; the assistant answered in mode(s) "
              f"{', '.join(f'{m} ({n})' for m, n in modes.items())}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        print(render_tables(results))
        print(f"\nresults: {out}")
    return 1 if results["ours"]["totals"]["errors"] else 0
