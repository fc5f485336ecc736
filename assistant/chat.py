"""The assistant: question → route → retrieve → select evidence → answer → cite.

One instance per process; it holds the sessions and is safe to call from several threads.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from collections.abc import Iterator

from assistant.answer import INJECTION_TEXT, abstention_text, citations_for, compose
from assistant.evidence import (KEEP_WITHIN, expand_list_intros, merge_evidence, naming_what_was_asked, of_preferred_type,
                                of_required_type, policy_statements, score_units, select, support, with_antecedents,
                                with_named_items, with_sibling_items)
from assistant.generate import GenerationFailed, Generator, check_citations
from assistant.guard import is_injection
from assistant.lexicon import expand_abbreviations, required_answer_type
from assistant.question import normalize_question, question_parts
from assistant.records import Answer, Hit, Scope
from assistant.retrieve import Retriever
from assistant.route import Route, choose_versions, route, topic_of
from assistant.session import Rewrite, SessionStore, Turn, rewrite

log = logging.getLogger("policychat.assistant")

ABSTAIN_BELOW = 0.50          # support needed to answer from one policy (calibrated on eval/gold.jsonl)
CROSS_ABSTAIN_BELOW = 0.60    # support needed for a policy to be part of a cross-policy answer
CHUNKS_PER_SEARCH = 6
CROSS_POLICIES = 5
CROSS_UNITS = 2
CROSS_CHUNKS = 4              # chunks searched per policy of a cross-policy question
PART_UNITS, PART_WITHIN = 2, 0.05  # passages added for each part of a question that asks two things
WIDE_UNITS = 400               # a policy's units searched for a required kind of answer none nearby has
TYPED_WITHIN = 0.30           # window of a question requiring a kind of answer (calibrated on eval/gold.jsonl)
NEAREST_UNITS = 12            # units found directly by similarity, besides those in the top chunks


class Assistant:
    def __init__(self, retriever: Retriever, embedder, chat_model=None, llm_timeout: float | None = None):
        self.retriever = retriever
        self.embedder = embedder
        self.generator = Generator(chat_model, llm_timeout or 20.0) if chat_model is not None else None
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
        if is_injection(question) or is_injection(rw.standalone):
            base.text, base.abstained, base.refused = INJECTION_TEXT, True, True
            base.timings["total_ms"] = _ms(started)
            return base, None, titles
        scope = self._scope(rw, policy, policies)
        base.policies = list(scope.policies or ())
        base.versions = scope.versions
        topic = topic_of(expand_abbreviations(rw.standalone), policies, scope.policies)
        vector = self.embedder.embed_query(topic)
        t_retrieve = time.perf_counter()
        if scope.policies is not None and len(scope.policies) == 1:
            per_policy = [self._single(topic, vector, scope)]
            threshold = ABSTAIN_BELOW
        else:
            per_policy = self._cross(topic, vector, scope)
            # Policies the user named get the single-policy bar; an open question a higher one.
            threshold = ABSTAIN_BELOW if scope.policies else CROSS_ABSTAIN_BELOW
        base.timings["retrieve_ms"] = _ms(t_retrieve)
        per_policy = [(pid, naming_what_was_asked(topic, ev)) for pid, ev in per_policy]
        base.support = round(max((support(ev) for _, ev in per_policy), default=0.0), 4)
        answered = [(pid, ev) for pid, ev in per_policy if ev and support(ev) >= threshold]
        answering = {pid for pid, _ in answered}
        silent = [titles[pid] for pid, _ in per_policy if pid not in answering]
        if not answered:
            asked = [titles[p] for p in scope.policies] if scope.policies else list(titles.values())
            base.text, base.abstained = abstention_text(asked), True
            base.timings["total_ms"] = _ms(started)
            return base, None, titles
        sources = self.retriever.sources
        parts = [(titles[pid], citations_for(ev, sources, self.retriever.section_at)) for pid, ev in answered]
        base.citations = [c for _, cites in parts for c in cites]
        base.text = compose(parts, silent if scope.policies is None or len(scope.policies) > 1 else [])
        base.policies = [pid for pid, _ in answered]
        base.timings["total_ms"] = _ms(started)
        return base, list(base.citations), titles

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
        scored = self._scored(question, vector, scope)
        # Passages that hold the kind of answer the question requires (a time for "how long do
        # you keep …", a place for "do you transfer … abroad") are few and on topic: each of
        # them close enough answers in part ("while you have an account", "a copy after you
        # delete it"), so they get a wider window.
        typed = required_answer_type(question) is not None
        chosen = select(scored, within=TYPED_WITHIN if typed else None)
        if len(scope.versions) > 1:
            # Comparing versions ("when did the old one take effect and when did the new one
            # replace it?"): each version answers for itself, as each policy does across policies.
            for version in sorted({e.chunk.version for e in scored}, key=str):
                own = select([e for e in scored if e.chunk.version == version])
                if support(own) >= ABSTAIN_BELOW:
                    chosen = merge_evidence(chosen, own)
        parts = question_parts(question)
        if len(parts) > 1 and support(chosen) >= ABSTAIN_BELOW:
            # A question that asks two things gets the best passage for each part too: the
            # whole question's passages tend to answer only its first half.
            for i, part in enumerate(parts):
                # A later part leans on the first for its subject ("… and who else receives it?").
                query = part if i == 0 else f"{part} ({parts[0]})"
                scored_part = self._scored(query, self.embedder.embed_query(query), scope)
                if i > 0 and scored_part:
                    # Borrowing the first part's subject brings back the first part's answer;
                    # a later part asks for something else, when something else comes close.
                    have = {(e.unit.chunk_id, e.unit.start) for e in chosen}
                    top = scored_part[0].score
                    scored_part = [e for e in scored_part if (e.unit.chunk_id, e.unit.start) not in have
                                   and e.score >= top - KEEP_WITHIN]
                best = select(scored_part, PART_UNITS, within=PART_WITHIN)
                if support(best) >= ABSTAIN_BELOW:
                    chosen = merge_evidence(chosen, best)
        return pid, self._completed(question, chosen)

    def _completed(self, question: str, chosen: list):
        """The chosen passages with what they need to be read alone: the other items of a list
        of what is collected, the sentence an anaphor points back to, the names listed under a
        description, a list's items for its intro."""
        chosen = with_sibling_items(question, chosen, self.retriever.store, self.retriever.sources)
        chosen = with_antecedents(chosen, self.retriever.store)
        chosen = with_named_items(question, chosen, self.retriever.store, self.retriever.units_following,
                                  self.retriever.sources)
        chosen = expand_list_intros(chosen, self.retriever.store, self.retriever.units_following,
                                    self.retriever.sources, required_answer_type(question))
        return sorted(chosen, key=lambda e: (e.chunk.policy, e.unit.start))  # read in the policy's order

    def _scored(self, question: str, vector, scope: Route):
        """Candidate passages of the scope's one policy (in each version searched), best first."""
        return self._candidates(question, vector, scope.policies[0], scope.versions, CHUNKS_PER_SEARCH)

    def _candidates(self, question: str, vector, pid: str, versions, chunks: int, wide: bool = True):
        hits: list[Hit] = []
        nearest = []
        for version in versions:
            hits.extend(self.retriever.search(question, Scope((pid,), version), chunks, vector))
            nearest.extend(self.retriever.search_units(Scope((pid,), version), NEAREST_UNITS, vector))
        centrality = self.retriever.centrality(pid)

        def candidates(in_chunks: list[Hit], units: list) -> list:
            return of_required_type(question, policy_statements(
                score_units(question, vector, in_chunks, self.retriever.store, self.retriever.idf, units, centrality)))

        scored = candidates(hits, nearest)
        required = required_answer_type(question)
        if not scored and required is not None and wide:
            # None of the nearby passages holds what the question asks for ("a sale of personal
            # information" for "do you sell my data to third parties?"): look through the policy.
            far = [row for version in versions
                   for row in self.retriever.search_units(Scope((pid,), version), WIDE_UNITS, vector)
                   if required.search(row[0].text)]
            scored = candidates([], far)
        return of_preferred_type(question, scored, ABSTAIN_BELOW)

    def _cross(self, question: str, vector, scope: Route):
        if scope.policies is None:
            ranked = self.retriever.search(question, Scope(None), 30, vector)
            candidates = list(dict.fromkeys(h.chunk.policy for h in ranked))[:CROSS_POLICIES]
            candidates += [p for p in self.retriever.policies if p not in candidates][:max(0, CROSS_POLICIES - len(candidates))]
        else:
            candidates = list(scope.policies)
        out = []
        for pid in candidates:
            # not searched wide: across several policies that would cost a full pass per policy
            scored = self._candidates(question, vector, pid, (None,), CROSS_CHUNKS, wide=False)
            out.append((pid, self._completed(question, select(scored, CROSS_UNITS, within=0.03))))
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
