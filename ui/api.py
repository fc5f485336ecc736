"""The JSON API: /api/ask, /api/ask/stream (server-sent events), /api/policies, /healthz.

Every error body is ``{"error": "<one clear sentence>"}``; no stack trace ever leaves the process.
The endpoints get their handles from ``request.app.state.services`` (built by ``create_app``).
"""
from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.question import MAX_QUESTION_CHARS
from index.load import POLICY_ID_RE
from index.errors import StoreUnavailable
from index.settings import Settings
from ui.security import BodyTooLarge, TokenBucket, question_digest

log = logging.getLogger("policychat.api")

SESSION_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
# The limits the request models declare (so /openapi.json states what validation enforces).
# The field checks below give the messages; the model constraints only mirror them.
QUESTION_PATTERN = r"[^\W_]"                          # at least one letter or digit
POLICY_ID_PATTERN = POLICY_ID_RE.pattern                 # what `policychat index` gives a file
OPTIONAL_POLICY_PATTERN = f"^(?:{POLICY_ID_PATTERN[1:-1]})?$"   # or empty: all policies
SESSION_PATTERN = r"^[A-Za-z0-9_.:-]{0,100}$"           # SESSION_RE, or empty for a new session
UNAVAILABLE = "the policy index is unavailable right now; try again shortly"


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def store_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean 'the Chroma store is not reachable' (embedded or server)."""
    import httpx
    from chromadb.errors import ChromaError

    return (StoreUnavailable, ChromaError, httpx.TransportError, httpx.HTTPStatusError,
            ConnectionError, TimeoutError, sqlite3.Error)


@dataclass
class Services:
    """What the endpoints share: the context plus the web-side helpers."""

    ctx: Any
    settings: Settings
    limiter: TokenBucket
    feedback: Any = None
    ready: bool = False  # warmed up: the next question is answered at full speed

    def warm(self) -> bool:
        """Warm the assistant (``AppContext.warm``); False while the store or index is not there."""
        if not self.ready:
            try:
                self.ctx.warm()
                self.ready = True
            except Exception as exc:  # reported by /healthz; the next check tries again
                log.warning("warm-up failed: %s", _one_line(exc))
                self.ctx.reset_store()
        return self.ready

    @contextmanager
    def store_guard(self):
        """Turn store outages into a 503 and drop the handles so the next request reconnects."""
        try:
            yield
        except store_errors() as exc:
            log.warning("store unavailable: %s", _one_line(exc))
            self.ctx.reset_store()
            raise ApiError(503, UNAVAILABLE) from None


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]


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


# --- validation shared by the API and the chat -----------------------------------------
def validate_question(question: str, settings: Settings) -> str:
    """The project's one question check (assistant.question); too long → 413, else 422."""
    from assistant.question import normalize_question
    from index.errors import InvalidQuestion

    if len(question) > settings.max_question_chars:
        raise ApiError(413, f"the question is {len(question)} characters; the limit is "
                       f"{settings.max_question_chars}")
    try:
        return normalize_question(question)
    except InvalidQuestion as exc:
        message = str(exc)
        raise ApiError(413 if "the limit is" in message else 422, message) from None


def resolve_session(session_id: str | None) -> str:
    if session_id is None or session_id == "":
        return uuid.uuid4().hex
    if not SESSION_RE.match(session_id):
        raise ApiError(422, "session_id must be 1-100 characters of letters, digits, '_', '-', '.' or ':'")
    return session_id


def check_policy(services: Services, policy: str | None) -> str | None:
    if policy is None or policy == "":
        return None
    from index.errors import UnknownPolicy

    with services.store_guard():
        retriever = services.ctx.retriever
        retriever.refresh()
        try:
            retriever.check_policy(policy)
        except UnknownPolicy as exc:
            raise ApiError(404, str(exc)) from None
    return policy


def prepare(services: Services, body: AskRequest) -> tuple[str, str | None, str]:
    question = validate_question(body.question, services.settings)
    session_id = resolve_session(body.session_id)
    policy = check_policy(services, body.policy)
    return question, policy, session_id


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


# --- routes ------------------------------------------------------------------------------
router = APIRouter()


def services_of(request: Request) -> Services:
    return request.app.state.services


@router.post("/api/ask", response_model=AskResponse, responses=ERRORS, tags=["ask"],
             summary="Answer a question with cited, verbatim quotes")
def ask(body: AskRequest, request: Request) -> dict:
    services = services_of(request)
    question, policy, session_id = prepare(services, body)
    started = time.perf_counter()
    with services.store_guard():
        answer = services.ctx.assistant.ask(question, policy=policy, session_id=session_id)
    log.info("ask %s policy=%s citations=%d abstained=%s %.0fms", question_digest(question), policy or "*",
             len(answer.citations), answer.abstained, (time.perf_counter() - started) * 1000)
    return {**answer.to_contract(), "session_id": session_id}


@router.post("/api/ask/stream", responses={200: {"content": {"text/event-stream": {}},
                                                 "description": "Server-sent events: `token` events "
                                                 "({text}; a `reset` event means: discard the text so far), "
                                                 "then one `citations` event ({answer, abstained, "
                                                 "citations, session_id}), then `done`; or an `error` event "
                                                 "({error})."}, **ERRORS},
             tags=["ask"], summary="Answer a question as a stream of server-sent events")
def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
    services = services_of(request)
    question, policy, session_id = prepare(services, body)
    with services.store_guard():
        assistant = services.ctx.assistant
    return StreamingResponse(stream_events(services, assistant, question, policy, session_id),
                             media_type="text/event-stream; charset=utf-8",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def stream_events(services: Services, assistant, question: str, policy: str | None,
                  session_id: str) -> Iterator[str]:
    started = time.perf_counter()
    yield ": stream open\n\n"
    outcome = "error"
    try:
        answer = None
        for kind, payload in assistant.stream(question, policy=policy, session_id=session_id):
            if kind == "token":
                yield sse("token", {"text": str(payload)})
            elif kind == "reset":   # the text streamed so far is void (generation fell back)
                yield sse("reset", {})
            elif kind == "answer":
                answer = payload
        if answer is None:
            raise RuntimeError("the assistant ended without an answer")
        yield sse("citations", {**answer.to_contract(), "session_id": session_id})
        yield sse("done", {"session_id": session_id})
        outcome = f"citations={len(answer.citations)} abstained={answer.abstained}"
    except store_errors() as exc:
        log.warning("store unavailable while streaming: %s", _one_line(exc))
        services.ctx.reset_store()
        yield sse("error", {"error": UNAVAILABLE})
    except Exception:
        log.exception("stream failed for %s", question_digest(question))
        yield sse("error", {"error": "the answer could not be completed; please try again"})
    finally:
        log.info("ask-stream %s policy=%s %s %.0fms", question_digest(question), policy or "*", outcome,
                 (time.perf_counter() - started) * 1000)


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
        chunks = store.chunks.count()
    except store_errors() as exc:
        ctx.reset_store()
        return JSONResponse({"status": "unavailable", "store": store_kind,
                             "error": f"the index store is not reachable: {_one_line(exc)}"}, status_code=503)
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
        log.error("unhandled error on %s %s: %s", request.method, request.url.path, _one_line(exc),
                  exc_info=exc)
        return JSONResponse({"error": "internal server error"}, status_code=500)
