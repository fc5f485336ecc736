"""Read tables: the active index as plain files (JSON + .npy), for fast, Chroma-free reading.

Importing chromadb and opening an embedded store costs seconds; every question and listing
in a fresh process paid it. After each indexing run the active generations' manifests,
sources, chunk and unit rows (vectors included) are written to ``read/<stamp>/`` beside the
index, keyed by the index's change stamp (``index.snapshot``): a reader uses them only while
the stamp is unchanged, so a re-index by any process makes them stale at once.
``TableReader`` answers the same read calls as ``index.store.Store`` (``policies``,
``query_units``, …) from them, with exact nearest-neighbour search in numpy, and rebuilds
them from the store when they are missing or stale (an index written before they existed).
"""
from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

# What ranking reads of one unit's text alone, from (text, label): the entity kinds as bits, the
# text's stems and the label's stems. The assistant defines it (assistant.unit_table.text_notes)
# and hands it in, so the notes are worked out here once per index and both sides always agree.
TextNotes = Callable[[str, str], tuple[int, tuple[str, ...], tuple[str, ...]]]

from index.records import Chunk, Policy, Unit
from index.snapshot import stamp_of

# numpy, the vector tables and index.store's row builders are imported where rows are read:
# the policy list and the sources are JSON, and `policychat policies` should not pay for numpy.
if TYPE_CHECKING:
    import numpy as np

    from index.vector_table import VectorTable

READ_DIR = "read"
FORMAT = 4  # bumped whenever the columns change: tables of another format are rebuilt (3: unit notes, 4: opens)
CHUNK_COLUMNS = ("id", "policy", "gen", "version", "current", "section", "start", "end", "tokens", "text")
UNIT_COLUMNS = ("chunk_id", "policy", "gen", "version", "current", "section", "start", "end", "text",
                "paragraph", "bullet", "intro", "label", "opens")


def tables_dir(db_dir: Path, stamp: float) -> Path:
    return Path(db_dir) / READ_DIR / str(int(stamp))


def write_tables(store, db_dir: Path, notes: TextNotes, stamp: float | None = None) -> Path:
    """Write the store's active generations as read tables for ``stamp`` (default: the
    current one), with each unit's ``notes``; returns their folder. Safe against concurrent
    writers (atomic rename)."""
    db_dir = Path(db_dir)
    stamp = stamp_of(db_dir) if stamp is None else stamp
    target = tables_dir(db_dir, stamp)
    gens = store.generations()
    policies = store.policies()
    wanted = sorted(set(gens.values()))
    import numpy as np

    from index.vector_table import collection_rows

    chunks = collection_rows(store.chunks, wanted, CHUNK_COLUMNS, "id")
    units = collection_rows(store.units, wanted, UNIT_COLUMNS, None)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "policies.json").write_text(json.dumps(
        {"format": FORMAT, "stamp": int(stamp), "gens": gens, "policies": {p: v.to_dict() for p, v in policies.items()}}))
    (tmp / "sources.json").write_text(json.dumps(store.source_texts()))
    for name, (columns, vectors) in (("chunks", chunks), ("units", units)):
        (tmp / f"{name}.json").write_text(json.dumps(columns))
        np.save(tmp / f"{name}.npy", vectors)
    (tmp / "unit_notes.json").write_text(json.dumps(_notes_columns(units[0], notes)))
    if target.exists() and Tables.load(db_dir, stamp) is None:
        shutil.rmtree(target, ignore_errors=True)  # written in an older format
    try:
        tmp.rename(target)
    except OSError:  # another process wrote the same tables first
        shutil.rmtree(tmp, ignore_errors=True)
    for old in (db_dir / READ_DIR).iterdir():
        if old.name != target.name and ".tmp-" not in old.name:
            shutil.rmtree(old, ignore_errors=True)
    return target


# Stems never hold this character (assistant.terms.WORD_RE), so it joins them losslessly.
_SEP = "\x1f"


def _notes_columns(columns: dict[str, list], notes: TextNotes) -> dict[str, list]:
    """The units' notes as columns (the entity tagger alone costs about 0.4 ms a unit, so a
    reading process should not pay it per policy)."""
    found = [notes(text or "", label or "") for text, label in zip(columns["text"], columns["label"])]
    return {"kinds": [kinds for kinds, _, _ in found],
            "text_terms": [_SEP.join(terms) for _, terms, _ in found],
            "label_terms": [_SEP.join(terms) for _, _, terms in found]}


