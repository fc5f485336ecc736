"""Incremental indexing and crash-safe replacement, with the real model and a real Chroma.

Each test indexes a small corpus (alipartnership + podpartner) into its own temp dir. Fault
injection runs `policychat index` in a subprocess with POLICYCHAT_FAULT set: index/faults.py
ends that process with status 75 at the named point of Store.replace_policies.
"""
from __future__ import annotations

import os

import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from index.config import BUNDLED_CORPUS
from index.embed import default_model_name
from index.load import load_document
from index.parse import DEFAULT_MAX_TOKENS, content_hash, generation, parse_document
from index.pipeline import INDEXED, PRUNED, UNCHANGED, Indexer
from index.store import Store, open_client

pytestmark = pytest.mark.slow

SMALL = ("alipartnership", "podpartner")
OLD_SENTENCE = ("We may retain your personal data as long as you have a PODpartner account or any legal "
                "basis for the processing of personal data described above still exists.")
NEW_SENTENCE = ("We keep your personal data for exactly seven years after your PODpartner account is closed "
                "and then erase every copy of it.")
QUERY = "how long do you keep my personal data"


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    for pid in SMALL:
        shutil.copyfile(BUNDLED_CORPUS / f"{pid}.txt", folder / f"{pid}.txt")
    return folder


@pytest.fixture(scope="module")
def base_index(tmp_path_factory, embedder):
    """The small corpus indexed once: (folder, db, first report); tests work on copies."""
    root = tmp_path_factory.mktemp("base-index")
    folder = root / "policies"
    folder.mkdir()
    for pid in SMALL:
        shutil.copyfile(BUNDLED_CORPUS / f"{pid}.txt", folder / f"{pid}.txt")
    store, report = build(folder, root / "db", embedder)
    fresh_store(root / "db")  # let go of the builder's client before anyone copies the files
    return folder, root / "db", report


@pytest.fixture
def small_index(base_index, tmp_path) -> tuple[Path, Path]:
    """A private copy of the base index and of its policy folder."""
    folder, db, _ = base_index
    shutil.copytree(folder, tmp_path / "policies")
    shutil.copytree(db, tmp_path / "db")
    return tmp_path / "policies", tmp_path / "db"


def fresh_store(db: Path) -> Store:
    """A Store on a new Chroma client that reads the directory as it is on disk now."""
    return Store(open_client(db, fresh=True))


class CountingFactory:
    def __init__(self, embedder):
        self.embedder = embedder
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.embedder


def gen_of(path: Path) -> str:
    text = load_document(path).text
    return generation(content_hash(text), DEFAULT_MAX_TOKENS, default_model_name())


def chunk_gen(chunk_id: str) -> str:
    return chunk_id.split("@", 1)[1].split(":", 1)[0]


def raw_chunks(store: Store, **where) -> list[str]:
    clause = [{k: v} for k, v in where.items()]
    got = store.chunks.get(where=clause[0] if len(clause) == 1 else {"$and": clause}, include=[])
    return got["ids"]


def raw_units(store: Store, **where) -> list[str]:
    clause = [{k: v} for k, v in where.items()]
    got = store.units.get(where=clause[0] if len(clause) == 1 else {"$and": clause}, include=[])
    return got["ids"]


def visible(store: Store, embedder, policy: str, k: int = 40):
    """Every chunk search can return for ``policy`` (k exceeds the policy's chunk count)."""
    from assistant.records import Scope
    from assistant.retrieve import Retriever

    return Retriever(store, embedder, None).search(QUERY, Scope((policy,)), k=k)


def edit_podpartner(folder: Path) -> Path:
    path = folder / "podpartner.txt"
    text = path.read_text(encoding="utf-8")
    assert text.count(OLD_SENTENCE) == 1
    path.write_text(text.replace(OLD_SENTENCE, NEW_SENTENCE), encoding="utf-8")
    return path


def build(folder: Path, db: Path, embedder):
    store = fresh_store(db)
    report = Indexer(store, lambda: embedder).run([folder])
    assert [r.status for r in report.results] == [INDEXED, INDEXED]
    return store, report


