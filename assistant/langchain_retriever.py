"""Our hybrid retriever behind LangChain's BaseRetriever, for use in any LangChain chain."""
from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.records import Scope


class PolicyRetriever(BaseRetriever):
    """Dense + BM25 (RRF) search over policy chunks; metadata carries exact source offsets."""

    retriever: Any
    k: int = 5
    policy: str | None = None
    version: str | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        scope = Scope((self.policy,) if self.policy else None, self.version)
        return [Document(page_content=h.chunk.text,
                         metadata={"policy": h.chunk.policy, "section": h.chunk.section,
                                   "version": h.chunk.version, "start": h.chunk.start, "end": h.chunk.end,
                                   "score": h.score, "id": h.chunk.id})
                for h in self.retriever.search(query, scope, self.k)]
