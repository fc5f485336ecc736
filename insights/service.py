"""Labels, comparisons and diffs of indexed policies, for the CLI, the API and the views.

Labels are built at index time (``labels_json`` is called by the indexer) and stored with the
policy's generation; a label whose generation or labeler changed since is rebuilt from the
stored unit vectors and kept in memory, so serving a label never embeds anything.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from typing import Callable

import numpy as np

from index.errors import NoLabelError, UnknownPolicy, UnknownVersion, VersionError
from index.parse import ParsedPolicy, parse_document
from index.records import Chunk, Policy, SourceDoc, Unit
from index.text import plain
from insights.changes import ChangeAnswer, diff_for_question
from insights.compare import Comparison, compare_labels
from insights.diff import PolicyDiff, default_versions, diff_versions
from insights.label import Labeler, Passage
from insights.records import PolicyLabel

log = logging.getLogger("policychat.insights")
MAX_COMPARE = 8


MIN_PASSAGE_WORDS = 3   # a title line ("# Privacy Policy") is no statement of a practice


def passages_by_version(rows: list[tuple[Unit, Chunk]], vectors: np.ndarray) -> dict[str | None, tuple[list[Passage], np.ndarray]]:
    """Each version's passages (source order) and their unit vectors."""
    grouped: dict[str | None, list[tuple[Passage, np.ndarray]]] = defaultdict(list)
    for (unit, chunk), vector in sorted(zip(rows, vectors), key=lambda r: r[0][0].start):
        if len(plain(unit.text).split()) < MIN_PASSAGE_WORDS:
            continue
        grouped[chunk.version].append((Passage(chunk.section, unit.start, unit.end, unit.text, unit.chunk_id), vector))
    return {v: ([p for p, _ in items], np.asarray([x for _, x in items], dtype=np.float32))
            for v, items in grouped.items()}


def build_labels(labeler: Labeler, policy: Policy, rows: list[tuple[Unit, Chunk]], vectors: np.ndarray) -> list[PolicyLabel]:
    """One label per version of ``policy`` that has text, in the policy's version order."""
    grouped = passages_by_version(rows, vectors)
    return [labeler.label(policy.id, policy.title, v.label, v.current, *grouped[v.label])
            for v in policy.versions if v.label in grouped]


def labels_json(labeler: Labeler, policy: Policy, rows: list[tuple[Unit, Chunk]], vectors: np.ndarray) -> str:
    labels = build_labels(labeler, policy, rows, vectors)
    return json.dumps({"labeler": labeler.signature, "labels": [lb.to_dict() for lb in labels]}, ensure_ascii=False)


def write_rows(write) -> tuple[list[tuple[Unit, Chunk]], np.ndarray]:
    """The (unit, chunk) rows and unit vectors of an index write (``index.store.PolicyWrite``)."""
    by_chunk = {c.id: c for c in write.chunks}
    return [(u, by_chunk[u.chunk_id]) for u in write.units], write.unit_vectors


