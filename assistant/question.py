"""The one check every question passes before it reaches the pipeline."""
from __future__ import annotations

import re
import unicodedata

from index.errors import InvalidQuestion, QuestionTooLong
from index.settings import MAX_QUESTION_CHARS, AnswerSettings

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def normalize_question(text: object) -> str:
    """NFC, control/bidi characters removed, whitespace collapsed; empty or too long is refused."""
    if not isinstance(text, str):
        raise InvalidQuestion("the question must be text")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(f"the question is {len(text)} characters; the limit is {MAX_QUESTION_CHARS}")
    cleaned = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split())
    if not cleaned:
        raise InvalidQuestion("the question is empty")
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestion("the question has no words in it")
    return cleaned


# "…, and who else receives it?", "… and how do I call them": a second question joined on.
_JOINED_QUESTION = re.compile(
    r"(?i)\?\s+(?=\w)|,?\s+(?:and|&)\s+(?=(?:what|who|whom|whose|where|when|why|how|which|do|does|did|is|are"
    r"|can|could|will|would|should|whats|what's)\b)")


def question_parts(question: str, min_words: int = AnswerSettings.min_part_words) -> list[str]:
    """The questions joined in one ("What do you collect, and who receives it?" → two); a
    question that asks one thing comes back alone. Parts too short to ask anything stay joined."""
    parts = [p.strip(" ,;?") for p in _JOINED_QUESTION.split(question)]
    parts = [p for p in parts if p]
    if len(parts) < 2 or any(len(p.split()) < min_words for p in parts):
        return [question]
    return parts
