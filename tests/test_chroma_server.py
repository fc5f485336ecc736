"""Server mode: a real `chroma run` server started by the test gives the same results as the
embedded store, and an outage is reported clearly and recovered from without a restart."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.config import BUNDLED_CORPUS
from index.pipeline import Indexer
from index.errors import StoreUnavailable
from index.store import Store, open_client
from conftest import ChromaServer, free_port, run_cli

SMALL = ["alipartnership.txt", "podpartner.txt"]
QUESTIONS = [("who receives my payment data?", "alipartnership"), ("how do I delete my account?", "podpartner"),
             ("do you use cookies?", None)]


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small-corpus")
    for name in SMALL:
        shutil.copy(BUNDLED_CORPUS / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_corpus, embedder):
    srv = ChromaServer(tmp_path_factory.mktemp("chroma-server"), free_port())
    srv.start()
    Indexer(Store(open_client(None, srv.url)), lambda: embedder).run([small_corpus])
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, small_corpus, embedder) -> Store:
    store = Store(open_client(tmp_path_factory.mktemp("embedded")))
    Indexer(store, lambda: embedder).run([small_corpus])
    return store


def answers(store: Store, embedder) -> list[dict]:
    from assistant.pipeline import Assistant
    from assistant.retrieve import Retriever

    assistant = Assistant(Retriever(store, embedder), embedder)
    return [assistant.ask(q, policy=p).to_contract() for q, p in QUESTIONS]


def test_server_store_gives_the_same_answers_as_the_embedded_store(server, embedded, embedder):
    remote = Store(open_client(None, server.url))
    assert remote.generations() == embedded.generations()
    got = answers(remote, embedder)
    assert got == answers(embedded, embedder)
    assert any(c["quote"] for a in got for c in a["citations"])


def test_cli_uses_the_server_from_the_environment(server):
    out = run_cli("search", "payment", "--policy", "alipartnership", "--json",
                  env={"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(server.port)})
    assert out.returncode == 0, out.stderr
    assert "alipartnership" in out.stdout


def test_outage_is_reported_and_service_resumes_without_restart(server, embedder):
    from assistant.retrieve import Retriever

    store = Store(open_client(None, server.url))
    retriever = Retriever(store, embedder)
    before = [h.chunk.id for h in retriever.search("payment details", k=3)]
    server.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.ping()
        with pytest.raises(StoreUnavailable):
            retriever.search("payment details", k=3)
        out = run_cli("search", "payment", "--chroma-url", server.url)
        assert out.returncode != 0
        assert "Traceback" not in out.stderr
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Chroma" in lines[0], out.stderr
    finally:
        server.start()
    # Same objects, no restart: the next call succeeds again.
    store.ping()
    assert [h.chunk.id for h in retriever.search("payment details", k=3)] == before
