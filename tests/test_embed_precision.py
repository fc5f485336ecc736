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


@pytest.mark.parametrize("flags, fast", [
    ("fpu sse avx512f amx_bf16 amx_tile amx_int8", True),
    ("fpu sse avx2 avx512f avx512_bf16", False),     # bfloat16 instructions, no tiles
    ("fpu sse amx_tile", False),
])
def test_bfloat16_is_chosen_from_the_cpu_flags_without_torch(tmp_path, monkeypatch, flags, fast):
    from index import embed

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert embed.bf16_is_fast(cpuinfo) is fast
    assert embed.bf16_is_fast(tmp_path / "missing") is False   # not Linux
    monkeypatch.setattr(embed, "bf16_is_fast", lambda: fast)
    assert embed.resolve_precision("auto") == ("bf16" if fast else "fp32")
    assert embed.resolve_precision("fp32") == "fp32" and embed.resolve_precision("bf16") == "bf16"
