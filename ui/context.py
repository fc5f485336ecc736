"""The composition root: builds the store, model, retriever and assistant once per process."""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from assistant.generate import chat_model
from index.embed import Embedder, default_model_name, default_model_path
from index.onnx_embed import BulkEmbedder, OnnxEmbedder, ensure_export
from index.settings import Settings
from index.snapshot import guarded_write
from index.store import Store
from index.tables import TableReader

# Imported where they are first needed, to keep `policychat policies` and `ask` cold starts light
# (tests/test_fast_start.py, bench/cold_bench.py): the retriever and the assistant pipeline, the
# indexer (tiktoken, the loaders), insights.service and the entity tagger (_text_notes).


log = logging.getLogger("policychat.context")
# A cross-policy question: answering it touches the model and every policy's tables.
WARM_QUESTION = "who receives my personal data?"


@dataclass
class AppContext:
    """Lazily created, shared handles; nothing heavy is loaded until first used. ``settings``
    configures all of them; its db_dir and chroma_url are this context's."""

    db_dir: Path
    chroma_url: str | None = None
    settings: Settings = field(default_factory=Settings)
    _store: Store | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.db_dir = Path(self.db_dir)
        self.settings = replace(self.settings, db_dir=self.db_dir, chroma_url=self.chroma_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AppContext":
        return cls(db_dir=settings.db_dir, chroma_url=settings.chroma_url, settings=settings)

    @property
    def max_tokens(self) -> int:
        return self.settings.max_tokens

    @property
    def store(self) -> Store:
        if self._store is None:
            if not self.chroma_url:
                self.db_dir.mkdir(parents=True, exist_ok=True)
            self._store = Store.open(self.db_dir, self.chroma_url)
        return self._store

    def reset_store(self) -> None:
        """Forget the store handle so the next use reconnects (after a server outage)."""
        self._store = None
        self._forget_readers()

    def _forget_readers(self) -> None:
        for name in ("reader", "retriever", "assistant"):
            self.__dict__.pop(name, None)

    @cached_property
    def reader(self):
        """The store's read side: read tables beside an embedded index (no Chroma import or
        open while they are fresh), the store itself for a Chroma server."""
        if self.chroma_url:
            return self.store
        return TableReader(self.db_dir, lambda: self.store, _text_notes)

    @cached_property
    def embedder(self):
        return Embedder(self.settings.embed_model, precision=self.settings.embed_precision)

    @cached_property
    def query_embedder(self):
        """The model for questions: its ONNX export beside the index when there is one (no
        torch import), else the sentence-transformers model."""
        if "embedder" not in self.__dict__:  # an injected model (tests) is used as given
            found = OnnxEmbedder.load(self.db_dir, self._model_name())
            if found is not None:
                return found
        return self.embedder

    def indexer(self):
        from index.pipeline import Indexer
        from insights.service import IndexLabels

        model_name = self._model_name()
        # Bulk embedding runs on the model's ONNX export (index/onnx_embed.py: half the CPU, and
        # in float32 no torch import)
        bulk = lambda: BulkEmbedder(lambda: self.embedder, self.db_dir, model_name,  # noqa: E731
                                    self._model_path(), self.settings.embed_precision)
        return Indexer(self.store, bulk, self.max_tokens, model_name=model_name, labels=IndexLabels())

    def _model_name(self) -> str:
        return default_model_name(self.settings.embed_model)

    def _model_path(self) -> str:
        return default_model_path(self.settings.embed_model)

    def index(self, paths: list[Path], prune: bool = False, progress=None):
        """One indexing run; in embedded mode a run that dies is rolled back on the next open."""
        guard = contextlib.nullcontext() if self.chroma_url else guarded_write(self.db_dir)
        with guard:
            report = self.indexer().run(paths, prune=prune, progress=progress)
            self._store = None  # release the client before the guard drops its backup
            self._forget_readers()
        self.prepare_reading()
        return report

    def prepare_reading(self) -> None:
        """Write what query processes load instead of computing: the ONNX export of the model
        (once), the read tables and the BM25 index of the current index."""
        if not self.reader.policies():
            return  # nothing to read yet: no reason to write an export
        try:  # written once: ensure_export returns at once when the export is there
            ensure_export(self.db_dir, self._model_name(), self._model_path(), lambda: self.embedder)
        except Exception as exc:  # questions still work, with sentence-transformers
            log.warning("could not export the embedding model to ONNX (%s: %s); questions will "
                        "load sentence-transformers instead", type(exc).__name__, exc)
        self.retriever  # noqa: B018 (building it writes the read tables and the BM25 cache)

    @cached_property
    def retriever(self):
        from assistant.retrieve import Retriever

        cache = None if self.chroma_url else self.db_dir / "bm25"
        return Retriever(self.reader, self.query_embedder, cache, settings=self.settings.answer)

    @cached_property
    def assistant(self):
        from assistant.pipeline import Assistant
        from insights.service import Insights

        insights = Insights(lambda: self.store)
        changes = lambda pid, question: insights.answer_change(pid, question, embed=self.query_embedder.embed)  # noqa: E731
        return Assistant(self.retriever, self.query_embedder, chat_model(self.settings),
                         settings=self.settings, changes=changes)

    def warm(self) -> None:
        """Load the model, tables and assistant and answer one question through every stage,
        so that the first user's question is answered as fast as the tenth."""
        from assistant.pipeline import Assistant

        # An extractive assistant over the same retriever and model: warming never calls an LLM.
        Assistant(self.retriever, self.query_embedder, settings=self.settings).ask(WARM_QUESTION)
        self.retriever.warm()  # every policy's unit table, not only those of the warm-up question
        self.assistant.warm()


def _text_notes(text: str, label: str):
    """assistant.unit_table.text_notes, imported only when tables are (re)written: a process
    that only lists policies should not load the entity tagger."""
    from assistant.unit_table import text_notes

    return text_notes(text, label)
