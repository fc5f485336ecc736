"""BM25 over the same chunks as the vector index (bm25s), cached beside the index."""
from __future__ import annotations

import hashlib
import json
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.terms import STOPWORDS, english_stemmer
from index.records import Chunk


class BM25Index:
    """BM25 scores for a query over a fixed list of chunks."""

    def __init__(self, chunks: list[Chunk], retriever, ids: list[str]):
        self.chunks = chunks
        self.ids = ids
        self.retriever = retriever
        self.stemmer = english_stemmer()
        self.position = {cid: i for i, cid in enumerate(ids)}
        self._recent_scores = lru_cache(maxsize=16)(self._scores)

    @staticmethod
    def text_of(chunk: Chunk) -> str:
        return f"{chunk.section}\n{chunk.text}"

    @classmethod
    def build(cls, chunks: list[Chunk]) -> "BM25Index":
        import bm25s

        stemmer = english_stemmer()
        tokens = bm25s.tokenize([cls.text_of(c) for c in chunks], stopwords=STOPWORDS, stemmer=stemmer,
                                show_progress=False)
        retriever = bm25s.BM25()
        if chunks:
            retriever.index(tokens, show_progress=False)
        return cls(chunks, retriever, [c.id for c in chunks])

    @classmethod
    def load_or_build(cls, chunks: list[Chunk], cache_root: Path | None) -> "BM25Index":
        """Reuse the saved index when the chunk set is the same, else build and save it."""
        if cache_root is None or not chunks:
            return cls.build(chunks)
        ids = sorted(c.id for c in chunks)
        chunks = sorted(chunks, key=lambda c: c.id)
        key = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
        folder = cache_root / key
        try:
            if (folder / "ids.json").exists() and json.loads((folder / "ids.json").read_text()) == ids:
                import bm25s

                retriever = bm25s.BM25.load(str(folder), show_progress=False)
                return cls(chunks, retriever, ids)
        except (OSError, ValueError):
            pass  # a damaged cache is rebuilt below
        index = cls.build(chunks)
        try:
            if cache_root.exists():
                shutil.rmtree(cache_root, ignore_errors=True)
            tmp = cache_root / f"{key}.tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            index.retriever.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(ids))
            tmp.rename(folder)
        except OSError:
            pass  # caching is an optimisation; a read-only disk still serves
        return index

    def scores(self, query: str) -> np.ndarray:
        """BM25 of every chunk for ``query`` (read-only: the last few queries' scores are kept,
        since a cross-policy question searches each of its policies with the same words)."""
        scores = self._recent_scores(query)
        scores.flags.writeable = False  # shared by every caller of the same query
        return scores

    def _scores(self, query: str) -> np.ndarray:
        import bm25s

        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        tokens = bm25s.tokenize([query], stopwords=STOPWORDS, stemmer=self.stemmer, show_progress=False,
                                return_ids=False)
        words = [w for w in tokens[0] if w in self.retriever.vocab_dict] if tokens else []
        if not words:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(words), dtype=np.float32)

    def ranked(self, query: str, allowed: np.ndarray | None, k: int) -> list[tuple[Chunk, float]]:
        """Top-k chunks by BM25 among ``allowed`` (a boolean mask), positive scores only."""
        scores = self.scores(query)
        if scores.size == 0:
            return []
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores)[:k]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]
