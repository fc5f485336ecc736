"""Hardening row 6 (docs/security.md): privacy of questions and of the people asking.

* Logs at the default level (INFO) carry a question's hash and length, never its text or the
  client's address — through the API (answers, abstentions, streams, 4xx, 429, 403, 500, model
  fallbacks) and the Gradio chat (answers, ratings). A strict xfail shows the one place that
  still logs addresses: uvicorn's access log as ``policychat serve`` configures it.
* Feedback stores a SHA-256 of the question by default, end to end through the chat's
  thumbs; POLICYCHAT_FEEDBACK_KEEP_TEXT=1 (ui/security.py Settings.from_env) keeps the
  question and the answer too.

The FeedbackStore on its own is covered by tests/test_api.py::test_feedback_hashes_questions_by_default
and a hash-only API log line by tests/test_api.py::test_logs_carry_a_hash_not_the_question.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
import traceback
import warnings
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.chat_models import BaseChatModel

from conftest import free_port
from ui.feedback import FeedbackStore
from index.settings import Settings

SECRET = "Zanzibar Quokkafield"
QUESTIONS = [f"who receives my payment data? {SECRET} asks",
             f"{SECRET} wonders how long you keep my data",
             f"is {SECRET} the capital of France?"]
IP = "203.0.113.77"
WATCHED = ("", "policychat", "policychat.api", "policychat.chat", "policychat.service", "policychat.assistant", "policychat.llm",
           "policychat.feedback", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "gradio")


@contextlib.contextmanager
def captured_logs(level: int = logging.INFO, watched=WATCHED):
    """Every record of the watched loggers at ``level``, whatever their propagation settings."""
    records: dict[int, logging.LogRecord] = {}
    handler = logging.Handler(level)
    handler.emit = lambda record: records.setdefault(id(record), record)
    saved = []
    for name in watched:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.addHandler(handler)
    logging.getLogger("policychat").setLevel(level)         # what configure_logging() sets by default
    try:
        yield records
    finally:
        for logger, old in saved:
            logger.removeHandler(handler)
            logger.setLevel(old)


@contextlib.contextmanager
def watching_handlers_of(name: str, records: dict):
    """Record what the handlers already attached to logger ``name`` are given."""
    def keep(record):
        records.setdefault(id(record), record)
        return True

    handlers = list(logging.getLogger(name).handlers)
    for h in handlers:
        h.addFilter(keep)
    try:
        yield records
    finally:
        for h in handlers:
            h.removeFilter(keep)


def rendered(records) -> list[str]:
    out = []
    for r in records.values():
        text = f"{r.name}: {r.getMessage()}"
        if r.exc_info:
            text += "\n" + "".join(traceback.format_exception(*r.exc_info))
        out.append(text)
    return out


def assert_private(lines: list[str], *also: str) -> None:
    for line in lines:
        assert SECRET not in line and "Quokkafield" not in line, line
        assert IP not in line, line
        for extra in also:
            assert extra not in line, line


def make_app(ctx, tmp_path, **settings):
    from ui.server import create_app

    opts = {"allowed_origins": ("http://shop.example",), "rate_capacity": 0, **settings}
    return create_app(ctx, Settings(**opts), feedback=FeedbackStore(tmp_path / "feedback.sqlite3"))


class FailingModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "failing"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        raise ConnectionError("provider is down")


class Exploding:
    """An assistant that fails every question, after warming up like the real one (a failed
    warm-up would drop it from the context and answer with a real assistant)."""

    def warm(self) -> None:
        pass

    def ask(self, *a, **k):
        raise RuntimeError("boom")

    def stream(self, *a, **k):
        yield "token", "x"
        raise RuntimeError("boom")


def context_with(ctx, assistant):
    from ui.context import AppContext

    context = AppContext(db_dir=ctx.db_dir)
    context.__dict__.update(embedder=ctx.embedder, retriever=ctx.retriever, assistant=assistant)
    return context


# --- logs --------------------------------------------------------------------------------------
def test_api_logs_name_no_question_and_no_address(ctx, tmp_path):
    from assistant.pipeline import Assistant

    with captured_logs() as records:
        with TestClient(make_app(ctx, tmp_path), client=(IP, 4242), raise_server_exceptions=False) as c:
            for q in QUESTIONS:
                assert c.post("/api/ask", json={"question": q}).status_code == 200
                assert c.post("/api/ask/stream", json={"question": q, "policy": "alipartnership"}).status_code == 200
            assert c.post("/api/ask", json={"question": QUESTIONS[0], "policy": "nope"}).status_code == 404
            assert c.post("/api/ask", json={"question": SECRET + " " + "x" * 2001}).status_code == 413
            assert c.post("/api/ask", json={"question": f"?? {SECRET} ??", "session_id": "bad id"}).status_code == 422
            assert c.post("/api/ask", json={"question": QUESTIONS[1]},
                          headers={"Origin": "http://evil.example"}).status_code == 403
            assert c.get("/healthz").status_code == 200
        with TestClient(make_app(ctx, tmp_path, rate_capacity=1), client=(IP, 4243)) as c:
            c.post("/api/ask", json={"question": QUESTIONS[2]})
            assert c.post("/api/ask", json={"question": QUESTIONS[2]}).status_code == 429
        llm = context_with(ctx, Assistant(ctx.retriever, ctx.embedder, chat_model=FailingModel()))
        with TestClient(make_app(llm, tmp_path), client=(IP, 4244)) as c:
            assert c.post("/api/ask", json={"question": QUESTIONS[0], "policy": "alipartnership"}).status_code == 200
            assert c.post("/api/ask/stream", json={"question": QUESTIONS[0], "policy": "alipartnership"}).status_code == 200
        broken = context_with(ctx, Exploding())
        with TestClient(make_app(broken, tmp_path), client=(IP, 4245), raise_server_exceptions=False) as c:
            assert c.post("/api/ask", json={"question": QUESTIONS[1]}).status_code == 500
            assert "event: error" in c.post("/api/ask/stream", json={"question": QUESTIONS[1]}).text
    lines = rendered(records)
    # The capture works (positive control): the hash and length of each question are there.
    for q in QUESTIONS:
        digest = hashlib.sha256(q.encode()).hexdigest()[:16]
        assert any(f"sha256:{digest} len={len(q)}" in line for line in lines), q
    assert any("generative answer failed" in line for line in lines)
    assert any("unhandled error" in line or "stream failed" in line for line in lines)
    assert_private(lines)


def chat_handlers_of(app):
    """The real chat's event handlers, from the Blocks mounted in ``app``."""
    for route in app.routes:
        inner = getattr(route, "app", None)
        if inner is not None and hasattr(inner, "get_blocks"):
            return {f.name: f.fn for f in inner.get_blocks().fns.values()}
    raise AssertionError("no Gradio app mounted")


