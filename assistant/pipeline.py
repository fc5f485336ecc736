"""The assistant: question → standalone question → screen → scope → evidence → citations.

``Assistant.steps`` are the named steps of one answer, run in order; each takes the
``AskState`` (assistant/ask_state.py) and returns it, and one that settles the answer early
(a refusal, the version diff) marks it done. Any step can be replaced
(``assistant.steps["evidence"] = mine``); the models and the index come in through the seams
of assistant/seams.py.
One instance per process; it holds the sessions and is safe to call from several threads.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from assistant.abbreviations import expand_abbreviations
from assistant.answer import INJECTION_TEXT, OFF_TOPIC_TEXT, abstention_text, citations_for, compose
from assistant.ask_state import AskState, PolicyEvidence, Step
from assistant.evidence import (Evidence, expand_list_intros, merge_evidence, naming_the_organisations,
                                select_likely, with_antecedents, without_planted_instructions)
from assistant.features import Question, answerable_features, candidate_features
from assistant.generate import Generated, Generator, check_citations
from assistant.guard import is_injection
from assistant.language import UNSUPPORTED_LANGUAGE_TEXT, LanguageDetector
from assistant.match import MatchModel
from assistant.question import normalize_question, question_parts
from assistant.ranker import Ranker
from assistant.records import Answer, Scope
from assistant.retrieve import Retriever
from assistant.route import Route, choose_versions, is_comparison, route, topic_of
from assistant.seams import AnswerGenerator, QueryEmbedder
from assistant.spelling import Speller
from assistant.topic_screen import can_judge, is_off_topic
from assistant.session import Rewrite, Session, SessionStore, Turn, rewrite
from index.errors import GenerationFailed
from index.records import Policy
from index.settings import Settings

log = logging.getLogger("policychat.assistant")



class Assistant:
    """Answers questions from the retriever's index; ``chat_model`` or ``generator`` adds a
    generative answer written from the extractive answer's citations. ``settings`` steer it
    (the answering knobs, the LLM timeout)."""

    def __init__(self, retriever: Retriever, embedder: QueryEmbedder, chat_model=None,
                 ranker: Ranker | None = None, settings: Settings | None = None,
                 language: LanguageDetector | None = None,
                 changes: Callable[[str, str], Any] | None = None, generator: AnswerGenerator | None = None,
                 match: MatchModel | None = None, speller: Speller | None = None):
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings or Settings()
        self.answering = self.settings.answer  # the answering knobs
        self.ranker = ranker if ranker is not None else Ranker.load(settings=self.answering)
        self.match = match if match is not None else MatchModel.load()  # the ranker's match features
        self.language = language or LanguageDetector(settings=self.answering)
        self.speller = speller or Speller()
        # (policy id, question) -> an answer from the aligned versions, or None: "what changed
        # about cookies?" is answered from the version diff (insights.Insights.answer_change)
        self.changes = changes
        if generator is None and chat_model is not None:
            generator = Generator(chat_model, self.settings.llm_timeout)
        self.generator = generator
        self.sessions = SessionStore()
        self.steps: dict[str, Step] = {
            "standalone": self.make_standalone,
            "screen": self.screen,
            "scope": self.scope,
            "changes": self.answer_changes,
            "embed": self.embed,
            "evidence": self.select_evidence,
            "cite": self.cite,
        }

    def warm(self) -> None:
        """Load what a plainly English question never needs, so that the first user question
        that does is not the slow one: the language model (0.5–1 s) and the English word list
        that spelling correction reads (65 ms)."""
        self.language.warm()
        self.speller.english  # noqa: B018 (a cached property: reading it loads the list)

    @property
    def mode(self) -> str:
        return "llm" if self.generator else "extractive"

    # --- public ---------------------------------------------------------------------------
    def ask(self, question: str, policy: str | None = None, session_id: str | None = None) -> Answer:
        """Answer one question (optionally inside a conversation)."""
        state = self.run(question, policy, session_id)
        answer = state.answer
        if self.generator and state.sources is not None:
            try:
                generated = self.generator.generate(answer.standalone_question, state.sources, state.titles)
                answer = self._generated_answer(answer, generated)
            except GenerationFailed as exc:
                log.warning("generative answer failed, using the extractive one: %s", exc)
        self._remember(session_id, answer)
        return answer

    def stream(self, question: str, policy: str | None = None,
               session_id: str | None = None) -> Iterator[tuple[str, object]]:
        """("token", text) events as the answer is written, then ("answer", Answer)."""
        state = self.run(question, policy, session_id)
        answer, sources = state.answer, state.sources
        if self.generator and sources is not None:
            pieces: list[str] = []
            try:
                for piece in self.generator.stream(answer.standalone_question, sources, state.titles):
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

    def run(self, question: str, policy: str | None = None, session_id: str | None = None) -> AskState:
        """The extractive answer: every step in turn, until one settles it."""
        started = time.perf_counter()
        question = normalize_question(question)
        self.retriever.refresh()
        if policy:
            self.retriever.check_policy(policy)
        state = AskState(question=question, policy=policy,
                         session=self.sessions.get(session_id) if session_id else None,
                         policies=self.retriever.policies,
                         answer=Answer(text="", question=question, standalone_question=question, mode="extractive"))
        for step in self.steps.values():
            state = step(state)
            if state.done:
                break
        state.answer.timings["total_ms"] = _ms(started)
        return state

    # --- the steps ------------------------------------------------------------------------
    def make_standalone(self, state: AskState) -> AskState:
        """A follow-up made standalone from the conversation ("and for how long?")."""
        state.rewrite = self._rewrite(state.question, state.session)
        state.answer.standalone_question = state.rewrite.standalone
        return state

    def screen(self, state: AskState) -> AskState:
        """Refuse what is not answered from the policies at all: another language, or
        instructions to the assistant."""
        if not self.language.guess(state.question).is_english:
            return _refused(state, UNSUPPORTED_LANGUAGE_TEXT)
        if is_injection(state.question) or is_injection(state.rewrite.standalone):
            return _refused(state, INJECTION_TEXT)
        return state

    def scope(self, state: AskState) -> AskState:
        """Which policies and versions the question is about."""
        state.route = self._scope(state.rewrite, state.policy, state.policies)
        state.answer.policies = list(state.route.policies or ())
        state.answer.versions = state.route.versions
        return state

    def answer_changes(self, state: AskState) -> AskState:
        """ "What changed about cookies?" of one policy: answered from its versions' diff."""
        scoped, question = state.route.policies, state.rewrite.standalone
        if self.changes and scoped and len(scoped) == 1 and is_comparison(question):
            changed = self.changes(scoped[0], question)
            if changed is not None and changed.citations:
                state.answer.text, state.answer.citations = changed.text, list(changed.citations)
                state.sources, state.done = list(state.answer.citations), True
        return state

    def embed(self, state: AskState) -> AskState:
        """The question's topic and its vector; steering in words no pattern knows is refused, and
        so is a question about nothing a privacy policy says (both read the vector just made)."""
        state.topic = self.topic(state.rewrite.standalone, state.route.policies)
        state.vector = self.embedder.embed_query(state.topic)
        if is_injection(state.question, state.vector):
            return _refused(state, INJECTION_TEXT)
        in_conversation = bool(state.session and state.session.turns)
        if can_judge(state.question, in_conversation) and is_off_topic(state.vector):
            return _refused(state, OFF_TOPIC_TEXT)
        return state

    def select_evidence(self, state: AskState) -> AskState:
        """Per policy asked: the passages that answer, read with what they need, and P(answers)."""
        started = time.perf_counter()
        scoped = state.route.policies
        if scoped is not None and len(scoped) == 1:
            state.evidence = [self._single(state.topic, state.vector, state.route)]
        else:
            state.evidence = self._cross(state.topic, state.vector, state.route)
        state.answer.timings["retrieve_ms"] = _ms(started)
        return state

    def cite(self, state: AskState) -> AskState:
        """The answer from the policies likely to answer, with citations; or the abstention."""
        answer, titles = state.answer, state.titles
        answer.support = round(max((p.answerable for p in state.evidence), default=0.0), 4)
        threshold = self.ranker.thresholds.abstain_below
        answered = [p for p in state.evidence if p.evidence and p.answerable >= threshold]
        answering = {p.policy for p in answered}
        silent = [titles[p.policy] for p in state.evidence if p.policy not in answering]
        scoped = state.route.policies
        if not answered:
            asked = [titles[p] for p in scoped] if scoped else list(titles.values())
            answer.text, answer.abstained = abstention_text(asked), True
            return state
        texts = {pid: self.retriever.source_text(pid) for pid in answering}
        parts = [(titles[p.policy], citations_for(p.evidence, texts, self.retriever.section_at, self.answering))
                 for p in answered]
        answer.citations = [c for _, cites in parts for c in cites]
        answer.text = compose(parts, silent if scoped is None or len(scoped) > 1 else [])
        answer.policies = [p.policy for p in answered]
        state.sources = list(answer.citations)
        return state

    def topic(self, question: str, scoped: tuple[str, ...] | None) -> str:
        """What retrieval looks for: abbreviations spelt out, the scoped policies' names left
        out, misspelt words corrected."""
        topic = topic_of(expand_abbreviations(question), self.retriever.policies, scoped)
        return self.speller.correct(topic, self.retriever.knows) if self.answering.spelling else topic

    # --- inside the steps -----------------------------------------------------------------
    def _rewrite(self, question: str, session: Session | None) -> Rewrite:
        rw = rewrite(question, session, self.retriever.policies)
        if self.generator and session and session.turns and rw.standalone != question:
            better = self.generator.rewrite([(t.question, t.answer) for t in session.turns], question)
            if better:
                return Rewrite(better, rw.policies, rw.versions)
        return rw

    def _scope(self, rw: Rewrite, policy: str | None, policies: dict[str, Policy]) -> Route:
        if policy:
            return route(rw.standalone, policies, explicit=policy)
        routed = route(rw.standalone, policies)
        if rw.policies and not routed.mentioned:
            versions = rw.versions or (None,)
            if len(rw.policies) == 1 and versions == (None,):
                versions = choose_versions(rw.standalone, policies[rw.policies[0]])
            return Route(rw.policies, versions, False)
        return routed

    def _single(self, question: str, vector: np.ndarray, scope: Route) -> PolicyEvidence:
        pid = scope.policies[0]
        ranked, answerable = self._ranked(question, vector, pid, scope.versions)
        chosen = select_likely(ranked, self.ranker.thresholds)
        if len(scope.versions) > 1:
            # Comparing versions ("when did the old one take effect and when did the new one
            # replace it?"): each version answers for itself, as each policy does across policies.
            for version in sorted({e.chunk.version for e in ranked}, key=str):
                chosen = merge_evidence(chosen, select_likely([e for e in ranked if e.chunk.version == version],
                                                              self.ranker.thresholds, max_units=1))
        parts = (question_parts(question, self.answering.min_part_words) if self.answering.question_parts
                 else [question])
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
        return PolicyEvidence(pid, self._with_context(chosen, ranked), answerable)

    def _with_context(self, chosen: list[Evidence], ranked: list[Evidence]) -> list[Evidence]:
        """The chosen passages of one policy with what they need to be read alone: the sentence
        an anaphor points back to, a list's items for its intro (those ``ranked`` rates likely)."""
        s = self.answering
        if s.antecedents:
            chosen = with_antecedents(chosen, self.retriever)
        if s.list_intros:
            scores = {(e.unit.chunk_id, e.unit.start): e.score for e in ranked}
            chosen = expand_list_intros(chosen, self.retriever, s, scores)
        return sorted(chosen, key=lambda e: (e.chunk.policy, e.unit.start))  # read in the policy's order

    def candidates(self, question: str, vector: np.ndarray, pid: str, versions=(None,),
                   chunks: int | None = None):
        """The policy's candidate units for a question with their features: (table, rows,
        features, the chunk hits, the Question), one block per version searched."""
        table = self.retriever.table(pid)
        current = self.retriever.version_label(pid, None)
        q = Question.of(question, vector, self.retriever.question_practice(vector), self.match.question(vector))
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
            out.append((table, picked, candidate_features(q, table, picked, hits, self.retriever, dense), hits, q))
        return out

    def _ranked(self, question: str, vector: np.ndarray, pid: str, versions) -> tuple[list[Evidence], float]:
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
                chunk = self.retriever.chunk(unit.chunk_id)
                if chunk is not None:
                    ranked.append(Evidence(unit, chunk, p, float(features[j, 0]), float(features[j, 6])))
        ranked = without_planted_instructions(ranked)
        if self.answering.require_named and ranked:
            ranked, answerable = naming_the_organisations(question, ranked, answerable)
        ranked.sort(key=lambda e: -e.score)
        return ranked, answerable

    def _cross(self, question: str, vector: np.ndarray, scope: Route) -> list[PolicyEvidence]:
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
            chosen = select_likely(ranked, self.ranker.thresholds, max_units=self.answering.cross_units)
            out.append(PolicyEvidence(pid, self._with_context(chosen, ranked), answerable))
        return out

    def _generated_answer(self, extractive: Answer, generated: Generated) -> Answer:
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


def _refused(state: AskState, text: str) -> AskState:
    """A question not answered from the policies at all (steering, another language, another
    subject); never carried into the conversation."""
    state.answer.text, state.answer.abstained, state.answer.refused = text, True, True
    state.done = True
    return state


def _word_tokens(text: str) -> Iterator[tuple[str, str]]:
    words = text.split(" ")
    for i, word in enumerate(words):
        yield "token", word + (" " if i < len(words) - 1 else "")


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
