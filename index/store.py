"""The store handle: Chroma collections for chunks, citation units and policy manifests.

A policy's chunks carry a generation id (content hash + pipeline settings). Readers only
see generations named by a manifest, so replacing a policy is: add the new generation,
flip the manifest, delete the old generation; a crash at any point leaves a searchable index.
The indexer replaces policies in groups, each step one call for the whole group.
"""
from __future__ import annotations

import functools
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index.errors import StoreUnavailable
from index.faults import checkpoint
from index.records import Chunk, Policy, Unit
from index.snapshot import recover_if_needed, stamp_of, touch_stamp
from index.vectors import as_matrix, unit_centrality

CHUNKS, UNITS, POLICIES = "policychat-chunks", "policychat-units", "policychat-policies"
LABELS = "policychat-labels"  # each policy's privacy labels (insights/), by generation
WRITE_BATCH = 1000
KEY = "ekey"  # unit metadata: the key of the text its vector embeds (index/embed_cache.text_key)
# Chunk and unit texts are kept in metadata, not as Chroma documents: Chroma builds a full-text
# index over documents, which we never query, and which took a third of the indexing time
# outside the model (docs/performance.md). Indexes written before keep their documents.
TEXT = "text"
READ = ["documents", "metadatas"]  # documents: only indexes written before TEXT was kept in metadata


def is_connection_error(exc: BaseException) -> bool:
    """Errors that mean 'the Chroma server is not there', as opposed to a bad request."""
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(s in text for s in ("could not connect", "connection refused", "connecterror",
                                   "failed to connect", "connection reset", "remoteprotocolerror"))


def is_store_error(exc: BaseException) -> bool:
    """Errors Chroma raises when its data cannot be read or written (a server's error status, a
    broken or locked local database), as opposed to a bug in the caller."""
    import httpx
    from chromadb.errors import ChromaError

    return isinstance(exc, (ChromaError, sqlite3.Error, httpx.HTTPStatusError))


def _guarded(method):
    """Turn Chroma's failures inside a Store method into StoreUnavailable. An embedded store
    first follows its directory's current client (``_EmbeddedClients``), and retries once when
    that client was replaced while the call ran."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self._follow()
        try:
            return method(self, *args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if self._follow():
                return wrapper(self, *args, **kwargs)
            if is_connection_error(exc):
                raise StoreUnavailable(f"the Chroma store is not answering ({type(exc).__name__})") from None
            if is_store_error(exc):
                raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise
    return wrapper


@dataclass
class PolicyWrite:
    """One policy's new generation: records and vectors, ready to store."""

    policy: Policy
    gen: str
    source_text: str
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    units: list[Unit]
    unit_vectors: np.ndarray
    unit_keys: list[str] | None = None  # embed-text keys, so a later run can reuse the unit vectors
    labels: str | None = None           # the policy's privacy labels as JSON (insights/service.py)

    def unit_rows(self) -> list[tuple[str, np.ndarray, dict]]:
        """(id, vector, metadata) of each unit."""
        by_chunk = {c.id: c for c in self.chunks}
        keys = self.unit_keys or [None] * len(self.units)
        return [(f"{u.chunk_id}:{u.start}", v, _unit_meta(u, by_chunk[u.chunk_id], self.gen, k))
                for u, v, k in zip(self.units, self.unit_vectors, keys)]


@dataclass
class StoredChunk:
    chunk: Chunk
    gen: str


