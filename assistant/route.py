"""Routing: which policies and which version a question is about."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

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
FUZZY_RATIO = 0.84


@dataclass(frozen=True)
class Route:
    policies: tuple[str, ...] | None   # None = every policy
    versions: tuple[str | None, ...]   # version labels to search; None = current
    mentioned: bool                    # the question itself named the policies


def aliases(policy: Policy) -> set[str]:
    """Lower-case names a user may call a policy by: its id, its brand, its domain."""
    names = {policy.id.lower()}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9.&-]+", policy.title):
        w = word.lower().rstrip(".")
        if policy.id.lower() in w.replace(".", ""):
            names.add(w)
            names.add(w.split(".")[0])
    return {n for n in names if len(n) >= 3}


def mentioned_policies(question: str, policies: dict[str, Policy]) -> list[str]:
    """Policies named in the question, exactly or with a small misspelling."""
    tokens = [t.strip(".,!?;:'\"()") for t in words(question)]
    tokens += [t.split(".")[0] for t in tokens if "." in t]
    found = []
    for pid, policy in policies.items():
        names = aliases(policy)
        if any(t in names for t in tokens) or any(
                len(t) >= 5 and difflib.SequenceMatcher(None, t, n).ratio() >= FUZZY_RATIO
                for t in tokens for n in names):
            found.append(pid)
    return found


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
    names = set().union(*(aliases(policies[p]) for p in scoped if p in policies))
    out = []
    for token in question.split():
        core = token.strip(".,!?;:'\"()’s").lower()
        core = core[:-2] if core.endswith("'s") or core.endswith("’s") else core
        if core in names or core.split(".")[0] in names or any(
                len(core) >= 5 and difflib.SequenceMatcher(None, core, n).ratio() >= FUZZY_RATIO for n in names):
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
