"""The indexing embedding cache (index/embed_cache.py): each distinct text embedded once per run,
unchanged texts of a re-indexed policy reused from the store, vectors as if embedded directly."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import batching_tolerance
from index.config import BUNDLED_CORPUS
from index.embed import default_model_name, token_batches
from index.embed_cache import EmbedCache, text_key
from index.load import load_document
from index.parse import parse_document
from index.pipeline import INDEXED, UNCHANGED, Indexer
from index.store import Store, open_client
from index.vectors import embed_texts

MODEL = default_model_name()
OLD_SENTENCE = ("We may retain your personal data as long as you have a PODpartner account or any legal "
                "basis for the processing of personal data described above still exists.")
NEW_SENTENCE = ("We keep your personal data for exactly seven years after your PODpartner account is closed "
                "and then erase every copy of it.")


class Recording:
    """An embedder that records every text passed to the model."""

    def __init__(self, inner):
        self.inner = inner
        self.texts: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)

    def token_counts(self, texts):
        return self.inner.token_counts(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


class Fake:
    """A deterministic stand-in model: the vector of a text is its length and first letter."""

    dimension = 2

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32).reshape(len(texts), 2)

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]


def policy_texts(*names: str, folder: Path = BUNDLED_CORPUS) -> list[str]:
    texts = []
    for name in names:
        parsed = parse_document(load_document(folder / f"{name}.txt"), 200, MODEL)
        texts += embed_texts(parsed.chunks, parsed.units)
    return texts


# --- pure: a stand-in model ------------------------------------------------------------------
def test_each_distinct_text_reaches_the_model_once():
    fake = Fake()
    cache = EmbedCache(fake, MODEL)
    first = cache.embed(["a b", "cc", "a b"])
    assert fake.calls == [["a b", "cc"]]
    assert np.array_equal(first, [[3, 97], [2, 99], [3, 97]])
    assert np.array_equal(cache.embed(["cc", "dd"]), [[2, 99], [2, 100]])
    assert fake.calls[1:] == [["dd"]]
    assert (cache.requested, cache.embedded) == (5, 3)
    assert cache.token_counts(["a b", "a b", "cc"]) == [2, 2, 1]


def test_primed_vectors_are_used_and_keys_depend_on_the_model():
    fake = Fake()
    cache = EmbedCache(fake, MODEL)
    cache.prime({text_key(MODEL, "kept"): np.array([9.0, 9.0])})
    assert np.array_equal(cache.embed(["kept", "new"]), [[9, 9], [3, 110]])
    assert fake.calls == [["new"]]
    assert text_key(MODEL, "kept") != text_key("another-model", "kept")


def test_the_cap_evicts_old_entries_but_never_those_of_the_call_in_progress():
    fake = Fake()
    cache = EmbedCache(fake, MODEL, max_entries=3)
    cache.embed(["a", "bb", "ccc"])
    got = cache.embed(["bb", "dddd", "eeeee"])  # needs 2 slots: "a" and "ccc" go, "bb" stays
    assert np.array_equal(got, [[2, 98], [4, 100], [5, 101]])
    assert fake.calls[-1] == ["dddd", "eeeee"]
    cache.embed(["a"])
    assert fake.calls[-1] == ["a"]


def test_token_batches_hold_equal_work_longest_first():
    lengths = [10, 200, 50, 10, 120, 10]
    batches = token_batches(lengths, budget=240, cap=2)
    assert batches == [[1], [4, 2], [0, 3], [5]]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert token_batches([], budget=240) == []
    assert token_batches([500], budget=240) == [[0]]  # a text over the budget still gets its own pass


# --- real model --------------------------------------------------------------------------------
def test_cached_vectors_equal_embedding_each_text_directly(embedder):
    """alibaba holds two versions sharing text: deduplicated, grouped embedding must give every
    text the vector the model gives it alone in its own policy's call."""
    texts = policy_texts("alibaba", "alopal")
    model = Recording(embedder)
    cache = EmbedCache(model, MODEL)
    cache.warm(texts)
    assert len(model.texts) == len(set(texts)) < len(texts)
    cached = cache.embed(texts)
    direct = np.concatenate([embedder.embed(policy_texts(name)) for name in ("alibaba", "alopal")])
    alone = embedder.model.encode(texts[:40], batch_size=1, normalize_embeddings=True)  # no batching at all
    assert cached.shape == direct.shape
    tol = batching_tolerance(embedder)
    assert np.abs(cached - direct).max() < tol
    assert np.abs(cached[:40] - alone).max() < tol


@pytest.fixture
def podpartner_copy(tmp_path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copyfile(BUNDLED_CORPUS / "podpartner.txt", folder / "podpartner.txt")
    return folder


def test_reindexing_an_edited_paragraph_embeds_only_the_changed_texts(podpartner_copy, tmp_path, embedder):
    before = policy_texts("podpartner", folder=podpartner_copy)
    store = Store(open_client(tmp_path / "db"))
    first = Recording(embedder)
    report = Indexer(store, lambda: first).run([podpartner_copy])
    assert [r.status for r in report.results] == [INDEXED]
    assert sorted(first.texts) == sorted(set(before))

    path = podpartner_copy / "podpartner.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD_SENTENCE, NEW_SENTENCE), encoding="utf-8")
    after = policy_texts("podpartner", folder=podpartner_copy)
    changed = set(after) - set(before)
    assert changed and all(NEW_SENTENCE in t for t in changed)

    second = Recording(embedder)
    report = Indexer(store, lambda: second).run([podpartner_copy])
    assert [r.status for r in report.results] == [INDEXED]
    assert sorted(second.texts) == sorted(changed)
    assert (report.embedded_texts, report.embed_texts) == (len(changed), len(after))

    # The stored unit vectors are those a fresh build would store.
    stored = store.units.get(where={"policy": "podpartner"}, include=["embeddings", "metadatas"])
    by_key = dict(zip((m["ekey"] for m in stored["metadatas"]), stored["embeddings"]))
    keys = [text_key(MODEL, t) for t in after]
    units = len(stored["ids"])
    assert set(by_key) == set(keys[:units])
    fresh = embedder.embed(after[:units])
    assert np.abs(np.asarray([by_key[k] for k in keys[:units]]) - fresh).max() < batching_tolerance(embedder)
    assert [r.status for r in Indexer(store, lambda: second).run([podpartner_copy]).results] == [UNCHANGED]
