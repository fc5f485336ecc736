"""The assistant's steps and seams (assistant/pipeline.py, assistant/seams.py): a step or the
generator is replaced through the public seam, and the rest of the pipeline is the real one."""
from __future__ import annotations

from types import SimpleNamespace

from assistant.evidence import Evidence
from assistant.generate import Generated
from assistant.ask_state import AskState, PolicyEvidence
from assistant.pipeline import Assistant

POLICY = "alipartnership"


def test_the_steps_run_in_order_until_one_settles_the_answer():
    retriever = SimpleNamespace(policies={}, refresh=lambda: None, check_policy=lambda pid: None)
    assistant = Assistant(retriever, embedder=None)
    ran: list[str] = []

    def step(name: str, settles: bool = False):
        def run(state: AskState) -> AskState:
            ran.append(name)
            state.done = settles
            state.answer.text = name
            return state
        return run

    assistant.steps = {"first": step("first"), "second": step("second", settles=True), "third": step("third")}
    state = assistant.run("  what do you   collect? ")
    assert ran == ["first", "second"]
    assert state.question == "what do you collect?"          # normalised before any step
    assert state.answer.text == "second" and "total_ms" in state.answer.timings


def test_a_replaced_evidence_step_is_what_the_answer_cites(ctx):
    retriever = ctx.retriever
    retriever.refresh()
    table = retriever.table(POLICY)
    unit = next(u for u in table.units if "Stripe" in u.text)
    chunk = retriever.chunk(unit.chunk_id)

    def stripe_only(state: AskState) -> AskState:
        state.evidence = [PolicyEvidence(POLICY, [Evidence(unit, chunk, 0.99, 0.5, 0.5)], 1.0)]
        return state

    assistant = Assistant(retriever, ctx.embedder)
    assistant.steps["evidence"] = stripe_only
    answer = assistant.ask("how long do you keep my data?", policy=POLICY)
    assert not answer.abstained
    assert [(c.start, c.end) for c in answer.citations] == [(unit.start, unit.end)]
    assert answer.citations[0].quote == retriever.source_text(POLICY)[unit.start:unit.end]
    # the real evidence step answers the same question from other passages
    real = Assistant(retriever, ctx.embedder).ask("how long do you keep my data?", policy=POLICY)
    assert [(c.start, c.end) for c in real.citations] != [(unit.start, unit.end)]


class FakeGenerator:
    """An AnswerGenerator that cites the extractive answer's first source."""

    def __init__(self):
        self.calls: list[tuple[str, list, dict]] = []

    def generate(self, question, sources, titles) -> Generated:
        self.calls.append((question, list(sources), dict(titles)))
        return Generated("They pay through a payment processor [1].", [sources[0]], [])

    def stream(self, question, sources, titles):
        yield "They pay [1]."

    def rewrite(self, history, question):
        return None


def test_a_generator_given_through_the_seam_writes_the_answer(ctx):
    fake = FakeGenerator()
    extractive = Assistant(ctx.retriever, ctx.embedder).ask("who receives my payment data?", policy=POLICY)
    answer = Assistant(ctx.retriever, ctx.embedder, generator=fake).ask("who receives my payment data?",
                                                                        policy=POLICY)
    assert answer.mode == "llm" and answer.text == "They pay through a payment processor [1]."
    assert answer.citations == extractive.citations[:1]
    (question, sources, titles), = fake.calls
    assert question == "who receives my payment data?" and sources == extractive.citations
    assert POLICY in titles


def test_units_come_from_the_loaded_table_as_the_store_gives_them(ctx):
    retriever = ctx.retriever
    retriever.refresh()
    chunk_ids = sorted({u.chunk_id for u in retriever.table(POLICY).units})
    assert chunk_ids
    for chunk_id in chunk_ids:
        in_table = [u for u in retriever.table(POLICY).units if u.chunk_id == chunk_id]
        rows, _ = retriever.store.unit_rows_of(retriever.store.generations()[POLICY])
        stored = sorted((u for u, _ in rows if u.chunk_id == chunk_id), key=lambda u: u.start)
        assert in_table == stored and all(isinstance(u.opens, bool) for u in stored)  # stored, not filled in
    assert retriever.layout(POLICY).units is retriever.table(POLICY).units
