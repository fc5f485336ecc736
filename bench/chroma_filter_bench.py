"""Why retrieval slows down with more policies: Chroma vector queries with and without filters.

Times the exact query shapes the assistant sends to the embedded Chroma store (random unit query
vectors, 3 warm-up + 40 timed queries each) on the 5- and the 300-policy index, plus the
alternatives an optimisation could use: an unfiltered query, a filtered ``get`` (no vector
search) with the similarity computed in numpy, and an in-memory numpy matrix of one policy's
chunk vectors.

    .venv/bin/python bench/chroma_filter_bench.py            # needs /tmp/bench5 and /tmp/bench300
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import DEFAULT_DB300, percentile, print_load, table, write_results  # noqa: E402

DEFAULT_DB5 = Path("/tmp/bench5")
INCLUDE = ["documents", "metadatas", "distances"]


def cases(store, policy: str):
    import numpy as np

    gens = store.generations()
    gen = gens[policy]
    all_gens = sorted(set(gens.values()))
    chunk_ids = store.chunks.get(where={"gen": gen}, include=[])["ids"][:6]
    one = {"$and": [{"gen": {"$in": [gen]}}, {"current": True}]}
    every = {"$and": [{"gen": {"$in": all_gens}}, {"current": True}]}
    got = store.chunks.get(where=one, include=["embeddings"])
    matrix = np.asarray(got["embeddings"], dtype=np.float32)

    def units_numpy(v):
        got = store.units.get(where={"chunk_id": {"$in": chunk_ids}}, include=["embeddings", "metadatas"])
        sims = np.asarray(got["embeddings"], dtype=np.float32) @ v
        return np.argsort(-sims)[:24]

    return {
        "chunks: no filter (top 30)": lambda v: store.chunks.query(query_embeddings=[v.tolist()], n_results=30,
                                                                    include=INCLUDE),
        "chunks: 1 policy (gen $in [g] + current) — scoped search": lambda v: store.chunks.query(
            query_embeddings=[v.tolist()], n_results=30, where=one, include=INCLUDE),
        "chunks: gen == g only (no current clause)": lambda v: store.chunks.query(
            query_embeddings=[v.tolist()], n_results=30, where={"gen": gen}, include=INCLUDE),
        "chunks: current == True only": lambda v: store.chunks.query(
            query_embeddings=[v.tolist()], n_results=30, where={"current": True}, include=INCLUDE),
        "chunks: every policy (gen $in all + current) — unscoped search": lambda v: store.chunks.query(
            query_embeddings=[v.tolist()], n_results=30, where=every, include=INCLUDE),
        "chunks: numpy over 1 policy's cached vectors": lambda v: np.argsort(-(matrix @ v))[:30],
        "units: no filter (top 24)": lambda v: store.units.query(query_embeddings=[v.tolist()], n_results=24,
                                                                  include=INCLUDE),
        "units: chunk_id $in 6 chunks (their units)": lambda v: store.units.query(
            query_embeddings=[v.tolist()], n_results=24, where={"chunk_id": {"$in": chunk_ids}}, include=INCLUDE),
        "units: get(chunk_id $in 6) + numpy similarity": units_numpy,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--db5", type=Path, default=DEFAULT_DB5)
    ap.add_argument("--db", type=Path, default=DEFAULT_DB300)
    ap.add_argument("--policy", default="aliexpress", help="the policy for scoped queries (aliexpress)")
    ap.add_argument("--queries", type=int, default=40)
    args = ap.parse_args(argv)

    import numpy as np

    from index.store import Store, open_client

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.queries + 3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, out = [], []
    print_load("before chroma filter bench")
    for db in (args.db5, args.db):
        store = Store(open_client(db))
        n_chunks, n_units = store.chunks.count(), store.units.count()
        for name, fn in cases(store, args.policy).items():
            for v in vectors[:3]:
                fn(v)
            ms = []
            for v in vectors[3:]:
                t = time.perf_counter()
                fn(v)
                ms.append((time.perf_counter() - t) * 1000)
            rec = {"db": str(db), "policies": len(store.generations()), "chunks": n_chunks, "units": n_units,
                   "query": name, "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}
            out.append(rec)
            rows.append([rec["policies"], name, rec["p50_ms"], rec["p95_ms"]])
    print_load("after")
    print()
    print(table(["policies", "query", "p50 ms", "p95 ms"], rows, digits=2))
    write_results("chroma_filter_bench", {"rows": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
