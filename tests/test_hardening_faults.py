"""Hardening row 3 (docs/security.md): faults while serving.

* The Chroma server stopped mid-run: the web app (``create_app``, never recreated) answers
  /healthz and /api/* with 503 and one clear sentence while it is down, and 200 again after
  the server restarts.
* The LLM endpoint slow, failing or returning junk: a local stand-in for an OpenAI
  ``/v1/chat/completions`` endpoint, configured the way an operator would
  (POLICYCHAT_LLM=openai:x, OPENAI_BASE_URL, POLICYCHAT_LLM_TIMEOUT=2): the answer and the
  stream are exactly the extractive ones.
* The feedback store's disk is full (SQLite itself reports SQLITE_FULL, or the driver raises
  'database or disk is full'): the rating is dropped with a log line; answers keep coming.

Proven elsewhere: random SIGKILLs during indexing (tests/test_faults_kill.py), crashes at the
after_add/after_flip fault points (tests/test_index_incremental.py), the store-level Chroma
outage and the CLI's one-line error (tests/test_chroma_server.py), a simulated store outage and
a never-started server in the API (tests/test_api.py::test_store_outage_is_503_and_recovers_without_restart,
::test_unreachable_chroma_server_is_503), and LangChain-level fake models that fail, hang or
cite nothing (tests/test_generative.py).
"""
from __future__ import annotations

import contextlib
import http.server
import json
import logging
import re
import shutil
import sqlite3
import threading
import warnings
from types import SimpleNamespace

import pytest

from conftest import ChromaServer, free_port
from fastapi.testclient import TestClient

from index.config import BUNDLED_CORPUS
from ui.service import UNAVAILABLE
from ui.feedback import FeedbackStore
from index.settings import Settings

PAYMENT_Q, PAYMENT_P = "who receives my payment data?", "alipartnership"
REPLY = "Stripe processes payments [1]."




