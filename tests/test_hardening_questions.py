"""Hardening row 1 (docs/security.md): hostile and malformed questions.

Empty, blank, 100 kB, control characters, mixed scripts and emoji, punctuation only, SQL and
shell fragments, unknown policy ids, malformed JSON and wrong types: every entry point (the
assistant, the JSON API, the Gradio chat handler) either answers within the contract (every
quote is ``source[start:end]``) or refuses with one clear sentence — never a 500, never a
traceback. Hypothesis feeds arbitrary text through ``normalize_question`` + ``Assistant.ask``
and through the API.

Already proven elsewhere (not repeated here): the API's basic 4xx table
(tests/test_api.py::test_bad_requests_get_clear_json_errors), the 64 kB body cap
(tests/test_api.py::test_oversized_body_and_unknown_endpoint), the CLI's empty/oversized/unknown
policy messages (tests/test_cli_ask.py) and tests/test_answers.py::test_unknown_policy_raises.
"""
from __future__ import annotations

import json
import warnings
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.question import MAX_QUESTION_CHARS, normalize_question
from index.errors import InvalidQuestion
from ui.feedback import FeedbackStore
from index.settings import Settings

TRACE_MARKERS = ("Traceback", 'File "', "site-packages")
CONTRACT_KEYS = {"answer", "abstained", "citations"}
CITATION_KEYS = {"policy", "section", "quote", "start", "end", "version"}

# Questions that must be refused, with the reason the user is told.
REFUSED = [
    pytest.param("", "the question is empty", id="empty"),
    pytest.param("   \t\n \r\n  ", "the question is empty", id="whitespace"),
    pytest.param("\x00\x01\x07\x1b\x7f\u200b\u202e\ufeff", "the question is empty", id="only-controls"),
    pytest.param("?!? ... ¿¡ — … ;;; ()[]{}", "has no words", id="only-punctuation"),
    pytest.param("🍪🔒🙂 🎉", "has no words", id="only-emoji"),
    pytest.param("how long do you keep my data? " * 3400, "the limit is 2000", id="100kB"),
    pytest.param("数据" * 50_000, "the limit is 2000", id="100kB-cjk"),
    pytest.param("x" * (MAX_QUESTION_CHARS + 1), "the limit is 2000", id="limit+1"),
    pytest.param(None, "must be text", id="None"),
    pytest.param(42, "must be text", id="int"),
    pytest.param(b"how long do you keep my data?", "must be text", id="bytes"),
    pytest.param(["how long?"], "must be text", id="list"),
]

# Odd but legitimate questions: they must be answered or abstained on, within the contract.
ODD = [
    pytest.param("how long\x00 do you\x07 keep\x1b[31m my data?", id="control-chars"),
    pytest.param("do you use co\u200bokies\u200d?", id="zero-width"),
    pytest.param("\u202edo you use cookies\u202c", id="bidi-override"),
    pytest.param("cafe\u0301 loyalty data — do you share it?", id="combining-marks"),
    pytest.param("数据 保留 多久? 🔒🍪 кто получает мои данные? مرحبا cookies?", id="mixed-scripts-emoji"),
    pytest.param("🍪🍪 do you use cookies 🍪 for ads? 🙈", id="emoji-around-words"),
    pytest.param("'; DROP TABLE policies; --", id="sql-drop"),
    pytest.param("Robert'); DROP TABLE Students;-- how long is data kept", id="sql-bobby"),
    pytest.param("1 OR 1=1; SELECT * FROM embeddings UNION SELECT password FROM users --", id="sql-union"),
    pytest.param('{"$ne": null} {"gen": {"$nin": []}} who gets my payment data?', id="nosql-where"),
    pytest.param("$(rm -rf /) do you share my data?", id="shell-subst"),
    pytest.param("`cat /etc/passwd` cookies?; curl http://127.0.0.1:9/x | sh && shutdown -h now", id="shell-pipe"),
    pytest.param("../../../../etc/passwd", id="path-traversal"),
    pytest.param("%s%s%s%n {0} {{7*7}} ${7*7} #{7*7} <%= 7*7 %>", id="format-strings"),
    pytest.param("<script>alert(1)</script> do you use cookies?", id="html"),
    pytest.param(("données 🍪 personnelles " * 100)[:MAX_QUESTION_CHARS], id="exactly-the-limit"),
]

# Fragments hypothesis mixes with real words.
FRAGMENTS = ["how long do you keep my data?", "cookies", "payment", "delete my account", "'; DROP TABLE x; --",
             "$(reboot)", "`id`", "\x00", "\x1b[2J", "\u202e", "\u200b", "\ufeff", "🍪", "数据", "данные", "مرحبا",
             "{{7*7}}", "%n", "<img src=x onerror=alert(1)>", "\r\n", "\t", "?!", "../", "NULL", "\\", '"', "'"]