def chat_turn(handlers, question: str, host: str = IP, history=None, turns=None):
    request = SimpleNamespace(client=SimpleNamespace(host=host))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        *_, (_, history, turns) = handlers["respond"](question, history or [], "", "chat-session-1", turns or {},
                                                    request)
    return history, turns


def test_chat_logs_name_no_question_and_no_address(ctx, tmp_path):
    app = make_app(ctx, tmp_path)
    handlers = chat_handlers_of(app)
    with captured_logs() as records:
        history, turns = chat_turn(handlers, QUESTIONS[0])
        handlers["on_like"](turns, "chat-session-1", SimpleNamespace(index=1, liked=True))
        chat_turn(handlers, QUESTIONS[2], history=history, turns=turns)
        chat_turn(handlers, f"{SECRET} " + "x" * 2001)                       # refused: too long
    lines = rendered(records)
    assert sum("chat sha256:" in line for line in lines) == 2
    assert_private(lines)


def test_serve_logs_no_client_address(ctx, tmp_path, monkeypatch):
    import httpx
    import uvicorn

    from ui import server as server_module

    client_ip = "127.0.0.77"                 # a loopback address of its own, unlike the server's 127.0.0.1
    running = {}

    def run_in_background(app, **kwargs):    # exactly the configuration serve() asked for
        config = uvicorn.Config(app, **kwargs)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.update(server=server, thread=thread)

    monkeypatch.setattr(uvicorn, "run", run_in_background)
    loggers = [logging.getLogger(n) for n in ("policychat", "uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    port = free_port()
    try:
        settings = Settings.from_env({"POLICYCHAT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
                                      "POLICYCHAT_RATE_LIMIT": "off"}, host="127.0.0.1", port=port)
        assert server_module.serve(ctx, settings) == 0
        deadline = time.monotonic() + 120
        while not running["server"].started and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running["server"].started
        # uvicorn logs access lines only when its access logger has handlers, so a handler of ours
        # there would switch them on: watch the handlers it already has instead.
        with captured_logs(watched=[n for n in WATCHED if n != "uvicorn.access"]) as records, \
                watching_handlers_of("uvicorn.access", records):
            transport = httpx.HTTPTransport(local_address=client_ip)
            with httpx.Client(transport=transport, timeout=120) as http:
                r = http.post(f"http://127.0.0.1:{port}/api/ask", json={"question": QUESTIONS[1]})
                assert r.status_code == 200
                assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            time.sleep(0.5)
        lines = rendered(records)
        assert any("sha256:" in line for line in lines)       # the app's own line was captured
        assert_private(lines, client_ip)
    finally:
        if "server" in running:
            running["server"].should_exit = True
            running["thread"].join(30)
        for logger, handlers, level, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate


# --- feedback --------------------------------------------------------------------------------------
def rate_in_chat(ctx, tmp_path, env: dict) -> tuple[list[dict], str, dict, bytes]:
    """Ask in the chat of an app configured from ``env``, thumbs-up the answer; the stored rows."""
    from ui.server import create_app

    db = tmp_path / "feedback.sqlite3"
    settings = Settings.from_env({"POLICYCHAT_FEEDBACK_DB": str(db), **env})
    app = create_app(ctx, settings)
    handlers = chat_handlers_of(app)
    history, turns = chat_turn(handlers, QUESTIONS[0])
    handlers["on_like"](turns, "chat-session-1", SimpleNamespace(index=1, liked=True))
    rows = app.state.services.feedback.rows()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("feedback.sqlite3"))
    return rows, QUESTIONS[0], turns["1"], raw


def test_feedback_keeps_only_a_hash_by_default(ctx, tmp_path):
    rows, question, turn, raw = rate_in_chat(ctx, tmp_path, {})
    (row,) = rows
    assert row["rating"] == 1 and row["policy"] is None and row["session_id"] == "chat-session-1"
    assert row["question_sha256"] == hashlib.sha256(question.encode()).hexdigest()
    assert row["question"] is None and row["answer"] is None
    cites = json.loads(row["citations"])
    assert cites and all(set(c) == {"policy", "section", "start", "end", "version"} for c in cites)
    assert SECRET.encode() not in raw and b"Quokkafield" not in raw          # not in the file at all
    assert turn["citations"][0]["quote"].encode() not in raw                # nor the quoted passages


@pytest.mark.parametrize("value", ["1", "true", "yes", "on", "TRUE"])
def test_the_keep_text_switch_stores_question_and_answer(ctx, tmp_path, value):
    rows, question, turn, raw = rate_in_chat(ctx, tmp_path, {"POLICYCHAT_FEEDBACK_KEEP_TEXT": value})
    (row,) = rows
    assert row["question"] == question and row["answer"] == turn["answer"]
    assert row["question_sha256"] == hashlib.sha256(question.encode()).hexdigest()
    assert SECRET.encode() in raw


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "maybe"])
def test_anything_else_keeps_the_default(value):
    assert Settings.from_env({"POLICYCHAT_FEEDBACK_KEEP_TEXT": value}).feedback_keep_text is False
