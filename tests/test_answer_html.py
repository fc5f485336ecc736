"""How the chat shows an answer: lists, per-policy titles, glued sentences — text stays inert."""
from __future__ import annotations

from ui.answer_html import answer_html, with_breaks
from ui.chat_html import esc

TITLES = ["AliExpress.com Privacy Policy", "Alibaba Privacy Policy"]


def test_bullets_become_a_list():
    html = answer_html("According to the Alibaba Privacy Policy: one. [1]\n- two. [2]\n- three. [3]", TITLES, esc)
    assert html.count("<li>") == 2 and '<ul class="pc-list">' in html
    assert "&#45; " not in html and "- two" not in html


def test_each_policy_gets_its_title_as_a_heading():
    html = answer_html("Alibaba Privacy Policy: a. [1]\nAliExpress.com Privacy Policy: b. [2]\n"
                       "The AloPal Privacy Policy does not say.", TITLES, esc)
    assert html.count('<strong class="pc-part-title">') == 2
    assert html.endswith("<p>The AloPal Privacy Policy does not say.</p>")


def test_glued_sentences_get_a_break_and_keep_their_text():
    html = with_breaks("relevant to you.They also. U.S. law. e-mail.com", esc)
    assert html.count('class="pc-join"') == 1
    assert html.replace('<span class="pc-join"></span>', "") == esc("relevant to you.They also. U.S. law. e-mail.com")


def test_markup_in_an_answer_stays_text():
    html = answer_html("- <img src=x onerror=alert(1)>\nAlibaba Privacy Policy: <script>x</script>", TITLES, esc)
    assert "<img" not in html and "<script" not in html
