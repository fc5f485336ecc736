"""Warm query latency: Retriever.search and Assistant.ask (offline, extractive) at 5 and 300 policies.

For every gold question (eval/gold.jsonl, 127) it times, in one process per corpus size:

* search   — ``Retriever.search(question, scope, k=5)``: query embedding + Chroma dense top-30 +
             BM25 top-30 + rank fusion (what ``policychat search`` runs);
* ask      — ``Assistant.ask(question, policy)`` with no chat model (the extractive answer:
             routing, retrieval, unit scoring, citations);
* baseline — the naive LangChain baseline's top-4 ``similarity_search`` for the same question.

Questions keep their gold scope (``policy``) when that policy is in the index — the 300-policy
corpus holds the five bundled policies under their own ids — and are unscoped otherwise (the
17 cross-policy questions are unscoped everywhere). Warm = timed after the warming ``serve`` does
before it binds (``AppContext.warm``: the language model, every policy's unit table) and 3
warm-up queries. The indexes are reused: 5 → --db5 (built when missing), 300 → --db (from
index_bench.py, built when missing; that takes ≈ 10 min).

    .venv/bin/python bench/query_bench.py                  # 5 and 300
    .venv/bin/python bench/query_bench.py --policies 300 --repeat 2
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (DEFAULT_BASELINE300, DEFAULT_CORPUS300, DEFAULT_DB300, ROOT, corpus_for,  # noqa: E402
                           dir_size_mb, load_note, merge_previous, peak_rss_mb, print_load, read_gold, report_targets,
                           summary_ms, table,
                           verdict, write_results)

DEFAULT_DB5 = Path("/tmp/bench5")
DEFAULT_BASELINE5 = Path("/tmp/bench5-baseline")
SEARCH_RATIO = 1.0   # issue 16: ours vs the baseline's top-4 search p95, measured in the same run
ASK_RATIO = 3.0
WARMUP = 3


def ensure_index(db: Path, corpus: Path) -> dict:
    """Build our index into ``db`` when it lacks any of the corpus's policies (not timed here)."""
    from index.embed import Embedder
    from index.pipeline import Indexer
    from index.store import Store, open_client

    store = Store(open_client(db))
    have = set(store.policies())
    want = {p.stem for p in corpus.glob("*.txt")}
    if want <= have:
        return {"built": False}
    print(f"building the index of {corpus} into {db} (not timed) …", flush=True)
    t = time.perf_counter()
    Indexer(store, Embedder).run([corpus])
    return {"built": True, "build_s": time.perf_counter() - t}


