"""Grounded answers with tight verbatim citations (real embedding model, real Chroma index).

Facts are checked in the concatenated citation quotes, never against exact answer wording, so
the tests pin what the assistant cites rather than how it phrases it.
"""
from __future__ import annotations

import json
import re

import pytest

from conftest import run_cli

POLICIES = ("alibaba", "aliexpress", "alipartnership", "alopal", "podpartner")
CURRENT_ALIBABA = "2019-01-17"
OLD_ALIBABA = "2018-05-25"
MAX_QUOTE_CHARS = 600
MAX_QUOTE_SENTENCES = 3
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]”*_]*\s+(?=\S)")
CONTRACT_KEYS = {"answer", "abstained", "citations"}
CITATION_KEYS = {"policy", "section", "quote", "start", "end", "version"}


# --- helpers ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def extractive(ctx):
    """The offline (extractive) assistant over the shared index, whatever POLICYCHAT_LLM says."""
    from assistant.pipeline import Assistant

    return Assistant(ctx.retriever, ctx.embedder)


@pytest.fixture(scope="module")
def cli_sources(corpus_db) -> dict[str, str]:
    """What `policychat policies --source ID` prints for every policy: citations index into it."""
    out = {}
    for pid in POLICIES:
        proc = run_cli("policies", "--source", pid, "--db", str(corpus_db))
        assert proc.returncode == 0, proc.stderr
        out[pid] = proc.stdout
    return out


@pytest.fixture(scope="module")
def units_per_chunk(ctx) -> dict[str, int]:
    from collections import Counter

    got = ctx.store.units.get(include=["metadatas"])
    return Counter(m["chunk_id"] for m in got["metadatas"])


def quotes_of(answer) -> str:
    return " ".join(" ".join(c.quote.split()) for c in answer.citations).lower()


def sentences(quote: str) -> list[str]:
    return [s for s in SENTENCE_END.split(" ".join(quote.split())) if s.strip()]


def assert_verbatim(answer, ctx, cli_sources) -> None:
    for c in answer.citations:
        assert c.quote, c
        assert c.quote == ctx.retriever.sources[c.policy][c.start:c.end], c
        assert c.quote == cli_sources[c.policy][c.start:c.end], c


def assert_tight(answer, ctx, units_per_chunk) -> None:
    """Each quote is a few sentences inside one chunk, never a whole multi-sentence chunk."""
    chunks = ctx.retriever.lexical.chunks
    for c in answer.citations:
        # a single sentence may run longer (a list written as one sentence); merged ones may not
        assert len(c.quote) <= MAX_QUOTE_CHARS or len(sentences(c.quote)) == 1, (len(c.quote), c.quote)
        assert len(sentences(c.quote)) <= MAX_QUOTE_SENTENCES, sentences(c.quote)
        home = [ch for ch in chunks if ch.policy == c.policy and ch.version == c.version
                and ch.start <= c.start and c.end <= ch.end]
        assert home, f"citation {c.start}:{c.end} lies in no single chunk of {c.policy}"
        for ch in home:
            if c.quote.strip() == ch.text.strip():
                assert units_per_chunk[ch.id] == 1, f"quote is the whole chunk {ch.id}"


@pytest.mark.parametrize("policy", POLICIES)
def test_broad_questions_cite_non_empty_quotes_in_the_policys_order(extractive, ctx, cli_sources, policy):
    """Lists, their intros, neighbours and the passages for each part of a question come
    together from several places: the quotes still read in the policy's order, none empty."""
    for question in ("what information do you collect?", "how do I contact you?",
                     "what do you collect and who do you share it with?"):
        answer = extractive.ask(question, policy=policy)
        starts = [c.start for c in answer.citations]
        assert all(c.start < c.end and c.quote.strip() for c in answer.citations), answer.citations
        assert starts == sorted(starts), (question, starts)
        assert_verbatim(answer, ctx, cli_sources)


def test_answer_text_names_the_policy_it_answers_from(extractive, ctx):
    answer = extractive.ask("who receives my payment data?", policy="alipartnership")
    title = ctx.retriever.policies["alipartnership"].title
    assert title in answer.text
    assert answer.standalone_question == answer.question == "who receives my payment data?"


OUT_OF_SCOPE = ["what's the weather in Paris", "write me a poem", "what's the capital of France?",
                "recommend me a good vpn pls"]


def assert_abstained(answer, lead: str) -> None:
    assert answer.abstained is True, answer.text
    assert answer.citations == []
    assert answer.text.startswith(lead), answer.text
    assert not re.search(r"\[\d+\]", answer.text)


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_question_is_refused(extractive, question):
    """Not about a privacy policy at all: refused by the off-topic screen (tests/test_offtopic.py)."""
    answer = extractive.ask(question)
    assert_abstained(answer, "I can only answer questions about what these privacy policies say")
    assert answer.refused
    assert answer.to_contract() == {"answer": answer.text, "abstained": True, "citations": []}


def test_question_naming_one_policy_abstains_for_that_policy(extractive):
    answer = extractive.ask("can kids use alipartnership?")
    assert_abstained(answer, "The policy does not say")
    assert "AliPartnership" in answer.text and not answer.refused


