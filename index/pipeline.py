"""Indexing runs: discover files, skip unchanged policies, embed and store the rest."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from index.chunk import DEFAULT_MAX_TOKENS
from index.load import SUPPORTED_SUFFIXES, LoadError, load_document, policy_id_for
from index.parse import ParsedPolicy, generation, content_hash, parse_document
from index.store import Store
from index.vectors import policy_vectors

INDEXED, UNCHANGED, FAILED, PRUNED = "indexed", "unchanged", "error", "pruned"


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


class Indexer:
    """Builds or incrementally updates the index; the embedder is created only when needed."""

    def __init__(self, store: Store, embedder_factory: Callable, max_tokens: int = DEFAULT_MAX_TOKENS,
                 model_name: str | None = None):
        from index.embed import default_model_name

        self.store = store
        self._embedder_factory = embedder_factory
        self._embedder = None
        self.max_tokens = max_tokens
        self.model_name = model_name or default_model_name()

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def run(self, paths: list[Path], prune: bool = False,
            progress: Callable[[FileResult], None] | None = None) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        files, errors = discover(paths)
        report.results.extend(errors)
        known = self.store.generations()
        seen: dict[str, str] = {}
        for path in files:
            result = self._index_file(path, known, seen, report)
            report.results.append(result)
            if progress:
                progress(result)
        self.store.remove_orphans()
        if prune:
            report.results.extend(self._prune())
        report.seconds = time.perf_counter() - started
        return report

    def _index_file(self, path: Path, known: dict[str, str], seen: dict[str, str],
                    report: IndexReport) -> FileResult:
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
        self._store(parsed, doc.text)
        report.embedded_chunks += len(parsed.chunks)
        return FileResult(str(path), pid, INDEXED, f"{pid}: {len(parsed.chunks)} chunks", len(parsed.chunks))

    def _store(self, parsed: ParsedPolicy, source_text: str) -> None:
        chunk_vectors, unit_vectors = policy_vectors(self.embedder, parsed.chunks, parsed.units)
        self.store.replace_policy(parsed.policy, parsed.gen, source_text, parsed.chunks, chunk_vectors,
                                  parsed.units, unit_vectors)

    def _prune(self) -> list[FileResult]:
        pruned = []
        for pid, policy in self.store.policies().items():
            if not Path(policy.path).exists():
                self.store.remove_policy(pid)
                pruned.append(FileResult(policy.path, pid, PRUNED, f"{pid}: removed (file is gone)"))
        return pruned
