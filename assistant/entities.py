"""A small typed-entity tagger: the values a privacy question often asks for.

Durations ("2 years"), e-mail addresses, URLs, phone numbers, money, countries and regions,
ages ("under 13"), dates and named organisations (Stripe, Google Analytics, "Alibaba Group
Holding Limited"). Country names come from pycountry; the rest of the vocabulary lives in
assistant/data/entities.json. Pure text functions: no model, no state beyond compiled patterns.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.text import YEAR

DATA = Path(__file__).resolve().parent / "data" / "entities.json"
EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
KINDS = ("duration", "email", "url", "phone", "money", "country", "age", "date", "org")


@dataclass(frozen=True)
class Entity:
    kind: str
    start: int
    end: int
    text: str


def _unusual(name: str) -> bool:
    """A name of several words or with an inner capital (PayPal): no ordinary word in any case."""
    return " " in name or any(c.isupper() for c in name[1:])


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern]:
    vocab = json.loads(DATA.read_text(encoding="utf-8"))
    number = rf"(?:\d+(?:[.,]\d+)?|(?:{_alternation(vocab['number_words'])}))"
    units = _alternation(vocab["duration_units"])
    months = _alternation(vocab["months"])
    currencies = _alternation(vocab["currencies"])
    suffixes = _alternation(vocab["org_suffixes"])
    capital = r"[A-Z][\w&'.-]*"
    return {
        "email": re.compile(EMAIL),
        "url": re.compile(r"(?i)\b(?:https?://|www\.)[^\s)\]>\"']*[^\s)\]>\"'.,;:!?]"
                          r"|(?<![@\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|co|gov|edu|info|uk|de|fr|cn|eu)\b(?![@\w-])"),
        "phone": re.compile(r"(?<![\w.])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?!\w|[.-]\d)"),
        "money": re.compile(rf"[$€£¥]\s?\d[\d,.]*|\b\d[\d,.]*\s?(?:{currencies})\b"
                            r"|(?i:\bfree of charge\b|\b(?:a|no|any) (?:reasonable )?(?:fee|charge)s?\b)"),
        "duration": re.compile(rf"(?i)\b{number}\s*(?:\(\d+\)\s*)?(?:business |calendar |working )?(?:{units})s?\b"),
        "age": re.compile(r"(?i)\b(?:under|over|below|above|aged?|younger than|older than)\s+(?:the\s+age\s+of\s+)?\d{1,2}\b"
                          r"|\b\d{1,2}\s*(?:years?\s+(?:of\s+age|old)|\+)"
                          r"|\bage\s+of\s+(?:\w+\s+){0,2}\d{1,2}\b|\b(?:minors?|children|child|kids)\b"),
        "date": re.compile(rf"\b(?:{months})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{YEAR}\b"
                           rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{months})\.?,?\s+{YEAR}\b"
                           rf"|\b(?:{months})\.?\s+{YEAR}\b"
                           rf"|\b{YEAR}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}/\d{{1,2}}/(?:19|20)?\d{{2}}\b"
                           rf"|(?<![\d/]){YEAR}(?![\d/])"),
        "country": re.compile(rf"(?<![\w.])(?:{_alternation(_country_names() + vocab['regions'])})(?![\w])"),
        # Known names match in any case when they cannot be ordinary words ("google analytics",
        # "paypal"); single plain words ("Stripe", "Segment") only capitalised.
        "org": re.compile(rf"\b{capital}(?:\s+(?:{capital}|of|and|&))*\s+(?:{suffixes})(?![\w])"
                          rf"|(?i:\b(?:{_alternation([n for n in vocab['organisations'] if _unusual(n)])})\b)"
                          rf"|\b(?:{_alternation([n for n in vocab['organisations'] if not _unusual(n)])})\b"),
    }


@lru_cache(maxsize=1)
def _country_names() -> list[str]:
    import pycountry  # a data package: its JSON loads on first use

    names: set[str] = set()
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names.add(value)
    # a few short names are ordinary words in lower case; match names as capitalised
    return sorted(n for n in names if len(n) > 3)


def tag(text: str) -> list[Entity]:
    """Every typed entity in ``text``, in reading order (the same span may carry two kinds,
    "13 years" is a duration and, before "of age", an age)."""
    found = [Entity(kind, m.start(), m.end(), m.group(0))
             for kind, pattern in _patterns().items() for m in pattern.finditer(text)]
    found = [e for e in found if e.kind != "phone" or sum(ch.isdigit() for ch in e.text) >= 8]
    return sorted(found, key=lambda e: (e.start, e.kind))


def kinds_in(text: str) -> frozenset[str]:
    """The kinds of entity ``text`` holds."""
    return frozenset(e.kind for e in tag(text))
