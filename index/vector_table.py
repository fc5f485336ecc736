"""Rows with vectors in numpy: Chroma-style ``where`` filters and exact nearest neighbours
over the read tables (index/tables.py), which import this only when they are searched."""
from __future__ import annotations

import numpy as np

from index.vectors import as_matrix


def collection_rows(collection, gens: list[str], names: tuple[str, ...], id_name: str | None) -> tuple[dict, np.ndarray]:
    """Columns and vectors of a collection's rows in ``gens`` (texts from metadata or documents)."""
    columns: dict[str, list] = {n: [] for n in names}
    if not gens:
        return columns, np.zeros((0, 0), dtype=np.float32)
    got = collection.get(where={"gen": {"$in": gens}}, include=["embeddings", "metadatas", "documents"])
    for rid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"]):
        row = {**meta, "text": meta.get("text", doc)}
        if id_name:
            row[id_name] = rid
        for n in names:
            columns[n].append(row.get(n, "" if n in ("section", "version") else None))  # None: not stored
    return columns, as_matrix(got["embeddings"])


class VectorTable:
    """Rows with vectors; ``mask(where)`` evaluates Chroma's where syntax over coded columns."""

    def __init__(self, columns: dict[str, list], vectors: np.ndarray):
        self.columns = columns
        self.vectors = vectors
        self.size = len(vectors)
        self._codes: dict[str, tuple[dict, np.ndarray]] = {}

    def codes(self, name: str) -> tuple[dict, np.ndarray]:
        if name not in self._codes:
            values = self.columns[name]
            lookup: dict = {}
            codes = np.fromiter((lookup.setdefault(v, len(lookup)) for v in values), dtype=np.int32,
                                count=len(values))
            self._codes[name] = (lookup, codes)
        return self._codes[name]

    def mask(self, where: dict | None) -> np.ndarray:
        if not where:
            return np.ones(self.size, dtype=bool)
        masks = []
        for key, cond in where.items():
            if key == "$and":
                masks.append(np.logical_and.reduce([self.mask(w) for w in cond]))
            elif key == "$or":
                masks.append(np.logical_or.reduce([self.mask(w) for w in cond]))
            else:
                masks.append(self._field(key, cond))
        return np.logical_and.reduce(masks) if len(masks) > 1 else masks[0]

    def _field(self, name: str, cond) -> np.ndarray:
        lookup, codes = self.codes(name)
        op, value = next(iter(cond.items())) if isinstance(cond, dict) else ("$eq", cond)
        if op in ("$in", "$nin"):
            hit = np.isin(codes, [lookup[v] for v in value if v in lookup])
            return hit if op == "$in" else ~hit
        hit = codes == lookup.get(value, -1)
        if op == "$eq":
            return hit
        if op == "$ne":
            return ~hit
        raise ValueError(f"unsupported filter {op}")

    def rows(self, where: dict | None) -> list[int]:
        return np.flatnonzero(self.mask(where)).tolist()

    def nearest(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[int, float]]:
        """Exact top-k rows by cosine (the vectors are unit length) among those matching ``where``."""
        rows = np.flatnonzero(self.mask(where))
        if rows.size == 0 or k <= 0:
            return []
        # Every row (an unscoped search): the matrix as it is, not a 6 MB copy of it per query.
        vectors = self.vectors if rows.size == self.size else self.vectors[rows]
        sims = vectors @ np.asarray(vector, dtype=np.float32)
        top = np.argpartition(-sims, k - 1)[:k] if k < rows.size else np.arange(rows.size)
        top = top[np.lexsort((rows[top], -sims[top]))]
        return [(int(rows[i]), float(sims[i])) for i in top]
