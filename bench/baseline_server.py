"""A minimal FastAPI app serving the naive baseline (for load_bench.py's "baseline" rows).

POST /api/ask {question, policy?} → {"answer", "abstained", "citations"} (eval/baseline.py's
contract, top-4 chunks) and GET /healthz, under uvicorn with one worker, on 127.0.0.1 only.

    .venv/bin/python bench/baseline_server.py --db /tmp/bench300-baseline --corpus /tmp/bench300-corpus --port 8123
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import BaseModel  # noqa: E402

from bench._common import bundled_corpus  # noqa: E402


class AskRequest(BaseModel):
    question: str
    policy: str | None = None


def create_app(db: Path, corpus: Path):
    from fastapi import FastAPI

    from bench.baseline_rag import BaselineRAG
    from index.embed import Embedder

    rag = BaselineRAG(db, corpus, Embedder())
    app = FastAPI(title="naive baseline")

    @app.post("/api/ask")
    def ask(body: AskRequest) -> dict:
        return rag.ask(body.question, body.policy)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "chunks": rag.count()}

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="baseline Chroma directory (built when empty)")
    ap.add_argument("--corpus", type=Path, default=bundled_corpus(), help="policy folder (default: bundled five)")
    ap.add_argument("--port", type=int, default=8123)
    args = ap.parse_args(argv)
    uvicorn.run(create_app(args.db, args.corpus), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
