"""Content terms of a text: lower-cased, stop words out, stemmed (for overlap, IDF and BM25)."""
from __future__ import annotations

import math
import re
from functools import lru_cache

from index.records import Chunk

STOPWORDS = sorted(set("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she should
so some such than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves s t don shall may might must also us yes ok okay hi hello please tell know
much many ever there thing something anything everything back happen happens happened way ways
""".split()))
_HYPHEN_RE = re.compile(r"(?<=[a-z])-(?=[a-z])")
WORD_RE = re.compile(r"[a-z0-9][a-z0-9'’@._-]*[a-z0-9]|[a-z0-9]")
STOP_SET = frozenset(STOPWORDS)
# Words every privacy question shares; they say nothing about which passage answers it.
GENERIC = {"data", "information", "info", "personal", "policy", "privacy", "use", "used", "using",
           "company", "companies", "platform", "site", "website", "service", "services", "user",
           "users", "say", "says", "said", "thing", "stuff", "u", "ur", "r", "pls", "get", "gets",
           "give", "guys", "does", "do", "detail", "details", "mine"}


def english_stemmer():
    """A new English (Snowball) stemmer, or None without PyStemmer: stemming improves recall
    but is optional."""
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


_stemmer = lru_cache(maxsize=1)(english_stemmer)


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
        if not w or w in STOP_SET or (drop_generic and w in GENERIC) or len(w) < 2:
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


class IdfTable:
    """Inverse document frequency of content stems over a set of chunks."""

    def __init__(self, chunks: list[Chunk]):
        df: dict[str, int] = {}
        for c in chunks:
            for t in set(content_terms(f"{c.section} {c.text}", drop_generic=False)):
                df[t] = df.get(t, 0) + 1
        self.n = max(1, len(chunks))
        self.df = df

    def idf(self, term: str) -> float:
        return math.log(1 + self.n / (1 + self.df.get(term, 0)))
