"""Routing: which policies and which version a question is about."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.terms import words
from index.records import Policy
from index.text import YEAR

# "a 15 year old", "years-old": an age, not a version.
_NOT_AN_AGE = r"(?<!year )(?<!years )(?<!year-)(?<!years-)(?<!yr )(?<!yrs )(?<!how )"
_OLD_WORDS = r"old|older|earlier|previous|prior|former|outdated|original|superseded"
OLD_VERSION_RE = re.compile(r"(?i)" + _NOT_AN_AGE + r"\b(" + _OLD_WORDS + r"|"
                            r"before the update|last version)\b|\bused to (say|be|state|mention|read)\b")
# "what changed", "how does it differ"; not "how do I change my settings".
COMPARE_RE = re.compile(r"(?i)\b(what|how)\b.{0,20}\b(chang(ed|es|ing)|differ\w*)\b|\bcompare[sd]?\b.{0,30}\bversions?\b|"
                        r"\bnew (one|version)\b|\bwhat'?s different\b|\bvs\.? (the )?(new|old)\b")
YEAR_RE = re.compile(rf"(?<!\d){YEAR}(?!\d)")
# difflib ratio from which a token of 5+ letters is a misspelling of a policy name (hand-set).
# Not an AnswerSettings field yet: route, session.rewrite and the cached alias index would all
# need the settings threaded through.
FUZZY_RATIO = 0.84


@dataclass(frozen=True)
class Route:
    policies: tuple[str, ...] | None   # None = every policy
    versions: tuple[str | None, ...]   # version labels to search; None = current
    mentioned: bool                    # the question itself named the policies


def aliases(policy: Policy) -> set[str]:
    """Lower-case names a user may call a policy by: its id, its brand, its domain."""
    return set(_aliases(policy.id, policy.title))


@lru_cache(maxsize=4096)  # every unscoped question asks it of every policy
def _aliases(policy_id: str, title: str) -> frozenset[str]:
    names = {policy_id.lower()}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9.&-]+", title):
        w = word.lower().rstrip(".")
        if policy_id.lower() in w.replace(".", ""):
            names.add(w)
            names.add(w.split(".")[0])
    return frozenset(n for n in names if len(n) >= 3)


class AliasIndex:
    """Every alias of a set of policies once, for matching a question's words against all of
    them together: at 300 policies a word-by-alias difflib loop cost 100 ms a question."""

    def __init__(self, policies: tuple[tuple[str, str, str], ...]):
        """``policies``: (policy key, policy id, title) triples."""
        owners: dict[str, list[str]] = {}
        for key, policy_id, title in policies:
            for name in sorted(_aliases(policy_id, title)):
                owners.setdefault(name, []).append(key)
        self.owners = owners
        self.names = list(owners)
        self.lengths = np.array([len(n) for n in self.names], dtype=np.int64)
        self.letters = {c: i for i, c in enumerate(sorted({c for n in self.names for c in n}))}
        self.counts = np.zeros((len(self.names), len(self.letters)), dtype=np.int64)
        for row, name in enumerate(self.names):
            for c in name:
                self.counts[row, self.letters[c]] += 1

    def close(self, token: str) -> list[str]:
        """The aliases ``token`` is a small misspelling of (difflib ratio ≥ FUZZY_RATIO; tokens
        of 5+ letters). difflib's two upper bounds of the ratio, computed for every alias at
        once in its own arithmetic, leave only a few pairs for the full match; same outcome."""
        if len(token) < 5 or not self.names:
            return []
        total = self.lengths + len(token)
        # real_quick_ratio: the shorter length
        maybe = 2.0 * np.minimum(self.lengths, len(token)) / total >= FUZZY_RATIO
        # quick_ratio: the letters both hold, counted with repeats
        mine = np.zeros(len(self.letters), dtype=np.int64)
        for c in token:
            if c in self.letters:
                mine[self.letters[c]] += 1
        maybe &= 2.0 * np.minimum(self.counts, mine).sum(axis=1) / total >= FUZZY_RATIO
        return [self.names[i] for i in np.flatnonzero(maybe)
                if difflib.SequenceMatcher(None, token, self.names[i]).ratio() >= FUZZY_RATIO]

    def named(self, tokens: list[str]) -> set[str]:
        """Keys of the policies that ``tokens`` name, exactly or with a small misspelling."""
        found: set[str] = set()
        for t in tokens:
            found.update(self.owners.get(t, ()))
            for name in self.close(t):
                found.update(self.owners[name])
        return found


@lru_cache(maxsize=8)
def alias_index(policies: tuple[tuple[str, str, str], ...]) -> AliasIndex:
    return AliasIndex(policies)


def _index_of(policies: dict[str, Policy], keys) -> AliasIndex:
    return alias_index(tuple((k, policies[k].id, policies[k].title) for k in keys if k in policies))


def mentioned_policies(question: str, policies: dict[str, Policy]) -> list[str]:
    """Policies named in the question, exactly or with a small misspelling."""
    tokens = [t.strip(".,!?;:'\"()") for t in words(question)]
    tokens += [t.split(".")[0] for t in tokens if "." in t]
    named = _index_of(policies, policies).named(tokens)
    return [pid for pid in policies if pid in named]


def choose_versions(question: str, policy: Policy) -> tuple[str | None, ...]:
    """Current by default; an older version when asked about earlier/previous/a year; both for changes."""
    if len(policy.versions) < 2:
        return (None,)
    current = policy.current_version
    older = sorted((v for v in policy.versions if not v.current), key=lambda v: v.effective_date or "",
                   reverse=True)
    if COMPARE_RE.search(question):
        return (older[0].label, None)
    for year in YEAR_RE.finditer(question):
        for v in older:
            if v.effective_date and v.effective_date.startswith(year.group(0)) and not (
                    current and current.effective_date and current.effective_date.startswith(year.group(0))):
                return (v.label,)
    if OLD_VERSION_RE.search(question):
        return (older[0].label,)
    return (None,)


# Words that pick a version in a follow-up ("the 2018 one", "the old policy", "the current version").
_VERSION_CUE_RE = re.compile(r"(?i)" + YEAR_RE.pattern + r"|" + _NOT_AN_AGE + r"\b(" + _OLD_WORDS + r"|"
                             r"new|newer|current|latest)\b")
# ... and the words around them that name no topic ("version", "policy", a month).
_VERSION_WORDS_RE = re.compile(r"(?i)" + _NOT_AN_AGE + r"\b(" + _OLD_WORDS + r"|"
                               r"new|newer|current|latest|version|versions|policy|policies|privacy|"
                               + YEAR + r"|january|february|march|april|may|june|july|august|"
                               r"september|october|november|december)\b")


def has_version_cue(text: str) -> bool:
    """Whether ``text`` picks a version: a year, "old", "previous", "the current one"."""
    return bool(_VERSION_CUE_RE.search(text))


def is_version_word(term: str) -> bool:
    """Whether a word only says which version ("2018", "old", "version", "policy", "may")."""
    return bool(_VERSION_WORDS_RE.fullmatch(term))


def topic_of(question: str, policies: dict[str, Policy], scoped: tuple[str, ...] | None) -> str:
    """The question without the names of the policies it is scoped to (and version cues), so
    retrieval looks for the topic rather than for sentences that repeat the company name."""
    if not scoped:
        return question
    index = _index_of(policies, scoped)
    names = index.owners  # every alias of the scoped policies
    out = []
    for token in question.split():
        core = token.strip(".,!?;:'\"()’s").lower()
        core = core[:-2] if core.endswith("'s") or core.endswith("’s") else core
        if core in names or core.split(".")[0] in names or index.close(core):
            continue
        out.append(token)
    topic = " ".join(out)
    if has_version_cue(topic):
        # "what did the old 2018 policy say about cookies" looks for cookies; "who is this
        # policy for" keeps its "policy".
        stripped = _VERSION_WORDS_RE.sub(" ", topic)
        topic = stripped if len(stripped.split()) >= 2 else topic
    return " ".join(topic.split()) or question


def is_comparison(question: str) -> bool:
    """ "What changed about cookies?", "how does the old policy differ?": a question about versions."""
    return bool(COMPARE_RE.search(question))


def route(question: str, policies: dict[str, Policy], explicit: str | None = None) -> Route:
    """Scope a question: an explicit policy wins, then policies named in it, else all."""
    if explicit:
        return Route((explicit,), choose_versions(question, policies[explicit]), False)
    named = mentioned_policies(question, policies)
    if len(named) == 1:
        return Route((named[0],), choose_versions(question, policies[named[0]]), True)
    if named:
        return Route(tuple(named), (None,), True)
    return Route(None, (None,), False)