# --- skipping unchanged policies -------------------------------------------------------------
def test_reindexing_an_unchanged_corpus_embeds_nothing(base_index, small_index, embedder):
    small_corpus, db = small_index
    first = base_index[2]
    store = fresh_store(db)
    expected = sum(len(parse_document(load_document(small_corpus / f"{p}.txt")).chunks) for p in SMALL)
    assert first.embedded_chunks == expected
    gens = store.generations()
    assert gens == {p: gen_of(small_corpus / f"{p}.txt") for p in SMALL}

    factory = CountingFactory(embedder)
    second = Indexer(fresh_store(db), factory).run([small_corpus])
    assert second.embedded_chunks == 0
    assert factory.calls == 0  # the model is never even loaded
    assert [r.status for r in second.results] == [UNCHANGED, UNCHANGED]
    store = fresh_store(db)
    assert store.generations() == gens
    assert len(raw_chunks(store, gen={"$ne": ""})) == expected  # nothing duplicated


def test_editing_one_file_reembeds_only_that_policy(small_index, embedder):
    small_corpus, db = small_index
    store = fresh_store(db)
    before = store.generations()
    ali_ids = sorted(raw_chunks(store, policy="alipartnership"))

    path = edit_podpartner(small_corpus)
    new_count = len(parse_document(load_document(path)).chunks)
    factory = CountingFactory(embedder)
    report = Indexer(fresh_store(db), factory).run([small_corpus])
    by_pid = {r.policy_id: r for r in report.results}
    assert by_pid["alipartnership"].status == UNCHANGED
    assert by_pid["podpartner"].status == INDEXED and by_pid["podpartner"].chunks == new_count
    assert report.embedded_chunks == new_count
    assert factory.calls == 1

    store = fresh_store(db)
    after = store.generations()
    assert after["alipartnership"] == before["alipartnership"]
    assert after["podpartner"] == gen_of(path) != before["podpartner"]
    assert sorted(raw_chunks(store, policy="alipartnership")) == ali_ids  # untouched
    assert len(raw_chunks(store, policy="podpartner")) == new_count       # old generation gone
    assert raw_chunks(store, gen=before["podpartner"]) == []
    assert raw_units(store, gen=before["podpartner"]) == []
    hits = visible(store, embedder, "podpartner")
    assert any(NEW_SENTENCE in h.chunk.text for h in hits)
    assert not any(OLD_SENTENCE in h.chunk.text for h in hits)
    assert store.source_text("podpartner") == path.read_text(encoding="utf-8")


# --- crash safety ----------------------------------------------------------------------------
# The store's own protocol (add the new generation, flip the manifest, delete the old one) is
# what protects a Chroma *server*; these two tests drive the Indexer directly, without the
# embedded-mode snapshot that `policychat index` adds on top (tested further below).
UNGUARDED_INDEX = (
    "import sys; from index.embed import Embedder; from index.pipeline import Indexer; "
    "from index.store import Store; "
    "Indexer(Store.open(sys.argv[1]), Embedder).run([__import__('pathlib').Path(sys.argv[2])])"
)


def run_indexer_unguarded(db, corpus, fault: str):
    import subprocess
    import sys as _sys

    from conftest import ROOT

    return subprocess.run([_sys.executable, "-c", UNGUARDED_INDEX, str(db), str(corpus)], capture_output=True,
                          text=True, cwd=ROOT, timeout=600, env={**os.environ, "POLICYCHAT_FAULT": fault})


def test_cli_crash_at_any_point_rolls_back_to_the_previous_index(small_index, embedder):
    small_corpus, db = small_index
    old_gen = fresh_store(db).generations()["podpartner"]
    path = edit_podpartner(small_corpus)
    for fault in ("after_add", "after_flip"):
        proc = run_cli("index", "--db", str(db), "--quiet", str(small_corpus), env={"POLICYCHAT_FAULT": fault})
        assert proc.returncode == 75, proc.stderr
        store = fresh_store(db)
        assert store.generations()["podpartner"] == old_gen
        assert raw_chunks(store, gen=gen_of(path)) == []
        hits = visible(store, embedder, "podpartner")
        assert any(OLD_SENTENCE in h.chunk.text for h in hits)
    proc = run_cli("index", "--db", str(db), "--quiet", str(small_corpus))
    assert proc.returncode == 0, proc.stderr
    store = fresh_store(db)
    assert store.generations()["podpartner"] == gen_of(path)
    assert any(NEW_SENTENCE in h.chunk.text for h in visible(store, embedder, "podpartner"))


def crash_reindexing_podpartner(small_corpus: Path, db: Path, fault: str):
    """Edit podpartner and re-index until the crash point ``fault``: (old generation, new
    generation, the edited file, a store reading the directory as the crash left it)."""
    old_gen = fresh_store(db).generations()["podpartner"]
    path = edit_podpartner(small_corpus)
    proc = run_indexer_unguarded(db, small_corpus, fault)
    assert proc.returncode == 75, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return old_gen, gen_of(path), path, fresh_store(db)


