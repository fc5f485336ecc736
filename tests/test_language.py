"""assistant.language: English questions pass, however short or misspelled; other languages do not."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.language import (UNSUPPORTED_LANGUAGE_TEXT, LanguageDetector, is_english, language_bearing,
                                language_of)

LABELLED = Path(__file__).resolve().parents[1] / "bench" / "data" / "language_questions.jsonl"

ENGLISH = [
    "Stripe?", "GDPR", "DPO email?", "cookies", "how long u keep my data", "Is my info sold?",
    "wat cookies do u use and why", "can i delet my acount", "trnasfer outside EEA?",
    "is alipartnership gdpr compliant??", "does alibaba.com use persistent cookies", "PayPal",
    "DataProtection.AE@aliexpress.com", "HOW LONG DO YOU KEEP MY DATA", "what does 'données' mean in the policy?",
    "whats ur privacy email", "Do you sell data to VKontakte or Yandex?", "ok", "?", "", "12345",
    "can I ignore the cookie banner?", "wen was the polcy updated",
]
OTHERS = [
    ("fr", "Est-ce que vous partagez mes données avec des annonceurs ?"),
    ("de", "Darf ich verlangen, dass meine Daten gelöscht werden?"),
    ("es", "¿Comparten mis datos con empresas de publicidad?"),
    ("it", "Posso chiedere la cancellazione dei miei dati personali?"),
    ("pt", "Vocês compartilham meus dados com anunciantes?"),
    ("nl", "Delen jullie mijn gegevens met adverteerders?"),
    ("zh", "你们会把我的数据分享给广告商吗？"),
    ("ja", "私のデータを広告主と共有しますか？"),
    ("ru", "Вы передаёте мои данные рекламодателям?"),
    ("ar", "هل تشاركون بياناتي مع المعلنين؟"),
]


@pytest.mark.parametrize("question", ENGLISH)
def test_english_user_questions_pass(question):
    assert is_english(question), language_of(question)


@pytest.mark.parametrize("code,question", OTHERS, ids=[c for c, _ in OTHERS])
def test_other_languages_are_flagged_and_named(code, question):
    guess = language_of(question)
    assert not guess.is_english and guess.code == code, guess


def test_tokens_without_language_are_stripped():
    text = language_bearing("Does PayPal or AliExpress get my GDPR data at a@b.com / alibaba.com in 2018?")
    for gone in ("PayPal", "AliExpress", "GDPR", "a@b.com", "alibaba.com", "2018"):
        assert gone not in text
    assert "Does" in text and "data" in text


def test_held_out_labelled_questions():
    """The test half of the bench set (the threshold was chosen on dev): measured 47/48."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    test = [r for r in rows if r["split"] == "test"]
    english = [r for r in test if r["lang"] == "en"]
    assert len(test) >= 40 and english
    assert all(is_english(r["text"]) for r in english), [r["text"] for r in english if not is_english(r["text"])]
    correct = sum(is_english(r["text"]) == (r["lang"] == "en") for r in test)
    assert correct / len(test) >= 0.95


def test_detector_is_injectable_and_lazy():
    detector = LanguageDetector(languages=("en", "fr"))
    assert detector._model is None
    assert not detector.guess("Combien de temps gardez-vous mes données personnelles ?").is_english
    assert is_english("how long do you keep my data", detector)


def test_reply_names_the_supported_language():
    assert "English" in UNSUPPORTED_LANGUAGE_TEXT


@pytest.mark.parametrize("text", ["%s%s%s%n {0} {{7*7}} ${7*7}", "'; DROP TABLE policies; --", "../../etc/passwd",
                                  "🍪🔒 cookies?", "cafe\u0301 loyalty data — do you share it?"])
def test_text_with_little_language_is_not_called_foreign(text):
    assert is_english(text), language_of(text)


def test_mostly_foreign_script_is_flagged_even_with_english_words():
    assert not is_english("数据 保留 多久? кто получает мои данные? cookies?")
