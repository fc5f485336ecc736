"""Misspelt questions: unknown words corrected before retrieval (assistant/spelling.py)."""
from __future__ import annotations

import pytest

from assistant.spelling import Speller, one_edit

ENGLISH = {"keep": 1000, "kept": 300, "data": 5000, "with": 9000, "which": 8000, "lawyers": 50, "lawes": 1}


def nothing_known(word: str) -> bool:
    return False


def test_one_edit_covers_the_four_kinds_of_slip():
    edits = one_edit("data")
    assert {"dta", "adta", "dota", "datta"} <= edits  # deletion, swap, change, insertion
    assert "data" not in edits
    assert "dtaa" not in one_edit("adta")  # two edits away


def test_an_unknown_word_becomes_the_most_frequent_english_word_one_edit_away():
    speller = Speller(ENGLISH)
    assert speller.correct("how long do you kepe my datta?", nothing_known) == "how long do you keep my data?"
    assert speller.correction("lawers", nothing_known) == "lawyers"   # not the rarer "lawes"


def test_words_english_or_the_policies_know_stay_as_they_are():
    speller = Speller(ENGLISH)
    assert speller.correction("kept", nothing_known) is None
    # "podpartner" is no English word, but the policies use it
    assert speller.correction("podpartner", lambda w: w == "podpartner") is None
    assert speller.correct("does alopal sell it", lambda w: w == "alopal") == "does alopal sell it"


def test_a_policy_word_is_the_correction_where_english_has_none():
    speller = Speller(ENGLISH)
    assert speller.correction("analitics", lambda w: w == "analytics") == "analytics"


def test_short_words_names_and_addresses_are_left_alone():
    speller = Speller(ENGLISH)
    # short words are abbreviations more often than slips: "dat" stays
    assert speller.correction("dat", nothing_known) is None
    text = "what was the acs_usuc_t cookie for, and is datta@kepe.com or www.datta.com yours? didn't kepe"
    fixed = speller.correct(text, nothing_known)
    assert "acs_usuc_t" in fixed and "datta@kepe.com" in fixed and "www.datta.com" in fixed
    assert "didn't" in fixed and fixed.endswith("keep")
    # nothing one edit away: the word stays
    assert speller.correction("zzzzqx", nothing_known) is None


def test_the_english_word_list_ships_with_an_installed_package():
    english = Speller().english
    assert len(english) > 80_000
    assert english["the"] > english["privacy"] > 0
    assert Speller().correction("infomation", nothing_known) == "information"


@pytest.mark.slow
def test_a_misspelt_question_cites_what_the_spelt_one_cites(ctx):
    """Real index and model: the slips no longer turn the question into "the policy does not say"."""
    from assistant.pipeline import Assistant

    assistant = Assistant(ctx.retriever, ctx.embedder)
    plain = assistant.ask("how long do you keep my personal data?", policy="podpartner")
    slipped = assistant.ask("how lnog do you kepe my persnal datta?", policy="podpartner")
    assert not plain.abstained and not slipped.abstained
    assert {(c.start, c.end) for c in slipped.citations} == {(c.start, c.end) for c in plain.citations}
    assert slipped.question == "how lnog do you kepe my persnal datta?"  # the user's words are kept


def test_without_the_word_list_policy_words_still_correct_slips(monkeypatch, caplog):
    import assistant.spelling as spelling

    monkeypatch.setattr(spelling, "WORD_LIST", "no-such-file.txt")
    speller = Speller()
    assert speller.english == {}
    assert "no English word list" in caplog.text
    assert speller.correction("coookies", lambda w: w == "cookies") == "cookies"
