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
    from assistant.chat import Assistant

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


# --- answerable questions over all five policies -----------------------------------------------
ANSWERABLE = [
    # (policy, question, facts that must appear in the cited quotes)
    ("alipartnership", "who receives my payment data?", ["stripe"]),
    ("alipartnership", "is alipartnership gdpr compliant??", ["gdpr", "compliant"]),
    ("alipartnership", "which employees can see my personal info?", ["limited number", "strictly confidential"]),
    ("alipartnership", "how is my info protected at alipartnership", ["secure servers", "username and password"]),
    ("alipartnership", "why do u need my payment details", ["fraud screening"]),
    # the item says what to ask for, its list intro where to send it
    ("alipartnership", "how do I delete my account?", ["support@alipartnership.com", "delete your personal details"]),
    ("alipartnership", "When was the AliPartnership privacy policy last revised?", ["may 24, 2018"]),
    ("podpartner", "how many days do i wait for an answer to an access request?", ["one month"]),
    ("podpartner", "how do I contact you?", ["service@podpartner.com"]),
    ("podpartner", "Does PODpartner encrypt personal information?", ["encrypt"]),
    ("podpartner", "does podpartner share my data with lawyers", ["legal advisors"]),
    ("podpartner", "who gets my payment info at podpartner", ["payment processing", "fraud detection"]),
    ("alopal", "does alopal sell my info", ["never rent or sell"]),
    ("alopal", "are my sessions with a pal recorded on video?", ["never video recorded"]),
    ("alopal", "do you guys collect health data", ["health-related data"]),
    ("alopal", "can kids use this?", ["age of 18", "parental consent"]),
    ("alopal", "who handles my card details when I pay for a session", ["third-party payment processors"]),
    ("aliexpress", "email for aliexpress data protection officer?", ["dataprotection.ae@aliexpress.com"]),
    ("aliexpress", "who processes payments on aliexpress", ["payment service providers"]),
    ("aliexpress", "will aliexpress staff ever ask me for my password?", ["never ask you for your password"]),
    ("aliexpress", "who is the data controller for aliexpress in europe", ["alibaba.com singapore"]),
    ("aliexpress", "can kids use this?", ["over 18"]),
    # "We do not treat this as a sale …" brings the sentence "this" points back to
    ("aliexpress", "im in california - does aliexpress sell my personal info?",
     ["sale of personal information", "analytics and advertising services"]),
    ("alibaba", "how do I contact you?", ["dataprotection@service.alibaba.com"]),
    ("alibaba", "how long do you keep my data?", ["legitimate business need"]),
    ("alibaba", "how do i change my cookie settings on alibaba", ["cookie preferences tool"]),
    ("alibaba", "Does Alibaba.com use Google Analytics?", ["google analytics"]),
    # "how do I contact you" needs an address: the intro holding it, not the topic words
    ("alipartnership", "how do I contact you?", ["support@alipartnership.com"]),
    ("alopal", "how do I contact you?", ["bottom of any page"]),
    # a list announced at the end of one chunk, its items in the next
    ("podpartner", "what technical data do u log about me", ["ip address", "device and browser"]),
    # "Some or all of these tools …" brings the sentence that names the tools
    ("alopal", "what tracking tools r on the alopal site", ["google tag manager"]),
    # an intro that states the answer stays beside the items that complete it
    ("alopal", "can alopal refuse my deletion request??", ["may deny your deletion request",
                                                          "comply with a legal obligation"]),
    # what the user can do, and the sentence after it that says how ("You can do this by …")
    ("podpartner", "how do I delete my account?", ["right to erasure", "service@podpartner.com"]),
    # "policy" is a word of the question here, not a version cue
    ("podpartner", "who is this policy for", ["all registered users and visitors"]),
    # an item of a list of what is collected brings the list's other items
    ("aliexpress", "what info do u collect when i buy stuff", ["phone number", "credit card", "passport"]),
    # a required kind of answer (a time, a place): every passage of that kind close enough
    ("podpartner", "how long do u keep my data", ["as long as you have a podpartner account",
                                                  "continue to store a copy"]),
    ("aliexpress", "do you transfer my data outside the EU?", ["countries outside of the eea", "stored in germany"]),
    # a question that asks two things: a passage for each
    ("alibaba", "What payment information does Alibaba.com collect, and who else receives it?",
     ["credit/debit card numbers", "payment service providers"]),
    ("aliexpress", "i live in seoul, who is aliexpress's privacy rep in korea and how do i call them",
     ["hyung kwon chung", "(02) 2193-4228"]),
]


def test_answerable_set_covers_every_policy():
    assert {p for p, _, _ in ANSWERABLE} == set(POLICIES)
    assert len(ANSWERABLE) >= 15