def test_an_abbreviation_is_spelled_out_before_retrieval(extractive):
    """The embedding model does not know "DPO"; the policy says "Data Protection Officer"."""
    answer = extractive.ask("who is the DPO", policy="aliexpress")
    assert not answer.abstained, answer.text
    assert any("Data Protection Officer" in c.quote for c in answer.citations), answer.text


def test_cross_policy_answers_complete_their_passages_like_single_policy_ones(extractive):
    """A list item chosen for one policy of several brings the intro that says how to ask."""
    answer = extractive.ask("how do I delete my account?")
    quotes = [c.quote for c in answer.citations if c.policy == "alipartnership"]
    assert "To delete your personal details from our system" in quotes, quotes
    assert any("support@alipartnership.com" in q and q.rstrip().endswith("ask:") for q in quotes), quotes


def test_cross_policy_question_answers_per_policy(extractive, ctx, cli_sources, units_per_chunk):
    answer = extractive.ask("which of these companies use google analytics?")
    assert answer.abstained is False
    cited = list(dict.fromkeys(c.policy for c in answer.citations))
    assert len(cited) >= 2, cited
    assert set(answer.policies) == set(cited)
    lines = answer.text.splitlines()
    for pid in cited:
        title = ctx.retriever.policies[pid].title
        assert any(line.startswith(f"{title}:") for line in lines), (title, answer.text)
        own = " ".join(c.quote for c in answer.citations if c.policy == pid).lower()
        assert "google analytics" in own, (pid, own)
    for c in answer.citations:
        assert c.version == ctx.retriever.version_label(c.policy, None)
    assert_verbatim(answer, ctx, cli_sources)
    assert_tight(answer, ctx, units_per_chunk)


def test_question_naming_a_policy_is_scoped_to_it(extractive):
    answer = extractive.ask("does alopal sell my info")
    assert answer.policies == ["alopal"]
    assert {c.policy for c in answer.citations} == {"alopal"}
    assert "never rent or sell" in quotes_of(answer)


# --- versions -----------------------------------------------------------------------------------
def old_part_start(ctx) -> int:
    """Where the 2018 text begins in the alibaba source (the file holds both versions)."""
    sections = ctx.retriever.policies["alibaba"].sections
    start = min(s.start for s in sections if s.version == OLD_ALIBABA)
    assert max(s.end for s in sections if s.version == CURRENT_ALIBABA) <= start
    assert "Old\u00a0Version" in ctx.retriever.sources["alibaba"][max(0, start - 200):start + 200]
    return start


@pytest.mark.parametrize("question,policy", [
    ("how long do you keep my data?", "alibaba"),
    ("how long does alibaba keep my data?", None),
    ("does alibaba use my data for machine learning?", None),
])
def test_plain_question_cites_the_current_version(extractive, ctx, question, policy):
    answer = extractive.ask(question, policy=policy)
    assert answer.abstained is False
    assert {c.version for c in answer.citations} == {CURRENT_ALIBABA}
    assert all(c.start < old_part_start(ctx) for c in answer.citations)


def test_used_to_as_in_purpose_is_not_a_question_about_the_past(extractive):
    """'used to train' is a purpose, not the past: the current version answers."""
    answer = extractive.ask("is my alibaba data used to train machine learning?")
    assert answer.abstained is False
    assert {c.version for c in answer.citations} == {CURRENT_ALIBABA}
    assert "machine learning" in quotes_of(answer)


def test_used_to_say_is_a_question_about_the_past(extractive):
    answer = extractive.ask("what did alibaba's policy used to say about minors?")
    assert answer.abstained is False
    assert {c.version for c in answer.citations} == {OLD_ALIBABA}
    assert "minors" in quotes_of(answer)


# --- errors and the contract --------------------------------------------------------------------
def test_unknown_policy_raises(extractive):
    from index.errors import UnknownPolicy

    with pytest.raises(UnknownPolicy, match="unknown policy 'nosuch'"):
        extractive.ask("how long do you keep my data?", policy="nosuch")
    with pytest.raises(ValueError):  # UnknownPolicy is a ValueError for callers that catch those
        extractive.ask("how long do you keep my data?", policy="Alibaba")


def test_contract_has_exactly_the_documented_keys(extractive, ctx):
    for question, policy in [("who receives my payment data?", "alipartnership"),
                             ("which of these companies use google analytics?", None),
                             ("write me a poem", None)]:
        contract = json.loads(json.dumps(extractive.ask(question, policy=policy).to_contract()))
        assert set(contract) == CONTRACT_KEYS
        assert isinstance(contract["answer"], str) and contract["answer"]
        assert isinstance(contract["abstained"], bool)
        for c in contract["citations"]:
            assert set(c) == CITATION_KEYS
            assert isinstance(c["start"], int) and isinstance(c["end"], int) and c["start"] < c["end"]
            assert isinstance(c["version"], (str, type(None)))
            assert ctx.retriever.sources[c["policy"]][c["start"]:c["end"]] == c["quote"]


def test_undated_policy_cites_version_none(extractive):
    contract = extractive.ask("does alopal sell my info", policy="alopal").to_contract()
    assert contract["citations"] and all(c["version"] is None for c in contract["citations"])


