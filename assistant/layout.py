"""Where each citation unit of a policy stands, read from the structure stored with it at
ingestion (index/records.py ``Unit``): its neighbours in its paragraph, the list it belongs
to and that list's intro. List expansion and antecedents are lookups here; nothing re-reads
the source text per question.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from index.records import Unit

log = logging.getLogger("policychat.assistant")


class UnitLayout:
    """One policy's units, each version's in document order (``UnitTable.units``), indexed by
    start offset (unique in a policy: versions are disjoint spans of one source text)."""

    def __init__(self, units: list[Unit]):
        self.units = units
        self._at = {u.start: i for i, u in enumerate(units)}
        self._lists: dict[int, list[int]] = {}
        for i, u in enumerate(units):
            if u.intro >= 0:
                self._lists.setdefault(u.intro, []).append(i)

    def neighbour(self, unit: Unit, step: int) -> Unit | None:
        """The unit ``step`` places after ``unit`` (-1: the one before) when it stands in the
        same paragraph, else None."""
        i = self._at.get(unit.start)
        if i is None or unit.paragraph < 0 or not 0 <= i + step < len(self.units):
            return None
        other = self.units[i + step]
        return other if other.paragraph == unit.paragraph else None

    def intro_of(self, unit: Unit) -> Unit | None:
        """The intro of the list ``unit`` belongs to, if any."""
        i = self._at.get(unit.intro) if unit.intro >= 0 else None
        return self.units[i] if i is not None else None

    def list_of(self, intro: Unit, chunks: int) -> list[Unit]:
        """The units of the list ``intro`` announces, in order, in its chunk and at most
        ``chunks`` chunks further (the list may go on past a chunk's end, within its section)."""
        out: list[Unit] = []
        reached = [intro.chunk_id]
        for i in self._lists.get(intro.start, []):
            unit = self.units[i]
            if unit.chunk_id != reached[-1]:
                if len(reached) > chunks:
                    break
                reached.append(unit.chunk_id)
            out.append(unit)
        return out


_warned: list[str] = []


def with_line_openings(policy: str, units: list[Unit]) -> list[Unit]:
    """``units`` (in document order) of an index written before ``Unit.opens`` was stored, with
    it read off their paragraphs instead: the first unit of each opens it. Those indexes answer
    on, with lists that stop at a chunk's end, until ``policychat index`` rebuilds them."""
    if all(u.opens is not None for u in units):
        return units
    if not _warned:  # once per process, not once per policy of a large index
        _warned.append(policy)
        log.warning("the index (%s and maybe others) predates PIPELINE_VERSION 9 (list structure); "
                    "`policychat index` rebuilds it", policy)
    out: list[Unit] = []
    for u in units:
        opens = u.opens if u.opens is not None else not out or out[-1].paragraph != u.paragraph
        out.append(replace(u, opens=opens))
    return out
