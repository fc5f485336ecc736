"""Conversations: follow-up questions carry the policy, version and topic of their session only.

End-to-end tests use the real model and index; the rewrite rules are also tested on their own.
"""
from __future__ import annotations

import pytest

from assistant.session import Rewrite, Session, SessionStore, Turn, rewrite

FIRST = "who receives my payment data?"
WHY = "and why do they need it?"


@pytest.fixture
def assistant(ctx):
    """A fresh extractive assistant (fresh sessions) over the shared index."""
    from assistant.pipeline import Assistant

    return Assistant(ctx.retriever, ctx.embedder)


def cited_policies(answer) -> set[str]:
    return {c.policy for c in answer.citations}


def quotes(answer) -> str:
    return " ".join(c.quote for c in answer.citations).lower()


# --- end to end -----------------------------------------------------------------------------------
def test_follow_up_keeps_the_policy_and_topic(assistant, ctx):
    first = assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    assert not first.abstained and "stripe" in quotes(first)
    follow = assistant.ask(WHY, session_id="s1")
    assert follow.question == WHY
    assert follow.standalone_question.startswith(WHY)
    assert "payment" in follow.standalone_question  # the topic came along
    assert follow.policies == ["alipartnership"]
    assert follow.abstained is False
    assert cited_policies(follow) == {"alipartnership"}
    assert "fraud screening" in quotes(follow)
    for c in follow.citations:
        assert c.quote == ctx.retriever.sources[c.policy][c.start:c.end]


