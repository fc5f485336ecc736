"""The assistant: question → route → retrieve → select evidence → answer → cite.

One instance per process; it holds the sessions and is safe to call from several threads.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from collections.abc import Iterator

from assistant.answer import INJECTION_TEXT, abstention_text, citations_for, compose
import numpy as np

from assistant.evidence import (Evidence, expand_list_intros, merge_evidence, naming_the_organisations,
                                policy_statements, select_likely, with_antecedents)
from assistant.features import Question, answerable_features, candidate_features
from assistant.generate import Generator, check_citations
from assistant.guard import is_injection
from assistant.language import UNSUPPORTED_LANGUAGE_TEXT, LanguageDetector
from assistant.abbreviations import expand_abbreviations
from assistant.ranker import Ranker
from assistant.question import normalize_question, question_parts
from assistant.records import Answer, Scope
from assistant.retrieve import Retriever
from assistant.route import Route, choose_versions, is_comparison, route, topic_of
from assistant.session import Rewrite, SessionStore, Turn, rewrite
from index.errors import GenerationFailed
from index.settings import Settings

log = logging.getLogger("policychat.assistant")



class Assistant:
    def __init__(self, retriever: Retriever, embedder, chat_model=None, ranker: Ranker | None = None,
                 settings: Settings | None = None, language: LanguageDetector | None = None, changes=None):
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings or Settings()
        self.answering = self.settings.answer  # the answering knobs
        self.ranker = ranker if ranker is not None else Ranker.load(settings=self.answering)
        self.language = language or LanguageDetector()
        # (policy id, question) -> an answer from the aligned versions, or None: "what changed
        # about cookies?" is answered from the version diff (insights.Insights.answer_change)
        self.changes = changes
        self.generator = Generator(chat_model, self.settings.llm_timeout) if chat_model is not None else None
        self.sessions = SessionStore()

    @property
    def mode(self) -> str:
        return "llm" if self.generator else "extractive"

    # --- public ---------------------------------------------------------------------------
    def ask(self, question: str, policy: str | None = None, session_id: str | None = None) -> Answer:
        """Answer one question (optionally inside a conversation)."""
        answer, sources, titles = self._prepare(question, policy, session_id)
        if self.generator and sources is not None:
            try:
                generated = self.generator.generate(answer.standalone_question, sources, titles)
                answer = self._generated_answer(answer, generated)
            except GenerationFailed as exc:
                log.warning("generative answer failed, using the extractive one: %s", exc)
        self._remember(session_id, answer)
        return answer

    def stream(self, question: str, policy: str | None = None,
               session_id: str | None = None) -> Iterator[tuple[str, object]]:
        """("token", text) events as the answer is written, then ("answer", Answer)."""
        answer, sources, titles = self._prepare(question, policy, session_id)
        if self.generator and sources is not None:
            pieces: list[str] = []
            try:
                for piece in self.generator.stream(answer.standalone_question, sources, titles):
                    pieces.append(piece)
                    yield "token", piece
                answer = self._generated_answer(answer, check_citations("".join(pieces), sources))
            except GenerationFailed as exc:
                log.warning("generative stream failed, using the extractive answer: %s", exc)
                yield "reset", ""
                yield from _word_tokens(answer.text)
        else:
            yield from _word_tokens(answer.text)
        self._remember(session_id, answer)
        yield "answer", answer

    # --- pipeline -------------------------------------------------------------------------
    def _prepare(self, question: str, policy: str | None, session_id: str | None):
        """The extractive answer, plus the sources a generative model may use (None = don't)."""
        started = time.perf_counter()
        question = normalize_question(question)
        self.retriever.refresh()
        policies = self.retriever.policies
        if policy:
            self.retriever.check_policy(policy)
        session = self.sessions.get(session_id) if session_id else None
        rw = self._rewrite(question, session)
        titles = {pid: p.title for pid, p in policies.items()}
        base = Answer(text="", question=question, standalone_question=rw.standalone, mode="extractive")
        if not self.language.guess(question).is_english:
            return self._refused(base, UNSUPPORTED_LANGUAGE_TEXT, started), None, titles
        if is_injection(question) or is_injection(rw.standalone):
            return self._refused(base, INJECTION_TEXT, started), None, titles
        scope = self._scope(rw, policy, policies)
        base.policies = list(scope.policies or ())
        base.versions = scope.versions
        if self.changes and scope.policies and len(scope.policies) == 1 and is_comparison(rw.standalone):
            changed = self.changes(scope.policies[0], rw.standalone)
            if changed is not None and changed.citations:
                base.text, base.citations = changed.text, list(changed.citations)
                base.timings["total_ms"] = _ms(started)
                return base, list(base.citations), titles
        topic = topic_of(expand_abbreviations(rw.standalone), policies, scope.policies)
        vector = self.embedder.embed_query(topic)
        if is_injection(question, vector):  # steering in words no pattern knows
            return self._refused(base, INJECTION_TEXT, started), None, titles
        t_retrieve = time.perf_counter()
        if scope.policies is not None and len(scope.policies) == 1:
            per_policy = [self._single(topic, vector, scope)]
        else:
            per_policy = self._cross(topic, vector, scope)
        threshold = self.ranker.thresholds.abstain_below
        base.timings["retrieve_ms"] = _ms(t_retrieve)
        base.support = round(max((p for _, _, p in per_policy), default=0.0), 4)
        answered = [(pid, ev) for pid, ev, p in per_policy if ev and p >= threshold]
        answering = {pid for pid, _ in answered}
        silent = [titles[pid] for pid, _, _ in per_policy if pid not in answering]
        if not answered:
            asked = [titles[p] for p in scope.policies] if scope.policies else list(titles.values())
            base.text, base.abstained = abstention_text(asked), True
            base.timings["total_ms"] = _ms(started)
            return base, None, titles
        sources = self.retriever.sources
        parts = [(titles[pid], citations_for(ev, sources, self.retriever.section_at, self.answering))
                 for pid, ev in answered]
        base.citations = [c for _, cites in parts for c in cites]
        base.text = compose(parts, silent if scope.policies is None or len(scope.policies) > 1 else [])
        base.policies = [pid for pid, _ in answered]
        base.timings["total_ms"] = _ms(started)
        return base, list(base.citations), titles

    @staticmethod
    def _refused(base: Answer, text: str, started: float) -> Answer:
        """A question not answered from the policies at all (steering, another language);
        never carried into the conversation."""
        base.text, base.abstained, base.refused = text, True, True
        base.timings["total_ms"] = _ms(started)
        return base

    def _rewrite(self, question: str, session) -> Rewrite:
        rw = rewrite(question, session, self.retriever.policies)
        if self.generator and session and session.turns and rw.standalone != question:
            better = self.generator.rewrite([(t.question, t.answer) for t in session.turns], question)
            if better:
                return Rewrite(better, rw.policies, rw.versions)
        return rw

    def _scope(self, rw: Rewrite, policy: str | None, policies) -> Route:
        if policy:
            return route(rw.standalone, policies, explicit=policy)
        routed = route(rw.standalone, policies)
        if rw.policies and not routed.mentioned:
            versions = rw.versions or (None,)
            if len(rw.policies) == 1 and versions == (None,):
                versions = choose_versions(rw.standalone, policies[rw.policies[0]])
            return Route(rw.policies, versions, False)
        return routed

    def _single(self, question: str, vector, scope: Route):
        pid = scope.policies[0]
        ranked, answerable = self._ranked(question, vector, pid, scope.versions)
        chosen = select_likely(ranked, self.ranker.thresholds)
        if len(scope.versions) > 1:
            # Comparing versions ("when did the old one take effect and when did the new one
            # replace it?"): each version answers for itself, as each policy does across policies.
            for version in sorted({e.chunk.version for e in ranked}, key=str):
                chosen = merge_evidence(chosen, select_likely([e for e in ranked if e.chunk.version == version],
                                                              self.ranker.thresholds, max_units=1))
        parts = question_parts(question) if self.answering.question_parts else [question]
        if len(parts) > 1 and answerable >= self.ranker.thresholds.abstain_below:
            # A question that asks two things gets the best passage for each part too: the
            # whole question's passages tend to answer only its first half.
            for i, part in enumerate(parts):
                # A later part leans on the first for its subject ("… and who else receives it?").
                query = part if i == 0 else f"{part} ({parts[0]})"
                part_ranked, part_answerable = self._ranked(query, self.embedder.embed_query(query), pid,
                                                            scope.versions)
                if part_answerable >= self.ranker.thresholds.abstain_below:
                    chosen = merge_evidence(chosen, select_likely(part_ranked, self.ranker.thresholds, max_units=1))
        return pid, self._completed(question, chosen), answerable

    def _completed(self, question: str, chosen: list):
        """The chosen passages with what they need to be read alone: the sentence an anaphor
        points back to, a list's items for its intro."""
        s = self.answering
        if s.antecedents:
            chosen = with_antecedents(chosen, self.retriever.store)
        if s.list_intros:
            chosen = expand_list_intros(chosen, self.retriever.store, self.retriever.units_following,
                                        self.retriever.sources, s)
        return sorted(chosen, key=lambda e: (e.chunk.policy, e.unit.start))  # read in the policy's order

    def candidates(self, question: str, vector, pid: str, versions=(None,), chunks: int | None = None):
        """The policy's candidate units for a question with their features: (table, rows,
        features, the chunk hits, the Question), one block per version searched."""
        table = self.retriever.table(pid)
        current = self.retriever.version_label(pid, None)
        q = Question.of(question, vector, self.retriever.practice.question_probs(vector)[0])
        dense_all = table.vectors @ np.asarray(vector, dtype=np.float32) if len(table) else np.zeros(0, np.float32)
        out = []
        for version in versions:
            rows = table.rows_in(version, current)
            if not len(rows):
                continue
            hits = self.retriever.search(question, Scope((pid,), version), chunks or self.answering.chunks_per_search,
                                         vector)
            dense = np.full(len(table), -1.0, dtype=np.float32)
            dense[rows] = dense_all[rows]
            in_hits = {h.chunk.id for h in hits}
            nearest = rows[np.argsort(-dense[rows], kind="stable")[:self.answering.candidates]]
            picked = sorted(set(nearest.tolist()) | {i for i in rows.tolist() if table.units[i].chunk_id in in_hits})
            picked = np.array(picked, dtype=int)
            out.append((table, picked, candidate_features(q, table, picked, hits, self.retriever.idf, dense), hits, q))
        return out

    def _ranked(self, question: str, vector, pid: str, versions) -> tuple[list[Evidence], float]:
        """The policy's candidate units, most likely to answer first (score = P(answers)), and
        P(the policy answers the question at all)."""
        ranked: list[Evidence] = []
        answerable = 0.0
        for table, rows, features, _, q in self.candidates(question, vector, pid, versions):
            probs = self.ranker.probabilities(features)
            answerable = max(answerable, self.ranker.answerable(
                answerable_features(q, features, probs, [table.terms[i] for i in rows.tolist()])))
            for j, (i, p) in enumerate(zip(rows.tolist(), probs.tolist())):
                unit = table.units[i]
                chunk = self.retriever.chunks.get(unit.chunk_id)
                if chunk is not None:
                    ranked.append(Evidence(unit, chunk, p, float(features[j, 0]), float(features[j, 6])))
        ranked = policy_statements(ranked)
        if self.answering.require_named and ranked:
            ranked, answerable = naming_the_organisations(question, ranked, answerable)
        ranked.sort(key=lambda e: -e.score)
        return ranked, answerable

    def _cross(self, question: str, vector, scope: Route):
        if scope.policies is None:
            ranked = self.retriever.search(question, Scope(None), 30, vector)
            wanted = self.answering.cross_policies
            candidates = list(dict.fromkeys(h.chunk.policy for h in ranked))[:wanted]
            candidates += [p for p in self.retriever.policies if p not in candidates][:max(0, wanted - len(candidates))]
        else:
            candidates = list(scope.policies)
        out = []
        for pid in candidates:
            ranked, answerable = self._ranked(question, vector, pid, (None,))
            out.append((pid, self._completed(question, select_likely(ranked, self.ranker.thresholds,
                                                                     max_units=self.answering.cross_units)), answerable))
        return out

    def _generated_answer(self, extractive: Answer, generated) -> Answer:
        if not generated.citations:
            titles = [self.retriever.policies[p].title for p in extractive.policies] or ["policy"]
            return replace(extractive, text=abstention_text(titles), citations=[], abstained=True, mode="llm")
        return replace(extractive, text=generated.text, citations=generated.citations, abstained=False,
                       mode="llm")

    def _remember(self, session_id: str | None, answer: Answer) -> None:
        if not session_id or answer.refused:
            return  # a refused injection must not leak into the next turn's rewrite
        session = self.sessions.get(session_id)
        session.turns.append(Turn(answer.question, answer.standalone_question,
                                  tuple(answer.policies) or None, answer.versions, answer.text))


def _word_tokens(text: str) -> Iterator[tuple[str, str]]:
    words = text.split(" ")
    for i, word in enumerate(words):
        yield "token", word + (" " if i < len(words) - 1 else "")


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
