"""Conversations: history per session and the offline rules that make follow-ups standalone."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from assistant.route import mentioned_policies
from assistant.terms import content_terms, words
from index.records import Policy

MAX_SESSIONS = 2000
SESSION_TTL = 3600.0
FOLLOW_UP_START = re.compile(r"(?i)^\s*(and|also|plus|what about|how about|and what about|what if|then|so)\b")
SWITCH_RE = re.compile(r"(?i)^\s*(and\s+)?(what|how)\s+about\b|^\s*and\s+(for|in|at|with)?\s*\w+\s*\??\s*$")
PRONOUN_RE = re.compile(r"(?i)\b(they|them|their|theirs|it|its|that|this one|there|he|she)\b")


@dataclass
class Turn:
    question: str
    standalone: str
    policies: tuple[str, ...] | None
    versions: tuple[str | None, ...]
    answer: str = ""


@dataclass
class Session:
    id: str
    turns: list[Turn] = field(default_factory=list)
    touched: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Rewrite:
    standalone: str
    policies: tuple[str, ...] | None = None        # scope carried over from the conversation
    versions: tuple[str | None, ...] | None = None


class SessionStore:
    """In-memory sessions, least recently used evicted, idle ones expire."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, ttl: float = SESSION_TTL):
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self.max_sessions = max_sessions
        self.ttl = ttl

    def get(self, session_id: str) -> Session:
        now = time.monotonic()
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is None or now - session.touched > self.ttl:
                session = Session(session_id)
            session.touched = now
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return session

    def clear(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


def rewrite(question: str, session: Session | None, policies: dict[str, Policy]) -> Rewrite:
    """Make a follow-up standalone: carry the last policy, version and topic when it leans on them."""
    if session is None or not session.turns:
        return Rewrite(question)
    last = session.turns[-1]
    named = mentioned_policies(question, policies)
    own_terms = [t for t in content_terms(question) if not any(t in n for n in named)]
    if named and SWITCH_RE.search(question) and len(own_terms) <= 1:
        # "what about aliexpress?": the last question, asked of another policy.
        return Rewrite(last.standalone, tuple(named), None)
    if named:
        return Rewrite(question)
    leans = FOLLOW_UP_START.search(question) or (PRONOUN_RE.search(question) and len(words(question)) <= 12)
    if not leans:
        return Rewrite(question)
    standalone = question
    if len(own_terms) < 3:
        topic = [w for w in content_terms(last.standalone) if w not in own_terms]
        topic_words = [w for w in words(last.standalone) if content_terms(w) and content_terms(w)[0] in topic]
        if topic_words:
            standalone = f"{question.rstrip()} ({' '.join(dict.fromkeys(topic_words))})"
    return Rewrite(standalone, last.policies, last.versions)
