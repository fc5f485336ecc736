"""Content terms of a text: lower-cased, stop words out, stemmed (for overlap and IDF)."""
from __future__ import annotations

import re
from functools import lru_cache

from assistant.bm25_index import STOPWORDS

_HYPHEN_RE = re.compile(r"(?<=[a-z])-(?=[a-z])")
WORD_RE = re.compile(r"[a-z0-9][a-z0-9'’@._-]*[a-z0-9]|[a-z0-9]")
_STOP = set(STOPWORDS)
# Words every privacy question shares; they say nothing about which passage answers it.
GENERIC = {"data", "information", "info", "personal", "policy", "privacy", "use", "used", "using",
           "company", "companies", "platform", "site", "website", "service", "services", "user",
           "users", "say", "says", "said", "thing", "stuff", "u", "ur", "r", "pls", "get", "gets",
           "give", "guys", "does", "do", "detail", "details", "mine"}


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:
        return None


def words(text: str) -> list[str]:
    text = text.lower().replace("’", "'").replace("\\_", "_").replace("\\*", "*")
    # "opt-out" and "third-party" are the words "opt out" and "third party" users type
    return WORD_RE.findall(_HYPHEN_RE.sub(" ", text))


def stem(word: str) -> str:
    st = _stemmer()
    return st.stemWord(word) if st else word


def term_sequence(text: str, drop_generic: bool = True) -> list[str]:
    """Stems of the meaningful words of ``text``, in order, repeats kept."""
    out: list[str] = []
    for w in words(text):
        w = re.sub(r"'s$", "", w.strip("'._-"))
        if not w or w in _STOP or (drop_generic and w in GENERIC) or len(w) < 2:
            continue
        out.append(stem(w))
    return out


def content_terms(text: str, drop_generic: bool = True) -> list[str]:
    """Stems of the meaningful words of ``text``, in order, without duplicates."""
    return list(dict.fromkeys(term_sequence(text, drop_generic)))


def term_pairs(text: str, drop_generic: bool = True) -> set[tuple[str, str]]:
    """Adjacent meaningful-word pairs ("google analytics", "credit card"): names and phrases."""
    seq = term_sequence(text, drop_generic)
    return set(zip(seq, seq[1:]))
