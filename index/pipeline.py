"""Indexing runs: discover files, skip unchanged policies, embed and store the rest."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from index.chunk import DEFAULT_MAX_TOKENS
from index.embed import default_model_name
from index.embed_cache import EmbedCache
from index.errors import LoadError
from index.load import SUPPORTED_SUFFIXES, load_document, policy_id_for
from index.parse import ParsedPolicy, generation, content_hash, parse_document
from index.store import PolicyWrite, Store
from index.vectors import embed_texts, policy_vectors

INDEXED, UNCHANGED, FAILED, PRUNED = "indexed", "unchanged", "error", "pruned"
# Embed texts per model call: a few dozen policies' units, sorted by length inside the call.
GROUP_TEXTS = 2048


@dataclass
class FileResult:
    path: str
    policy_id: str | None
    status: str
    message: str = ""
    chunks: int = 0


@dataclass
class IndexReport:
    results: list[FileResult] = field(default_factory=list)
    embedded_chunks: int = 0
    embed_texts: int = 0       # texts the indexed policies' vectors are made from
    embedded_texts: int = 0    # of those, texts the model embedded (the rest: duplicates, kept vectors)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def nothing_indexed(self) -> bool:
        """True when files were given but none is in the index afterwards."""
        return bool(self.results) and not any(r.status in (INDEXED, UNCHANGED) for r in self.results)


def discover(paths: list[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files to index (directories expanded to their supported files) and per-path errors."""
    files, errors = [], []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                errors.append(FileResult(str(path), None, FAILED, f"{path}: no policy files in this folder"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(FileResult(str(path), None, FAILED, f"{path}: no such file or folder"))
    return files, errors


class LabelHook(Protocol):
    """Adds derived data to a group of writes before they are stored (``PolicyWrite.labels``:
    insights.service.IndexLabels, handed in by whoever builds the indexer)."""

    def attach(self, writes: list[PolicyWrite]) -> None: ...


@dataclass
class _Pending:
    """A parsed policy waiting for its group's embedding pass."""

    slot: int
    path: Path
    parsed: ParsedPolicy
    source_text: str
    texts: list[str]


class Indexer:
    """Builds or incrementally updates the index; the embedder is created only when needed.

    Changed policies are embedded in groups: one model call over the distinct texts of
    several policies (``index/embed_cache.py``) pads less than one call per policy, and a text
    shared by several policies, or kept from a policy's previous generation, is embedded once.
    """

    def __init__(self, store: Store, embedder_factory: Callable, max_tokens: int = DEFAULT_MAX_TOKENS,
                 model_name: str | None = None, group_texts: int = GROUP_TEXTS,
                 cache_factory: Callable[..., EmbedCache] = EmbedCache, labels: LabelHook | None = None):
        self.store = store
        self._embedder_factory = embedder_factory
        self._cache_factory = cache_factory
        self._cache: EmbedCache | None = None
        self.max_tokens = max_tokens
        self.model_name = model_name or default_model_name()
        self.group_texts = group_texts
        self.labels = labels  # e.g. privacy labels, stored with each policy generation

    @property
    def embedder(self) -> EmbedCache:
        """The model behind this run's embedding cache (loaded on first use)."""
        if self._cache is None:
            self._cache = self._cache_factory(self._embedder_factory(), self.model_name)
        return self._cache

    def run(self, paths: list[Path], prune: bool = False,
            progress: Callable[[FileResult], None] | None = None) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        files, errors = discover(paths)
        report.results.extend(errors)
        known = self.store.generations()
        seen: dict[str, str] = {}
        done: list[FileResult | None] = [None] * len(files)  # file order, whatever order they finish in
        pending: list[_Pending] = []

        def finish(slot: int, result: FileResult) -> None:
            done[slot] = result
            if progress:
                progress(result)

        for slot, path in enumerate(files):
            prepared = self._prepare(slot, path, known, seen)
            if isinstance(prepared, FileResult):
                finish(slot, prepared)
                continue
            pending.append(prepared)
            if sum(len(p.texts) for p in pending) >= self.group_texts:
                self._flush(pending, report, finish)
        self._flush(pending, report, finish)
        report.results.extend(done)
        self.store.remove_orphans()
        if prune:
            report.results.extend(self._prune())
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(self, slot: int, path: Path, known: dict[str, str], seen: dict[str, str]) -> FileResult | _Pending:
        """A final result (failed, unchanged), or the parsed policy to embed and store."""
        try:
            pid = policy_id_for(path)
            if pid in seen:
                return FileResult(str(path), pid, FAILED,
                                  f"{path.name}: duplicate policy id '{pid}' (already from {seen[pid]})")
            seen[pid] = path.name
            doc = load_document(path)
        except LoadError as exc:
            return FileResult(str(path), None, FAILED, str(exc))
        gen = generation(content_hash(doc.text), self.max_tokens, self.model_name)
        if known.get(pid) == gen:
            return FileResult(str(path), pid, UNCHANGED, f"{pid}: unchanged")
        parsed = parse_document(doc, self.max_tokens, self.model_name)
        if not parsed.chunks:
            return FileResult(str(path), pid, FAILED, f"{path.name}: no policy text found after cleaning")
        if pid in known:  # its previous generation's vectors serve every unchanged text
            self.embedder.prime(self.store.unit_vectors_by_key(pid))
        return _Pending(slot, path, parsed, doc.text, embed_texts(parsed.chunks, parsed.units))

    def _flush(self, pending: list[_Pending], report: IndexReport,
               finish: Callable[[int, FileResult], None]) -> None:
        """Embed the group's missing texts in one call, then store the group's policies together."""
        if not pending:
            return
        cache = self.embedder
        report.embed_texts += sum(len(p.texts) for p in pending)
        report.embedded_texts += cache.warm([t for p in pending for t in p.texts])
        writes = []
        for p in pending:
            parsed = p.parsed
            chunk_vectors, unit_vectors = policy_vectors(cache, parsed.chunks, parsed.units)
            writes.append(PolicyWrite(parsed.policy, parsed.gen, p.source_text, parsed.chunks, chunk_vectors,
                                      parsed.units, unit_vectors, cache.keys(p.texts[:len(parsed.units)])))
        if self.labels is not None:
            self.labels.attach(writes)
        self.store.replace_policies(writes)
        for p in pending:
            chunks = len(p.parsed.chunks)
            report.embedded_chunks += chunks
            pid = p.parsed.policy.id
            finish(p.slot, FileResult(str(p.path), pid, INDEXED, f"{pid}: {chunks} chunks", chunks))
        pending.clear()

    def _prune(self) -> list[FileResult]:
        pruned = []
        for pid, policy in self.store.policies().items():
            if not Path(policy.path).exists():
                self.store.remove_policy(pid)
                pruned.append(FileResult(policy.path, pid, PRUNED, f"{pid}: removed (file is gone)"))
        return pruned
