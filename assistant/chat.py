"""The assistant: conversation handling around the answer pipeline (stub, being built)."""
from __future__ import annotations

from collections.abc import Iterator

from assistant.records import Answer, Citation, Scope


class Assistant:
    def __init__(self, retriever, embedder, chat_model=None):
        self.retriever = retriever
        self.embedder = embedder
        self.chat_model = chat_model

    def ask(self, question: str, policy: str | None = None, session_id: str | None = None) -> Answer:
        hits = self.retriever.search(question, Scope((policy,) if policy else None), k=3)
        cites = [Citation(h.chunk.policy, h.chunk.section, h.chunk.text, h.chunk.start, h.chunk.end,
                          h.chunk.version) for h in hits]
        return Answer(text="(draft) see the cited passages [1].", citations=cites, question=question)

    def stream(self, question: str, policy: str | None = None, session_id: str | None = None) -> Iterator[tuple[str, object]]:
        answer = self.ask(question, policy, session_id)
        for word in answer.text.split(" "):
            yield "token", word + " "
        yield "answer", answer
