"""The naive LangChain RAG baseline, scored by the same metric code as the assistant.

Textbook setup, deliberately without any of the project's pipeline: the RAW policy files
(``index/corpus/*.txt``, site chrome, tables of contents and old versions included) are split
by ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)``,
embedded with the same sentence-transformers model (``index.embed.as_langchain``) into an
in-memory ``langchain_chroma.Chroma`` collection (never Chroma's default embedding function),
and searched by plain top-4 similarity, filtered by policy when the question names one.

The "answer" never abstains and cites the retrieved chunks whole (quote = chunk text,
offsets from ``start_index``). As a stand-in for an LLM reading the stuffed context, the
answer text is the top chunk (``answer_style="first"``, the default) or all retrieved chunks
concatenated (``"concat"``, an upper bound on what a reader of the context could say).
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from index import env as _env  # noqa: F401  (offline, no telemetry)
from index.config import BUNDLED_CORPUS
from index.embed import as_langchain
from index.store import ephemeral_client

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
ANSWER_STYLES = ("first", "concat")


@dataclass(frozen=True)
class BaselineChunk:
    policy: str
    start: int
    end: int
    text: str


def read_corpus(corpus_dir: Path = BUNDLED_CORPUS) -> dict[str, str]:
    """``{policy_id: raw text}`` of the corpus .txt files, line endings kept (offsets index the file)."""
    texts = {}
    for path in sorted(Path(corpus_dir).glob("*.txt")):
        with path.open(encoding="utf-8", newline="") as fh:
            texts[path.stem] = fh.read()
    return texts


def split_corpus(texts: dict[str, str]) -> list:
    """LangChain Documents with ``policy`` and ``start_index`` metadata."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP,
                                              add_start_index=True)
    docs = [Document(page_content=text, metadata={"policy": pid, "source": f"{pid}.txt"})
            for pid, text in texts.items()]
    return splitter.split_documents(docs)


class NaiveRAG:
    """Top-k similarity search over fixed-size character chunks; answers with whole chunks."""

    def __init__(self, embedder, corpus_dir: Path = BUNDLED_CORPUS, answer_style: str = "first"):
        from langchain_chroma import Chroma

        if answer_style not in ANSWER_STYLES:
            raise ValueError(f"answer_style must be one of {ANSWER_STYLES}")
        self.answer_style = answer_style
        self.texts = read_corpus(corpus_dir)
        self.documents = split_corpus(self.texts)
        self.client = ephemeral_client()
        self.collection_name = f"baseline-{uuid.uuid4().hex[:12]}"
        self.store = Chroma(collection_name=self.collection_name, client=self.client,
                            embedding_function=as_langchain(embedder))
        self.store.add_documents(self.documents,
                                 ids=[f"{d.metadata['policy']}:{d.metadata['start_index']}"
                                      for d in self.documents])

    @property
    def chunks(self) -> list[BaselineChunk]:
        return [self._chunk(d) for d in self.documents]

    @staticmethod
    def _chunk(doc) -> BaselineChunk:
        start = int(doc.metadata["start_index"])
        return BaselineChunk(doc.metadata["policy"], start, start + len(doc.page_content), doc.page_content)

    def search(self, question: str, policy: str | None = None, k: int = TOP_K) -> list[BaselineChunk]:
        """Top-k chunks by similarity, within ``policy`` when given."""
        docs = self.store.similarity_search(question, k=k, filter={"policy": policy} if policy else None)
        return [self._chunk(d) for d in docs]

    def ask(self, question: str, policy: str | None = None) -> dict:
        """The answer contract ``{"answer", "abstained", "citations"}``, like ``Answer.to_contract()``."""
        hits = self.search(question, policy, TOP_K)
        if self.answer_style == "concat":
            text = "\n\n".join(h.text for h in hits)
        else:
            text = hits[0].text if hits else ""
        return {"answer": text, "abstained": False,
                "citations": [{"policy": h.policy, "section": "", "quote": h.text, "start": h.start,
                               "end": h.end, "version": None} for h in hits]}

    def close(self) -> None:
        try:
            self.client.delete_collection(self.collection_name)
        except Exception:  # already gone
            pass


_SHARED: dict[tuple, NaiveRAG] = {}
_SHARED_LOCK = threading.Lock()


def shared_baseline(embedder, corpus_dir: Path = BUNDLED_CORPUS, answer_style: str = "first") -> NaiveRAG:
    """One baseline per (embedder, corpus, style) per process: the build embeds ~200 chunks."""
    key = (id(embedder), str(Path(corpus_dir).resolve()), answer_style)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = NaiveRAG(embedder, corpus_dir, answer_style)
        return _SHARED[key]
