"""Vectors for one policy: every citation unit is embedded once; chunk vectors are pooled from them.

all-MiniLM-L6-v2 mean-pools its token vectors, so the token-weighted mean of a chunk's unit
vectors approximates the chunk's own embedding. Embedding units only, instead of chunks and
then units again, halves the indexing cost (bench/index_bench.py, docs/performance.md) while
retrieval on the gold set stays level (docs/quality.md).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from index.records import Chunk, Unit


def unit_embed_text(unit: Unit, section: str) -> str:
    """A unit is embedded with its section path: "share with third parties: Stripe ..." says
    more about who receives data than the bare list item does."""
    return f"{section}: {unit.text}"


def pool(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of row vectors, normalised to unit length."""
    mean = (vectors * weights[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm else mean).astype(np.float32)


def as_matrix(vectors) -> np.ndarray:
    """Chroma's embeddings (a list of rows, possibly none) as a float32 matrix of row vectors."""
    matrix = np.asarray(vectors if vectors is not None else [], dtype=np.float32)
    return matrix if matrix.ndim == 2 else matrix.reshape(0, 0)


def unit_centrality(units: list[Unit], vectors: np.ndarray) -> dict[tuple[str, int], float]:
    """Each unit's cosine to the normalised mean of its policy's unit vectors, minus the mean of
    those cosines, by (chunk id, start): generic "hub" sentences sit near the centre of their
    policy and come up for every question."""
    if not units:
        return {}
    centre = vectors.mean(axis=0)
    sims = vectors @ (centre / (np.linalg.norm(centre) or 1.0))
    sims -= sims.mean()
    return {(u.chunk_id, u.start): float(v) for u, v in zip(units, sims)}


def unit_texts(chunks: list[Chunk], units: list[Unit]) -> list[str]:
    """Each unit's embed text, in the order given."""
    sections = {c.id: c.section for c in chunks}
    return [unit_embed_text(u, sections[u.chunk_id]) for u in units]


def embed_texts(chunks: list[Chunk], units: list[Unit]) -> list[str]:
    """Every text ``policy_vectors`` embeds: the units, then the chunks that hold no unit."""
    holders = {u.chunk_id for u in units}
    return unit_texts(chunks, units) + [c.embed_text() for c in chunks if c.id not in holders]


def policy_vectors(embedder, chunks: list[Chunk], units: list[Unit]) -> tuple[np.ndarray, np.ndarray]:
    """(chunk vectors, unit vectors) in the order given; one embedding pass over the units,
    plus the few chunks that hold no unit (a heading-only or very short chunk)."""
    texts = unit_texts(chunks, units)
    unit_vectors = embedder.embed(texts)
    weights = np.asarray(embedder.token_counts(texts), dtype=np.float32)
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, unit in enumerate(units):
        rows_of[unit.chunk_id].append(i)
    bare = [c for c in chunks if not rows_of[c.id]]
    bare_vectors = dict(zip((c.id for c in bare), embedder.embed([c.embed_text() for c in bare])))
    chunk_vectors = [bare_vectors[c.id] if c.id in bare_vectors else
                     pool(unit_vectors[rows_of[c.id]], weights[rows_of[c.id]]) for c in chunks]
    dimension = unit_vectors.shape[1] if len(units) else embedder.dimension
    return np.asarray(chunk_vectors, dtype=np.float32).reshape(len(chunks), dimension), unit_vectors
