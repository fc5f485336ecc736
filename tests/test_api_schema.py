"""The API keeps its own schema: a seeded, bounded schemathesis run over every operation (with
the index's real policy ids, so /api/policies/{policy_id}/source answers 200 too), the declared
limits, methods no route takes, and one error shape outside /api."""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ui.feedback import FeedbackStore
from index.settings import Settings

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated.*")]

EXAMPLES = 20   # per operation and generation mode; the ask endpoints run the real pipeline each time


@pytest.fixture(scope="module")
def app(ctx, tmp_path_factory):
    from ui.server import create_app

    return create_app(ctx, Settings(rate_capacity=0),
                      feedback=FeedbackStore(tmp_path_factory.mktemp("schema") / "feedback.sqlite3"))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def api_schema(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(deterministic=True)
    return schema


@pytest.fixture(scope="module")
def policy_ids(ctx) -> list[str]:
    return sorted(ctx.store.policies())


def cases(operation, mode, policy_ids):
    """Generated requests for one operation; positive path ids are mostly the index's real ones."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode != schemathesis.GenerationMode.POSITIVE or "{policy_id}" not in operation.path:
        return generated
    real = [operation.as_strategy(generation_mode=mode, path_parameters={"policy_id": pid}) for pid in policy_ids]
    return st.one_of(*real, generated)


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_every_operation_keeps_the_schema(api_schema, policy_ids, mode):
    """All of schemathesis's checks (no 5xx, declared status codes and bodies, negative data
    refused, positive data accepted, 405 for other methods …) on every operation."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/ask", "/api/ask/stream", "/api/policies",
                                              "/api/policies/{policy_id}/source", "/healthz"}
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        if mode == schemathesis.GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.path_parameters)):
            continue   # nothing to break

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=cases(operation, mode, policy_ids))
        def run(case):
            # "2 to 8 *different* ids" cannot be said in OpenAPI: "a,a" is schema-valid and refused
            excluded = [positive_data_acceptance] if operation.path == "/api/compare" else None
            response = case.call_and_validate(excluded_checks=excluded)
            statuses.setdefault(label, set()).add(response.status_code)

        run()
    if mode == schemathesis.GenerationMode.POSITIVE:
        # the real ids reached the source endpoint's 200 answer
        assert 200 in statuses["GET /api/policies/{policy_id}/source"], statuses
    assert not any(code >= 500 for codes in statuses.values() for code in codes), statuses


# --- the declared limits are the enforced ones ---------------------------------------------------
def test_the_request_model_declares_the_limits(client):
    body = client.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]["properties"]
    assert body["question"]["minLength"] == 1 and body["question"]["maxLength"] == 2000
    assert "pattern" in body["question"]
    policy = next(s for s in body["policy"]["anyOf"] if s.get("type") == "string")
    assert policy["maxLength"] == 64 and policy["pattern"]
    session = next(s for s in body["session_id"]["anyOf"] if s.get("type") == "string")
    assert session["maxLength"] == 100 and session["pattern"]
    params = client.get("/openapi.json").json()["paths"]["/api/policies/{policy_id}/source"]["get"]["parameters"]
    assert params[0]["schema"]["pattern"] and params[0]["schema"]["maxLength"] == 64


@pytest.mark.parametrize("body, status, message", [
    ({"question": ""}, 422, "the question is empty"),
    ({"question": "?! ..."}, 422, "the question has no words in it"),
    ({"question": "x" * 2001}, 413, "the question is 2001 characters; the limit is 2000"),
    ({"question": "ok?", "policy": "../etc"}, 404, "unknown policy '../etc' (known: alibaba"),
    ({"question": "ok?", "session_id": "a b"}, 422, "session_id must be 1-100 characters"),
])
def test_refusals_keep_the_endpoints_own_messages(client, body, status, message):
    r = client.post("/api/ask", json=body)
    assert r.status_code == status and r.json()["error"].startswith(message), r.text


# --- methods and paths no endpoint takes --------------------------------------------------------
@pytest.mark.parametrize("method, path, allow", [
    ("TRACE", "/api/ask", "POST"), ("TRACE", "/healthz", "GET"), ("PUT", "/api/policies", "GET"),
    ("DELETE", "/api/policies/aliexpress/source", "GET"), ("POST", "/docs", "GET"),
    ("OPTIONS", "/api/ask/stream", "POST"),
])
def test_a_known_path_with_another_method_is_405(client, method, path, allow):
    r = client.request(method, path)
    assert r.status_code == 405, (method, path, r.status_code, r.text)
    assert r.headers["allow"] == allow
    assert r.json()["error"] == f"{method} is not supported here; use {allow}"


@pytest.mark.parametrize("path", ["/nope", "/etc/passwd/source", "/api/nope", "/docs/nope"])
def test_unknown_paths_answer_one_json_error_shape(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    assert set(r.json()) == {"error"} and path in r.json()["error"]


def test_a_browser_gets_a_404_page_in_the_products_style(client):
    r = client.get("/etc/passwd/<b>x</b>", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text and 'href="/"' in r.text
    assert "<b>x</b>" not in r.text and "&lt;b&gt;x&lt;/b&gt;" in r.text
    assert "content-security-policy" in r.headers
    # the API keeps JSON even for a browser
    r = client.get("/api/nope", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.json() == {"error": "no such endpoint: /api/nope"}


def test_the_error_shape_is_documented(client):
    description = client.get("/openapi.json").json()["info"]["description"]
    assert '{"error": "..."}' in description and "405" in description and "404 page" in description
    page = client.get("/docs").text                                    # what a person reads at /docs
    assert 'id="errors"' in page and "<td>405</td>" in page and "Page not found" in page
