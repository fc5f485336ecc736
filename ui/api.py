"""The JSON API: /api/ask, /api/ask/stream (server-sent events), /api/policies, /healthz.

Every error body is ``{"error": "<one clear sentence>"}``; no stack trace ever leaves the process.
The endpoints get their handles from ``request.app.state.services`` (built by ``create_app``) and
answer through ui/service.py, the same path as the chat page.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.question import MAX_QUESTION_CHARS
from index.load import POLICY_ID_RE
from index.errors import StoreUnavailable
from ui.security import BodyTooLarge
from ui.service import (UNAVAILABLE, Accepted, ApiError, QuestionRequest, Services, accept, answer_events,
                        answer_request, one_line, resolve_session, validate_question)

log = logging.getLogger("policychat.api")

# The limits the request models declare (so /openapi.json states what validation enforces).
# The field checks below give the messages; the model constraints only mirror them.
QUESTION_PATTERN = r"[^\W_]"                          # at least one letter or digit
POLICY_ID_PATTERN = POLICY_ID_RE.pattern                 # what `policychat index` gives a file
OPTIONAL_POLICY_PATTERN = f"^(?:{POLICY_ID_PATTERN[1:-1]})?$"   # or empty: all policies
SESSION_PATTERN = r"^[A-Za-z0-9_.:-]{0,100}$"           # SESSION_RE, or empty for a new session


# --- request / response models ---------------------------------------------------------
class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: StrictStr = Field(description="The question: 1-2000 characters with at least one letter "
                                "or digit.", examples=["How long do you keep my data?"],
                                min_length=1, max_length=MAX_QUESTION_CHARS, pattern=QUESTION_PATTERN)
    policy: StrictStr | None = Field(None, description="Only this policy (an id from /api/policies); "
                                     "null, empty or omitted = all policies. An id that is not indexed "
                                     "is a 404.", examples=["aliexpress"], max_length=64,
                                     pattern=OPTIONAL_POLICY_PATTERN)
    session_id: StrictStr | None = Field(None, description="Conversation id for follow-up questions; "
                                         "returned by the first answer.", max_length=100,
                                         pattern=SESSION_PATTERN)


class CitationOut(BaseModel):
    policy: str
    section: str
    quote: str = Field(description="Verbatim: equals source[start:end] of /api/policies/{policy}/source.")
    start: int
    end: int
    version: str | None


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    citations: list[CitationOut]
    session_id: str


class ErrorOut(BaseModel):
    error: str


# 400: a body that is not JSON at all
ERRORS = {code: {"model": ErrorOut} for code in (400, 404, 413, 422, 429, 503)}


def question_request(body: AskRequest) -> QuestionRequest:
    return QuestionRequest(body.question, body.policy, body.session_id)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# --- routes ------------------------------------------------------------------------------
router = APIRouter()


def services_of(request: Request) -> Services:
    return request.app.state.services


@router.post("/api/ask", response_model=AskResponse, responses=ERRORS, tags=["ask"],
             summary="Answer a question with cited, verbatim quotes")
def ask(body: AskRequest, request: Request) -> dict:
    return answer_request(services_of(request), question_request(body))


@router.post("/api/ask/stream", responses={200: {"content": {"text/event-stream": {}},
                                                 "description": "Server-sent events: `token` events "
                                                 "({text}; a `reset` event means: discard the text so far), "
                                                 "then one `citations` event ({answer, abstained, "
                                                 "citations, session_id}), then `done`; or an `error` event "
                                                 "({error})."}, **ERRORS},
             tags=["ask"], summary="Answer a question as a stream of server-sent events")
def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
    services = services_of(request)
    accepted = accept(services, question_request(body))
    with services.store_guard():
        services.ctx.assistant  # noqa: B018 (loaded now: an outage is a 503, not an error event)
    return StreamingResponse(stream_events(services, accepted), media_type="text/event-stream; charset=utf-8",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def stream_events(services: Services, accepted: Accepted) -> Iterator[str]:
    yield ": stream open\n\n"
    for kind, payload in answer_events(services, accepted, "ask-stream"):
        if kind == "token":
            yield sse("token", {"text": str(payload)})
        elif kind == "reset":
            yield sse("reset", {})
        elif kind == "answer":
            yield sse("citations", {**payload.to_contract(), "session_id": accepted.session_id})
            yield sse("done", {"session_id": accepted.session_id})
        elif kind == "unavailable":
            yield sse("error", {"error": UNAVAILABLE})
        else:
            yield sse("error", {"error": "the answer could not be completed; please try again"})


def policy_row(policy) -> dict:
    current = policy.current_version
    return {"id": policy.id, "title": policy.title, "kind": policy.kind,
            "current_version": current.label if current else None,
            "versions": [{"label": v.label, "effective_date": v.effective_date, "current": v.current}
                         for v in policy.versions],
            "sections": len(policy.sections), "chunks": policy.chunk_count}


@router.get("/api/policies", tags=["policies"], summary="List the indexed policies",
            responses={503: {"model": ErrorOut}})
def policies(request: Request) -> dict:
    services = services_of(request)
    with services.store_guard():
        found = services.ctx.store.policies()
    return {"policies": [policy_row(p) for p in found.values()]}


def unknown_policy(policy_id: str, found) -> ApiError:
    return ApiError(404, f"unknown policy '{policy_id[:100]}' (known: {', '.join(found) or 'none indexed'})")


@router.get("/api/policies/{policy_id}/source", tags=["policies"], responses={404: {"model": ErrorOut},
                                                                           503: {"model": ErrorOut}},
            summary="A policy's source text and section offsets (citations index into `text`)")
def policy_source(request: Request, policy_id: str = Path(max_length=64, pattern=POLICY_ID_PATTERN,
                                                           examples=["aliexpress"])) -> dict:
    services = services_of(request)
    with services.store_guard():
        found = services.ctx.store.policies()
        if policy_id not in found:
            raise unknown_policy(policy_id, found)
        text = services.ctx.store.source_text(policy_id) or ""
    policy = found[policy_id]
    return {**policy_row(policy), "text": text, "length": len(text),
            "sections": [{"path": list(s.path), "heading": s.heading, "level": s.level, "start": s.start,
                          "end": s.end, "version": s.version} for s in policy.sections]}


@router.get("/healthz", tags=["service"], summary="Index and store status (503 when unavailable)",
            responses={503: {"description": "The store is unreachable or the index is empty "
                                            "(`status`, `error`)."}})
def healthz(request: Request):
    services = services_of(request)
    ctx = services.ctx
    store_kind = "chroma-server" if ctx.chroma_url else "embedded"
    try:
        store = ctx.store
        store.ping()
        found = store.policies()
        chunks = store.count()
    except StoreUnavailable as exc:
        ctx.reset_store()
        return JSONResponse({"status": "unavailable", "store": store_kind,
                             "error": f"the index store is not reachable: {one_line(exc)}"}, status_code=503)
    if not found:
        return JSONResponse({"status": "empty", "store": store_kind, "policies": 0, "chunks": chunks,
                             "error": "no policies are indexed; run `policychat index`"}, status_code=503)
    if not services.warm():
        return JSONResponse({"status": "warming", "store": store_kind, "policies": len(found), "chunks": chunks,
                             "error": "the assistant is not loaded yet"}, status_code=503)
    return {"status": "ok", "store": store_kind, "policies": len(found), "chunks": chunks}


# --- error handlers --------------------------------------------------------------------
def describe_validation(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        kind = err.get("type", "")
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        field = ".".join(loc)
        if kind in ("json_invalid", "json_decode"):
            return "the request body is not valid JSON"
        if not field:
            if kind == "missing":
                return "the request body must be a JSON object with a 'question'"
            return "the request body must be a JSON object"
        if kind == "missing":
            problems.append(f"'{field}' is required")
        elif kind.startswith("string"):
            problems.append(f"'{field}' must be a string")
        else:
            problems.append(f"'{field}': {err.get('msg', 'invalid value')}")
    return "; ".join(problems) or "invalid request"


def field_check(services: Services, exc: RequestValidationError) -> ApiError | None:
    """The endpoint's own check for a string field the model's declared limits refused, so the
    schema and the answer agree and the message is the one the endpoint gives (413 for a long
    question, 404 for an id that cannot be a policy)."""
    for err in exc.errors():
        value, loc = err.get("input"), tuple(err.get("loc", ()))
        if not isinstance(value, str):
            continue
        try:
            if loc == ("body", "question"):
                validate_question(value, services.settings)
            elif loc == ("body", "session_id"):
                resolve_session(value)
            elif loc in (("body", "policy"), ("path", "policy_id")):
                with services.store_guard():
                    raise unknown_policy(value, services.ctx.store.policies())
        except ApiError as refused:
            return refused
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError):
        # sync: the policy check may read the store (run in the thread pool)
        refused = field_check(services_of(request), exc)
        if refused is not None:
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        return JSONResponse({"error": describe_validation(exc)}, status_code=422)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge):
        return JSONResponse({"error": str(exc)}, status_code=413)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("unhandled error on %s %s: %s", request.method, request.url.path, one_line(exc),
                  exc_info=exc)
        return JSONResponse({"error": "internal server error"}, status_code=500)
