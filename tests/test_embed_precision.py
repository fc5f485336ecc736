"""Embedding precision (index/embed.py): bulk passes in bfloat16 where the CPU makes it fast,
questions always in float32, the same vectors to within bfloat16 rounding."""
import numpy as np
import pytest

from index.config import BUNDLED_CORPUS
from index.embed import BF16_MIN_TOKENS, Embedder
from index.load import load_document
from index.parse import parse_document
from index.vectors import unit_texts


@pytest.fixture(scope="module")
def both(embedder):
    fp32 = embedder if embedder.precision == "fp32" else Embedder(precision="fp32")
    bf16 = embedder if embedder.precision == "bf16" else Embedder(precision="bf16")
    return fp32, bf16


def test_bfloat16_vectors_are_the_float32_ones_to_within_rounding(both):
    fp32, bf16 = both
    parsed = parse_document(load_document(BUNDLED_CORPUS / "alopal.txt"), 200, "all-MiniLM-L6-v2")
    texts = unit_texts(parsed.chunks, parsed.units)
    assert sum(fp32.token_counts(texts)) > BF16_MIN_TOKENS   # big enough to run in bfloat16
    a, b = fp32.embed(texts), bf16.embed(texts)
    assert a.dtype == b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-3)
    cos = np.sum(a * b, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.9995, cos.min()
    assert np.abs(a - b).max() > 1e-7          # it did run in another precision
    # every text still finds itself first among the others
    assert ((b @ a.T).argmax(axis=1) == np.arange(len(texts))).all()


def test_questions_are_always_embedded_in_float32(both):
    fp32, bf16 = both
    for question in ("how long do you keep my data?", "who receives my payment details"):
        assert np.abs(bf16.embed_query(question) - fp32.embed_query(question)).max() < 1e-6
