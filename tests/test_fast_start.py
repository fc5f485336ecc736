"""The light paths: the read tables answer like the Chroma store, a fresh `policychat ask`
imports neither torch nor chromadb, a fresh `policychat index` no torch (the ONNX model itself:
tests/test_onnx_embed.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from index.config import BUNDLED_CORPUS
from index.embed import default_model_name
from index.onnx_embed import SPEC, export_dir
from index.pipeline import Indexer
from index.snapshot import stamp_of
from index.store import Store, open_client
from index.tables import READ_DIR, TableReader
from assistant.unit_table import text_notes

HEAVY = ("torch", "transformers", "sentence_transformers", "chromadb", "sklearn", "lightgbm",  # the ranker runs in numpy
         "onnx")  # the ONNX model is written without it (index/onnx_proto.py)


FRESH_ASK = """
import contextlib, io, json, sys
from ui.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "out": out.getvalue(), "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def fresh_process(*argv: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", FRESH_ASK, *argv], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_ask_in_a_fresh_process_imports_no_model_library_and_answers_like_torch(corpus_db, ctx):
    question = "who receives my payment data?"
    got = fresh_process("--db", str(corpus_db), "ask", question, "--json")
    assert got["code"] == 0 and got["heavy"] == []
    assert json.loads(got["out"]) == ctx.assistant.ask(question).to_contract()  # ctx embeds with torch


def test_policies_in_a_fresh_process_reads_only_the_tables(corpus_db):
    got = fresh_process("--db", str(corpus_db), "policies", "--json")
    assert got["code"] == 0 and got["heavy"] == []
    assert [p["id"] for p in json.loads(got["out"])] == sorted(p.stem for p in BUNDLED_CORPUS.iterdir())


def test_read_tables_answer_like_the_store(ctx):
    store = ctx.store
    reader = TableReader(ctx.db_dir, lambda: store, text_notes)
    assert reader.generations() == store.generations()
    assert reader.policies() == store.policies()
    assert reader.source_texts() == store.source_texts()
    gens = sorted(store.generations().values())
    assert {r.chunk.id: r.chunk for r in reader.chunk_rows(gens)} == {r.chunk.id: r.chunk for r in store.chunk_rows(gens)}

    vector = ctx.embedder.embed_query("who receives my payment data?")
    gen = store.generations()["alipartnership"]
    for where in ({"gen": gen}, {"$and": [{"gen": gen}, {"version": "2018-05-24"}]}):
        ours, theirs = reader.rank_units(vector, 8, where), store.rank_units(vector, 8, where)
        assert [(u, h) for u, h, _ in ours] == [(u, h) for u, h, _ in theirs]
        assert np.allclose([s for *_, s in ours], [s for *_, s in theirs], atol=1e-5)
    (ours_rows, ours_vectors), (store_rows, store_vectors) = reader.unit_rows_of(gen), store.unit_rows_of(gen)
    mine = sorted(range(len(ours_rows)), key=lambda i: (ours_rows[i][0].chunk_id, ours_rows[i][0].start))
    order = sorted(range(len(store_rows)), key=lambda i: (store_rows[i][0].chunk_id, store_rows[i][0].start))
    assert [ours_rows[i] for i in mine] == [store_rows[i] for i in order]  # units (structure fields too), headers
    assert np.allclose(ours_vectors[mine], store_vectors[order])
    # Each unit's text notes, written at index time, are what ranking would work out itself.
    from assistant.unit_table import UnitNotes, UnitTable, unit_notes

    notes = [UnitNotes(*n) for n in reader.unit_notes_of(gen)]
    assert notes == [unit_notes(u) for u, _ in ours_rows]
    assert any(n.kinds for n in notes) and all(n.text_terms for n in notes)
    stored = UnitTable.build("alipartnership", ours_rows, ours_vectors, None, notes)
    worked_out = UnitTable.build("alipartnership", ours_rows, ours_vectors, None)
    assert np.array_equal(stored.entities, worked_out.entities)
    assert list(stored.terms) == list(worked_out.terms) and list(stored.pairs) == list(worked_out.pairs)
    central, expected = reader.unit_centrality(gen), store.unit_centrality(gen)
    assert central.keys() == expected.keys()
    assert np.allclose([central[k] for k in expected], list(expected.values()), atol=1e-5)

    # Broad filters (the cross-policy fallbacks) select the same rows as Chroma's.
    for where in ({"$and": [{"gen": {"$in": gens[:3]}}, {"current": True}]},
                  {"$or": [{"policy": "alopal"}, {"$and": [{"policy": {"$ne": "alibaba"}}, {"version": "2020-09-09"}]}]},
                  {"gen": {"$nin": gens[1:]}}):
        rows = reader.query_chunks(vector, 10_000, where)
        assert {c.id for c, _ in rows} == set(store.chunks.get(where=where)["ids"])
        assert [s for _, s in rows] == sorted((s for _, s in rows), reverse=True)


