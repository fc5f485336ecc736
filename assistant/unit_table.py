"""Every citation unit of one policy generation, with what ranking reads of it, loaded once.

The store gives the units, their stored structure (line, bullet, list intro, row label) and
their vectors; the table adds what does not depend on the question: each unit's practice
probabilities, typed entities, content terms, closeness to the policy's centre and position.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.entities import kind_vector
from assistant.practice import PracticeModel
from assistant.terms import content_terms, term_pairs
from index.records import Chunk, Unit


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
    terms: list[frozenset[str]]  # content stems of the unit, its row label and its section
    section_terms: list[frozenset[str]]
    pairs: list[frozenset[tuple[str, str]]]  # adjacent content-word pairs of the unit ("google analytics")

    @classmethod
    def build(cls, policy: str, rows: list[tuple[Unit, Chunk]], vectors: np.ndarray,
              practice: PracticeModel | None) -> "UnitTable":
        order = sorted(range(len(rows)), key=lambda i: (rows[i][1].version or "", rows[i][0].start))
        rows = [rows[i] for i in order]
        vectors = np.asarray(vectors, dtype=np.float32)[order] if len(rows) else np.zeros((0, 384), np.float32)
        units = [u for u, _ in rows]
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
        return cls(
            policy=policy, units=units, sections=sections, versions=[c.version for _, c in rows],
            vectors=vectors,
            practice=practice.unit_probs(vectors) if practice and n else np.zeros((n, labels), np.float32),
            entities=np.array([kind_vector(f"{u.label} {u.text}") for u in units], dtype=np.float32).reshape(n, -1),
            centrality=centrality.astype(np.float32), position=position,
            terms=[frozenset(content_terms(f"{u.text} {u.label} {s}", drop_generic=False))
                   for u, s in zip(units, sections)],
            section_terms=[frozenset(content_terms(s, drop_generic=False)) for s in sections],
            pairs=[frozenset(term_pairs(u.text, drop_generic=False)) for u in units],
        )

    def __len__(self) -> int:
        return len(self.units)

    def rows_in(self, version: str | None, current_version: str | None) -> np.ndarray:
        """Indices of the units of one version (None = the current one)."""
        wanted = current_version if version is None else version
        return np.array([i for i, v in enumerate(self.versions) if (v or None) == (wanted or None)], dtype=int)
