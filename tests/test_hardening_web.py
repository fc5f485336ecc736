"""Hardening row 5 (docs/security.md): the web surface.

* XSS: payloads in questions, answers, policy titles, section names, quotes, versions and policy
  ids come out of the chat's renderer as inert text (parsed back: only our own tags and
  attributes, the payload in the text); the widget only ever sets text; API responses that echo
  a payload are JSON with nosniff and a deny-all CSP.
* CORS: look-alike, null, other-scheme/port/subdomain origins are refused (403, no
  Access-Control-Allow-Origin); ``*`` opens the API to everyone on purpose.
* Rate limiting: a burst from one client gets 429 while another client is still served, in the
  API and in the chat; X-Forwarded-For is not trusted by the app itself, only resolved by
  uvicorn for a trusted proxy (FORWARDED_ALLOW_IPS, 127.0.0.1 and ::1 by default).
* Security headers on /widget.js, every /api/* answer (errors too) and /healthz.

In a real chromium (tests/test_browser.py): question, quote, context and answer markup shown as
text in the chat (::test_chat_shows_policy_and_question_markup_as_text) and in the widget
(::test_widget_shows_policy_markup_as_text), and a foreign origin unable to use the API
(::test_api_refuses_an_origin_outside_the_allow_list). The basic CORS, 429 and header checks are
in tests/test_api.py (::test_cors_allowed_origin, ::test_cors_refused_origin,
::test_same_origin_needs_no_allow_list, ::test_burst_gets_429_with_retry_after,
::test_security_headers, ::test_widget_script_is_public).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from ui.feedback import FeedbackStore
from index.settings import Settings

STATIC = Path(__file__).resolve().parents[1] / "ui" / "static"
ALLOWED = "http://shop.example"
QUESTION = "How long do you keep my data?"

XSS_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(document.cookie)</script>",
    "\"><svg onload=alert(1)>",
    "'><iframe src=javascript:alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "![x](https://evil.example/pixel.png)",
    "<style>*{display:none}</style>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "{{constructor.constructor('alert(1)')()}}",
    "$$\\href{javascript:alert(1)}{x}$$",
    "<details open ontoggle=alert(1)>",
    "`<b>code</b>` **bold** _em_ # heading",
    "</div></li></ol><script>alert(1)</script>",
]
ALLOWED_TAGS = {"html", "head", "body", "div", "span", "b", "ol", "li", "details", "summary", "mark", "br",
                "p", "ul", "strong"}   # answer paragraphs, bullet lists and per-policy titles
ALLOWED_ATTRS = {"class", "data-policy", "aria-label"}


def make_app(ctx, tmp_path, **settings):
    from ui.server import create_app

    opts = {"allowed_origins": (ALLOWED,), "rate_capacity": 0, **settings}
    return create_app(ctx, Settings(**opts), feedback=FeedbackStore(tmp_path / "feedback.sqlite3"))


@pytest.fixture(scope="module")
def client(ctx, tmp_path_factory):
    with TestClient(make_app(ctx, tmp_path_factory.mktemp("web")), raise_server_exceptions=False) as c:
        yield c


# --- XSS: the chat's renderer ---------------------------------------------------------------------
def parse(html: str):
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_chat_renders_every_payload_as_inert_text(payload):
    from ui.chat_html import render_answer, render_error, render_question

    policy = SimpleNamespace(id="p", title=f"Shop {payload} Policy", sections=[], content_hash="h")
    source = f"Intro.\n{payload} We keep data {payload} for a year.\nOutro {payload}."
    start = source.index(payload)
    end = source.index("a year.") + len("a year.")
    cites = [
        {"policy": "p", "section": f"Retention {payload}", "quote": source[start:end], "start": start, "end": end,
         "version": f"2024 {payload}"},
        {"policy": f"id{payload}", "section": payload, "quote": payload, "start": 0, "end": 3, "version": None},
    ]
    html = (render_question(f"Q {payload}")
            + render_answer(f"Answer {payload} [1] [2]", cites, {"p": policy}, SimpleNamespace(text=lambda p: source))
            + render_answer(f"partial {payload}", pending=True) + render_error(f"Error {payload}"))
    tree = parse(html)
    for node in tree.body.traverse(include_text=False):
        assert node.tag in ALLOWED_TAGS, node.tag
        attrs = node.attributes
        assert set(attrs) <= ALLOWED_ATTRS, attrs      # no on*, href, src, style: a payload in
        assert not any(k.startswith("on") for k in attrs)   # data-policy is inert text
    text = tree.body.text(separator="")
    assert text.count(payload) >= 7, text      # question, answer, title, section, quote, context, error...
    # Markdown and LaTeX cannot re-interpret it either: their syntax characters are entities.
    raw_text = re.sub(r"&#?\w+;", "", re.sub(r"<[^>]*>", "", html))
    for ch in "[]()!*_`$#<>\\{}|~=":
        assert ch not in raw_text, ch


def test_the_chatbot_sanitises_and_turns_latex_off(ctx, tmp_path):
    from ui import chat_page, service
    from ui.security import TokenBucket

    services = service.Services(ctx=ctx, settings=Settings(), limiter=TokenBucket(0, 60),
                            feedback=FeedbackStore(tmp_path / "fb.sqlite3"))
    blocks = chat_page.build_chat(services)
    (bot,) = [b for b in blocks.blocks.values() if type(b).__name__ == "Chatbot"]
    assert bot.sanitize_html is True and bot.latex_delimiters == []


def test_chat_answer_to_a_payload_question_is_escaped_end_to_end(ctx, tmp_path):
    from ui import chat_page, service
    from ui.security import TokenBucket

    services = service.Services(ctx=ctx, settings=Settings(), limiter=TokenBucket(0, 60),
                            feedback=FeedbackStore(tmp_path / "fb.sqlite3"))
    respond = {f.name: f.fn for f in chat_page.build_chat(services).fns.values()}["respond"]
    payload = XSS_PAYLOADS[0]
    request = SimpleNamespace(client=SimpleNamespace(host="198.51.100.3"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        *_, (_, history, _) = respond(f"do you use cookies? {payload}", [], "", "s", {}, request)
    for message in history:
        assert "<img" not in message["content"]
        tree = parse(message["content"])
        assert {n.tag for n in tree.body.traverse(include_text=False)} <= ALLOWED_TAGS
    assert payload in parse(history[0]["content"]).body.text(separator="")


# --- XSS: the widget and the API -------------------------------------------------------------------
def code_of(js: str) -> str:
    """The script without its comments (block comments and whole-line // comments)."""
    js = re.sub(r"/\*.*?\*/", "", js, flags=re.S)
    return "\n".join(line for line in js.splitlines() if not line.strip().startswith("//"))


def test_the_widget_only_ever_sets_text():
    code = code_of((STATIC / "widget.js").read_text(encoding="utf-8"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "srcdoc", "createContextualFragment", "DOMParser", ".href", "javascript:", "setAttribute(\"on",
                 "setAttribute('on", "setTimeout(\"", "setInterval(\""):
        assert sink not in code, sink
    helper = re.search(r"function el\(([^)]*)\)\s*\{(.*?)\n  \}", code, re.S)
    assert helper and "textContent" in helper.group(2)
    assert code.count("textContent") >= 2


@pytest.mark.parametrize("request_args", [
    {"method": "POST", "url": "/api/ask", "json": {"question": f"do you use cookies? {XSS_PAYLOADS[1]}"}},
    {"method": "POST", "url": "/api/ask", "json": {"question": QUESTION, "policy": XSS_PAYLOADS[0]}},
    {"method": "POST", "url": "/api/ask", "json": {"question": XSS_PAYLOADS[2], "session_id": XSS_PAYLOADS[0]}},
    {"method": "GET", "url": "/api/policies/%3Cscript%3Ealert(1)%3C%2Fscript%3E/source"},
    {"method": "GET", "url": "/api/%3Csvg%20onload%3Dalert(1)%3E"},
], ids=["question", "policy-id", "session-id", "source-id", "unknown-path"])
def test_api_answers_echoing_a_payload_are_json_that_no_browser_renders(client, request_args):
    r = client.request(**request_args)
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["x-frame-options"] == "DENY"
    r.json()


def test_the_stream_is_an_event_stream_not_html(client):
    r = client.post("/api/ask/stream", json={"question": f"do you use cookies? {XSS_PAYLOADS[0]}"})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


# --- CORS -----------------------------------------------------------------------------------------
REFUSED_ORIGINS = ["null", "http://shop.example.evil.example", "http://evilshop.example", "https://shop.example",
                   "http://shop.example:8080", "http://sub.shop.example", "http://shop.example@evil.example",
                   "http://evil.example/http://shop.example", "http://testserver.evil.example", "file://",
                   "chrome-extension://abcdefghijklmnop", "http://shop.example%2eevil.example"]


@pytest.mark.parametrize("origin", REFUSED_ORIGINS)
def test_origins_outside_the_allow_list_are_refused(client, origin):
    for method, url, kw in [("POST", "/api/ask", {"json": {"question": QUESTION}}),
                            ("POST", "/api/ask/stream", {"json": {"question": QUESTION}}),
                            ("GET", "/api/policies", {}), ("GET", "/api/policies/aliexpress/source", {})]:
        r = client.request(method, url, headers={"Origin": origin}, **kw)
        assert r.status_code == 403, (method, url, r.status_code)
        assert "not allowed" in r.json()["error"]
        assert "access-control-allow-origin" not in r.headers
    pre = client.options("/api/ask", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "content-type"})
    assert "access-control-allow-origin" not in pre.headers
    widget = client.get("/widget.js", headers={"Origin": origin})            # the script itself is public
    assert widget.status_code == 200 and widget.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("origin", [ALLOWED, ALLOWED + "/", "http://testserver"])
def test_the_allowed_and_the_same_origin_are_served(client, origin):
    r = client.get("/api/policies", headers={"Origin": origin})
    assert r.status_code == 200


def test_a_wildcard_allow_list_opens_the_api_to_every_origin(ctx, tmp_path):
    with TestClient(make_app(ctx, tmp_path, allowed_origins=("*",))) as c:
        r = c.get("/api/policies", headers={"Origin": "http://anyone.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


# --- rate limiting --------------------------------------------------------------------------------
def test_a_burst_from_one_client_does_not_starve_another(ctx, tmp_path):
    app = make_app(ctx, tmp_path, rate_capacity=3, rate_period=3600)
    noisy = TestClient(app, client=("203.0.113.10", 5000))
    quiet = TestClient(app, client=("203.0.113.11", 5001))
    assert [noisy.post("/api/ask", json={"question": ""}).status_code for _ in range(3)] == [422] * 3
    for path in ("/api/ask", "/api/ask/stream"):
        r = noisy.post(path, json={"question": QUESTION})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"].startswith("application/json")
        assert r.headers["x-content-type-options"] == "nosniff"
    # Headers a client can set do not buy a new bucket: the app keys on the connection's address.
    for spoof in ({"X-Forwarded-For": "198.51.100.99"}, {"X-Real-IP": "198.51.100.98"},
                  {"Forwarded": "for=198.51.100.97"}):
        assert noisy.post("/api/ask", json={"question": QUESTION}, headers=spoof).status_code == 429
    r = quiet.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200 and r.json()["answer"]
    assert noisy.get("/api/policies").status_code == 200          # reading is not metered


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(ctx, tmp_path):
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    # What `policychat serve` runs: uvicorn with proxy_headers=True, trusting FORWARDED_ALLOW_IPS
    # (127.0.0.1,::1 by default).
    app = ProxyHeadersMiddleware(make_app(ctx, tmp_path, rate_capacity=2, rate_period=3600),
                                 trusted_hosts="127.0.0.1")
    proxy = TestClient(app, client=("127.0.0.1", 6000))
    stranger = TestClient(app, client=("203.0.113.12", 6001))

    def status(c, forwarded_for):
        return c.post("/api/ask", json={"question": ""}, headers={"X-Forwarded-For": forwarded_for}).status_code

    assert [status(proxy, "198.51.100.1") for _ in range(3)] == [422, 422, 429]
    assert status(proxy, "198.51.100.2") == 422                      # another client behind the proxy
    # An untrusted peer cannot pick its bucket by claiming to forward for others.
    assert [status(stranger, f"198.51.100.{i}") for i in range(10, 13)] == [422, 422, 429]


def test_the_chat_limits_each_client_separately(ctx, tmp_path):
    from ui import chat_page, service
    from ui.security import TokenBucket

    services = service.Services(ctx=ctx, settings=Settings(), limiter=TokenBucket(2, 3600),
                            feedback=FeedbackStore(tmp_path / "fb.sqlite3"))
    respond = {f.name: f.fn for f in chat_page.build_chat(services).fns.values()}["respond"]

    def turns_after(host: str) -> int:
        request = SimpleNamespace(client=SimpleNamespace(host=host))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            *_, (_, history, _) = respond("what's the capital of France?", [], "", "s", {}, request)
        return len(history)

    assert [turns_after("203.0.113.20") for _ in range(3)] == [2, 2, 0]   # the third is refused
    assert turns_after("203.0.113.21") == 2


# --- security headers -----------------------------------------------------------------------------
API_CASES = [
    ("GET", "/api/policies", None, 200),
    ("GET", "/api/policies/aliexpress/source", None, 200),
    ("POST", "/api/ask", {"question": QUESTION, "policy": "aliexpress"}, 200),
    ("POST", "/api/ask/stream", {"question": QUESTION, "policy": "aliexpress"}, 200),
    ("POST", "/api/ask", {"question": ""}, 422),
    ("POST", "/api/ask", {"question": "x" * 2001}, 413),
    ("GET", "/api/policies/nope/source", None, 404),
    ("GET", "/api/nothing-here", None, 404),
    ("DELETE", "/api/ask", None, 405),
    ("GET", "/healthz", None, 200),
    ("GET", "/openapi.json", None, 200),
]


@pytest.mark.parametrize("method, path, body, status", API_CASES, ids=[f"{m} {p} {s}" for m, p, _, s in API_CASES])
def test_api_security_headers_on_every_answer(client, method, path, body, status):
    r = client.request(method, path, json=body)
    assert r.status_code == status
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert r.headers["x-frame-options"] == "DENY"


def test_refused_and_oversized_requests_carry_the_headers_too(client):
    for r in (client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": "http://evil.example"}),
              client.post("/api/ask", content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"})):
        assert r.status_code in (403, 413)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_widget_script_headers(client):
    r = client.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "max-age" in r.headers["cache-control"]
    assert "set-cookie" not in r.headers
