"""Conversations: history per session and the offline rules that make follow-ups standalone."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from assistant.route import (aliases, choose_versions, has_version_cue, is_version_word, mentioned_policies,
                             topic_of)
from assistant.terms import content_terms, words
from index.records import Policy

MAX_SESSIONS = 2000
SESSION_TTL = 3600.0
FOLLOW_UP_START = re.compile(r"(?i)^\s*(and|also|plus|what about|how about|and what about|what if|then|so)\b")
SWITCH_RE = re.compile(r"(?i)^\s*(and\s+)?(what|how)\s+about\b"
                       r"|^\s*and\s+(for|in|at|with)?\s*(the\s+)?[\w.-]+(\s+(one|version|policy))?\s*\??\s*$")
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


def drop_version_words(terms: list[str]) -> list[str]:
    """The terms that are not version cues ("2018", "old", "version", "policy")."""
    return [t for t in terms if not is_version_word(t)]


def rewrite(question: str, session: Session | None, policies: dict[str, Policy]) -> Rewrite:
    """Make a follow-up standalone: carry the last policy, version and topic when it leans on them."""
    if session is None or not session.turns:
        return Rewrite(question)
    last = session.turns[-1]
    named = mentioned_policies(question, policies)
    own_terms = [t for t in content_terms(question) if not any(t in n for n in named)]
    if SWITCH_RE.search(question) and len(drop_version_words(own_terms)) <= 1:
        # "what about aliexpress?" / "what about the 2018 version?": the last question, asked
        # of another policy or version (without the old policy's name, which would route it
        # back there).
        target = tuple(named) or last.policies or ()
        versions = choose_versions(question, policies[target[0]]) if len(target) == 1 and target[0] in policies else (None,)
        if named or (has_version_cue(question) and versions != (last.versions or (None,))):
            asked = last.policies or tuple(mentioned_policies(last.standalone, policies))
            return Rewrite(topic_of(last.standalone, policies, asked or None), target,
                           None if versions == (None,) else versions)
    if named:
        return Rewrite(question)
    leans = FOLLOW_UP_START.search(question) or (PRONOUN_RE.search(question) and len(words(question)) <= 12)
    if not leans:
        return Rewrite(question)
    standalone = question
    if len(own_terms) < 3:
        topic = [w for w in content_terms(last.standalone) if w not in own_terms]
        names = set().union(*(aliases(p) for p in policies.values())) if policies else set()
        topic_words = [w for w in words(last.standalone) if content_terms(w) and content_terms(w)[0] in topic
                       and w.lower().strip(".,!?;:'\"()") not in names]
        if topic_words:
            standalone = f"{question.rstrip()} ({' '.join(dict.fromkeys(topic_words))})"
    return Rewrite(standalone, last.policies, last.versions)
