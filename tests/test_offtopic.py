"""assistant.topic_screen: questions about anything but privacy policies are refused; privacy
questions, however odd they sound, never are (real embedding model, real index).

Measured by `python -m eval.train_topic` (threshold 0.935 at out-of-fold precision >= 0.99):
held-out precision 1.000 / recall 0.855; false refusals 0 of 3,809 PolicyQA questions, 0 of the
gold dev answerable questions, 0 of the dev paraphrases. The questions below were written for
this file, after training: none is in eval/offtopic_questions.jsonl.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answer import OFF_TOPIC_TEXT
from assistant.topic_screen import default_classifier, is_off_topic
from assistant.vector_classifier import VectorClassifier

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "eval" / "offtopic_questions.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]

OFF_TOPIC = [  # shopping, weather, trivia, code, maths, recipes, sport, travel, health, chit-chat, writing
    "could you suggest a decent antivirus for my android phone", "what's the forecast for rome on saturday",
    "how many legs does a spider have", "write a javascript function that sorts an array", "what's 12 squared",
    "give me a recipe for chocolate chip cookies", "who won the nba finals last year",
    "what are good things to do in amsterdam", "i think i sprained my ankle, what should i do",
    "which headphones should i buy for the gym", "tell me a fun fact about space", "hey how's it going",
    "how do i make my sourdough rise more", "who was napoleon", "is it worth learning rust in 2025",
    "what's the best budget smartphone right now", "how do i change the oil in a motorbike",
    "can you write me a limerick about a frog", "what is 3 to the power of 5",
    "how do i get to the louvre from the airport",
]
# Measured 19 of 20 (the cookie recipe passes and is answered from a policy's cookie sentences); the gate sits below.
MIN_REFUSED = 16
ODD_PRIVACY_QUESTIONS = [
    "if i order a pizza through the app who sees my address", "do you keep the songs i search for",
    "does the app know when i'm sleeping", "what do you do with my selfies", "will my boss find out what i buy",
    "is it safe to give you my passport scan", "do you share my weather location with advertisers",
    "can my little brother make an account", "if the company goes bust what happens to my details",
    "hw lnog do u keep my stuff", "do you track me when i'm on holiday abroad",
    "does the vpn you offer keep logs of the sites i visit", "my doctor uses your app, who can read my notes?",
    "do you tell google what i search for on your shop", "is my crypto wallet address shared",
    "do advertisers know my age", "does alopal's weather feature use my location?",
]


class CountingEmbedder:
    """The session's embedder, counting the questions it embeds."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def embed_query(self, text: str):
        self.calls += 1
        return self.inner.embed_query(text)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def assistant(ctx):
    from assistant.pipeline import Assistant

    return Assistant(ctx.retriever, CountingEmbedder(ctx.embedder))


def test_the_written_questions_were_not_trained_on():
    written = {r["text"].lower() for r in ROWS}
    assert not written & {q.lower() for q in OFF_TOPIC + ODD_PRIVACY_QUESTIONS}


def test_off_topic_questions_of_many_kinds_are_refused(assistant):
    answers = {q: assistant.ask(q) for q in OFF_TOPIC}
    refused = [q for q, a in answers.items() if a.refused]
    assert len(refused) >= MIN_REFUSED, sorted(set(OFF_TOPIC) - set(refused))
    for q in refused:
        a = answers[q]
        assert a.text == OFF_TOPIC_TEXT and a.abstained and a.citations == []
        assert a.to_contract() == {"answer": OFF_TOPIC_TEXT, "abstained": True, "citations": []}
    for q in set(OFF_TOPIC) - set(refused):  # a miss goes on as before: abstains or quotes a policy
        assert answers[q].text != OFF_TOPIC_TEXT


@pytest.mark.parametrize("question", ["recommend me a good vpn pls", "what's alibaba's stock price today",
                                      "whats the weather in paris tmrw"])
def test_named_and_misspelt_off_topic_questions_are_refused(assistant, question):
    assert assistant.ask(question).text == OFF_TOPIC_TEXT


def test_odd_privacy_questions_are_answered_or_abstained_never_refused(assistant):
    refused = [q for q in ODD_PRIVACY_QUESTIONS if assistant.ask(q).refused]
    assert refused == []