def client_settings():
    """Our Chroma client settings: no telemetry (the product runs offline), no reset API."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def open_client(db_dir, chroma_url: str | None = None, *, fresh: bool = False):
    """This process's PersistentClient of ``db_dir`` or an HttpClient for ``chroma_url``.

    ``fresh``: replace this process's client of ``db_dir`` with one that reads the files as they
    are now (another process wrote them without moving the change stamp, e.g. it was killed)."""
    import chromadb

    try:
        if chroma_url:
            url = urlparse(chroma_url)
            return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                       ssl=url.scheme == "https", settings=client_settings())
        recover_if_needed(Path(db_dir))
        return _CLIENTS.get(Path(db_dir), fresh)
    except Exception as exc:  # chromadb raises many types for an unreachable server
        where = chroma_url or str(db_dir)
        raise StoreUnavailable(f"cannot open the Chroma store at {where}: {exc}") from None


def ephemeral_client():
    """An in-memory Chroma client with our settings (for throwaway collections, e.g. eval's baseline)."""
    import chromadb

    return chromadb.EphemeralClient(settings=client_settings())


class _EmbeddedClients:
    """One Chroma client per index directory per process.

    Chroma runs one engine per directory per process, shared by that directory's clients and
    stopped when the last of them is closed. When another process re-indexes the directory
    (its change stamp moves, ``index.snapshot``), our engine's state is stale: the one client
    is closed, which stops the engine, and a new client reads the files afresh. Store handles
    holding the old client rebind to the new one on their next call."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict[str, tuple[float, object]] = {}

    def get(self, path: Path, fresh: bool = False):
        import chromadb

        key, stamp = str(path), stamp_of(path)
        with self._lock:
            held = self._open.get(key)
            if held is not None and held[0] == stamp and not fresh:
                return held[1]
            if held is not None:
                held[1].close()
            client = chromadb.PersistentClient(path=key, settings=client_settings())
            self._open[key] = (stamp, client)
            return client

    def current(self, path: Path):
        held = self._open.get(str(path))
        return held[1] if held else None

    def path_of(self, client) -> Path | None:
        """The directory of a client this registry opened (None for a server's client)."""
        return next((Path(key) for key, (_, c) in list(self._open.items()) if c is client), None)

    def written(self, path: Path, stamp: float) -> None:
        """This process changed the directory (new stamp ``stamp``): its client is not stale."""
        with self._lock:
            held = self._open.get(str(path))
            if held is not None:
                self._open[str(path)] = (stamp, held[1])


_CLIENTS = _EmbeddedClients()


class Store:
    """Reads and writes the index; the only module that talks to Chroma."""

    def __init__(self, client, db_dir: Path | None = None):
        self.db_dir = Path(db_dir) if db_dir else None
        self._path = self.db_dir or _CLIENTS.path_of(client)  # embedded: whose client to follow
        self._stamp = 0.0
        self._bind(client)

    @classmethod
    def open(cls, db_dir, chroma_url: str | None = None) -> "Store":
        """The store at ``chroma_url`` (a server) or embedded in ``db_dir``."""
        if chroma_url:
            return cls(open_client(db_dir, chroma_url))
        store = cls(open_client(db_dir), db_dir)
        store._stamp = stamp_of(store.db_dir)
        return store

    def reopen_if_changed(self) -> None:
        """Another process re-indexed this embedded store: drop Chroma's cached state and reopen."""
        if self.db_dir is None:
            return
        stamp = stamp_of(self.db_dir)
        if stamp != self._stamp:
            self._bind(open_client(self.db_dir))
            self._stamp = stamp

    def _changed(self) -> None:
        """Mark the embedded index as changed (read tables and other processes' handles go
        stale) without making this handle reopen itself."""
        if self.db_dir is None:
            return
        touch_stamp(self.db_dir)
        self._stamp = stamp_of(self.db_dir)
        _CLIENTS.written(self.db_dir, self._stamp)

    def _follow(self) -> bool:
        """Rebind to this directory's current client if it was replaced; True if it was."""
        if self._path is None:
            return False
        current = _CLIENTS.current(self._path)
        if current is None or current is self.client:
            return False
        self._bind(current)
        return True

    def _bind(self, client) -> None:
        self.client = client
        try:
            self.chunks = client.get_or_create_collection(CHUNKS, embedding_function=None,
                                                          metadata={"hnsw:space": "cosine"})
            self.units = client.get_or_create_collection(UNITS, embedding_function=None,
                                                         metadata={"hnsw:space": "cosine"})
            self.manifests = client.get_or_create_collection(POLICIES, embedding_function=None)
            self.labels = client.get_or_create_collection(LABELS, embedding_function=None)
        except Exception as exc:
            raise StoreUnavailable(f"the Chroma store is not available: {exc}") from None

    # --- reading -------------------------------------------------------------------------
    def policies(self) -> dict[str, Policy]:
        got = self.manifests.get(include=["metadatas"])
        out = {}
        for pid, meta in zip(got["ids"], got["metadatas"]):
            out[pid] = Policy.from_dict(json.loads(meta["manifest"]))
        return dict(sorted(out.items()))

    def generations(self) -> dict[str, str]:
        self.reopen_if_changed()
        got = self.manifests.get(include=["metadatas"])
        return {pid: meta["gen"] for pid, meta in zip(got["ids"], got["metadatas"])}

    def source_text(self, policy_id: str) -> str | None:
        got = self.manifests.get(ids=[policy_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def source_texts(self) -> dict[str, str]:
        got = self.manifests.get(include=["documents"])
        return dict(zip(got["ids"], got["documents"]))

    def count(self) -> int:
        """How many chunks the store holds (every generation)."""
        return self.chunks.count()

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        try:
            self._follow()
            self.client.heartbeat()
            self.manifests.count()
        except Exception as exc:
            raise StoreUnavailable(f"the Chroma store is not answering: {exc}") from None

    def chunk_rows(self, gens: list[str]) -> list[StoredChunk]:
        """Every chunk of the given generations (for the lexical index)."""
        if not gens:
            return []
        got = self.chunks.get(where={"gen": {"$in": gens}}, include=READ)
        return [StoredChunk(_chunk_from(cid, doc, meta), meta["gen"])
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])]

    def query_chunks(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[Chunk, float]]:
        got = self.chunks.query(query_embeddings=[vector.tolist()], n_results=k, where=where,
                                include=[*READ, "distances"])
        return [(_chunk_from(cid, doc, meta), 1.0 - dist) for cid, doc, meta, dist in
                zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])]

    def query_units(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[Unit, Chunk, float]]:
        """Nearest citation units (Chroma's ANN); each with a header-only Chunk (policy, section, version)."""
        got = self.units.query(query_embeddings=[vector.tolist()], n_results=k, where=where,
                               include=[*READ, "distances"])
        return [(*_unit_row(doc, meta), 1.0 - dist)
                for doc, meta, dist in zip(got["documents"][0], got["metadatas"][0], got["distances"][0])]

    def rank_units(self, vector: np.ndarray, k: int, where: dict) -> list[tuple[Unit, Chunk, float]]:
        """Exact nearest units among those matching a selective filter (one policy, a few
        chunks): fetching them and ranking here is several times faster than a filtered
        Chroma query at hundreds of policies (docs/performance.md), and exact where Chroma's
        HNSW index approximates."""
        got = self.units.get(where=where, include=["embeddings", *READ])
        if not got["ids"]:
            return []
        sims = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-sims, kind="stable")[:k]
        return [(*_unit_row(got["documents"][i], got["metadatas"][i]), float(sims[i])) for i in order]

    def unit_rows_of(self, gen: str) -> tuple[list[tuple[Unit, Chunk]], np.ndarray]:
        """Every unit of one policy generation with its chunk header, and their vectors."""
        got = self.units.get(where={"gen": gen}, include=["embeddings", *READ])
        rows = [_unit_row(d, m) for d, m in zip(got["documents"], got["metadatas"])]
        return rows, as_matrix(got["embeddings"])

    def unit_centrality(self, gen: str) -> dict[tuple[str, int], float]:
        """How close each unit of one policy generation sits to the centre of its policy, by
        (chunk id, start) (``index.vectors.unit_centrality``)."""
        rows, vectors = self.unit_rows_of(gen)
        return unit_centrality([u for u, _ in rows], vectors)

    def unit_vectors_by_key(self, policy_id: str) -> dict[str, np.ndarray]:
        """The stored unit vectors of a policy by embed-text key (index/embed_cache.py), so
        re-indexing an edited policy re-embeds only the texts that changed."""
        got = self.units.get(where={"policy": policy_id}, include=["embeddings", "metadatas"])
        return {meta[KEY]: np.asarray(vector, dtype=np.float32)
                for meta, vector in zip(got["metadatas"], got["embeddings"]) if meta.get(KEY)}

    def stored_labels(self, policy_id: str) -> tuple[str, str] | None:
        """(generation, labels JSON) stored for a policy, or None."""
        got = self.labels.get(ids=[policy_id], include=["documents", "metadatas"])
        return (got["metadatas"][0]["gen"], got["documents"][0]) if got["ids"] else None

    # --- writing -------------------------------------------------------------------------
    def replace_policies(self, writes: list[PolicyWrite]) -> None:
        """Install new generations of several policies; the old ones stay visible until the flip.

        One Chroma call per collection for the whole group: each call costs about 25 ms on top
        of its rows (embedded Chroma commits per call), which dominated writing at 300 policies."""
        if not writes:
            return
        self._delete_gens(writes, keep=False)  # leftovers of an interrupted run of these same generations
        chunk_rows = [(c.id, v, _chunk_meta(c, w.gen)) for w in writes for c, v in zip(w.chunks, w.chunk_vectors)]
        unit_rows = [row for w in writes for row in w.unit_rows()]
        for collection, rows in ((self.chunks, chunk_rows), (self.units, unit_rows)):
            for i in range(0, len(rows), WRITE_BATCH):
                ids, vectors, metas = zip(*rows[i:i + WRITE_BATCH])
                collection.add(ids=list(ids), embeddings=np.asarray(vectors, dtype=np.float32),
                               metadatas=list(metas))
        checkpoint("after_add")
        self.manifests.upsert(ids=[w.policy.id for w in writes], embeddings=[[1.0]] * len(writes),
                              documents=[w.source_text for w in writes],
                              metadatas=[{"gen": w.gen, "manifest": json.dumps(w.policy.to_dict())} for w in writes])
        self._changed()
        checkpoint("after_flip")
        labelled = [w for w in writes if w.labels]
        if labelled:
            self.labels.upsert(ids=[w.policy.id for w in labelled], embeddings=[[1.0]] * len(labelled),
                               documents=[w.labels for w in labelled], metadatas=[{"gen": w.gen} for w in labelled])
        self._delete_gens(writes, keep=True)

    def remove_policy(self, policy_id: str) -> None:
        self.manifests.delete(ids=[policy_id])
        self.labels.delete(ids=[policy_id])
        self.chunks.delete(where={"policy": policy_id})
        self.units.delete(where={"policy": policy_id})
        self._changed()

    def remove_orphans(self) -> None:
        """Drop chunks of generations no manifest names (left by an interrupted run)."""
        gens = sorted(set(self.generations().values()))
        where = {"gen": {"$nin": gens}} if gens else {"gen": {"$ne": ""}}
        self.chunks.delete(where=where)
        self.units.delete(where=where)

    def _delete_gens(self, writes: list[PolicyWrite], keep: bool) -> None:
        """Delete, for each written policy, its rows of other generations (``keep``) or of the
        generation being written (leftovers of an interrupted run); one call per collection."""
        clauses = [{"$and": [{"policy": w.policy.id}, {"gen": {"$ne": w.gen} if keep else w.gen}]} for w in writes]
        where = clauses[0] if len(clauses) == 1 else {"$or": clauses}
        self.chunks.delete(where=where)
        self.units.delete(where=where)