def child(policies: int, db: Path, corpus: Path, baseline_db: Path, repeat: int, skip_baseline: bool,
          torch_threads: int | None = None) -> dict:
    """Ours exactly as a query process runs it (ui.context.AppContext: the ONNX model, the read
    tables); the baseline with the sentence-transformers model."""
    from assistant.pipeline import Assistant
    from assistant.records import Scope
    from ui.context import AppContext

    out: dict = {"policies": policies, "db": str(db)}
    out["index"] = ensure_index(db, corpus)
    AppContext(db_dir=db).prepare_reading()  # a no-op unless the index was built without them
    gold = read_gold()

    ctx = AppContext(db_dir=db)
    t = time.perf_counter()
    embedder = ctx.query_embedder
    out["model_load_s"] = time.perf_counter() - t
    out["query_model"] = type(embedder).__name__
    t = time.perf_counter()
    retriever = ctx.retriever
    out["retriever_open_s"] = time.perf_counter() - t   # read tables + BM25 (cached) + IDF
    assistant = Assistant(retriever, embedder, None)
    known = set(retriever.policies)
    out["indexed_policies"] = len(known)
    out["indexed_chunks"] = len(retriever.lexical.chunks)
    out["db_mb"] = dir_size_mb(db)

    def scoped(row):
        return row["policy"] if row.get("policy") in known else None

    out["scoped_questions"] = sum(scoped(r) is not None for r in gold)
    t = time.perf_counter()
    retriever.search(gold[0]["question"], Scope((scoped(gold[0]),)) if scoped(gold[0]) else Scope(None))
    out["first_search_s"] = time.perf_counter() - t
    # as the server's AppContext.warm does before it binds: the language model (the warm-up
    # questions take its fast path) and every policy's unit table
    assistant.language.warm()
    t = time.perf_counter()
    retriever.warm()
    out["warm_tables_s"] = time.perf_counter() - t
    for row in gold[:WARMUP]:
        pid = scoped(row)
        retriever.search(row["question"], Scope((pid,)) if pid else Scope(None), k=5)
        assistant.ask(row["question"], policy=pid)

    search_s, ask_s, abstained, retrieve_ms = [], [], 0, []
    ask_by_scope: dict[str, list[float]] = {"scoped": [], "unscoped": []}
    for _ in range(repeat):
        for row in gold:
            pid = scoped(row)
            scope = Scope((pid,)) if pid else Scope(None)
            t = time.perf_counter()
            retriever.search(row["question"], scope, k=5)
            search_s.append(time.perf_counter() - t)
    for _ in range(repeat):
        for row in gold:
            pid = scoped(row)
            t = time.perf_counter()
            answer = assistant.ask(row["question"], policy=pid)
            ask_s.append(time.perf_counter() - t)
            ask_by_scope["scoped" if pid else "unscoped"].append(ask_s[-1])
            abstained += bool(answer.abstained)
            if "retrieve_ms" in answer.timings:
                retrieve_ms.append(answer.timings["retrieve_ms"] / 1000)
    out["search_ms"] = summary_ms(search_s)
    out["ask_ms"] = summary_ms(ask_s)
    out["ask_retrieve_ms"] = summary_ms(retrieve_ms)
    out["ask_scoped_ms"] = summary_ms(ask_by_scope["scoped"])
    out["ask_unscoped_ms"] = summary_ms(ask_by_scope["unscoped"])
    out["ask_abstained"] = abstained
    out["questions"] = len(gold) * repeat
    out["peak_rss_mb_ours"] = peak_rss_mb()

    if not skip_baseline:
        from bench.baseline_rag import BaselineRAG
        from index.embed import Embedder

        if torch_threads:
            import torch

            torch.set_num_threads(torch_threads)
        t = time.perf_counter()
        base = BaselineRAG(baseline_db, corpus, Embedder())
        out["baseline_open_s"] = time.perf_counter() - t
        out["baseline_built"] = base.built
        out["baseline_chunks"] = base.count()
        for row in gold[:WARMUP]:
            base.search(row["question"], scoped(row))
        base_s = []
        for _ in range(repeat):
            for row in gold:
                t = time.perf_counter()
                base.search(row["question"], scoped(row))
                base_s.append(time.perf_counter() - t)
        out["baseline_search_ms"] = summary_ms(base_s)
        out["baseline_db_mb"] = dir_size_mb(baseline_db)
    out["peak_rss_mb_process"] = peak_rss_mb()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--policies", type=int, nargs="+", choices=[5, 300], default=[5, 300],
                    help="corpus sizes (default: 5 300)")
    ap.add_argument("--db", type=Path, default=DEFAULT_DB300, help=f"300-policy index (default {DEFAULT_DB300})")
    ap.add_argument("--db5", type=Path, default=DEFAULT_DB5, help=f"5-policy index (default {DEFAULT_DB5})")
    ap.add_argument("--baseline-db", type=Path, default=DEFAULT_BASELINE300,
                    help=f"300-policy baseline index (default {DEFAULT_BASELINE300})")
    ap.add_argument("--baseline-db5", type=Path, default=DEFAULT_BASELINE5,
                    help=f"5-policy baseline index (default {DEFAULT_BASELINE5})")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS300,
                    help=f"300-policy synthetic corpus (default {DEFAULT_CORPUS300})")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the 127 gold questions (default 1)")
    ap.add_argument("--skip-baseline", action="store_true", help="only our search/ask")
    ap.add_argument("--torch-threads", type=int, help="torch.set_num_threads(N) in the measuring process "
                    "(default: torch's own choice, = cores; an experiment, not what policychat does)")
    ap.add_argument("--name", default="query_bench", help="results file name (default query_bench)")
    ap.add_argument("--_child", type=int, choices=[5, 300], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child:
        n = args._child
        corpus = corpus_for(n, args.corpus)
        db, bdb = (args.db5, args.baseline_db5) if n == 5 else (args.db, args.baseline_db)
        res = child(n, db, corpus, bdb, args.repeat, args.skip_baseline, args.torch_threads)
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    results = []
    for n in args.policies:
        corpus_for(n, args.corpus)  # generate the synthetic corpus once, in the parent
        before = print_load(f"before query bench @ {n} policies")
        cmd = [sys.executable, __file__, "--_child", str(n), "--db", str(args.db), "--db5", str(args.db5),
               "--baseline-db", str(args.baseline_db), "--baseline-db5", str(args.baseline_db5),
               "--corpus", str(args.corpus), "--repeat", str(args.repeat)]
        if args.skip_baseline:
            cmd.append("--skip-baseline")
        if args.torch_threads:
            cmd += ["--torch-threads", str(args.torch_threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise SystemExit(f"query bench @ {n} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        res = json.loads(line[7:])
        res["load"] = load_note(before)
        results.append(res)
        print(f"  {n} policies: search p95 {res['search_ms']['p95']:.1f} ms, ask p95 {res['ask_ms']['p95']:.1f} ms",
              flush=True)

    results = merge_previous(args.name, "results", results, ("policies",))
    results.sort(key=lambda r: r["policies"])
    rows = []
    for r in results:
        label = f"{r['policies']} ({r['indexed_chunks']:,} chunks)"
        for name, key in (("search (ours)", "search_ms"), ("ask (ours, extractive)", "ask_ms"),
                          ("  ask: retrieval part", "ask_retrieve_ms"), ("  ask: scoped to 1 policy", "ask_scoped_ms"),
                          ("  ask: unscoped (cross-policy)", "ask_unscoped_ms"), ("search (baseline top-4)", "baseline_search_ms")):
            if key in r:
                s = r[key]
                rows.append([label, name, s["n"], s["mean"], s["p50"], s["p95"], s["p99"], s["max"]])
    print()
    print(table(["policies", "operation", "n", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows))

    print()
    print(table(["policies", "query model", "open retriever s", "first search s", "abstained", "peak RSS MB (ours)",
                 "peak RSS MB (+baseline)", "index MB", "baseline MB", "load 1m"],
                [[r["policies"], r.get("query_model", "Embedder"), r["retriever_open_s"], r["first_search_s"], f"{r['ask_abstained']}/{r['questions']}",
                  r["peak_rss_mb_ours"], r["peak_rss_mb_process"], r["db_mb"], r.get("baseline_db_mb"),
                  r["load"]["load_before"][0]] for r in results], digits=2))

    targets = []
    for r in results:
        if r["policies"] != 300 or "baseline_search_ms" not in r:
            continue
        base = r["baseline_search_ms"]["p95"]
        for name, key, ratio in (("warm search p95 @ 300", "search_ms", SEARCH_RATIO),
                                 ("warm ask p95 @ 300", "ask_ms", ASK_RATIO),
                                 ("  of it cross-policy asks", "ask_unscoped_ms", ASK_RATIO)):
            got = r[key]["p95"]
            targets.append([name, f"≤ {ratio:g}× baseline search p95 ({base:.1f} ms)", got,
                            round(got / base, 2), verdict(got <= ratio * base)])
    write_results(args.name, {"results": results, "targets": report_targets(
        "Targets", ["target", "threshold", "measured ms", "ratio", "verdict"], targets)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