def test_the_screen_reads_the_vector_already_made(assistant):
    """One embedding per question, refused or not: the screen costs no second model call."""
    for question in ("what's the forecast for rome on saturday", "do you keep the songs i search for"):
        before = assistant.embedder.calls
        assistant.ask(question)
        assert assistant.embedder.calls == before + 1


def test_a_refused_question_is_not_carried_into_the_conversation(assistant):
    assistant.ask("how long does alopal keep my data?", session_id="ot-1")
    refused = assistant.ask("who won the nba finals last year", session_id="ot-1")
    assert refused.refused
    assert [t.question for t in assistant.sessions.get("ot-1").turns] == ["how long does alopal keep my data?"]


@pytest.mark.parametrize("follow_up", ["how much?", "what else", "give me an example", "who?"])
def test_a_short_follow_up_in_a_conversation_is_not_screened(assistant, follow_up):
    """Such fragments score as off-topic on their own; in a conversation they lean on the last turn."""
    assert assistant.ask(follow_up).text == OFF_TOPIC_TEXT  # no conversation: nothing to lean on
    session = f"ot-{follow_up}"
    assistant.ask("do you charge a fee for a data access request?", policy="alibaba", session_id=session)
    assert not assistant.ask(follow_up, session_id=session).refused


def test_classifier_file_and_vector_checks(embedder):
    clf = default_classifier()
    assert clf.version.startswith("topic-lr") and 0.5 < clf.threshold < 1.0
    p = clf.probability(embedder.embed_query("who won the nba finals last year"))
    q = clf.probability(embedder.embed_query("who do you share my purchase history with?"))
    assert 0.0 <= q < clf.threshold <= p <= 1.0
    with pytest.raises(ValueError, match="dimensional"):
        clf.probability(np.zeros(3))
    never = VectorClassifier(np.zeros(4, dtype=np.float32), intercept=-5.0, threshold=0.5, version="t")
    assert not is_off_topic(np.ones(4, dtype=np.float32), never)


def test_measured_numbers_in_the_classifier_file():
    """What the trainer measured and wrote beside the model: no refused privacy question."""
    measured = json.loads((ROOT / "assistant" / "data" / "offtopic_classifier.json").read_text(encoding="utf-8"))
    assert measured["train_oof"]["precision"] >= 0.99
    assert measured["heldout"]["precision"] >= 0.98 and measured["heldout"]["recall"] >= 0.8
    assert all(r["refused"] == 0 for r in measured["false_refusals"].values()), measured["false_refusals"]


def test_data_file_schema():
    assert all(set(r) == {"text", "label", "split"} for r in ROWS)
    assert all(r["label"] in ("off_topic", "on_topic") and r["split"] in ("train", "heldout") for r in ROWS)
    for split in ("train", "heldout"):
        assert {r["label"] for r in ROWS if r["split"] == split} == {"off_topic", "on_topic"}, split
    assert sum(r["label"] == "off_topic" for r in ROWS) >= 200
    assert sum(r["label"] == "on_topic" for r in ROWS) >= 100
    assert len({r["text"] for r in ROWS}) == len(ROWS) and all(r["text"].strip() == r["text"] for r in ROWS)


def test_no_test_split_question_is_in_the_data_file():
    texts = {r["text"].lower() for r in ROWS}
    for name in ("gold.jsonl", "paraphrases.jsonl"):
        rows = [json.loads(line) for line in (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
                if line.strip()]
        assert not texts & {r["question"].lower() for r in rows if r.get("split") == "test"}, name


def test_training_examples_and_the_shared_fit_are_reproducible():
    from eval.train_topic import GOLD_OFF_TOPIC, examples, without_policy_names
    from eval.vector_classifier import fit_logistic

    data = examples(with_policyqa=False)
    assert len({e.text for e in data}) == len(data)
    assert {e.text for e in data if e.source == "gold" and e.off_topic} >= {"recommend me a good vpn pls"}
    assert len(GOLD_OFF_TOPIC) == 4
    assert without_policy_names("does AliExpress's app share data with alibaba?") == "does app share data with ?"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    y = X[:, 0] + 0.3 * rng.normal(size=60) > 0
    first, second = (fit_logistic(X, y, "t", seed=3, c_grid=(1.0, 10.0)) for _ in range(2))
    assert first.params == second.params and np.array_equal(first.oof, second.oof)