def test_what_about_another_policy_asks_the_last_question_of_it(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    switched = assistant.ask("what about aliexpress?", session_id="s1")
    assert switched.standalone_question == FIRST
    assert switched.policies == ["aliexpress"]
    assert switched.abstained is False
    assert cited_policies(switched) == {"aliexpress"}
    assert "payment" in quotes(switched)


def test_switch_after_a_follow_up_keeps_the_rewritten_topic(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    follow = assistant.ask(WHY, session_id="s1")
    switched = assistant.ask("what about aliexpress?", session_id="s1")
    assert switched.standalone_question == follow.standalone_question
    assert cited_policies(switched) == {"aliexpress"}
    assert "payment" in quotes(switched)


def test_sessions_are_independent(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    other = assistant.ask(WHY, session_id="s2")
    assert other.standalone_question == WHY
    assert other.policies != ["alipartnership"]
    fresh = assistant.ask("what about aliexpress?", session_id="s3")
    assert fresh.standalone_question == "what about aliexpress?"
    # and s1 still carries after the others were used
    assert assistant.ask(WHY, session_id="s1").policies == ["alipartnership"]


def test_without_a_session_nothing_is_carried(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    alone = assistant.ask(WHY)
    assert alone.standalone_question == WHY
    assert alone.policies != ["alipartnership"]


def test_separate_assistants_do_not_share_sessions(assistant, ctx):
    from assistant.pipeline import Assistant

    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    other = Assistant(ctx.retriever, ctx.embedder)
    assert other.ask(WHY, session_id="s1").standalone_question == WHY


def test_explicit_policy_beats_the_carried_one(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    answer = assistant.ask(WHY, policy="podpartner", session_id="s1")
    assert answer.policies == ["podpartner"]
    assert cited_policies(answer) <= {"podpartner"}


def test_a_new_standalone_question_is_not_scoped_by_the_session(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    question = "which companies send my data to the US or China?"
    answer = assistant.ask(question, session_id="s1")
    assert answer.standalone_question == question
    assert {"alibaba", "aliexpress"} <= cited_policies(answer)


def test_turns_are_recorded_and_clear_forgets_them(assistant):
    assistant.ask(FIRST, policy="alipartnership", session_id="s1")
    assistant.ask(WHY, session_id="s1")
    turns = assistant.sessions.get("s1").turns
    assert [t.question for t in turns] == [FIRST, WHY]
    assert turns[0].policies == ("alipartnership",)
    assert turns[1].standalone.startswith(WHY)
    assert turns[1].answer
    assistant.sessions.clear("s1")
    assert assistant.ask(WHY, session_id="s1").standalone_question == WHY


@pytest.mark.parametrize("follow_up,quoted", [
    pytest.param("and what did it say about cookies?", "cookies", id="the-words-say-so"),
    pytest.param("could they charge a fee for data requests?", "charge you a fee", id="carried")])
def test_follow_up_stays_on_the_version_of_the_conversation(assistant, follow_up, quoted):
    first = assistant.ask("in the 2018 version of alibaba's policy what did it say about minors?", session_id="v")
    assert {c.version for c in first.citations} == {"2018-05-25"}
    follow = assistant.ask(follow_up, session_id="v")
    assert follow.policies == ["alibaba"]
    assert {c.version for c in follow.citations} == {"2018-05-25"}
    assert quoted in quotes(follow)


# --- the rewrite rules ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def policies(ctx):
    return ctx.retriever.policies


def session_after(question: str, policies_=("alipartnership",), versions=(None,), standalone=None) -> Session:
    return Session("t", [Turn(question, standalone or question, policies_, versions, "an answer")])


def test_no_session_or_no_turns_leaves_the_question_alone(policies):
    assert rewrite(WHY, None, policies) == Rewrite(WHY)
    assert rewrite(WHY, Session("empty"), policies) == Rewrite(WHY)


@pytest.mark.parametrize("question,target", [
    ("what about aliexpress?", "aliexpress"),
    ("and what about podpartner?", "podpartner"),
    ("How about AliExpress", "aliexpress"),
    ("and for alopal?", "alopal"),
])
def test_switching_policy_reasks_the_last_standalone_question(policies, question, target):
    session = session_after("what did you say?", standalone=FIRST)
    assert rewrite(question, session, policies) == Rewrite(FIRST, (target,), None)


def test_a_switch_drops_the_old_policy_name_carried_in_the_topic(policies):
    """The carried standalone named the old policy ("(alopal email address)"); re-asked of
    another policy it must not route back to the old one."""
    session = session_after("and how long do they keep it?", ("alopal",),
                            standalone="and how long do they keep it? (alopal email address)")
    got = rewrite("what about podpartner?", session, policies)
    assert got.policies == ("podpartner",)
    assert "alopal" not in got.standalone.lower() and "email address" in got.standalone


def test_a_carried_topic_never_carries_a_policy_name(policies):
    session = session_after("what does alopal do with my email address?", ("alopal",))
    got = rewrite("and how long do they keep it?", session, policies)
    assert got.policies == ("alopal",)
    assert got.standalone == "and how long do they keep it? (email address)"


def test_what_about_the_old_version_reasks_the_last_question_of_it(policies):
    session = session_after("how long does alibaba keep my data?", ("alibaba",))
    got = rewrite("what about the 2018 version?", session, policies)
    assert got.policies == ("alibaba",) and got.versions == ("2018-05-25",)
    assert "keep my data" in got.standalone and "alibaba" not in got.standalone
    back = session_after(got.standalone, ("alibaba",), ("2018-05-25",))
    assert rewrite("and the current one?", back, policies).versions is None       # current again
    assert rewrite("what about cookies?", back, policies).versions == ("2018-05-25",)  # a new topic


def test_a_follow_up_conversation_answers_each_policy_it_switches_to(assistant):
    assistant.ask("how long does alibaba keep my data?", session_id="sw")
    old = assistant.ask("what about the 2018 version?", session_id="sw")
    assert {c.version for c in old.citations} == {"2018-05-25"}
    assert any("retain" in c.quote.lower() for c in old.citations), old.text
    other = assistant.ask("what about podpartner?", session_id="sw")
    assert other.policies == ["podpartner"] and other.citations
    assert any("retain" in c.quote.lower() for c in other.citations), other.text


@pytest.mark.parametrize("question", [
    "does aliexpress share my data with advertisers?",
    "what about aliexpress cookies and tracking pixels?",   # names a policy and brings its own topic
])
def test_question_naming_a_policy_with_its_own_topic_is_standalone(policies, question):
    assert rewrite(question, session_after(FIRST), policies) == Rewrite(question)


@pytest.mark.parametrize("question", [WHY, "do they keep it?", "also cookies?", "so what?"])
def test_leaning_follow_up_gets_the_last_topic_and_scope(policies, question):
    got = rewrite(question, session_after(FIRST), policies)
    assert got.standalone.startswith(question.rstrip())
    assert got.standalone.endswith("(receives payment)")
    assert got.policies == ("alipartnership",)
    assert got.versions == (None,)


def test_follow_up_with_its_own_topic_keeps_its_words_but_carries_the_scope(policies):
    question = "and do they share my credit card number with banks?"
    assert rewrite(question, session_after(FIRST), policies) == Rewrite(question, ("alipartnership",), (None,))


@pytest.mark.parametrize("question", [
    "how do I delete my account?",
    "Is it true that the company keeps every single record about my purchases for ever and ever?",
])
def test_question_that_does_not_lean_on_the_conversation_is_left_alone(policies, question):
    assert rewrite(question, session_after(FIRST), policies) == Rewrite(question)


def test_version_and_cross_policy_scope_are_carried(policies):
    old = session_after("what did the old alibaba policy say about minors?", ("alibaba",), ("2018-05-25",))
    got = rewrite("and what about cookies?", old, policies)
    assert got.policies == ("alibaba",) and got.versions == ("2018-05-25",)
    assert got.standalone.startswith("and what about cookies?") and "minors" in got.standalone
    cross = session_after("which of these use google analytics?", None)
    got = rewrite("and why?", cross, policies)
    assert got.policies is None
    assert got.standalone == "and why? (google analytics)"


def test_only_the_last_turn_counts(policies):
    session = Session("t", [Turn(FIRST, FIRST, ("alipartnership",), (None,)),
                            Turn("how do I contact you?", "how do I contact you?", ("podpartner",), (None,))])
    got = rewrite("and what about it?", session, policies)
    assert got.policies == ("podpartner",)
    assert "contact" in got.standalone and "payment" not in got.standalone


# --- the session store -----------------------------------------------------------------------------
def test_session_store_evicts_the_least_recently_used():
    store = SessionStore(max_sessions=2)
    store.get("a").turns.append(Turn("q", "q", None, (None,)))
    store.get("b")
    store.get("a")          # a is now the most recent
    store.get("c")          # evicts b
    assert store.get("a").turns, "a survived"
    assert store.get("b").turns == []


def test_idle_sessions_expire():
    store = SessionStore(ttl=-1.0)   # everything is already too old
    store.get("a").turns.append(Turn("q", "q", None, (None,)))
    assert store.get("a").turns == []
