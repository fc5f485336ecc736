"""Questions that must not be answered from the policies: instruction injection attempts.

Two detectors, either one refuses:
- phrase patterns, assistant/data/injection_patterns.txt: `[addressed]` wording only ever aimed at
  a model (also used to drop planted policy text), `[question]` wording that steers when a user
  types it;
- a logistic regression on the question's MiniLM embedding (index.embed.Embedder.embed_query,
  normalised), assistant/data/injection_classifier.json, applied with numpy only. It needs the
  vector, so it runs only when the caller passes one: `is_injection(question, vector)`.
The classifier, its threshold and the measured precision/recall come from `python -m eval.train_guard`.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from assistant.vector_classifier import VectorClassifier

DATA = Path(__file__).resolve().parent / "data"
PATTERNS_FILE = DATA / "injection_patterns.txt"
CLASSIFIER_FILE = DATA / "injection_classifier.json"
SECTIONS = ("addressed", "question")


def read_patterns(path: Path = PATTERNS_FILE) -> dict[str, list[str]]:
    """The patterns of each section; a line that is no valid regex raises ValueError naming it."""
    sections: dict[str, list[str]] = {s: [] for s in SECTIONS}
    current = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]") and line[1:-1] in SECTIONS:
            current = line[1:-1]
            continue
        if current is None:
            raise ValueError(f"{path}:{n}: pattern before any [section]")
        try:
            re.compile(line)
        except re.error as exc:
            raise ValueError(f"{path}:{n}: not a regular expression ({exc})") from None
        sections[current].append(line)
    return sections


def _compile(patterns: list[str], flags: int) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags)


@lru_cache(maxsize=1)
def _matchers() -> tuple[re.Pattern, re.Pattern]:
    sections = read_patterns()
    planted = _compile(sections["addressed"], re.I | re.S | re.M)
    steering = _compile(sections["addressed"] + sections["question"], re.I | re.S)
    return planted, steering


class InjectionClassifier(VectorClassifier):
    """P(injection) from a normalised question embedding."""

    @classmethod
    def load(cls, path: Path = CLASSIFIER_FILE) -> "InjectionClassifier":
        return super().load(path)

    def is_injection(self, vector) -> bool:
        return self.flags(vector)


@lru_cache(maxsize=1)
def default_classifier() -> InjectionClassifier:
    return InjectionClassifier.load()


def matches_injection_pattern(question: str) -> bool:
    return bool(_matchers()[1].search(question))


def is_injection(question: str, vector=None, classifier: InjectionClassifier | None = None) -> bool:
    """True for attempts to steer the assistant instead of asking about a policy.

    `vector`: the question's normalised MiniLM embedding; without it only the patterns decide.
    """
    if matches_injection_pattern(question):
        return True
    if vector is None:
        return False
    return (classifier or default_classifier()).is_injection(vector)


@lru_cache(maxsize=1 << 16)  # asked of every candidate unit of every answer; units repeat
def addresses_the_assistant(text: str) -> bool:
    """True for policy text written to steer an assistant rather than to inform a reader."""
    return bool(_matchers()[0].search(text))