def test_crash_after_adding_new_chunks_keeps_the_old_index(small_index, embedder):
    small_corpus, db = small_index
    old_gen, new_gen, path, store = crash_reindexing_podpartner(small_corpus, db, "after_add")
    assert store.generations()["podpartner"] == old_gen  # the manifest was not flipped
    assert raw_chunks(store, gen=new_gen), "the crash should come after the new chunks were added"
    hits = visible(store, embedder, "podpartner")
    assert hits and all(chunk_gen(h.chunk.id) == old_gen for h in hits)
    assert any(OLD_SENTENCE in h.chunk.text for h in hits)
    assert not any(NEW_SENTENCE in h.chunk.text for h in hits)
    top = visible(store, embedder, "podpartner", k=3)
    assert any(OLD_SENTENCE in h.chunk.text for h in top)
    assert store.source_text("podpartner") != path.read_text(encoding="utf-8")  # still the old text

    report = Indexer(store, lambda: embedder).run([small_corpus])
    assert {r.policy_id: r.status for r in report.results} == {"alipartnership": UNCHANGED,
                                                               "podpartner": INDEXED}
    store = fresh_store(db)
    assert store.generations()["podpartner"] == new_gen
    assert raw_chunks(store, gen=old_gen) == [] and raw_units(store, gen=old_gen) == []
    new_count = len(parse_document(load_document(path)).chunks)
    assert len(raw_chunks(store, policy="podpartner")) == new_count  # no duplicates of the retry
    hits = visible(store, embedder, "podpartner")
    assert all(chunk_gen(h.chunk.id) == new_gen for h in hits)
    assert any(NEW_SENTENCE in h.chunk.text for h in hits)
    assert not any(OLD_SENTENCE in h.chunk.text for h in hits)


def test_crash_after_the_flip_serves_the_new_text_and_cleans_up_next_run(small_index, embedder):
    small_corpus, db = small_index
    old_gen, new_gen, path, store = crash_reindexing_podpartner(small_corpus, db, "after_flip")
    assert store.generations()["podpartner"] == new_gen
    assert raw_chunks(store, gen=old_gen), "the crash should come before the old chunks were deleted"
    hits = visible(store, embedder, "podpartner")
    assert hits and all(chunk_gen(h.chunk.id) == new_gen for h in hits)
    assert any(NEW_SENTENCE in h.chunk.text for h in hits)
    assert not any(OLD_SENTENCE in h.chunk.text for h in hits)

    factory = CountingFactory(embedder)
    report = Indexer(store, factory).run([small_corpus])
    assert [r.status for r in report.results] == [UNCHANGED, UNCHANGED]
    assert report.embedded_chunks == 0 and factory.calls == 0
    store = fresh_store(db)
    assert raw_chunks(store, gen=old_gen) == [] and raw_units(store, gen=old_gen) == []
    assert len(raw_chunks(store, policy="podpartner")) == len(parse_document(load_document(path)).chunks)


# --- pruning ---------------------------------------------------------------------------------
def test_prune_removes_a_policy_whose_file_was_deleted(cli, small_corpus, tmp_path, embedder):
    db = tmp_path / "db"
    build(small_corpus, db, embedder)
    (small_corpus / "podpartner.txt").unlink()

    # Without --prune the policy stays (the file may only be elsewhere today).
    report = Indexer(fresh_store(db), CountingFactory(embedder)).run([small_corpus])
    assert [r.status for r in report.results] == [UNCHANGED]
    assert set(fresh_store(db).policies()) == set(SMALL)

    proc = cli("index", "--db", str(db), "--quiet", "--prune", str(small_corpus))
    assert proc.returncode == 0, proc.stderr
    assert "podpartner: removed (file is gone)" in proc.stderr
    assert "pruned 1" in proc.stdout
    store = fresh_store(db)
    assert set(store.policies()) == {"alipartnership"}
    assert raw_chunks(store, policy="podpartner") == [] and raw_units(store, policy="podpartner") == []
    assert raw_chunks(store, policy="alipartnership")

    report = Indexer(store, CountingFactory(embedder)).run([small_corpus], prune=True)
    assert [r.status for r in report.results] == [UNCHANGED]  # nothing left to prune
    assert PRUNED not in [r.status for r in report.results]
