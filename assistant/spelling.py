"""Misspelt words in a question, corrected before it is embedded and scored.

"how lnog do you kepe my datta?" reads to MiniLM as word pieces of nothing, and its unknown
words look like rare terms that no passage has, which the abstention model takes for "the
policy does not say". A word is corrected only when neither English nor the searched policies
know it and one edit (a letter deleted, inserted, changed, or two swapped) turns it into a word
that one of them knows: the most frequent English word, else a word the policies use
("analytics").
English is symspellpy's frequency list (82,765 words from Google Books n-grams and SCOWL),
read from the installed package the first time a question has a word the policies lack.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cached_property
from importlib import resources

log = logging.getLogger("policychat.spelling")

LETTERS = "abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 4  # shorter words ("u", "abt", "vpn") are abbreviations or names more often than typos
WORD_LIST = "frequency_dictionary_en_82_765.txt"
# a word on its own: not part of an address, a file name, a cookie name ("acs_usuc_t") or a
# contraction ("didn't")
_TOKEN = re.compile(r"(?<![\w@/.'’-])[A-Za-z]+(?![\w@/-]|[.'’]\w)")


def one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, change or insertion away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in LETTERS}
    inserts = {a + c + b for a, b in splits for c in LETTERS}
    return (deletes | swaps | changes | inserts) - {word}


class Speller:
    """Corrects the words of a question that nobody knows; ``known`` says whether the searched
    policies use a word (the retriever's vocabulary)."""

    def __init__(self, english: dict[str, int] | None = None, min_length: int = MIN_LENGTH):
        self._given = english
        self.min_length = min_length

    @cached_property
    def english(self) -> dict[str, int]:
        """English words and their frequency counts."""
        if self._given is not None:
            return self._given
        try:
            text = resources.files("symspellpy").joinpath(WORD_LIST).read_text(encoding="utf-8")
        except (ModuleNotFoundError, OSError) as exc:
            # a broken install: corrections then come from the policies' own words only
            log.warning("no English word list (%s); misspelt words are corrected to policy words only", exc)
            return {}
        out: dict[str, int] = {}
        for line in text.splitlines():
            word, _, count = line.partition(" ")
            if count:
                out[word] = int(count)
        return out

    def correct(self, text: str, known: Callable[[str], bool]) -> str:
        """``text`` with each unknown word replaced by its likeliest one-edit correction; a word
        with none stays as it is."""
        def fix(match: re.Match) -> str:
            word = match.group()
            better = self.correction(word.lower(), known)
            return word if better is None else better

        return _TOKEN.sub(fix, text)

    def correction(self, word: str, known: Callable[[str], bool]) -> str | None:
        """The correction of one lower-case word, or None when it needs none or has none."""
        if len(word) < self.min_length or known(word) or word in self.english:
            return None
        scored = [((c in self.english, self.english.get(c, 0), known(c)), c) for c in one_edit(word)]
        scored = [(rank, c) for rank, c in scored if rank[0] or rank[2]]
        return max(scored)[1] if scored else None