def test_read_tables_follow_a_reindex(tmp_path, corpus_copy, embedder):
    db = tmp_path / "db"
    store = Store.open(db)
    reader = TableReader(db, lambda: store, text_notes)
    Indexer(store, lambda: embedder).run([corpus_copy / "podpartner.txt"])
    assert list(reader.policies()) == ["podpartner"]
    first = stamp_of(db)

    Indexer(store, lambda: embedder).run([corpus_copy / "alipartnership.txt"])
    assert stamp_of(db) != first  # a write marks the tables stale ...
    assert list(reader.policies()) == ["alipartnership", "podpartner"]  # ... and they are rebuilt
    assert [p.name for p in (db / READ_DIR).iterdir()] == [str(int(stamp_of(db)))]  # old ones go
    hits = reader.query_chunks(embedder.embed_query("credit card details"), 3, None)
    assert hits[0][0].policy == "alipartnership"

    # Tables in another format (written by an older version) are rebuilt, not misread.
    head = db / READ_DIR / str(int(stamp_of(db))) / "policies.json"
    head.write_text(head.read_text().replace('"format": ', '"format": -'))
    fresh = TableReader(db, lambda: store, text_notes)
    assert list(fresh.policies()) == ["alipartnership", "podpartner"]
    assert '"format": -' not in head.read_text()


@pytest.mark.slow  # indexes a policy
def test_index_in_a_fresh_process_imports_no_torch_and_leaves_the_model_and_tables(tmp_path, corpus_copy,
                                                                                   monkeypatch):
    monkeypatch.setenv("POLICYCHAT_EMBED_PRECISION", "fp32")  # bfloat16 (AMX machines) runs in torch
    db = tmp_path / "db"
    policies = tmp_path / "two"
    policies.mkdir()
    for name in ("podpartner.txt", "alopal.txt"):
        (corpus_copy / name).rename(policies / name)
    got = fresh_process("--db", str(db), "index", str(policies), "--quiet")
    assert got["code"] == 0 and set(got["heavy"]) == {"chromadb"}  # the model is built from its weights
    spec = json.loads((export_dir(db, default_model_name()) / SPEC).read_text())
    assert spec["built"] == "weights"
    assert (db / READ_DIR / str(int(stamp_of(db))) / "policies.json").is_file()
    assert any((db / "bm25").iterdir())
    asked = fresh_process("--db", str(db), "ask", "who receives my payment data?", "--policy", "podpartner", "--json")
    assert asked["code"] == 0 and asked["heavy"] == [] and json.loads(asked["out"])["citations"]


def test_the_app_is_warm_before_it_exists_and_healthz_says_so(corpus_db, embedder, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from ui.context import AppContext
    from ui.feedback import FeedbackStore
    from index.settings import Settings
    from ui.server import create_app

    fresh = AppContext(db_dir=corpus_db)
    fresh.__dict__["embedder"] = embedder
    app = create_app(fresh, Settings(), feedback=FeedbackStore(tmp_path / "feedback.sqlite3"))
    assert app.state.services.ready and {"retriever", "assistant"} <= set(fresh.__dict__)
    assert "english" in fresh.assistant.speller.__dict__  # the word list is read before the first question

    def cold() -> None:
        raise RuntimeError("model not loaded")

    app.state.services.ready = False
    monkeypatch.setattr(fresh, "warm", cold)
    with TestClient(app, raise_server_exceptions=False) as client:
        body = client.get("/healthz")
        assert body.status_code == 503 and body.json()["status"] == "warming"
        monkeypatch.undo()
        assert client.get("/healthz").json()["status"] == "ok"  # warmed on this check
