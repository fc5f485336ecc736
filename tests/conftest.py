"""Shared fixtures: one real embedding model and one real indexed corpus per test session."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import index  # noqa: F401  (offline switches)
from index.config import BUNDLED_CORPUS

ROOT = Path(__file__).resolve().parents[1]
# Fixtures that load the embedding model or index with it: a test using any of them is in the
# slow lane (`pytest -m "not slow and not browser"` is the fast one, under a minute).
MODEL_FIXTURES = {"embedder", "corpus_db", "ctx"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def embedder():
    from index.embed import Embedder

    return Embedder()


def batching_tolerance(embedder) -> float:
    """How far one text's vector may move with the batch it is embedded in: float32 rounding,
    or bfloat16 rounding when a large batch runs in bfloat16 and a small one in float32."""
    return 1e-5 if embedder.precision == "fp32" else 4e-3


@pytest.fixture(scope="session")
def corpus_db(tmp_path_factory, embedder) -> Path:
    """A persistent Chroma index of the bundled corpus, built once (read-only for tests)."""
    from index.pipeline import Indexer
    from index.store import Store, open_client

    from index.embed import default_model_name, default_model_path
    from index.onnx_embed import ensure_export
    from assistant.unit_table import text_notes
    from index.tables import write_tables
    from insights.service import IndexLabels

    db = tmp_path_factory.mktemp("corpus-db")
    store = Store(open_client(db))
    Indexer(store, lambda: embedder, labels=IndexLabels()).run([BUNDLED_CORPUS])
    # what `policychat index` leaves for query processes: the ONNX model built from the weights
    ensure_export(db, default_model_name(), default_model_path(), lambda: embedder)
    write_tables(store, db, text_notes)
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


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `policychat ARGS` in this process (``ui.cli.main``), output captured; ``env`` sets
    environment variables for the call. For tests about the process boundary use run_cli."""
    from ui.cli import main

    def run(*args: str, env: dict | None = None) -> CliResult:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


def run_cli(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `policychat ARGS` in a subprocess, as a user would (exit codes, signals, imports)."""
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_in_thread(app, port: int | None = None, **config) -> Iterator[str]:
    """``app`` served by uvicorn in a daemon thread (on ``port``, else a free one) until the
    block ends; yields its URL once it accepts connections."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class ChromaServer:
    """`chroma run` on a loopback port, restartable on the same data path."""

    def __init__(self, path: Path, port: int):
        self.path, self.port, self.proc = path, port, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("chroma server exited on start")
                time.sleep(0.2)
        raise RuntimeError("chroma server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None


# --- one real browser per test session (two sync Playwright instances cannot coexist) -------
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium (playwright cannot download its own browser here); installed if missing."""
    if not CHROMIUM.exists():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
            if done.returncode != 0:
                pytest.fail(f"could not install chromium ({' '.join(cmd)}): {done.stderr[-500:]}")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """Console errors, page errors and dialogs of one page (dialogs are dismissed)."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


@pytest.fixture
def page_factory(browser):
    contexts = []

    def make(width=1280, height=800, touch=False):
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page, Watch(page)

    yield make
    for c in contexts:
        c.close()


