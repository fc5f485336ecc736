"""Embedding precision (index/embed.py): bulk passes in bfloat16 where the CPU makes it fast,
questions always in float32, the same vectors to within bfloat16 rounding."""
import json

import numpy as np
import pytest

from conftest import run_cli
from index.config import BUNDLED_CORPUS
from index.embed import BF16_MIN_TOKENS, Embedder, PrecisionSettingError, bf16_is_fast, resolve_precision
from index.load import load_document
from index.parse import parse_document
from index.vectors import unit_texts


def test_precision_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("POLICYCHAT_EMBED_PRECISION", raising=False)
    assert resolve_precision() == ("bf16" if bf16_is_fast() else "fp32")
    assert resolve_precision("fp32") == "fp32" and resolve_precision("BF16") == "bf16"
    monkeypatch.setenv("POLICYCHAT_EMBED_PRECISION", "fp32")
    assert resolve_precision() == "fp32"
    assert resolve_precision("bf16") == "bf16"
    monkeypatch.setenv("POLICYCHAT_EMBED_PRECISION", "half")
    with pytest.raises(PrecisionSettingError, match="auto, fp32, bf16"):
        resolve_precision()


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


def test_an_unknown_precision_is_one_clear_line(corpus_db):
    proc = run_cli("ask", "how long do you keep my data?", "--db", str(corpus_db), "--json",
                   env={"POLICYCHAT_EMBED_PRECISION": "half"})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "POLICYCHAT_EMBED_PRECISION must be one of auto, fp32, bf16" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.returncode == 2 and "ValueError" not in proc.stderr
    # the server refuses to start rather than answer every question with a 500
    serve = run_cli("serve", "--db", str(corpus_db), "--port", "1", env={"POLICYCHAT_EMBED_PRECISION": "half"},
                    timeout=60)
    assert serve.returncode == 2 and "POLICYCHAT_EMBED_PRECISION must be one of" in serve.stderr
    ok = run_cli("ask", "how long do you keep my data?", "--db", str(corpus_db), "--json",
                 env={"POLICYCHAT_EMBED_PRECISION": "fp32"})
    assert ok.returncode == 0 and json.loads(ok.stdout)["citations"]
