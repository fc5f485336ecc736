"""Content-addressed embeddings for indexing: each distinct (model, text) is embedded once.

Policies repeat themselves: two versions of one policy share most sentences, and policies
built from the same template share boilerplate (the 300-policy bench corpus: 46 % of the
unit texts are distinct). ``EmbedCache`` wraps the embedder with the same interface, so
``index.vectors`` is unchanged; the indexer warms it with many policies' texts at once (one
model call, fewer padded batches) and primes it with the vectors a policy already has in the
store, so re-indexing an edited policy embeds only its changed texts.
"""
from __future__ import annotations

import hashlib

import numpy as np

# About 160 MB of vectors (384 float32 each); a run over more distinct texts evicts the oldest.
MAX_ENTRIES = 100_000


def text_key(model: str, text: str) -> str:
    """The cache key of one embed text: model name and text, so a model switch never reuses."""
    return hashlib.sha256(f"{model}\x00{text}".encode("utf-8")).hexdigest()[:32]


class EmbedCache:
    """An embedder (``embed``, ``token_counts``, ``dimension``) that embeds each distinct text
    once per run; ``embedded`` counts the texts actually passed to the model."""

    def __init__(self, embedder, model: str, max_entries: int = MAX_ENTRIES):
        self.embedder = embedder
        self.model = model
        self.max_entries = max_entries
        self._vectors: dict[str, np.ndarray] = {}
        self._tokens: dict[str, int] = {}
        self.requested = 0
        self.embedded = 0

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def keys(self, texts: list[str]) -> list[str]:
        return [text_key(self.model, t) for t in texts]

    def prime(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors known from elsewhere (the store), by key; never overrides one already held."""
        for key, vector in vectors.items():
            self._vectors.setdefault(key, np.asarray(vector, dtype=np.float32))

    def warm(self, texts: list[str]) -> int:
        """Embed the texts not held yet, in one model call; returns how many were embedded."""
        return self._warm(texts, self.keys(texts))

    def _warm(self, texts: list[str], keys: list[str]) -> int:
        missing = {}
        for text, key in zip(texts, keys):
            if key not in self._vectors:
                missing.setdefault(key, text)
        if missing:
            self._make_room(len(missing), keep=set(keys))
            vectors = self.embedder.embed(list(missing.values()))
            self._vectors.update(zip(missing, vectors))
            self.embedded += len(missing)
        return len(missing)

    def _make_room(self, wanted: int, keep: set[str]) -> None:
        """Drop the oldest entries (never those of the call in progress) to stay under the cap."""
        excess = len(self._vectors) + wanted - self.max_entries
        if excess <= 0:
            return
        for key in [k for k in self._vectors if k not in keep][:excess]:
            del self._vectors[key]
            self._tokens.pop(key, None)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.requested += len(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = self.keys(texts)
        self._warm(texts, keys)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def token_counts(self, texts: list[str]) -> list[int]:
        """The model's token counts (pooling weights), each distinct text tokenized once."""
        keys = self.keys(texts)
        missing = {k: t for k, t in zip(keys, texts) if k not in self._tokens}
        if missing:
            self._tokens.update(zip(missing, self.embedder.token_counts(list(missing.values()))))
        return [self._tokens[k] for k in keys]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed_query(text)
