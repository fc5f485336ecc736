"""Version diff: align the sections of two versions of a policy, then diff their sentences.

Sections are aligned by heading and text similarity (a renamed section with the same text,
or a rewritten section under the same heading, still aligns); the alignment's order tells
which sections moved. Sentences are the index's citation units, so every added or removed
sentence is a verbatim span of the source text, cited under the ``ask --json`` contract.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from assistant.records import Citation
from index.clean import VERSION_RE
from index.errors import UnknownVersion, VersionError
from index.parse import ParsedPolicy
from index.records import Section
from index.sections import innermost_section
from index.text import plain
from insights.records import DIFF_SCHEMA

MATCH_SCORE = 0.45          # a pair of sections below this is not the same section
_NUMBERING = re.compile(r"^\s*(?:[A-Z]|[IVX]+|\d{1,3}(?:\.\d{1,3})*)\s*[.)\-:]\s+")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str

    @property
    def key(self) -> str:
        return normalize(self.text)


@dataclass
class SectionText:
    """One section of one version and the sentences it holds itself (not its subsections')."""

    section: Section
    sentences: list[Sentence]

    @property
    def path(self) -> str:
        return self.section.path_str

    @property
    def heading_key(self) -> str:
        return normalize(_NUMBERING.sub("", plain(self.section.heading)))

    def words(self) -> Counter:
        return Counter(w for s in self.sentences for w in _WORD.findall(s.key))


def idf_weights(sections: list[SectionText]) -> dict[str, float]:
    """Inverse section frequency over both versions: "the" and "we" say nothing about a section."""
    df = Counter(w for st in sections for w in set(st.words()))
    n = len(sections) or 1
    return {w: math.log((1 + n) / (1 + c)) for w, c in df.items()}


@dataclass
class SentenceChange:
    sentence: Sentence
    version: str | None
    section: str
    elsewhere: str | None = None   # the section of the other version that holds the same sentence

    def citation(self, policy: str) -> Citation:
        return Citation(policy, self.section, self.sentence.text, self.sentence.start, self.sentence.end,
                        self.version)

    def to_dict(self, policy: str) -> dict:
        return {**self.citation(policy).to_dict(), "elsewhere": self.elsewhere}


@dataclass
class SectionChange:
    status: str                      # added | removed | changed | unchanged
    old: SectionText | None
    new: SectionText | None
    moved: bool = False
    similarity: float = 0.0
    added: list[SentenceChange] = field(default_factory=list)
    removed: list[SentenceChange] = field(default_factory=list)

    @property
    def title(self) -> str:
        return (self.new or self.old).path

    def to_dict(self, policy: str) -> dict:
        def side(st: SectionText | None) -> dict | None:
            return None if st is None else {"section": st.path, "start": st.section.start, "end": st.section.end}

        return {"status": self.status, "moved": self.moved, "similarity": round(self.similarity, 3),
                "old": side(self.old), "new": side(self.new),
                "added": [s.to_dict(policy) for s in self.added],
                "removed": [s.to_dict(policy) for s in self.removed]}


@dataclass
class PolicyDiff:
    policy: str
    title: str
    old_version: str | None
    new_version: str | None
    sections: list[SectionChange]

    def with_status(self, status: str) -> list[SectionChange]:
        return [c for c in self.sections if c.status == status]

    @property
    def moved(self) -> list[SectionChange]:
        return [c for c in self.sections if c.moved]

    def counts(self) -> dict[str, int]:
        counts = {s: len(self.with_status(s)) for s in ("added", "removed", "changed", "unchanged")}
        counts["moved"] = len(self.moved)
        counts["sentences_added"] = sum(len(c.added) for c in self.sections)
        counts["sentences_removed"] = sum(len(c.removed) for c in self.sections)
        return counts

    def to_dict(self) -> dict:
        return {"schema": DIFF_SCHEMA, "policy": self.policy, "title": self.title,
                "from": self.old_version, "to": self.new_version, "counts": self.counts(),
                "sections": [c.to_dict(self.policy) for c in self.sections if c.status != "unchanged" or c.moved]}


# --- text helpers ------------------------------------------------------------------------
def normalize(text: str) -> str:
    """Comparison key: markdown, case, quotes and spacing do not make two sentences differ."""
    text = plain(text).lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip(" .;:")


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def tfidf(st: SectionText, idf: dict[str, float]) -> dict[str, float]:
    return {w: c * idf.get(w, 0.0) for w, c in st.words().items()}


def heading_similarity(a: SectionText, b: SectionText) -> float:
    """Leaf headings mostly, the parent path a little ("Your rights" under two different parents)."""
    leaf = SequenceMatcher(None, a.heading_key, b.heading_key, autojunk=False).ratio()
    pa, pb = (" > ".join(normalize(_NUMBERING.sub("", p)) for p in st.section.path[:-1]) for st in (a, b))
    parent = 1.0 if pa == pb else SequenceMatcher(None, pa, pb, autojunk=False).ratio()
    return 0.8 * leaf + 0.2 * parent


def section_similarity(a: SectionText, b: SectionText, idf: dict[str, float]) -> float:
    heading = heading_similarity(a, b)
    if not a.sentences or not b.sentences:   # a heading-only parent: its heading is all there is
        return heading if not (a.sentences or b.sentences) else 0.5 * heading
    text = cosine(tfidf(a, idf), tfidf(b, idf))
    # A renamed section with the same text, or a rewritten one under the same heading, aligns.
    return max(0.5 * heading + 0.5 * text, 0.9 * text, 0.8 * heading if text > 0.2 else 0.0)


# --- building the diff -------------------------------------------------------------------
def version_sections(parsed: ParsedPolicy, version: str | None) -> list[SectionText]:
    """The sections of one version, each with the citation units it holds itself."""
    sections = [s for s in parsed.policy.sections if s.version == version]
    chunk_version = {c.id: c.version for c in parsed.chunks}
    out = [SectionText(s, []) for s in sections]
    holding = {id(st.section): st for st in out}
    for unit in parsed.units:
        if chunk_version[unit.chunk_id] != version or VERSION_RE.match(plain(unit.text)):
            continue  # a version marker ("PART A: New Version …") differs in every diff
        section = innermost_section(sections, version, unit.start)
        if section is not None:
            holding[id(section)].sentences.append(Sentence(unit.start, unit.end, unit.text))
    return out


def align(old: list[SectionText], new: list[SectionText]) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of sections, best pairs first: (old index, new index, score)."""
    idf = idf_weights(old + new)
    pairs = sorted(((section_similarity(a, b, idf), i, j) for i, a in enumerate(old) for j, b in enumerate(new)),
                   reverse=True)
    used_old, used_new, matched = set(), set(), []
    for score, i, j in pairs:
        if score < MATCH_SCORE:
            break
        if i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        matched.append((i, j, score))
    return matched


def moved_pairs(matched: list[tuple[int, int, float]]) -> set[tuple[int, int]]:
    """Pairs outside a longest run kept in the same relative order in both versions."""
    ordered = sorted(matched)
    news = [j for _, j, _ in ordered]
    # longest increasing subsequence of the new positions, O(n^2) on a few dozen sections
    best = [1] * len(news)
    prev = [-1] * len(news)
    for b in range(len(news)):
        for a in range(b):
            if news[a] < news[b] and best[a] + 1 > best[b]:
                best[b], prev[b] = best[a] + 1, a
    keep, k = set(), (max(range(len(news)), key=best.__getitem__) if news else -1)
    while k >= 0:
        keep.add(k)
        k = prev[k]
    return {(ordered[k][0], ordered[k][1]) for k in range(len(ordered)) if k not in keep}


def sentence_changes(old: SectionText, new: SectionText, old_version: str | None, new_version: str | None,
                     old_index: dict[str, str], new_index: dict[str, str]) -> tuple[list, list]:
    """(added, removed) sentences of one aligned pair; a sentence found in another section of the
    other version is marked ``elsewhere`` (it moved between sections; its words did not change)."""
    a = [s.key for s in old.sentences]
    b = [s.key for s in new.sentences]
    added, removed = [], []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            removed += [SentenceChange(s, old_version, old.path, new_index.get(s.key)) for s in old.sentences[i1:i2]
                        if s.key not in b]
        if tag in ("insert", "replace"):
            added += [SentenceChange(s, new_version, new.path, old_index.get(s.key)) for s in new.sentences[j1:j2]
                      if s.key not in a]
    return added, removed


def diff_versions(parsed: ParsedPolicy, old_version: str | None, new_version: str | None) -> PolicyDiff:
    """The section and sentence changes from ``old_version`` to ``new_version`` of one policy."""
    labels = [v.label for v in parsed.policy.versions]
    for v in (old_version, new_version):
        if v not in labels:
            raise UnknownVersion(f"{parsed.policy.id} has no version '{v}' (versions: "
                               f"{', '.join(str(x) for x in labels)})")
    old, new = version_sections(parsed, old_version), version_sections(parsed, new_version)
    old_index = {s.key: st.path for st in old for s in st.sentences}
    new_index = {s.key: st.path for st in new for s in st.sentences}
    matched = align(old, new)
    moved = moved_pairs(matched)
    by_new = {j: (i, score) for i, j, score in matched}
    matched_old = {i for i, _, _ in matched}
    changes: list[tuple[tuple, SectionChange]] = []   # (place in the new version's order, change)
    for j, st in enumerate(new):
        if j not in by_new:
            changes.append(((j, 0), SectionChange("added", None, st, added=[
                SentenceChange(s, new_version, st.path, old_index.get(s.key)) for s in st.sentences])))
            continue
        i, score = by_new[j]
        added, removed = sentence_changes(old[i], st, old_version, new_version, old_index, new_index)
        status = "changed" if added or removed else "unchanged"
        changes.append(((j, 0), SectionChange(status, old[i], st, (i, j) in moved, score, added, removed)))
    new_of_old = {i: j for i, j, _ in matched}
    for i, st in enumerate(old):
        if i not in matched_old:  # shown after the new section its old predecessor became
            after = max((new_of_old[k] for k in range(i) if k in new_of_old), default=-1)
            changes.append(((after, 1 + i), SectionChange("removed", st, None, removed=[
                SentenceChange(s, old_version, st.path, new_index.get(s.key)) for s in st.sentences])))
    return PolicyDiff(parsed.policy.id, parsed.policy.title, old_version, new_version,
                      [c for _, c in sorted(changes, key=lambda kc: kc[0])])


def default_versions(parsed: ParsedPolicy, old: str | None = None, new: str | None = None) -> tuple:
    """(from, to): by default the version before the current one, and the current one."""
    versions = parsed.policy.versions
    if len(versions) < 2:
        raise VersionError(f"{parsed.policy.id} has one version only; there is nothing to compare")
    ordered = sorted(versions, key=lambda v: v.effective_date or "")
    current = next((v for v in versions if v.current), ordered[-1])
    new = new if new is not None else current.label
    if old is None:
        earlier = [v for v in ordered if v.label != new and (v.effective_date or "") <= (
            next((x.effective_date for x in versions if x.label == new), "") or "")]
        old = (earlier or [v for v in ordered if v.label != new])[-1].label
    return old, new
