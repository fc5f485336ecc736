"""Hybrid retrieval: dense (Chroma) + BM25, fused with reciprocal rank fusion."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from assistant.bm25_index import BM25Index
from assistant.fusion import rrf
from assistant.layout import UnitLayout
from assistant.practice import PracticeModel
from assistant.records import Hit, Scope
from assistant.seams import PolicyStore, QueryEmbedder
from assistant.terms import STOP_SET, IdfTable, stem
from assistant.unit_table import UnitNotes, UnitTable
from index.errors import UnknownPolicy
from index.records import Chunk, Policy
from index.sections import innermost_section
from index.settings import AnswerSettings



class Retriever:
    """Searches the active generation of every policy; reloads when the index changes."""

    def __init__(self, store: PolicyStore, embedder: QueryEmbedder, cache_dir: Path | None = None,
                 practice: PracticeModel | None = None, settings: AnswerSettings | None = None):
        self.store = store
        self.settings = settings or AnswerSettings()
        self.embedder = embedder
        self.cache_dir = cache_dir
        self.practice = practice if practice is not None else PracticeModel.load()
        self._tables: dict[str, UnitTable] = {}
        self.chunks: dict[str, Chunk] = {}
        self._lock = threading.Lock()
        self._checked = 0.0
        self.policies: dict[str, Policy] = {}
        self.gens: dict[str, str] = {}
        self.lexical = BM25Index.build([])
        self.sources: dict[str, str] = {}
        self._idf = IdfTable([])
        self._columns: dict[str, np.ndarray] = {}
        self._policy_codes: dict[str, int] = {}
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Pick up index changes made by another process (at most every few seconds)."""
        now = time.monotonic()
        if not force and now - self._checked < self.settings.refresh_seconds:
            return
        with self._lock:
            self._checked = now
            gens = self.store.generations()
            if gens == self.gens and not force:
                return
            policies = self.store.policies()
            sources = self.store.source_texts()
            rows = self.store.chunk_rows(sorted(set(gens.values())))
            chunks = [r.chunk for r in rows]
            lexical = BM25Index.load_or_build(chunks, self.cache_dir)
            self.policies, self.gens, self.lexical = policies, gens, lexical
            self.sources, self._idf = sources, IdfTable(chunks)
            self.chunks = {c.id: c for c in chunks}
            self._tables = {gen: t for gen, t in self._tables.items() if gen in set(gens.values())}
            # Policies as small integers: a scope's mask is then one lookup per chunk, where
            # np.isin over an object column cost ~3 ms a search at 300 policies.
            codes = {p: i for i, p in enumerate(dict.fromkeys(c.policy for c in lexical.chunks))}
            self._policy_codes, self._columns = codes, {
                "policy": np.array([codes[c.policy] for c in lexical.chunks], dtype=np.intp),
                "current": np.array([c.current for c in lexical.chunks], dtype=bool),
                "version": np.array([c.version or "" for c in lexical.chunks], dtype=object),
            }

    def layout(self, policy_id: str) -> UnitLayout:
        """Where each unit of a policy stands (paragraphs, lists), from its unit table."""
        return self.table(policy_id).layout

    def chunk(self, chunk_id: str) -> Chunk | None:
        """An indexed chunk of an active generation by its id."""
        return self.chunks.get(chunk_id)

    def source_text(self, policy_id: str) -> str:
        """A policy's source text, which every citation's offsets point into."""
        return self.sources[policy_id]

    def idf(self, term: str) -> float:
        """The inverse document frequency of a content stem over the indexed chunks."""
        return self._idf.idf(term)

    def knows(self, word: str) -> bool:
        """Whether any indexed policy uses the word (compared by its stem; stop words always)."""
        word = word.lower()
        return word in STOP_SET or stem(word) in self._idf.df

    def question_practice(self, vector: np.ndarray) -> np.ndarray:
        """P(the question asks about each data practice) for a question's vector."""
        return self.practice.question_probs(vector)[0]

    def table(self, policy_id: str) -> UnitTable:
        """Every unit of a policy's indexed generation, with what ranking reads (built once)."""
        gen = self.gens.get(policy_id)
        if gen is None:
            return UnitTable.build(policy_id, [], np.zeros((0, 0), np.float32), None)
        table = self._tables.get(gen)
        if table is None:
            rows, vectors = self.store.unit_rows_of(gen)
            # The read tables hold each unit's text-only notes from index time; the Chroma store
            # does not, and the table works them out itself.
            notes_of = getattr(self.store, "unit_notes_of", None)
            notes = [UnitNotes(*n) for n in notes_of(gen)] if notes_of is not None else None
            table = UnitTable.build(policy_id, rows, vectors, self.practice, notes)
            self._tables[gen] = table
        return table

    def warm(self) -> None:
        """Build every policy's unit table now (a server, before it says it is ready): a
        cross-policy question would otherwise build the tables of the policies it meets for
        the first time while the user waits. From the read tables that is about 1 ms a policy
        (300 in under a second); a Chroma server's store would take a query and the unit
        notes of every unit per policy, so there the tables stay built on first use."""
        if getattr(self.store, "unit_notes_of", None) is None:
            return
        for policy_id in list(self.gens):
            self.table(policy_id)

    def check_policy(self, policy_id: str) -> None:
        if policy_id not in self.policies:
            known = ", ".join(self.policies) or "none indexed"
            raise UnknownPolicy(f"unknown policy '{policy_id}' (known: {known})")

    def section_at(self, policy_id: str, version: str | None, offset: int) -> str | None:
        """The path of the deepest section of a policy version that contains ``offset``."""
        policy = self.policies.get(policy_id)
        section = innermost_section(policy.sections, version, offset) if policy is not None else None
        return section.path_str if section is not None else None

    def version_label(self, policy_id: str, version: str | None) -> str | None:
        policy = self.policies[policy_id]
        if version is None:
            current = policy.current_version
            return current.label if current else None
        return version

    def search(self, query: str, scope: Scope = Scope(), k: int = 5,
               vector: np.ndarray | None = None) -> list[Hit]:
        """Top-k chunks for ``query`` within ``scope``."""
        self.refresh()
        policies = list(scope.policies) if scope.policies else list(self.policies)
        for pid in policies:
            self.check_policy(pid)
        gens = [self.gens[p] for p in policies if p in self.gens]
        if not gens:
            return []
        if vector is None:
            vector = self.embedder.embed_query(query)
        dense = self._dense(lambda n, where: self.store.query_chunks(vector, n, where),
                            lambda row: row[0], policies, gens, scope, self.settings.fused_candidates)
        allowed = self._allowed_mask(policies, scope)
        lexical = self.lexical.ranked(query, allowed, self.settings.fused_candidates)
        by_id = {c.id: c for c, _ in dense} | {c.id: c for c, _ in lexical}
        dense_sim = {c.id: s for c, s in dense}
        dense_rank = {c.id: i for i, (c, _) in enumerate(dense, 1)}
        lex_rank = {c.id: i for i, (c, _) in enumerate(lexical, 1)}
        fused = rrf([[c.id for c, _ in dense], [c.id for c, _ in lexical]], k=self.settings.rrf_k)
        return [Hit(chunk=by_id[cid], score=score, dense=dense_sim.get(cid, 0.0),
                    dense_rank=dense_rank.get(cid), lexical_rank=lex_rank.get(cid))
                for cid, score in fused[:k]]

    def _dense(self, query, chunk_of, policies: list[str], gens: list[str], scope: Scope, k: int) -> list:
        """Nearest rows within scope. One policy: a selective equality filter. Many: an
        unfiltered query post-filtered here, since Chroma's broad filters ($in over hundreds
        of generations, current == True) cost tens of milliseconds at a few hundred policies."""
        if len(policies) == 1:
            return query(k, self._where_one(policies[0], gens[0], scope))
        active = set(gens)

        def inside(row) -> bool:
            chunk = chunk_of(row)
            return (chunk.policy in policies and self.gens.get(chunk.policy) in active
                    and (chunk.current if scope.version is None else chunk.version == scope.version))

        rows = [r for r in query(k * self.settings.overfetch, None) if inside(r)]
        if len(rows) >= k:
            return rows[:k]
        version = {"current": True} if scope.version is None else {"version": scope.version}
        return query(k, {"$and": [{"gen": {"$in": gens}}, version]})

    def _where_one(self, policy_id: str, gen: str, scope: Scope) -> dict:
        policy = self.policies[policy_id]
        if len(policy.versions) < 2:
            return {"gen": gen}
        return {"$and": [{"gen": gen}, {"version": self.version_label(policy_id, scope.version) or ""}]}

    def _allowed_mask(self, policies: list[str], scope: Scope) -> np.ndarray:
        """Which lexical-index chunks are inside ``scope`` (vectorised: this runs per query)."""
        codes, columns = self._policy_codes, self._columns
        wanted = np.zeros(len(codes), dtype=bool)
        wanted[[codes[p] for p in policies if p in codes]] = True
        mask = wanted[columns["policy"]]
        return mask & (columns["current"] if scope.version is None else columns["version"] == scope.version)