def events_of(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            out.append((event, json.loads("\n".join(data))))
    return out


@contextlib.contextmanager
def captured(name: str, level: int = logging.INFO):
    """Records of one logger, whatever its propagation (serve() turns propagation off)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level)
    handler.emit = records.append
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def app_for(context, tmp_path, feedback=None):
    from ui.server import create_app

    return create_app(context, Settings(rate_capacity=0),
                      feedback=feedback or FeedbackStore(tmp_path / "feedback.sqlite3"))


# --- the Chroma server stopped mid-run ---------------------------------------------------------
@pytest.fixture(scope="module")
def chroma(tmp_path_factory, embedder):
    from index.pipeline import Indexer
    from index.store import Store, open_client

    folder = tmp_path_factory.mktemp("one-policy")
    shutil.copy(BUNDLED_CORPUS / f"{PAYMENT_P}.txt", folder / f"{PAYMENT_P}.txt")
    server = ChromaServer(tmp_path_factory.mktemp("chroma-data"), free_port())
    server.start()
    try:
        report = Indexer(Store(open_client(None, server.url)), lambda: embedder).run([folder])
        assert report.count("indexed") == 1
        yield server
    finally:
        server.stop()


def test_api_is_503_while_the_chroma_server_is_down_and_200_after_it_restarts(chroma, embedder, tmp_path):
    from ui.context import AppContext

    context = AppContext(db_dir=tmp_path / "unused", chroma_url=chroma.url)
    context.__dict__["embedder"] = embedder
    ask = {"question": PAYMENT_Q, "policy": PAYMENT_P}
    with TestClient(app_for(context, tmp_path), raise_server_exceptions=False) as client:
        before = client.post("/api/ask", json=ask)
        assert before.status_code == 200 and before.json()["citations"]
        assert client.get("/healthz").json()["status"] == "ok"

        chroma.stop()
        try:
            for _ in range(2):                       # the first failure drops the handles; so does the next
                health = client.get("/healthz")
                assert health.status_code == 503
                body = health.json()
                assert body["status"] == "unavailable" and body["store"] == "chroma-server"
                assert "not reachable" in body["error"] and "Traceback" not in health.text
                r = client.post("/api/ask", json=ask)
                assert r.status_code == 503 and r.json() == {"error": UNAVAILABLE}
                r = client.get("/api/policies")
                assert r.status_code == 503 and r.json() == {"error": UNAVAILABLE}
                r = client.post("/api/ask/stream", json=ask)
                if r.status_code == 200:             # the stream had started: it ends with an error event
                    assert events_of(r.text)[-1] == ("error", {"error": UNAVAILABLE})
                else:
                    assert r.status_code == 503 and r.json() == {"error": UNAVAILABLE}
                assert client.get("/").status_code == 200     # the chat page still loads
        finally:
            chroma.start()

        # Same app, same context object: it reconnects by itself.
        assert client.get("/healthz").status_code == 200
        after = client.post("/api/ask", json=ask)
        assert after.status_code == 200
        assert {**after.json(), "session_id": ""} == {**before.json(), "session_id": ""}
        assert client.get("/api/policies").json()["policies"][0]["id"] == PAYMENT_P
        final = events_of(client.post("/api/ask/stream", json=ask).text)
        assert [k for k, _ in final][-2:] == ["citations", "done"]


# --- the LLM endpoint slow, failing or returning junk ---------------------------------------------
def completion(content: str) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(content: str | None, finish: str | None = None) -> dict:
    delta = {"role": "assistant", "content": content} if content is not None else {}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "x",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class FakeOpenAIHandler(http.server.BaseHTTPRequestHandler):
    """POST /v1/chat/completions, behaving as ``server.mode`` says."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("authorization")})
        mode = server.mode
        try:
            if mode == "slow":              # never answers within the client's timeout
                server.release.wait(30)
                return
            if mode == "error":
                self._send(500, json.dumps({"error": {"message": "upstream exploded", "type": "server_error"}}))
            elif mode == "junk":
                self._send(200, json.dumps({"junk": True, "choices": "nope", "id": 7}))
            elif mode == "garbage":
                self._send(200, "<html><body>502 Bad Gateway</body></html>", "text/html")
            elif mode == "empty":
                self._send(200, json.dumps({**completion(""), "choices": []}))
            elif body.get("stream"):
                events = [chunk(piece) for piece in re.findall(r"\S+\s*", REPLY)] + [chunk(None, "stop")]
                text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
                self._send(200, text, "text/event-stream")
            else:
                self._send(200, json.dumps(completion(REPLY)))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, text: str, ctype: str = "application/json") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def fake_openai():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAIHandler)
    server.daemon_threads = True
    server.mode, server.requests, server.release = "ok", [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def llm_context(ctx, fake_openai, monkeypatch):
    """An AppContext configured for the fake endpoint exactly as an operator would configure it."""
    from ui.context import AppContext

    monkeypatch.setenv("POLICYCHAT_LLM", "openai:x")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{fake_openai.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("POLICYCHAT_LLM_TIMEOUT", "2")
    context = AppContext(db_dir=ctx.db_dir, settings=Settings.from_env())
    context.__dict__.update(embedder=ctx.embedder, retriever=ctx.retriever)
    assert context.assistant.mode == "llm"
    fake_openai.requests.clear()
    return context


@pytest.fixture(scope="module")
def extractive(ctx):
    from assistant.pipeline import Assistant

    answer = Assistant(ctx.retriever, ctx.embedder).ask(PAYMENT_Q, policy=PAYMENT_P)
    assert not answer.abstained and answer.citations
    return answer


def test_the_fake_endpoint_is_really_used_when_it_works(llm_context, fake_openai, extractive):
    fake_openai.mode = "ok"
    answer = llm_context.assistant.ask(PAYMENT_Q, policy=PAYMENT_P)
    assert answer.mode == "llm" and answer.text == REPLY
    assert answer.citations == extractive.citations[:1]
    (request,) = fake_openai.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer test"
    assert request["body"]["model"] == "x"
    events = list(llm_context.assistant.stream(PAYMENT_Q, policy=PAYMENT_P))
    assert events[-1][1].mode == "llm" and events[-1][1].text == REPLY


@pytest.mark.parametrize("mode", ["slow", "error", "junk", "garbage", "empty"])
def test_a_bad_llm_endpoint_falls_back_to_the_extractive_answer(llm_context, fake_openai, extractive,
                                                                 tmp_path, mode):
    fake_openai.mode = mode
    with captured("policychat.assistant") as records:
        answer = llm_context.assistant.ask(PAYMENT_Q, policy=PAYMENT_P)
    assert any("using the extractive one" in r.getMessage() for r in records)
    assert fake_openai.requests, "the endpoint was called"
    assert answer.mode == "extractive"
    assert (answer.text, answer.citations, answer.abstained) == (extractive.text, extractive.citations, False)

    events = list(llm_context.assistant.stream(PAYMENT_Q, policy=PAYMENT_P))
    kinds = [k for k, _ in events]
    assert "reset" in kinds and kinds[-1] == "answer"
    after_reset = kinds.index("reset") + 1
    assert "".join(v for k, v in events[after_reset:] if k == "token") == extractive.text
    assert events[-1][1].text == extractive.text and events[-1][1].citations == extractive.citations

    with TestClient(app_for(llm_context, tmp_path), raise_server_exceptions=False) as client:
        r = client.post("/api/ask", json={"question": PAYMENT_Q, "policy": PAYMENT_P})
        assert r.status_code == 200
        assert {k: r.json()[k] for k in ("answer", "abstained", "citations")} == extractive.to_contract()
        stream = events_of(client.post("/api/ask/stream", json={"question": PAYMENT_Q, "policy": PAYMENT_P}).text)
        assert stream[-2][0] == "citations" and stream[-1][0] == "done"
        assert {k: stream[-2][1][k] for k in ("answer", "abstained", "citations")} == extractive.to_contract()


# --- the feedback store's disk is full --------------------------------------------------------------
class FullDiskFeedback(FeedbackStore):
    """SQLite itself reports SQLITE_FULL: the file may not grow past the pages it already has."""

    def _connect(self):
        conn = super()._connect()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn


def fill_up(store: FullDiskFeedback) -> None:
    """Fill the file's last page so that the next row needs a page it cannot have."""
    for _ in range(10_000):
        if not store.record(question="filler", rating=0, citations=[{"policy": "x", "section": "s" * 200}]):
            return
    raise AssertionError("the feedback file never filled up")


class DriverSaysDiskFull(FeedbackStore):
    def _connect(self):
        raise sqlite3.OperationalError("database or disk is full")


def chat_of(services):
    from ui import chat_page

    return {f.name: f.fn for f in chat_page.build_chat(services).fns.values()}


@pytest.mark.parametrize("kind", ["sqlite-full", "driver-raises"])
def test_a_full_feedback_disk_never_stops_answers(ctx, tmp_path, kind):
    from ui import service
    from ui.security import TokenBucket

    if kind == "sqlite-full":
        feedback = FullDiskFeedback(tmp_path / "fb.sqlite3")
        fill_up(feedback)
    else:
        feedback = DriverSaysDiskFull(tmp_path / "fb.sqlite3")
    stored_before = len(feedback.rows())
    services = service.Services(ctx=ctx, settings=Settings(rate_capacity=0), limiter=TokenBucket(0, 60),
                            feedback=feedback)
    handlers = chat_of(services)
    request = SimpleNamespace(client=SimpleNamespace(host="198.51.100.20"))

    def ask(question, history, turns):
        out = list(handlers["respond"](question, history, "", "sess-1", turns, request))
        return out[-1][1], out[-1][2]

    with warnings.catch_warnings(), captured("policychat.feedback") as records:
        warnings.simplefilter("ignore")
        history, turns = ask(PAYMENT_Q, [], {})
        assert "pc-cite" in history[-1]["content"]
        handlers["on_like"](turns, "sess-1", SimpleNamespace(index=1, liked=True))     # must not raise
        handlers["on_like"](turns, "sess-1", SimpleNamespace(index=[1, 0], liked=False))
        history, turns = ask("how do I delete my account?", history, turns)
    assert len(history) == 4 and "pc-error" not in history[-1]["content"]
    assert "pc-answer" in history[-1]["content"]
    assert len(feedback.rows()) == stored_before                    # nothing was stored
    messages = [r.getMessage() for r in records]
    assert len(messages) == 2 and all("database or disk is full" in m for m in messages)
    assert not any(PAYMENT_Q in m for m in messages)                 # the log line names no question

    with TestClient(app_for(ctx, tmp_path, feedback), raise_server_exceptions=False) as client:
        r = client.post("/api/ask", json={"question": PAYMENT_Q, "policy": PAYMENT_P})
        assert r.status_code == 200 and r.json()["citations"]
