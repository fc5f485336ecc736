"""What the assistant needs of the parts it is given: the embedding model, the index and a
language model. Any object with these methods will do (a test's fake, another backend).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from assistant.generate import Generated
from assistant.layout import UnitLayout
from assistant.records import Citation
from index.records import Chunk, Policy, Unit
from index.store import StoredChunk


class QueryEmbedder(Protocol):
    """Embeds a question into the index's vector space (index.embed.Embedder, index.onnx_embed.OnnxEmbedder)."""

    def embed_query(self, text: str) -> np.ndarray: ...


class UnitSource(Protocol):
    """Where evidence reads how a policy's citation units stand: paragraphs and lists."""

    def layout(self, policy_id: str) -> UnitLayout: ...


class PolicyStore(Protocol):
    """The read side of the index that retrieval loads and searches (index.store.Store,
    index.tables.TableReader)."""

    def generations(self) -> dict[str, str]: ...

    def policies(self) -> dict[str, Policy]: ...

    def source_texts(self) -> dict[str, str]: ...

    def chunk_rows(self, gens: list[str]) -> Sequence[StoredChunk]: ...

    def query_chunks(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[Chunk, float]]: ...

    def unit_rows_of(self, gen: str) -> tuple[list[tuple[Unit, Chunk]], np.ndarray]: ...


class AnswerGenerator(Protocol):
    """Writes an answer from the extractive answer's citations (assistant.generate.Generator);
    ``generate`` and ``stream`` raise assistant.generate.GenerationFailed when they cannot."""

    def generate(self, question: str, sources: list[Citation], titles: dict[str, str]) -> Generated: ...

    def stream(self, question: str, sources: list[Citation], titles: dict[str, str]) -> Iterator[str]: ...

    def rewrite(self, history: list[tuple[str, str]], question: str) -> str | None:
        """A follow-up as a standalone question, or None."""
        ...