class Insights:
    """Reads labels, builds comparisons and diffs over one store; the labeler loads on first need."""

    def __init__(self, store_of: Callable, labeler_factory: Callable[[], Labeler] = Labeler.default):
        self._store_of = store_of          # a callable, so a reconnected store is picked up
        self._labeler_factory = labeler_factory
        self._labeler: Labeler | None = None
        self._cache: dict[tuple[str, str], list[PolicyLabel]] = {}
        self._parsed: dict[tuple[str, str], ParsedPolicy] = {}
        self._lock = threading.Lock()

    @property
    def store(self):
        return self._store_of()

    @property
    def labeler(self) -> Labeler:
        with self._lock:
            if self._labeler is None:
                self._labeler = self._labeler_factory()
            return self._labeler

    def policy(self, policy_id: str) -> Policy:
        found = self.store.policies()
        if policy_id not in found:
            raise UnknownPolicy(f"unknown policy '{policy_id[:100]}' (known: {', '.join(found) or 'none indexed'})")
        return found[policy_id]

    # --- labels --------------------------------------------------------------------------
    def labels(self, policy: Policy) -> list[PolicyLabel]:
        """Every version's label: the stored copy when current, else rebuilt (and cached)."""
        store = self.store
        gen = store.generations().get(policy.id, "")
        signature = self.labeler.signature
        key = (policy.id, f"{gen}:{signature}")
        if key in self._cache:
            return self._cache[key]
        stored = store.stored_labels(policy.id)
        labels = None
        if stored and stored[0] == gen:
            data = json.loads(stored[1])
            if data.get("labeler") == signature:
                labels = [PolicyLabel.from_dict(d) for d in data["labels"]]
        if labels is None:
            log.info("label of %s is stale or missing; rebuilding from the stored vectors", policy.id)
            labels = build_labels(self.labeler, policy, *store.unit_rows_of(gen))
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != policy.id}
            self._cache[key] = labels
        return labels

    def label(self, policy_id: str, version: str | None = None) -> PolicyLabel:
        """The label of one version (default: the current one)."""
        policy = self.policy(policy_id)
        check_version(policy, version)
        labels = self.labels(policy)
        wanted = version if version is not None else (policy.current_version.label if policy.current_version else None)
        found = next((lb for lb in labels if lb.version == wanted), None)
        if found is None:
            raise NoLabelError(f"{policy_id} version {wanted or 'undated'} has no text to label")
        return found

    # --- comparison ----------------------------------------------------------------------
    def compare(self, policy_ids: list[str]) -> Comparison:
        ids = list(dict.fromkeys(policy_ids))
        if len(ids) < 2:
            raise ValueError("compare needs at least two different policy ids")
        if len(ids) > MAX_COMPARE:
            raise ValueError(f"compare takes at most {MAX_COMPARE} policies at once")
        return compare_labels([self.label(pid) for pid in ids])

    # --- diff ----------------------------------------------------------------------------
    def parsed(self, policy: Policy) -> ParsedPolicy:
        """The policy re-parsed from its stored source text (pure; no model), cached by content."""
        key = (policy.id, policy.content_hash)
        if key not in self._parsed:
            text = self.store.source_text(policy.id) or ""
            parsed = parse_document(SourceDoc(policy.id, policy.path, policy.kind, text))
            with self._lock:
                self._parsed = {k: v for k, v in self._parsed.items() if k[0] != policy.id}
                self._parsed[key] = parsed
        return self._parsed[key]

    def diff(self, policy_id: str, old: str | None = None, new: str | None = None) -> PolicyDiff:
        policy = self.policy(policy_id)
        parsed = self.parsed(policy)
        old, new = default_versions(parsed, old, new)
        if old == new:
            raise VersionError("--from and --to name the same version")
        return diff_versions(parsed, old, new)

    def answer_change(self, policy_id: str, question: str, embed=None) -> ChangeAnswer | None:
        """The chat's answer to "what changed about X?" for one policy, from the same alignment
        as ``diff``; None when the policy has a single version (nothing to compare).
        ``embed``: texts -> normalised vectors (the chat's embedder), to match by meaning too."""
        policy = self.policy(policy_id)
        if len(policy.versions) < 2:
            return None
        return diff_for_question(self.diff(policy_id), question, embed)


def check_version(policy: Policy, version: str | None) -> None:
    labels = [v.label for v in policy.versions]
    if version is not None and version not in labels:
        raise UnknownVersion(f"{policy.id} has no version '{version[:40]}' (versions: "
                           f"{', '.join(str(x or 'undated') for x in labels)})")


class IndexLabels:
    """The indexer's hook: attaches each written policy's labels to its ``PolicyWrite``.

    The labeler loads on the first write; if it cannot (no practice model shipped), indexing
    goes on without stored labels and they are built when first read."""

    def __init__(self, labeler_factory: Callable[[], Labeler] = Labeler.default):
        self._factory = labeler_factory
        self._labeler: Labeler | None = None
        self._failed = False

    def attach(self, writes: list) -> None:
        if self._labeler is None and not self._failed:
            try:
                self._labeler = self._factory()
            except (ImportError, OSError, ValueError) as exc:
                self._failed = True
                log.warning("labels are not built at index time: %s", exc)
        if self._labeler is None:
            return
        for w in writes:
            w.labels = labels_json(self._labeler, w.policy, *write_rows(w))