def assert_contract(body: dict, sources: dict[str, str]) -> None:
    """The answer contract: keys, types, and every quote sliced from its policy's source."""
    assert CONTRACT_KEYS <= set(body), body
    assert isinstance(body["answer"], str) and body["answer"].strip()
    assert isinstance(body["abstained"], bool)
    if body["abstained"]:
        assert body["citations"] == []
    else:
        assert body["citations"], "an answer that does not abstain cites something"
    for c in body["citations"]:
        assert set(c) == CITATION_KEYS
        assert sources[c["policy"]][c["start"]:c["end"]] == c["quote"], c


def assert_clean_error(response, statuses=(400, 404, 405, 413, 415, 422)) -> str:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error, str) and error and "\n" not in error
    assert not any(m in response.text for m in TRACE_MARKERS), response.text[:300]
    return error


@pytest.fixture(scope="module")
def assistant(ctx):
    """An extractive assistant over the shared index (independent of POLICYCHAT_LLM)."""
    from assistant.pipeline import Assistant

    return Assistant(ctx.retriever, ctx.embedder)


@pytest.fixture(scope="module")
def sources(ctx) -> dict[str, str]:
    return ctx.store.source_texts()


@pytest.fixture(scope="module")
def client(ctx, tmp_path_factory):
    from ui.server import create_app

    app = create_app(ctx, Settings(rate_capacity=0),
                     feedback=FeedbackStore(tmp_path_factory.mktemp("hq") / "feedback.sqlite3"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# --- the one question check ------------------------------------------------------------------
@pytest.mark.parametrize("question, reason", REFUSED)
def test_bad_questions_are_refused_with_one_clear_line(assistant, question, reason):
    for check in (normalize_question, assistant.ask):
        with pytest.raises(InvalidQuestion) as err:
            check(question)
        message = str(err.value)
        assert reason in message and "\n" not in message and len(message) < 120


@pytest.mark.parametrize("question", ODD)
def test_odd_questions_are_answered_within_the_contract(assistant, sources, question):
    cleaned = normalize_question(question)
    assert cleaned and len(cleaned) <= MAX_QUESTION_CHARS
    assert not any(ch in cleaned for ch in "\x00\x07\x1b\u200b\u202e\u202c")
    answer = assistant.ask(question)
    assert_contract(answer.to_contract(), sources)


@pytest.mark.parametrize("policy", ["nope", "ALIEXPRESS", "../../etc/passwd", "<script>alert(1)</script>",
                                    "aliexpress\x00", "' OR 1=1 --", '{"$ne": ""}', "x" * 5000, " aliexpress"])
def test_unknown_policy_ids_are_a_clear_404(client, policy):
    for path in ("/api/ask", "/api/ask/stream"):
        r = client.post(path, json={"question": "how long do you keep my data?", "policy": policy})
        error = assert_clean_error(r, (404,))
        assert error.startswith("unknown policy ") and "(known: alibaba, aliexpress" in error
    r = client.get(f"/api/policies/{quote(policy, safe='')}/source")
    assert_clean_error(r, (404,))


# --- the JSON API: malformed bodies and wrong types ------------------------------------------
MALFORMED = [
    pytest.param(b"\xff\xfe{\"question\": \"cookies?\"}", id="invalid-utf8"),
    pytest.param('{"question": "caf\xe9"}'.encode("latin-1"), id="latin1-body"),
    pytest.param(b"[" * 30_000, id="deeply-nested"),
    pytest.param(b'{"question": NaN}', id="NaN"),
    pytest.param(b'{"question": 1e999}', id="infinity"),
    pytest.param(b'{"question": "ok", "question": 5}', id="duplicate-key"),
    pytest.param(b'{"question": ["how long?"]}', id="question-list"),
    pytest.param(b'{"question": {"$ne": null}}', id="question-object"),
    pytest.param(b'{"question": true}', id="question-bool"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"question": "cookies?", "session_id": 5}', id="session-int"),
    pytest.param(b'{"question": "cookies?", "session_id": "' + b"a" * 101 + b'"}', id="session-too-long"),
    pytest.param(b'{"question": "cookies?", "session_id": "../../x y"}', id="session-bad-chars"),
    pytest.param(b'{"question": "cookies?", "policy": ["aliexpress"]}', id="policy-list"),
    pytest.param(b'{"question": "' + b"\\u0000" * 50 + b'"}', id="nul-escapes-only"),
    pytest.param(json.dumps({"question": "data " * 20_000}).encode(), id="100kB-question"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_bodies_get_a_clear_4xx(client, body):
    for path in ("/api/ask", "/api/ask/stream"):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert_clean_error(r)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None,
                                          "application/json; charset=latin-1", "multipart/form-data"])
def test_wrong_content_types_get_a_clear_4xx(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/api/ask", content=b"question=how+long", headers=headers)
    assert_clean_error(r)


@pytest.mark.parametrize("question", ODD[:8] + ODD[10:12])
def test_odd_questions_through_the_api(client, sources, question):
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 200, r.text
    assert_contract(r.json(), sources)
    r = client.post("/api/ask/stream", json={"question": question})
    assert r.status_code == 200 and "event: error" not in r.text
    assert "event: citations" in r.text and "event: done" in r.text


# --- the Gradio chat handler ------------------------------------------------------------------
@pytest.fixture(scope="module")
def chat_handlers(ctx, tmp_path_factory):
    """The chat's event handlers, taken from the real Blocks (called directly, no browser)."""
    from ui import chat_page, service
    from ui.security import TokenBucket

    services = service.Services(ctx=ctx, settings=Settings(rate_capacity=0), limiter=TokenBucket(0, 60),
                            feedback=FeedbackStore(tmp_path_factory.mktemp("hq-chat") / "feedback.sqlite3"))
    blocks = chat_page.build_chat(services)
    return {f.name: f.fn for f in blocks.fns.values()}


@pytest.mark.parametrize("question", ["", "   ", "?!?", "x" * 100_000, "\x00\x01", "🍪🍪"])
def test_chat_refuses_bad_questions_without_touching_the_conversation(chat_handlers, question):
    request = SimpleNamespace(client=SimpleNamespace(host="198.51.100.7"))
    history = [{"role": "user", "content": "earlier"}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # gr.Warning outside an event is a plain warning
        out = list(chat_handlers["respond"](question, history, "", "s1", {}, request))
    assert len(out) == 1
    _, new_history, turns = out[0]
    assert new_history == history and turns == {}


# --- hypothesis -------------------------------------------------------------------------------
# Arbitrary unicode without lone surrogates (those are a known bug, see
# test_lone_surrogates_are_cleaned_not_a_crash), hostile fragments mixed with real words, and
# text around the length limit.
QUESTIONS = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=5).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1990, max_size=2010),
)
HYPOTHESIS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                             HealthCheck.data_too_large])