class Tables:
    """One stamp's read tables, loaded piecewise on first use."""

    def __init__(self, folder: Path):
        self.folder = folder
        head = json.loads((folder / "policies.json").read_text())
        if head.get("format") != FORMAT:
            raise ValueError(f"read tables of format {head.get('format')}, not {FORMAT}")
        self.stamp = head["stamp"]
        self.gens: dict[str, str] = head["gens"]
        self.manifests: dict[str, dict] = head["policies"]
        self._lock = threading.RLock()
        self._loaded: dict[str, object] = {}
        self._chunks: dict[int, Chunk] = {}

    @classmethod
    def load(cls, db_dir: Path, stamp: float) -> "Tables | None":
        folder = tables_dir(db_dir, stamp)
        try:
            return cls(folder) if (folder / "policies.json").is_file() else None
        except (OSError, ValueError, KeyError):
            return None

    def _part(self, name: str):
        with self._lock:
            if name not in self._loaded:
                if name in ("sources", "unit_notes"):
                    self._loaded[name] = json.loads((self.folder / f"{name}.json").read_text())
                else:
                    import numpy as np

                    from index.vector_table import VectorTable

                    columns = json.loads((self.folder / f"{name}.json").read_text())
                    self._loaded[name] = VectorTable(columns, np.load(self.folder / f"{name}.npy"))
            return self._loaded[name]

    @property
    def chunks(self) -> VectorTable:
        return self._part("chunks")

    @property
    def units(self) -> VectorTable:
        return self._part("units")

    @property
    def sources(self) -> dict[str, str]:
        return self._part("sources")

    def unit_notes(self, i: int) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
        c = self._part("unit_notes")
        return c["kinds"][i], _split(c["text_terms"][i]), _split(c["label_terms"][i])

    def chunk(self, i: int) -> Chunk:
        """The chunk of row ``i``, made once: an unscoped search reads 120 rows, every question."""
        found = self._chunks.get(i)
        if found is None:
            from index.store import _chunk_from

            c = self.chunks.columns
            found = self._chunks[i] = _chunk_from(c["id"][i], "", {n: c[n][i] for n in CHUNK_COLUMNS})
        return found

    def unit(self, i: int) -> tuple[Unit, Chunk]:
        """A unit and a header-only Chunk (policy, section, version), like Store's unit rows."""
        from index.store import _unit_row

        c = self.units.columns
        return _unit_row("", {n: c[n][i] for n in UNIT_COLUMNS if c[n][i] is not None})


class TableReader:
    """The read calls of ``index.store.Store`` answered from read tables; the store itself is
    opened (``open_store``) only to rebuild tables that are missing or stale."""

    def __init__(self, db_dir: Path, open_store: Callable[[], object], notes: TextNotes):
        self.db_dir = Path(db_dir)
        self._open_store = open_store
        self._notes = notes
        self._tables: Tables | None = None
        self._lock = threading.Lock()

    @property
    def tables(self) -> Tables:
        stamp = stamp_of(self.db_dir)
        current = self._tables
        if current is not None and current.stamp == int(stamp):
            return current
        with self._lock:
            found = Tables.load(self.db_dir, stamp)
            if found is None:
                write_tables(self._open_store(), self.db_dir, self._notes, stamp)
                found = Tables.load(self.db_dir, stamp)
            self._tables = found
            return found

    # --- the Store read interface ---------------------------------------------------------
    def ping(self) -> None:
        self.tables  # noqa: B018 (loading is the check)

    def generations(self) -> dict[str, str]:
        return dict(self.tables.gens)

    def policies(self) -> dict[str, Policy]:
        return {pid: Policy.from_dict(m) for pid, m in sorted(self.tables.manifests.items())}

    def source_text(self, policy_id: str) -> str | None:
        return self.tables.sources.get(policy_id)

    def source_texts(self) -> dict[str, str]:
        return dict(self.tables.sources)

    def chunk_rows(self, gens: list[str]):
        from index.store import StoredChunk

        t = self.tables
        return [StoredChunk(t.chunk(i), t.chunks.columns["gen"][i]) for i in t.chunks.rows({"gen": {"$in": list(gens)}})]

    def query_chunks(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[Chunk, float]]:
        t = self.tables
        return [(t.chunk(i), sim) for i, sim in t.chunks.nearest(vector, k, where)]

    def query_units(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[Unit, Chunk, float]]:
        t = self.tables
        return [(*t.unit(i), sim) for i, sim in t.units.nearest(vector, k, where)]

    rank_units = query_units  # both exact here

    def unit_rows_of(self, gen: str) -> tuple[list[tuple[Unit, Chunk]], np.ndarray]:
        """Every unit of one generation with its header-only Chunk, and their vectors."""
        t = self.tables
        rows = t.units.rows({"gen": gen})
        return [t.unit(i) for i in rows], t.units.vectors[rows]

    def unit_notes_of(self, gen: str) -> list[tuple[int, tuple[str, ...], tuple[str, ...]]]:
        """The notes (``TextNotes``) of ``unit_rows_of(gen)``'s rows, in that order."""
        t = self.tables
        return [t.unit_notes(i) for i in t.units.rows({"gen": gen})]

    def unit_centrality(self, gen: str) -> dict[tuple[str, int], float]:
        from index.vectors import unit_centrality

        rows, vectors = self.unit_rows_of(gen)
        return unit_centrality([u for u, _ in rows], vectors)


def _split(joined: str) -> tuple[str, ...]:
    return tuple(joined.split(_SEP)) if joined else ()
