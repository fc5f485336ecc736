"""The naive LangChain RAG baseline for the benchmarks, persisted so it is built once.

The same setup as ``eval/baseline.py`` (reused, not copied: its ``read_corpus`` and
``split_corpus`` — RecursiveCharacterTextSplitter 1000/200 over the raw files — the same model
through ``index.embed.as_langchain``, ``langchain_chroma.Chroma``, top-4 similarity filtered by
policy). The one difference: eval's ``NaiveRAG`` keeps its Chroma in memory and rebuilds it per
process; the benchmarks need the 300-policy baseline in several processes, so it lives in a
``chromadb.PersistentClient`` directory (like our index, which is persistent too).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common  # noqa: E402,F401  (offline switches)

COLLECTION = "bench-baseline"


class BaselineRAG:
    def __init__(self, db: Path, corpus: Path, embedder, build_if_missing: bool = True):
        import chromadb
        from chromadb.config import Settings
        from langchain_chroma import Chroma

        from eval.baseline import TOP_K, read_corpus, split_corpus
        from index.embed import as_langchain

        self.top_k = TOP_K
        self.client = chromadb.PersistentClient(path=str(db), settings=Settings(anonymized_telemetry=False))
        self.store = Chroma(collection_name=COLLECTION, client=self.client,
                            embedding_function=as_langchain(embedder))
        self.built = False
        if self.store._collection.count() == 0:
            if not build_if_missing:
                raise RuntimeError(f"no baseline index in {db}")
            docs = split_corpus(read_corpus(corpus))
            self.store.add_documents(docs, ids=[f"{d.metadata['policy']}:{d.metadata['start_index']}"
                                                for d in docs])
            self.built = True

    def count(self) -> int:
        return self.store._collection.count()

    def search(self, question: str, policy: str | None = None, k: int | None = None):
        return self.store.similarity_search(question, k=k or self.top_k,
                                            filter={"policy": policy} if policy else None)

    def ask(self, question: str, policy: str | None = None) -> dict:
        """eval/baseline.py's answer contract (answer_style "first": the top chunk)."""
        docs = self.search(question, policy)
        cites = []
        for d in docs:
            start = int(d.metadata["start_index"])
            cites.append({"policy": d.metadata["policy"], "section": "", "quote": d.page_content,
                          "start": start, "end": start + len(d.page_content), "version": None})
        return {"answer": docs[0].page_content if docs else "", "abstained": False, "citations": cites}
