"""The composition root: builds the store, model, retriever and assistant once per process."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from index.chunk import DEFAULT_MAX_TOKENS
from index.config import number_setting, resolve_chroma_url, resolve_db_dir
from index.store import Store


def max_tokens_setting() -> int:
    """The chunk token budget: $POLICYCHAT_MAX_TOKENS, else the default."""
    return number_setting("POLICYCHAT_MAX_TOKENS", DEFAULT_MAX_TOKENS, int, minimum=16)


@dataclass
class AppContext:
    """Lazily created, shared handles; nothing heavy is loaded until first used."""

    db_dir: Path
    chroma_url: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    _store: Store | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, db: str | None = None, chroma_url: str | None = None) -> "AppContext":
        return cls(db_dir=resolve_db_dir(db), chroma_url=resolve_chroma_url(chroma_url),
                   max_tokens=max_tokens_setting())

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
        self.__dict__.pop("retriever", None)
        self.__dict__.pop("assistant", None)

    @cached_property
    def embedder(self):
        from index.embed import Embedder

        return Embedder()

    def indexer(self):
        from index.pipeline import Indexer

        return Indexer(self.store, lambda: self.embedder, self.max_tokens)

    def index(self, paths: list[Path], prune: bool = False, progress=None):
        """One indexing run; in embedded mode a run that dies is rolled back on the next open."""
        import contextlib

        from index.snapshot import guarded_write

        guard = contextlib.nullcontext() if self.chroma_url else guarded_write(self.db_dir)
        with guard:
            report = self.indexer().run(paths, prune=prune, progress=progress)
            self._store = None  # release the client before the guard drops its backup
            self.__dict__.pop("retriever", None)
            self.__dict__.pop("assistant", None)
        return report

    @cached_property
    def retriever(self):
        from assistant.retrieve import Retriever

        cache = None if self.chroma_url else self.db_dir / "bm25"
        return Retriever(self.store, self.embedder, cache)

    @cached_property
    def assistant(self):
        from assistant.chat import Assistant
        from assistant.generate import chat_model_from_env, llm_timeout_setting

        from insights.service import Insights

        insights = Insights(lambda: self.store)
        changes = lambda pid, question: insights.answer_change(pid, question, embed=self.embedder.embed)  # noqa: E731
        return Assistant(self.retriever, self.embedder, chat_model_from_env(), llm_timeout=llm_timeout_setting(),
                         changes=changes)