for _name in ("count", "policies", "generations", "source_text", "source_texts", "chunk_rows", "query_chunks",
              "query_units", "rank_units", "unit_rows_of", "unit_centrality", "unit_vectors_by_key",
              "stored_labels",
              "replace_policies", "remove_policy", "remove_orphans"):
    setattr(Store, _name, _guarded(getattr(Store, _name)))


def _chunk_meta(c: Chunk, gen: str) -> dict:
    return {"policy": c.policy, "gen": gen, "version": c.version or "", "current": c.current,
            "section": c.section, "start": c.start, "end": c.end, "tokens": c.tokens, TEXT: c.text}


def _unit_meta(u: Unit, c: Chunk, gen: str, key: str | None) -> dict:
    meta = {"policy": c.policy, "gen": gen, "chunk_id": u.chunk_id, "version": c.version or "",
            "current": c.current, "start": u.start, "end": u.end, "section": c.section, TEXT: u.text,
            "paragraph": u.paragraph, "bullet": u.bullet, "intro": u.intro, "label": u.label}
    if u.opens is not None:  # Chroma stores no None
        meta["opens"] = u.opens
    return meta | {KEY: key} if key else meta


def _unit_row(doc: str, meta: dict) -> tuple[Unit, Chunk]:
    unit = Unit(chunk_id=meta["chunk_id"], start=meta["start"], end=meta["end"], text=meta.get(TEXT, doc),
                paragraph=meta.get("paragraph", -1), bullet=meta.get("bullet", False), intro=meta.get("intro", -1),
                label=meta.get("label", ""), opens=meta.get("opens"))
    header = Chunk(id=meta["chunk_id"], policy=meta["policy"], version=meta["version"] or None,
                   current=meta["current"], section=meta.get("section", ""), start=meta["start"],
                   end=meta["end"], text="")
    return unit, header


def _chunk_from(cid: str, doc: str, meta: dict) -> Chunk:
    return Chunk(id=cid, policy=meta["policy"], version=meta["version"] or None, current=meta["current"],
                 section=meta["section"], start=meta["start"], end=meta["end"], text=meta.get(TEXT, doc),
                 tokens=meta.get("tokens", 0))
