"""The HTTP API against the real app (real model, real index): contract, streaming, errors,
CORS, rate limiting, health and headers."""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from conftest import free_port
from ui.feedback import FeedbackStore
from index.settings import Settings, parse_origins, parse_rate_limit
from ui.security import TokenBucket

ALLOWED = "http://shop.example"
REFUSED = "http://evil.example"
QUESTION = "How long do you keep my data?"
TRACE_MARKERS = ("Traceback", 'File "', "line ", "site-packages")


def make_app(ctx, tmp_path, **settings):
    from ui.server import create_app

    opts = {"allowed_origins": (ALLOWED,), "rate_capacity": 0, **settings}
    return create_app(ctx, Settings(**opts), feedback=FeedbackStore(tmp_path / "feedback.sqlite3"))


@pytest.fixture(scope="module")
def client(ctx, tmp_path_factory):
    app = make_app(ctx, tmp_path_factory.mktemp("api"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def events_of(text: str) -> list[tuple[str, dict]]:
    """Parse a server-sent event body into (event, data) pairs (comments skipped)."""
    out = []
    for block in text.split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        if data:
            out.append((event, json.loads("\n".join(data))))
    return out


def assert_clean_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert not any(marker in response.text for marker in TRACE_MARKERS), response.text
    return body


# --- the ask contract -----------------------------------------------------------------------
def test_ask_contract_and_quotes_index_the_source(client):
    r = client.post("/api/ask", json={"question": QUESTION, "policy": "aliexpress"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"answer", "abstained", "citations", "session_id"}
    assert isinstance(body["answer"], str) and body["answer"]
    assert body["abstained"] is False
    assert body["citations"], "an answerable question cites at least one passage"
    source = client.get("/api/policies/aliexpress/source").json()["text"]
    for c in body["citations"]:
        assert set(c) == {"policy", "section", "quote", "start", "end", "version"}
        assert c["policy"] == "aliexpress"
        assert source[c["start"]:c["end"]] == c["quote"]


def test_ask_across_policies_quotes_are_verbatim(client):
    body = client.post("/api/ask", json={"question": "Who receives my payment information?"}).json()
    sources = {}
    for c in body["citations"]:
        if c["policy"] not in sources:
            sources[c["policy"]] = client.get(f"/api/policies/{c['policy']}/source").json()["text"]
        assert sources[c["policy"]][c["start"]:c["end"]] == c["quote"]


def test_session_id_is_issued_and_kept(client):
    first = client.post("/api/ask", json={"question": QUESTION, "policy": "aliexpress"}).json()
    assert first["session_id"]
    again = client.post("/api/ask", json={"question": "And for guests?", "session_id": first["session_id"]})
    assert again.status_code == 200
    assert again.json()["session_id"] == first["session_id"]
    bad = client.post("/api/ask", json={"question": QUESTION, "session_id": "<script>"})
    assert "session_id" in assert_clean_error(bad, 422)["error"]


def test_empty_policy_means_all_policies(client):
    r = client.post("/api/ask", json={"question": QUESTION, "policy": None})
    assert r.status_code == 200
    r = client.post("/api/ask", json={"question": QUESTION, "policy": ""})
    assert r.status_code == 200


# --- streaming ------------------------------------------------------------------------------
def test_stream_events_tokens_then_citations_then_done(client):
    r = client.post("/api/ask/stream", json={"question": QUESTION, "policy": "aliexpress"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = events_of(r.text)
    kinds = [k for k, _ in events]
    assert kinds[0] == "token"
    assert kinds[-2:] == ["citations", "done"]
    assert set(kinds[:-2]) <= {"token", "reset"}
    final = events[-2][1]
    assert final["citations"] and final["answer"]
    streamed = "".join(d["text"] for k, d in events if k == "token")
    assert " ".join(streamed.split()) == " ".join(final["answer"].split())
    assert final["session_id"] == events[-1][1]["session_id"]
    plain = client.post("/api/ask", json={"question": QUESTION, "policy": "aliexpress"}).json()
    assert final["citations"] == plain["citations"]


def test_stream_validation_errors_are_plain_json(client):
    assert "unknown policy" in assert_clean_error(
        client.post("/api/ask/stream", json={"question": QUESTION, "policy": "nope"}), 404)["error"]
    assert_clean_error(client.post("/api/ask/stream", json={"question": "   "}), 422)


class ExplodingAssistant:
    def ask(self, *a, **k):
        raise RuntimeError("secret internal detail /etc/passwd")

    def stream(self, *a, **k):
        yield "token", "Partial "
        raise RuntimeError("secret internal detail /etc/passwd")


def broken_context(ctx):
    return SimpleNamespace(store=ctx.store, retriever=ctx.retriever, assistant=ExplodingAssistant(),
                           embedder=ctx.embedder, db_dir=ctx.db_dir, chroma_url=None,
                           reset_store=lambda: None)


def test_failures_become_error_event_and_500_without_details(ctx, tmp_path):
    app = make_app(broken_context(ctx), tmp_path)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/ask/stream", json={"question": QUESTION})
        events = events_of(r.text)
        assert [k for k, _ in events] == ["token", "error"]
        assert "secret" not in r.text and "Traceback" not in r.text
        r = c.post("/api/ask", json={"question": QUESTION})
        assert assert_clean_error(r, 500)["error"] == "internal server error"
        assert "secret" not in r.text


# --- policies, source, health ---------------------------------------------------------------
def test_policies_list(client):
    r = client.get("/api/policies")
    assert r.status_code == 200
    rows = {p["id"]: p for p in r.json()["policies"]}
    assert {"alibaba", "aliexpress", "alipartnership", "alopal", "podpartner"} <= set(rows)
    ali = rows["aliexpress"]
    assert ali["title"] and ali["current_version"] == "2020-09-09"
    assert any(v["current"] for v in ali["versions"])


def test_policy_source_and_sections(client):
    body = client.get("/api/policies/alibaba/source").json()
    text = body["text"]
    assert body["length"] == len(text) > 1000
    assert body["sections"]
    for s in body["sections"]:
        assert 0 <= s["start"] <= s["end"] <= len(text)
        assert isinstance(s["path"], list) and s["path"]
    assert {s["version"] for s in body["sections"]} >= {"2019-01-17", "2018-05-25"}
    err = assert_clean_error(client.get("/api/policies/nope/source"), 404)
    assert "aliexpress" in err["error"]


def test_healthz_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["policies"] >= 5 and body["chunks"] > 0


class BrokenStore:
    """A store handle whose server went away."""

    def __getattr__(self, name):
        def fail(*a, **k):
            from index.errors import StoreUnavailable

            raise StoreUnavailable("the Chroma store is not answering: connection refused")
        return fail

    @property
    def chunks(self):
        return self


def test_store_outage_is_503_and_recovers_without_restart(corpus_db, embedder, tmp_path):
    from ui.context import AppContext

    fresh = AppContext(db_dir=corpus_db)
    fresh.__dict__["embedder"] = embedder
    app = make_app(fresh, tmp_path)
    with TestClient(app, raise_server_exceptions=False) as c:
        fresh._store = BrokenStore()
        body = assert_clean_error(c.get("/healthz"), 503)
        assert body["status"] == "unavailable" and "not reachable" in body["error"]
        assert c.get("/healthz").status_code == 200          # reconnected on its own

        # Questions to an embedded index are answered from its read tables (index/tables.py),
        # which need no Chroma handle; a Chroma server outage: tests/test_chroma_server.py.
        fresh._store = BrokenStore()
        fresh.__dict__.pop("retriever", None)
        fresh.__dict__.pop("assistant", None)
        assert c.post("/api/ask", json={"question": QUESTION, "policy": "aliexpress"}).status_code == 200
        fresh._store = BrokenStore()
        assert_clean_error(c.get("/api/policies"), 503)
        assert c.get("/api/policies").status_code == 200


def test_unreachable_chroma_server_is_503(embedder, tmp_path):
    from ui.context import AppContext

    down = AppContext(db_dir=tmp_path / "db", chroma_url=f"http://127.0.0.1:{free_port()}")
    down.__dict__["embedder"] = embedder
    app = make_app(down, tmp_path)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = assert_clean_error(c.get("/healthz"), 503)
        assert body["store"] == "chroma-server"
        assert_clean_error(c.post("/api/ask", json={"question": QUESTION}), 503)
        assert_clean_error(c.get("/api/policies"), 503)
        assert c.get("/").status_code == 200                 # the chat page still loads


# --- 4xx --------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, status, fragment", [
    (b"{not json", 422, "not valid JSON"),
    (b"[1, 2]", 422, "JSON object"),
    (b'"just a string"', 422, "JSON object"),
    (b"{}", 422, "'question' is required"),
    (b'{"question": 42}', 422, "'question' must be a string"),
    (b'{"question": null}', 422, "'question' must be a string"),
    (b'{"question": "ok?", "policy": 7}', 422, "'policy' must be a string"),
    (b'{"question": ""}', 422, "empty"),
    (b'{"question": "   \\n  "}', 422, "empty"),
    (b'{"question": "?!? ..."}', 422, "no words"),
    (json.dumps({"question": "x" * 2001}).encode(), 413, "limit is 2000"),
    (b'{"question": "ok?", "policy": "nope"}', 404, "unknown policy 'nope' (known: alibaba, aliexpress"),
])
def test_bad_requests_get_clear_json_errors(client, body, status, fragment):
    for path in ("/api/ask", "/api/ask/stream"):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert fragment in assert_clean_error(r, status)["error"]


def test_question_of_exactly_the_limit_is_accepted(client):
    r = client.post("/api/ask", json={"question": "data " * 400})
    assert r.status_code == 200


def test_oversized_body_and_unknown_endpoint(client):
    r = client.post("/api/ask", content=b'{"question": "' + b"a" * 70_000 + b'"}',
                    headers={"content-type": "application/json"})
    assert "byte limit" in assert_clean_error(r, 413)["error"]
    assert_clean_error(client.get("/api/nothing-here"), 404)
    assert_clean_error(client.get("/api/ask"), 405)


# --- CORS -------------------------------------------------------------------------------------
def preflight(client, origin):
    return client.options("/api/ask/stream", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                      "Access-Control-Request-Headers": "content-type"})


def test_cors_allowed_origin(client):
    r = preflight(client, ALLOWED)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in r.headers["access-control-allow-methods"]
    r = client.post("/api/ask", json={"question": QUESTION, "policy": "aliexpress"}, headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    r = client.get("/api/policies", headers={"Origin": ALLOWED})
    assert r.headers["access-control-allow-origin"] == ALLOWED


def test_cors_refused_origin(client):
    r = preflight(client, REFUSED)
    assert "access-control-allow-origin" not in r.headers
    assert r.status_code >= 400
    r = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": REFUSED})
    assert "not allowed" in assert_clean_error(r, 403)["error"]
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/api/policies", headers={"Origin": REFUSED})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


def test_same_origin_needs_no_allow_list(ctx, tmp_path):
    app = make_app(ctx, tmp_path, allowed_origins=())
    with TestClient(app, base_url="http://chat.example") as c:
        r = c.get("/api/policies", headers={"Origin": "http://chat.example"})
        assert r.status_code == 200
        assert c.get("/api/policies", headers={"Origin": ALLOWED}).status_code == 403


def test_widget_script_is_public(client):
    r = client.get("/widget.js", headers={"Origin": REFUSED})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "attachShadow" in r.text and "innerHTML" not in r.text.replace("never innerHTML", "")


# --- rate limit -------------------------------------------------------------------------------
def test_burst_gets_429_with_retry_after(ctx, tmp_path):
    app = make_app(ctx, tmp_path, rate_capacity=3, rate_period=60)
    with TestClient(app) as c:
        codes = [c.post("/api/ask", json={"question": ""}).status_code for _ in range(3)]
        assert codes == [422, 422, 422]
        r = c.post("/api/ask/stream", json={"question": QUESTION})
        body = assert_clean_error(r, 429)
        assert int(r.headers["retry-after"]) >= 1 and "try again" in body["error"]
        assert c.get("/api/policies").status_code == 200     # reading is not metered
        assert c.get("/healthz").status_code == 200


def test_token_bucket_refills():
    now = [0.0]
    bucket = TokenBucket(2, 10, clock=lambda: now[0])
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    wait = bucket.take("a")
    assert 4.9 < wait <= 5.0
    assert bucket.take("b") == 0                              # per client
    now[0] += 5.0
    assert bucket.take("a") == 0
    assert TokenBucket(0, 60).take("x") == 0                  # 0 = off


def test_settings_from_env():
    s = Settings.from_env({"POLICYCHAT_ALLOWED_ORIGINS": "https://a.example, http://b.example:8080/",
                           "POLICYCHAT_RATE_LIMIT": "5/10", "POLICYCHAT_FEEDBACK_KEEP_TEXT": "1"})
    assert s.allowed_origins == ("https://a.example", "http://b.example:8080")
    assert (s.rate_capacity, s.rate_period) == (5, 10.0) and s.feedback_keep_text
    default = Settings.from_env({})
    assert default.allowed_origins == () and default.rate_capacity == 30 and not default.feedback_keep_text
    assert parse_rate_limit("off") == (0, 60.0)
    for bad in ("fast", "5/0", "-1/60"):
        with pytest.raises(ValueError, match="POLICYCHAT_RATE_LIMIT"):
            parse_rate_limit(bad)
    with pytest.raises(ValueError, match="not an origin"):
        parse_origins("shop.example")


# --- headers, docs, logging ---------------------------------------------------------------------
def test_security_headers(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "referrer-policy" in page.headers
    api = client.get("/api/policies")
    assert api.headers["x-content-type-options"] == "nosniff"
    demo = client.get("/demo")
    assert demo.status_code == 200 and "widget.js" in demo.text
    assert "script-src 'self';" in demo.headers["content-security-policy"]


def test_openapi_docs_offline(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/ask/stream", "/api/policies", "/api/policies/{policy_id}/source",
            "/healthz"} <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/docs.js").status_code == 200


def test_logs_carry_a_hash_not_the_question(client, caplog):
    secret = "Does my neighbour Zanzibar Quokkafield get my data?"
    with caplog.at_level(logging.INFO, logger="policychat"):
        client.post("/api/ask", json={"question": secret})
        client.post("/api/ask/stream", json={"question": secret})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sha256:" in text and f"len={len(secret)}" in text
    assert "Quokkafield" not in text


# --- feedback store -----------------------------------------------------------------------------
def test_feedback_hashes_questions_by_default(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    assert store.record(question="my secret question", rating=1, answer="a", policy="aliexpress",
                        citations=[{"policy": "aliexpress", "section": "A", "quote": "q", "start": 1, "end": 2,
                                    "version": None}])
    (row,) = store.rows()
    assert row["question"] is None and row["answer"] is None and row["rating"] == 1
    assert len(row["question_sha256"]) == 64 and "secret" not in json.dumps(row)
    keep = FeedbackStore(tmp_path / "keep.sqlite3", keep_text=True)
    keep.record(question="kept", rating=-1)
    assert keep.rows()[0]["question"] == "kept"


def test_feedback_failure_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store = FeedbackStore(blocker / "fb.sqlite3")
    assert store.record(question="q", rating=1) is False
    assert store.rows() == []