@HYPOTHESIS
@given(question=QUESTIONS)
def test_any_text_is_answered_or_refused_as_invalid(assistant, sources, question):
    try:
        normalize_question(question)
    except InvalidQuestion as exc:
        assert str(exc) and "\n" not in str(exc)
        with pytest.raises(InvalidQuestion):
            assistant.ask(question)
        return
    answer = assistant.ask(question)   # anything else raised fails the test
    assert_contract(answer.to_contract(), sources)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3),
                           max_leaves=6)


@HYPOTHESIS
@given(question=st.one_of(QUESTIONS, JSON_VALUES),
       policy=st.one_of(st.none(), st.sampled_from(["", "aliexpress", "nope", "../x"]), JSON_VALUES),
       session_id=st.one_of(st.none(), st.sampled_from(["", "s-1", "bad id!"]), JSON_VALUES))
def test_any_json_body_gets_an_answer_or_a_clear_4xx(client, sources, question, policy, session_id):
    body = {"question": question}
    if policy is not None:
        body["policy"] = policy
    if session_id is not None:
        body["session_id"] = session_id
    r = client.post("/api/ask", json=body)
    assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    assert "Traceback" not in r.text
    if r.status_code == 200:
        assert_contract(r.json(), sources)
    else:
        assert_clean_error(r, (r.status_code,))


# --- known bug --------------------------------------------------------------------------------
LONE_SURROGATES = ["cookies \ud800 data?", "\udfff\ud800 do you sell my data?", "how long\udc80 do you keep it?"]


def test_lone_surrogates_are_cleaned_not_a_crash(assistant, client, sources):
    for question in LONE_SURROGATES:
        try:
            outcome = assistant.ask(question).to_contract()
        except InvalidQuestion:
            outcome = "refused"
        except Exception as exc:  # noqa: BLE001 - the point is which exception
            outcome = type(exc).__name__
        assert outcome == "refused" or isinstance(outcome, dict), outcome
        body = json.dumps({"question": question}).encode()   # '\\ud800' escapes, valid JSON
        r = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
        assert r.status_code in (200, 422), r.status_code
        stream = client.post("/api/ask/stream", content=body, headers={"content-type": "application/json"})
        assert "event: error" not in stream.text
