"""One Chroma client per index directory per process (index/store.py ``_EmbeddedClients``).

Chroma keeps one engine per directory per process and caches the vector index in it: after
another process re-indexes the directory, that engine still answers from the old vectors. The
store reopens its client when the directory's change stamp moves, and handles opened earlier
follow the new client.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from index.snapshot import touch_stamp
from index.store import Store, open_client

ROOT = Path(__file__).resolve().parents[1]
# Another process replaces the one row near [1, 0] by many rows near [0, 1].
REINDEX = """
import sys
from index.store import Store
store = Store.open(sys.argv[1])
store.chunks.add(ids=[f"new{i}" for i in range(1000)], embeddings=[[0.01 * (i % 7), 1.0] for i in range(1000)],
                 metadatas=[{"gen": "g2"}] * 1000)
store.chunks.delete(ids=["old"])
"""


def nearest(store: Store) -> str:
    return store.chunks.query(query_embeddings=[[0.0, 1.0]], n_results=1, include=[])["ids"][0][0]


def reindex_elsewhere(db: Path) -> None:
    done = subprocess.run([sys.executable, "-c", REINDEX, str(db)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_reindex_by_another_process_is_read_once_the_stamp_moves(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    store = Store.open(db)
    store.chunks.add(ids=["old"], embeddings=[[1.0, 0.0]], metadatas=[{"gen": "g1"}])
    assert nearest(store) == "old" and store.count() == 1

    reindex_elsewhere(db)
    touch_stamp(db)  # what every index run ends with (index.snapshot)
    fresh = Store.open(db)
    assert fresh.count() == 1000
    assert nearest(fresh).startswith("new")
    assert store.count() == 1000 and nearest(store).startswith("new")  # the older handle follows
    assert store.client is fresh.client


def test_fresh_reads_a_write_that_did_not_move_the_stamp(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    store = Store(open_client(db))
    store.chunks.add(ids=["old"], embeddings=[[1.0, 0.0]], metadatas=[{"gen": "g1"}])
    assert nearest(store) == "old"
    reindex_elsewhere(db)  # e.g. a run killed before its end: the stamp stays
    assert Store(open_client(db)).client is store.client  # no reason to reopen
    fresh = Store(open_client(db, fresh=True))
    assert nearest(fresh).startswith("new") and fresh.count() == 1000
