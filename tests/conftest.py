"""Shared fixtures: one real embedding model and one real indexed corpus per test session."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import index  # noqa: F401  (offline switches)
from index.config import BUNDLED_CORPUS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def embedder():
    from index.embed import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def corpus_db(tmp_path_factory, embedder) -> Path:
    """A persistent Chroma index of the bundled corpus, built once (read-only for tests)."""
    from index.pipeline import Indexer
    from index.store import Store, open_client

    db = tmp_path_factory.mktemp("corpus-db")
    store = Store(open_client(db))
    Indexer(store, lambda: embedder).run([BUNDLED_CORPUS])
    return db


@pytest.fixture(scope="session")
def ctx(corpus_db, embedder):
    """The application context over the shared index, with the session's model injected."""
    from ui.context import AppContext

    context = AppContext(db_dir=corpus_db)
    context.__dict__["embedder"] = embedder
    return context


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled policies."""
    dest = tmp_path / "policies"
    shutil.copytree(BUNDLED_CORPUS, dest)
    for f in dest.iterdir():
        f.chmod(0o644)
    return dest


def run_cli(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `policychat ARGS` in a subprocess, as a user would."""
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)
