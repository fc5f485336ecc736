"""Answers to "what changed about X?" from the version diff (for the chat).

``diff_for_question`` picks the section changes of a ``PolicyDiff`` that a question is about
(its content words in the section headings and in the changed sentences) and cites their
added sentences (newer version) and removed sentences (older version).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from assistant.records import Citation
from assistant.terms import content_terms
from insights.diff import PolicyDiff, SectionChange
from insights.render import change_heading, version_name

# Words of the question that ask for a change rather than name what changed.
CHANGE_WORDS = set(content_terms("change changed changes changing new newer old older differ different "
                                 "difference differences update updated updates revise revised revision "
                                 "version versions previous previously before now latest compare since last "
                                 "what's modified modify section sections part paragraph", drop_generic=False))
MAX_SECTIONS = 3
SEMANTIC_WEIGHT = 6.0   # a heading close in meaning counts like a shared heading word or two
SEMANTIC_FLOOR = 0.25   # about the cosine any privacy heading has with any privacy question
KEEP_SHARE = 0.5        # a section scoring under half the best one is not what was asked about
MAX_CITATIONS = 4


@dataclass
class ChangeAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    sections: list[SectionChange] = field(default_factory=list)

    def to_contract(self) -> dict:
        return {"answer": self.text, "abstained": not self.citations,
                "citations": [c.to_dict() for c in self.citations]}


def topic_terms(question: str) -> set[str]:
    return set(content_terms(question)) - CHANGE_WORDS


def headings(change: SectionChange) -> str:
    return " / ".join(dict.fromkeys(x.path for x in (change.old, change.new) if x))


def relevance(change: SectionChange, terms: set[str]) -> float:
    """A topic word in the heading counts most; then how many changed sentences use one."""
    heading = set(content_terms(headings(change)))
    hits = sum(1 for s in change.added + change.removed if terms & set(content_terms(s.sentence.text)))
    return 2.0 * len(terms & heading) + math.log1p(hits)


def semantic(changed: list[SectionChange], question: str, embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Cosine of the question to each change's headings ("children" finds "Minors")."""
    vectors = np.asarray(embed([question] + [headings(c) for c in changed]), dtype=np.float32)
    return vectors[1:] @ vectors[0]


def diff_for_question(diff: PolicyDiff, question: str,
                      embed: Callable[[list[str]], np.ndarray] | None = None) -> ChangeAnswer:
    """The changes of ``diff`` a question asks about, with citations from both versions.

    ``embed`` (texts -> normalised vectors, e.g. the index's MiniLM ``Embedder.embed``) lets a
    question find a section by meaning when it shares no word with it."""
    terms = topic_terms(question)
    changed = [c for c in diff.sections if c.added or c.removed]
    if terms and changed:
        scores = np.asarray([relevance(c, terms) for c in changed])
        if embed is not None:
            scores = scores + SEMANTIC_WEIGHT * np.clip(semantic(changed, question, embed) - SEMANTIC_FLOOR, 0, None)
        order = np.argsort(-scores, kind="stable")
        picked = [changed[i] for i in order if scores[i] > 0 and scores[i] >= KEEP_SHARE * scores[order[0]]]
        picked = picked[:MAX_SECTIONS]
    else:  # "what changed?": the largest changes
        picked = sorted(changed, key=lambda c: -(len(c.added) + len(c.removed)))[:MAX_SECTIONS]
    span = f"From version {version_name(diff.old_version)} to {version_name(diff.new_version)} of {diff.title}"
    if not picked:
        return ChangeAnswer(f"{span}, no section about that changed.")
    parts = [f"{change_heading(c)} ({len(c.added)} sentences added, {len(c.removed)} removed)" for c in picked]
    citations = pick_citations(picked, terms, diff.policy)
    return ChangeAnswer(f"{span}: " + "; ".join(parts) + ".", citations, picked)


def pick_citations(picked: list[SectionChange], terms: set[str], policy: str) -> list[Citation]:
    """Added and removed sentences, those using the question's words first, alternating sides."""
    def ranked(items):  # stable: the most relevant section's sentences first among equals
        return sorted(items, key=lambda s: -len(terms & set(content_terms(s.sentence.text))))

    added = ranked([s for c in picked for s in c.added])
    removed = ranked([s for c in picked for s in c.removed])
    out = []
    while (added or removed) and len(out) < MAX_CITATIONS:
        for side in (added, removed):
            if side and len(out) < MAX_CITATIONS:
                out.append(side.pop(0).citation(policy))
    return out
