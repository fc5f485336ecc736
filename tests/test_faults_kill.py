"""Indexing killed at random points leaves a consistent, searchable index; the next run completes."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.config import BUNDLED_CORPUS
from index.store import Store

ROOT = Path(__file__).resolve().parents[1]
MARKER = "Zebracorn retention clause: we keep zebracorn records for exactly 17 days."


def index_cmd(db: Path, corpus: Path) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "index", "--db", str(db), "-q", str(corpus)]


def assert_consistent(db: Path) -> dict[str, str]:
    """Every manifest names a generation whose chunks are all there, and nothing else is visible."""
    store = Store.open(db)
    gens = store.generations()
    for pid, policy in store.policies().items():
        rows = store.chunk_rows([gens[pid]])
        assert len(rows) == policy.chunk_count > 0, pid
        text = store.source_text(pid)
        assert all(r.chunk.text == text[r.chunk.start:r.chunk.end] for r in rows)
    return gens


@pytest.mark.slow
def test_random_kills_during_reindex_leave_a_searchable_index(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("alipartnership.txt", "podpartner.txt"):
        shutil.copy(BUNDLED_CORPUS / name, corpus / name)
        (corpus / name).chmod(0o644)
    db = tmp_path / "db"
    first = subprocess.run(index_cmd(db, corpus), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    before = assert_consistent(db)

    rng = random.Random(8)
    target = corpus / "alipartnership.txt"
    for attempt in range(3):
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"\n\n**Zebracorn records {attempt}**\n\n{MARKER}\n")
        proc = subprocess.Popen(index_cmd(db, corpus), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.5, 12.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        gens = assert_consistent(db)
        assert set(gens) == set(before)          # no policy lost, none half-added

    final = subprocess.run(index_cmd(db, corpus), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    gens = assert_consistent(db)
    assert gens["podpartner"] == before["podpartner"]
    assert gens["alipartnership"] != before["alipartnership"]

    from assistant.records import Scope
    from assistant.retrieve import Retriever

    hits = Retriever(Store.open(db), embedder).search("zebracorn records 17 days",
                                                              Scope(("alipartnership",)), k=3)
    assert any("Zebracorn" in h.chunk.text for h in hits)
