"""Where an ask's time goes: cProfile over warm Assistant.ask calls (offline, extractive).

Opens the index (default: the 300-policy one, /tmp/bench300), warms up with 3 questions, then
profiles asks of the gold questions (scoped to their policy when it is indexed) and prints

* a breakdown by stage (cumulative time per ask of the pipeline's main functions; stages nest,
  e.g. "Chroma unit query" is part of "unit scoring"), and
* the top functions by cumulative and by own time.

    .venv/bin/python bench/profile_ask.py --policies 300 --questions 127
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (DEFAULT_CORPUS300, DEFAULT_DB300, ROOT, corpus_for, print_load,  # noqa: E402
                           read_gold, table, write_results)

DEFAULT_DB5 = Path("/tmp/bench5")

# (label, path suffix, function name); cumulative time of each, per ask.
STAGES = [
    ("ask total", "assistant/pipeline.py", "ask"),
    ("  index refresh check (manifests)", "assistant/retrieve.py", "refresh"),
    ("  routing: mentioned_policies (difflib)", "assistant/route.py", "mentioned_policies"),
    ("  routing: topic_of", "assistant/route.py", "topic_of"),
    ("  query embedding (MiniLM)", "index/embed.py", "embed"),
    ("  Retriever.search (all calls)", "assistant/retrieve.py", "search"),
    ("    Chroma dense chunk query", "index/store.py", "query_chunks"),
    ("    BM25 ranking", "assistant/bm25_index.py", "ranked"),
    ("    allowed-mask over all chunks", "assistant/retrieve.py", "<listcomp>"),
    ("    rank fusion", "assistant/fusion.py", "rrf"),
    ("  candidates and features", "assistant/pipeline.py", "candidates"),
    ("    unit table (once per policy)", "assistant/unit_table.py", "build"),
    ("    candidate features", "assistant/features.py", "candidate_features"),
    ("  ranker probabilities", "assistant/ranker.py", "probabilities"),
    ("  citations", "assistant/answer.py", "citations_for"),
]


def stage_times(stats: pstats.Stats, asks: int) -> list[dict]:
    out = []
    total = None
    for label, suffix, func in STAGES:
        ct = sum(v[3] for (path, _line, name), v in stats.stats.items()
                 if name == func and path.replace("\\", "/").endswith(suffix))
        calls = sum(v[1] for (path, _line, name), v in stats.stats.items()
                    if name == func and path.replace("\\", "/").endswith(suffix))
        if total is None:
            total = ct or 1.0
        out.append({"stage": label, "ms_per_ask": 1000 * ct / asks, "calls_per_ask": calls / asks,
                    "share": ct / total})
    return out


def top_functions(stats: pstats.Stats, key: str, limit: int) -> list[dict]:
    rows = []
    for (path, line, name), (cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append({"function": f"{_short(path)}:{line}({name})", "calls": nc, "own_s": tt, "cum_s": ct})
    rows.sort(key=lambda r: -r[key])
    return rows[:limit]


def _short(path: str) -> str:
    p = path.replace("\\", "/")
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in p:
            return p.split(marker, 1)[1]
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--policies", type=int, choices=[5, 300], default=300, help="corpus size (default 300)")
    ap.add_argument("--db", type=Path, help=f"index directory (default {DEFAULT_DB300} / {DEFAULT_DB5})")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS300)
    ap.add_argument("--questions", type=int, default=127, help="gold questions to profile (default all 127)")
    ap.add_argument("--top", type=int, default=20, help="functions to list (default 20)")
    ap.add_argument("--torch-threads", type=int, help="torch.set_num_threads before profiling (default: torch's)")
    args = ap.parse_args(argv)

    from assistant.pipeline import Assistant
    from assistant.retrieve import Retriever
    from index.embed import Embedder
    from index.store import Store, open_client

    corpus_for(args.policies, args.corpus)
    db = args.db or (DEFAULT_DB300 if args.policies == 300 else DEFAULT_DB5)
    if not (db / "chroma.sqlite3").exists():
        raise SystemExit(f"no index in {db}: run bench/index_bench.py or bench/query_bench.py first")
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    embedder = Embedder()
    retriever = Retriever(Store(open_client(db)), embedder, db / "bm25")
    assistant = Assistant(retriever, embedder, None)
    known = set(retriever.policies)
    gold = read_gold()[:args.questions]
    asks = [(r["question"], r["policy"] if r.get("policy") in known else None) for r in gold]
    for q, p in asks[:3]:
        assistant.ask(q, policy=p)

    print_load("before profile")
    profiler = cProfile.Profile()
    t = time.perf_counter()
    profiler.enable()
    for q, p in asks:
        assistant.ask(q, policy=p)
    profiler.disable()
    wall = time.perf_counter() - t
    stats = pstats.Stats(profiler, stream=io.StringIO())

    stages = stage_times(stats, len(asks))
    print(f"\n{len(asks)} asks over {len(known)} policies ({len(retriever.lexical.chunks):,} chunks): "
          f"{1000 * wall / len(asks):.1f} ms per ask under the profiler\n")
    print(table(["stage (nested)", "ms per ask", "calls per ask", "share of ask"],
                [[s["stage"], s["ms_per_ask"], s["calls_per_ask"], f"{100 * s['share']:.0f}%"] for s in stages]))
    cum = top_functions(stats, "cum_s", args.top)
    own = top_functions(stats, "own_s", args.top)
    print(f"\nTop {args.top} by own time")
    print(table(["function", "calls", "own s", "cum s"], [[r["function"], r["calls"], r["own_s"], r["cum_s"]]
                                                         for r in own], digits=3))
    suffix = f"_torch{args.torch_threads}" if args.torch_threads else ""
    write_results(f"profile_ask_{args.policies}{suffix}", {"policies": len(known), "asks": len(asks),
                                                   "ms_per_ask_profiled": 1000 * wall / len(asks),
                                                   "torch_threads": args.torch_threads,
                                                   "stages": stages, "top_cumulative": cum, "top_own": own})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