@pytest.mark.parametrize("policy,question,facts", ANSWERABLE,
                         ids=[f"{p}:{q[:40]}" for p, q, _ in ANSWERABLE])
def test_answer_cites_the_facts(extractive, ctx, cli_sources, units_per_chunk, policy, question, facts):
    answer = extractive.ask(question, policy=policy)
    assert answer.abstained is False, answer.text
    assert answer.citations, "an answer always cites"
    assert answer.mode == "extractive"
    assert answer.policies == [policy]
    quotes = quotes_of(answer)
    for fact in facts:
        assert fact in quotes, (fact, quotes)
    for c in answer.citations:
        assert c.policy == policy
        assert c.version == ctx.retriever.version_label(policy, None), "plain questions use the current version"
    # every [n] in the text refers to a citation, and every citation is referred to
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == set(range(1, len(answer.citations) + 1)), answer.text
    assert_verbatim(answer, ctx, cli_sources)
    assert_tight(answer, ctx, units_per_chunk)


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


# --- abstention ---------------------------------------------------------------------------------
UNANSWERABLE_IN_SCOPE = [
    ("alopal", "does alopal use facial recognition?"),
    ("alipartnership", "can kids use alipartnership?"),
    ("podpartner", "whats the minimum age for podpartner"),
    ("alibaba", "does alibaba.com have a bug bounty program for security researchers?"),
    ("alipartnership", "does alipartnership use the facebook pixel?"),
    # the topic is there, the value asked for is not: no duration, no price
    ("alipartnership", "how much does alipartnership charge to join the affiliate programme?"),
    ("alopal", "what's the weather in Paris"),
    ("podpartner", "write me a poem"),
    # the topic is there, the thing asked about by name is not: no insurer, no Stripe, no fingerprint
    ("podpartner", "does podpartner sell data to insurance companies?"),
    ("podpartner", "does podpartner use stripe or paypal for payments"),
    ("aliexpress", "does aliexpress store my fingerprint or face id data"),
]
OUT_OF_SCOPE = ["what's the weather in Paris", "write me a poem", "what's the capital of France?",
                "recommend me a good vpn pls"]


def assert_abstained(answer, lead: str) -> None:
    assert answer.abstained is True, answer.text
    assert answer.citations == []
    assert answer.text.startswith(lead), answer.text
    assert not re.search(r"\[\d+\]", answer.text)


@pytest.mark.parametrize("policy,question", UNANSWERABLE_IN_SCOPE, ids=[q[:40] for _, q in UNANSWERABLE_IN_SCOPE])
def test_unanswerable_question_about_one_policy_abstains(extractive, ctx, policy, question):
    answer = extractive.ask(question, policy=policy)
    assert_abstained(answer, "The policy does not say")
    assert ctx.retriever.policies[policy].title in answer.text


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_question_abstains(extractive, question):
    answer = extractive.ask(question)
    assert_abstained(answer, "The policies do not say")
    assert answer.to_contract() == {"answer": answer.text, "abstained": True, "citations": []}


def test_question_naming_one_policy_abstains_for_that_policy(extractive):
    answer = extractive.ask("what's alibaba's stock price today")
    assert_abstained(answer, "The policy does not say")
    assert "Alibaba" in answer.text


# --- several policies ---------------------------------------------------------------------------
def test_a_required_kind_of_answer_is_sought_through_the_whole_policy(extractive):
    """The only passage about selling personal data sits far from the question's nearest
    passages (in the California section): it must still be found."""
    answer = extractive.ask("do you sell my data to third parties?", policy="aliexpress")
    assert not answer.abstained, answer.text
    assert any("sale of personal information" in c.quote for c in answer.citations), answer.text


def test_do_you_sell_my_data_cites_only_passages_about_selling_data(extractive):
    """"Sell" in "goods you intend to sell" is another sense of the word: not an answer."""
    answer = extractive.ask("do you sell data?")
    assert answer.abstained is False
    assert [c.policy for c in answer.citations] == ["alopal"], answer.text
    assert "never rent or sell your Personal Information" in answer.citations[0].quote
    assert "does not say" in answer.text or "do not say" in answer.text


@pytest.mark.parametrize("policy", ["aliexpress", "alopal", "alibaba"])
def test_company_sold_finds_the_merger_clause(extractive, policy):
    """Users say "sold"; policies say "merger or acquisition" (lexicon)."""
    answer = extractive.ask("what happens to my data if the company is sold?", policy=policy)
    assert any("merger" in c.quote for c in answer.citations), answer.text


def test_an_abbreviation_is_spelled_out_before_retrieval(extractive):
    """The embedding model does not know "DPO"; the policy says "Data Protection Officer"."""
    answer = extractive.ask("who is the DPO", policy="aliexpress")
    assert not answer.abstained, answer.text
    assert any("Data Protection Officer" in c.quote for c in answer.citations), answer.text


