"""Indexing vectors: units embedded once, chunk vectors pooled from them (index/vectors.py)."""
import numpy as np
import pytest

from conftest import batching_tolerance
from index.load import load_document
from index.parse import parse_document
from index.vectors import policy_vectors, pool, unit_embed_text
from index.config import BUNDLED_CORPUS


def test_pool_is_a_weighted_unit_mean():
    v = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    heavy_first = pool(v, np.array([3.0, 1.0]))
    assert np.isclose(np.linalg.norm(heavy_first), 1.0)
    assert heavy_first[0] == pytest.approx(3 / np.sqrt(10))
    assert np.allclose(pool(v, np.array([1.0, 1.0])), [2 ** -0.5, 2 ** -0.5])


@pytest.fixture(scope="module")
def alopal(embedder):
    parsed = parse_document(load_document(BUNDLED_CORPUS / "alopal.txt"), 200, "all-MiniLM-L6-v2")
    chunk_vectors, unit_vectors = policy_vectors(embedder, parsed.chunks, parsed.units)
    return parsed, chunk_vectors, unit_vectors


def test_unit_vectors_are_their_texts_embedded_with_the_section(embedder, alopal):
    parsed, _, unit_vectors = alopal
    sections = {c.id: c.section for c in parsed.chunks}
    assert unit_vectors.shape == (len(parsed.units), embedder.dimension)
    picks = [0, len(parsed.units) // 2, len(parsed.units) - 1]
    direct = embedder.embed([unit_embed_text(parsed.units[i], sections[parsed.units[i].chunk_id]) for i in picks])
    assert np.allclose(unit_vectors[picks], direct, atol=max(1e-4, batching_tolerance(embedder)))


def test_pooled_chunk_vector_is_nearest_to_its_own_chunk(embedder, alopal):
    """The pooled vector stands in for embedding the chunk: it must be close to the chunk's own
    embedding and closer to it than to any other chunk's."""
    parsed, chunk_vectors, _ = alopal
    assert chunk_vectors.shape == (len(parsed.chunks), embedder.dimension)
    assert np.allclose(np.linalg.norm(chunk_vectors, axis=1), 1.0, atol=1e-4)
    direct = embedder.embed([c.embed_text() for c in parsed.chunks])
    sims = chunk_vectors @ direct.T
    assert float(np.diag(sims).mean()) > 0.85
    assert (sims.argmax(axis=1) == np.arange(len(parsed.chunks))).mean() >= 0.9


def test_a_chunk_without_units_is_embedded_directly(embedder, alopal):
    parsed, _, _ = alopal
    chunk = parsed.chunks[0]
    chunk_vectors, unit_vectors = policy_vectors(embedder, [chunk], [])
    assert unit_vectors.shape[0] == 0
    assert np.allclose(chunk_vectors[0], embedder.embed([chunk.embed_text()])[0],
                       atol=max(1e-4, batching_tolerance(embedder)))


def test_token_counts_follow_the_model_window(embedder):
    short, long = embedder.token_counts(["hello world", "word " * 1000])
    assert short == 4  # [CLS] hello world [SEP]
    assert long == embedder.model.max_seq_length
