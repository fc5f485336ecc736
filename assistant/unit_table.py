"""Every citation unit of one policy generation, with what ranking reads of it, loaded once.

The store gives the units, their stored structure (paragraph, bullet, list, row label) and
their vectors; the table adds what does not depend on the question: each unit's practice
probabilities, typed entities, content terms, closeness to the policy's centre and position.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from assistant.entities import KINDS, kinds_in
from assistant.layout import UnitLayout, with_line_openings
from assistant.practice import PracticeModel
from assistant.terms import term_sequence
from index.records import Chunk, Unit


@dataclass(frozen=True)
class UnitNotes:
    """What a unit's text alone decides for ranking: the entity kinds of its label and text, and
    the stems of its text and label (repeats kept, in order). Pure functions of the text, so
    index/tables.py writes them at index time and a table loads them instead of re-tagging
    every unit of a policy on the first question about it (the bulk of a cold policy's cost)."""

    kinds: int                  # bit j set: the unit holds an entity of kind KINDS[j]
    text_terms: tuple[str, ...]
    label_terms: tuple[str, ...]


def unit_notes(unit: Unit) -> UnitNotes:
    kinds = kinds_in(f"{unit.label} {unit.text}")
    return UnitNotes(kinds=sum(1 << j for j, k in enumerate(KINDS) if k in kinds),
                     text_terms=tuple(term_sequence(unit.text, drop_generic=False)),
                     label_terms=tuple(term_sequence(unit.label, drop_generic=False)))


def text_notes(text: str, label: str) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
    """``unit_notes`` as a plain tuple from a unit's text and label: what index/tables.py
    stores per unit at index time (it is handed this function; index sits below assistant)."""
    notes = unit_notes(Unit(chunk_id="", start=0, end=0, text=text, label=label))
    return notes.kinds, notes.text_terms, notes.label_terms


class PerUnit(Sequence):
    """A column worked out per unit on first read: a question reads the 50 or so candidate
    units of a policy, not all of its hundreds, and a cross-policy question meets several
    policies for the first time."""

    def __init__(self, make: Callable[[int], object], n: int):
        self._make = make
        self._values: list = [None] * n

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        value = self._values[i]
        if value is None:
            value = self._values[i] = self._make(i)
        return value


@dataclass
class UnitTable:
    policy: str
    units: list[Unit]
    sections: list[str]
    versions: list[str | None]
    vectors: np.ndarray          # (n, dim), normalised
    practice: np.ndarray         # (n, labels) P(unit states practice)
    entities: np.ndarray         # (n, entity kinds) 0/1
    centrality: np.ndarray       # (n,) cosine to the policy's mean unit, centred
    position: np.ndarray         # (n,) 0 at the policy's start, 1 at its end
    terms: Sequence[frozenset[str]]  # content stems of the unit, its row label and its section
    section_terms: list[frozenset[str]]
    pairs: Sequence[frozenset[tuple[str, str]]]  # adjacent content-word pairs of the unit ("google analytics")

    @classmethod
    def build(cls, policy: str, rows: list[tuple[Unit, Chunk]], vectors: np.ndarray,
              practice: PracticeModel | None, notes: list[UnitNotes] | None = None) -> "UnitTable":
        """``notes``, when given, are ``unit_notes`` of ``rows`` (aligned), computed beforehand."""
        order = sorted(range(len(rows)), key=lambda i: (rows[i][1].version or "", rows[i][0].start))
        rows = [rows[i] for i in order]
        notes = [notes[i] for i in order] if notes is not None else [unit_notes(u) for u, _ in rows]
        vectors = np.asarray(vectors, dtype=np.float32)[order] if len(rows) else np.zeros((0, 384), np.float32)
        units = with_line_openings(policy, [u for u, _ in rows])
        sections = [c.section for _, c in rows]
        n = len(units)
        if n:
            centre = vectors.mean(axis=0)
            centrality = vectors @ (centre / (np.linalg.norm(centre) or 1.0))
            centrality = centrality - centrality.mean()
            last = max(u.start for u in units) or 1
            position = np.array([u.start / last for u in units], dtype=np.float32)
        else:
            centrality = position = np.zeros(0, np.float32)
        labels = len(practice.labels) if practice else 0
        # Stems of "text label section" are the stems of each part in turn (no word spans the
        # joining space), so a section's stems are worked out once, not once per unit.
        section_seq = {s: tuple(term_sequence(s, drop_generic=False)) for s in set(sections)}
        section_set = {s: frozenset(seq) for s, seq in section_seq.items()}
        return cls(
            policy=policy, units=units, sections=sections, versions=[c.version for _, c in rows],
            vectors=vectors,
            practice=practice.unit_probs(vectors) if practice and n else np.zeros((n, labels), np.float32),
            entities=((np.array([m.kinds for m in notes], dtype=np.int64).reshape(n, 1)
                       >> np.arange(len(KINDS))) & 1).astype(np.float32),
            centrality=centrality.astype(np.float32), position=position,
            terms=PerUnit(lambda i: frozenset(notes[i].text_terms + notes[i].label_terms
                                              + section_seq[sections[i]]), n),
            section_terms=[section_set[s] for s in sections],
            pairs=PerUnit(lambda i: frozenset(zip(notes[i].text_terms, notes[i].text_terms[1:])), n),
        )

    def __len__(self) -> int:
        return len(self.units)

    @cached_property
    def layout(self) -> UnitLayout:
        """Where each unit stands: its paragraph's neighbours, its list and the list's intro."""
        return UnitLayout(self.units)

    def rows_in(self, version: str | None, current_version: str | None) -> np.ndarray:
        """Indices of the units of one version (None = the current one)."""
        wanted = current_version if version is None else version
        return np.array([i for i, v in enumerate(self.versions) if (v or None) == (wanted or None)], dtype=int)
