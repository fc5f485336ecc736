"""One request path for a question: /api/ask, /api/ask/stream and the chat page all come here.

``accept`` checks a request (question, rate limit, session, policy) and refuses it with an
``ApiError`` (status + one-sentence message); ``answer_request`` answers it whole and
``answer_events`` as it is produced. Store outages become a 503 or an ``unavailable`` event and
drop the store handles, so the next request reconnects. The callers only render the result.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from assistant.question import normalize_question
from index.errors import InvalidQuestion, QuestionTooLong, StoreUnavailable, UnknownPolicy
from index.settings import Settings
from ui.context import AppContext
from ui.security import TokenBucket, question_digest

log = logging.getLogger("policychat.service")

SESSION_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
UNAVAILABLE = "the policy index is unavailable right now; try again shortly"


class ApiError(Exception):
    """A refused request: the HTTP status and one sentence for the user."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]


@dataclass
class Services:
    """What the endpoints and pages share: the context plus the web-side helpers."""

    ctx: AppContext
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
                log.warning("warm-up failed: %s", one_line(exc))
                self.ctx.reset_store()
        return self.ready

    @contextmanager
    def store_guard(self):
        """Turn store outages into a 503 and drop the handles so the next request reconnects."""
        try:
            yield
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", one_line(exc))
            self.ctx.reset_store()
            raise ApiError(503, UNAVAILABLE) from None


@dataclass(frozen=True)
class QuestionRequest:
    question: str
    policy: str | None = None       # None or "": every policy
    session_id: str | None = None   # None or "": a new session
    meter: str | None = None        # the rate-limit bucket to take a token from (the API meters
                                    # in its middleware, before the body is read)


@dataclass(frozen=True)
class Accepted:
    question: str                   # normalised
    policy: str | None
    session_id: str


def validate_question(question: str, settings: Settings) -> str:
    """The project's one question check (assistant.question); too long → 413, else 422."""
    if len(question) > settings.max_question_chars:
        raise ApiError(413, f"the question is {len(question)} characters; the limit is "
                       f"{settings.max_question_chars}")
    try:
        return normalize_question(question)
    except InvalidQuestion as exc:
        raise ApiError(413 if isinstance(exc, QuestionTooLong) else 422, str(exc)) from None


def resolve_session(session_id: str | None) -> str:
    if session_id is None or session_id == "":
        return uuid.uuid4().hex
    if not SESSION_RE.match(session_id):
        raise ApiError(422, "session_id must be 1-100 characters of letters, digits, '_', '-', '.' or ':'")
    return session_id


def check_policy(services: Services, policy: str | None) -> str | None:
    if policy is None or policy == "":
        return None
    with services.store_guard():
        retriever = services.ctx.retriever
        retriever.refresh()
        try:
            retriever.check_policy(policy)
        except UnknownPolicy as exc:
            raise ApiError(404, str(exc)) from None
    return policy


def take_token(services: Services, key: str) -> None:
    wait = services.limiter.take(key)
    if wait > 0:
        raise ApiError(429, f"too many questions; please wait {int(wait) + 1} seconds.")


def accept(services: Services, request: QuestionRequest) -> Accepted:
    """The request, checked; or an ApiError saying what is wrong with it."""
    question = validate_question(request.question, services.settings)
    if request.meter is not None:
        take_token(services, request.meter)
    session_id = resolve_session(request.session_id)
    return Accepted(question, check_policy(services, request.policy), session_id)


def answer_request(services: Services, request: QuestionRequest) -> dict:
    """The answer contract plus ``session_id`` (/api/ask)."""
    accepted = accept(services, request)
    started = time.perf_counter()
    with services.store_guard():
        answer = services.ctx.assistant.ask(accepted.question, policy=accepted.policy,
                                            session_id=accepted.session_id)
    log.info("ask %s policy=%s citations=%d abstained=%s %.0fms", question_digest(accepted.question),
             accepted.policy or "*", len(answer.citations), answer.abstained,
             (time.perf_counter() - started) * 1000)
    return {**answer.to_contract(), "session_id": accepted.session_id}


def answer_events(services: Services, accepted: Accepted, channel: str) -> Iterator[tuple[str, Any]]:
    """The answer as it is produced: ("token", text) and ("reset", None) (the text so far is
    void: generation fell back), then ("answer", Answer). Or, instead of the answer,
    ("unavailable", None) after a store outage or ("failed", None) after any other error; both
    are logged here. ``channel`` names the caller in the log (never the question itself)."""
    started = time.perf_counter()
    digest = question_digest(accepted.question)
    outcome = "error"
    try:
        answer = None
        for kind, payload in services.ctx.assistant.stream(accepted.question, policy=accepted.policy,
                                                            session_id=accepted.session_id):
            if kind in ("token", "reset"):
                yield kind, payload
            elif kind == "answer":
                answer = payload
        if answer is None:
            raise RuntimeError("the assistant ended without an answer")
        outcome = f"citations={len(answer.citations)} abstained={answer.abstained}"
        yield "answer", answer
    except StoreUnavailable as exc:
        log.warning("store unavailable while answering (%s): %s", channel, one_line(exc))
        services.ctx.reset_store()
        yield "unavailable", None
    except Exception:
        log.exception("%s failed for %s", channel, digest)
        yield "failed", None
    finally:
        log.info("%s %s policy=%s %s %.0fms", channel, digest, accepted.policy or "*", outcome,
                 (time.perf_counter() - started) * 1000)