def test_how_do_i_delete_cites_the_right_to_deletion_not_retention_after_it(extractive):
    answer = extractive.ask("How do I delete my account?", policy="aliexpress")
    quotes = [c.quote for c in answer.citations]
    assert any("request that we delete" in q or "request deletion" in q for q in quotes), quotes
    assert not any("will be retained" in q for q in quotes), quotes


def test_a_policy_silent_on_transfers_abroad_says_so(extractive):
    """PODpartner never mentions other countries; words like "transfer" elsewhere in it are not
    an answer."""
    answer = extractive.ask("does podpartner send my data abroad?")
    assert answer.abstained and not answer.citations, answer.text
    assert extractive.ask("does alopal move my info outside my country?").citations


def test_how_old_do_i_have_to_be_finds_the_age_limits(extractive):
    """"How old" is an age (not the old policy version), and the policies say "under the age of 18"."""
    answer = extractive.ask("how old do you have to be?")
    quotes = {c.policy: c.quote for c in answer.citations}
    assert "under the age of 18" in quotes.get("alopal", ""), answer.text
    assert "over 18" in quotes.get("aliexpress", ""), answer.text
    assert all(c.version != "2018-05-25" for c in answer.citations)


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


def test_cross_policy_transfers_name_countries_and_silent_policies(extractive, ctx, cli_sources):
    answer = extractive.ask("which companies send my data to the US or China?")
    assert answer.abstained is False
    cited = {c.policy for c in answer.citations}
    assert {"alibaba", "aliexpress"} <= cited
    for pid in ("alibaba", "aliexpress"):
        own = " ".join(c.quote for c in answer.citations if c.policy == pid).lower()
        assert "united states" in own and "china" in own, own
    silent = [ctx.retriever.policies[p].title for p in POLICIES if p not in cited]
    if silent:
        assert "not say" in answer.text.splitlines()[-1]
        for title in silent:
            assert title in answer.text.splitlines()[-1]
    assert_verbatim(answer, ctx, cli_sources)


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


@pytest.mark.parametrize("question,policy,fact", [
    ("in the 2018 version of alibaba's policy what did it say about minors?", None, "minors"),
    ("in the 2018 version of alibaba's policy what did it say about minors?", "alibaba", "minors"),
    ("under the old alibaba privacy policy could they charge a fee for data requests?", "alibaba",
     "charge you a fee"),
    # what is done to protect data, not the disclaimer that nothing is perfectly secure
    ("what security measures did the may 2018 alibaba policy describe", "alibaba",
     "commercially reasonable security methods"),
    # a cookie table's row: the name line above the description it names
    ("in the old 2018 alibaba policy what was the acs_usuc_t cookie for", "alibaba",
     "temporary tag to identify a session"),
])
def test_question_about_the_old_version_cites_it(extractive, ctx, cli_sources, question, policy, fact):
    answer = extractive.ask(question, policy=policy)
    assert answer.abstained is False
    assert answer.citations
    assert {c.version for c in answer.citations} == {OLD_ALIBABA}
    assert all(c.start >= old_part_start(ctx) for c in answer.citations)
    assert fact in quotes_of(answer)
    assert_verbatim(answer, ctx, cli_sources)


def test_a_question_about_two_versions_is_answered_from_each(extractive, ctx, cli_sources):
    answer = extractive.ask("when did the old alibaba policy take effect and when did the new one replace it?")
    assert {c.version for c in answer.citations} == {OLD_ALIBABA, CURRENT_ALIBABA}, answer.text
    quotes = quotes_of(answer)
    assert "may 25, 2018" in quotes and "january 17,2019" in quotes, quotes
    assert_verbatim(answer, ctx, cli_sources)


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
    from assistant.retrieve import UnknownPolicy

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


def test_which_companies_lists_the_names_under_the_description(extractive):
    """The marketing-cookie vendors are a run of "Name https://…" lines under the description."""
    answer = extractive.ask("which companies set marketing cookies on alibaba.com", policy="alibaba")
    quotes = quotes_of(answer)
    for name in ("criteo", "bing", "yahoo", "yandex"):
        assert name in quotes, quotes


def test_a_list_running_over_three_chunks_is_cited_to_its_end(extractive):
    answer = extractive.ask("What rights do I have under GDPR with PODpartner?", policy="podpartner")
    quotes = quotes_of(answer)
    for right in ("right of access", "right to erasure", "right of data portability", "right to object"):
        assert right in quotes, quotes


def test_a_thing_asked_about_by_name_must_be_named_by_each_policy_that_answers(extractive):
    answer = extractive.ask("who uses facebook for ads, alibaba or aliexpress or both")
    assert answer.abstained is False
    assert answer.citations and all("facebook" in c.quote.lower() for c in answer.citations), answer.citations
