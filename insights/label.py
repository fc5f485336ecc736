"""The privacy label: one row per practice, each the best cited passages of the policy version.

A row's passages are ranked by the practice model's probability that a passage states the
practice (``assistant/practice.py``); the row reads "Not stated" when even the best passage
scores under the row's threshold, which is calibrated on training policies of PolicyQA
(``eval/label_quality.py`` writes ``insights/calibration.json``). The contact row is not an
OPP-115 practice: it is scored from contact facts (e-mail, phone, web address) in a passage
and the word "contact" in its section heading.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from assistant.entities import tag
from assistant.practice import PracticeModel
from assistant.records import Citation
from index.text import plain
from insights.records import ROWS, Fact, LabelRow, PolicyLabel

log = logging.getLogger("policychat.insights")
CALIBRATION = Path(__file__).resolve().parent / "calibration.json"
LABEL_VERSION = "2"
MAX_CITATIONS = 3
SUMMARY_CHARS = 200
CONTACT = "contact"
CONTACT_HEADING = re.compile(r"(?i)\bcontact")
# Contact evidence in one passage: a direct route (e-mail, phone) or an address to write to.
CONTACT_WEIGHTS = {"email": 0.5, "phone": 0.5, "url": 0.25, "country": 0.1}
CONTACT_HEADING_WEIGHT = 0.5
CONTACT_THRESHOLD = 0.5
# Facts worth showing on the card, per row first (a row's own kinds lead its list).
ROW_FACT_KINDS = {"collect": (), "use": (), "share": ("org",), "choice": ("url", "org"),
                  "access": ("email", "url", "duration"), "retention": ("duration",), "security": (),
                  "children": ("age",), "international": ("country",), "change": ("date",), "dnt": (),
                  "contact": ("email", "phone", "url", "country")}
MD_LINK = re.compile(r"\[([^\]]+)\]\((?:https?://|mailto:)[^)\s]*\)")
FACT_KINDS = ("duration", "email", "url", "phone", "org", "country", "age", "money", "date")


class PracticeScorer(Protocol):
    labels: tuple[str, ...]

    def unit_probs(self, vectors: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Passage:
    """A citation unit of one policy version: ``text == source[start:end]``."""

    section: str
    start: int
    end: int
    text: str
    chunk: str = ""   # the chunk it belongs to: its neighbours share the topic


@dataclass
class Calibration:
    """Per-row "Not stated" thresholds on the best passage's probability, and how close to the
    best a second or third citation must score."""

    thresholds: dict[str, float]
    extra_ratio: float = 0.8
    model: str = ""
    neighbour_weight: float = 0.0

    @classmethod
    def load(cls, path: Path = CALIBRATION) -> "Calibration":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(thresholds={k: float(v["threshold"]) for k, v in data["rows"].items()},
                   extra_ratio=float(data.get("extra_ratio", 0.8)), model=data.get("model", ""),
                   neighbour_weight=float(data.get("neighbour_weight", 0.0)))

    def signature(self) -> str:
        blob = json.dumps([LABEL_VERSION, self.model, sorted(self.thresholds.items()), self.extra_ratio,
                           self.neighbour_weight])
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


Tagger = Callable[[str], list]   # assistant.entities.tag: text -> [Entity(kind, start, end, text)]


def model_id(model) -> str:
    """Identifies the practice model's passage head (a calibration is only valid for it)."""
    return hashlib.sha256(np.asarray(model.unit_weights).tobytes() + np.asarray(model.unit_bias).tobytes()).hexdigest()[:12]


class Labeler:
    """Builds labels from a policy version's passages and their stored unit vectors."""

    def __init__(self, model: PracticeScorer, tagger: Tagger, calibration: Calibration):
        self.model = model
        self.tagger = tagger
        self.calibration = calibration

    @classmethod
    def default(cls) -> "Labeler":
        """The shipped practice model, entity tagger and calibration (numpy only; fast to load)."""
        model, calibration = PracticeModel.load(), Calibration.load()
        if calibration.model != model_id(model):
            log.warning("insights/calibration.json was fitted to another practice model; "
                        "run `python -m eval.label_quality --fit`")
        return cls(model, tag, calibration)

    @property
    def signature(self) -> str:
        return self.calibration.signature()

    def row_scores(self, passages: Sequence[Passage], vectors: np.ndarray) -> np.ndarray:
        """(passages × rows) scores, columns in ``ROWS`` order."""
        out = np.zeros((len(passages), len(ROWS)), dtype=np.float32)
        if not passages:
            return out
        probs = np.asarray(self.model.unit_probs(np.asarray(vectors, dtype=np.float32)), dtype=np.float32)
        probs = with_neighbours(probs, [p.chunk for p in passages], self.calibration.neighbour_weight)
        labels = list(self.model.labels)
        for col, row in enumerate(ROWS):
            if row.key == CONTACT:
                out[:, col] = [self.contact_score(p) for p in passages]
            else:
                out[:, col] = probs[:, labels.index(row.key)]
        return out

    def contact_score(self, passage: Passage) -> float:
        kinds = {e.kind for e in self.tagger(passage.text)}
        score = sum(w for kind, w in CONTACT_WEIGHTS.items() if kind in kinds)
        leaf = passage.section.rsplit(" > ", 1)[-1]
        if CONTACT_HEADING.search(leaf):
            score += CONTACT_HEADING_WEIGHT
        return min(score, 1.0)

    def threshold(self, key: str) -> float:
        return CONTACT_THRESHOLD if key == CONTACT else self.calibration.thresholds[key]

    def label(self, policy: str, title: str, version: str | None, current: bool,
              passages: Sequence[Passage], vectors: np.ndarray) -> PolicyLabel:
        scores = self.row_scores(passages, vectors)
        rows = [self.build_row(policy, version, row.key, row.title, passages, scores[:, col])
                for col, row in enumerate(ROWS)]
        return PolicyLabel(policy, title, version, current, rows, labeler=self.signature)

    def build_row(self, policy: str, version: str | None, key: str, title: str,
                  passages: Sequence[Passage], scores: np.ndarray) -> LabelRow:
        threshold = self.threshold(key)
        best = float(scores.max()) if len(scores) else 0.0
        if best < threshold:
            return LabelRow(key, title, False, best, threshold)
        chosen = pick_passages(passages, scores, max(threshold, self.calibration.extra_ratio * best))
        citations = [Citation(policy, p.section, p.text, p.start, p.end, version) for p in chosen]
        return LabelRow(key, title, True, best, threshold, summary(chosen[0].text), citations,
                        self.facts(key, chosen))

    def facts(self, key: str, chosen: Sequence[Passage]) -> list[Fact]:
        """Typed facts of the cited passages, the row's own kinds first, each once."""
        found: dict[tuple[str, str], Fact] = {}
        for n, p in enumerate(chosen, 1):
            for e in self.tagger(p.text):
                if e.kind in FACT_KINDS:
                    found.setdefault((e.kind, e.text.lower()), Fact(e.kind, e.text, n))
        own = ROW_FACT_KINDS.get(key, ())
        rank = {k: i for i, k in enumerate(own + tuple(k for k in FACT_KINDS if k not in own))}
        return sorted(found.values(), key=lambda f: (rank[f.kind], f.citation))


def with_neighbours(probs: np.ndarray, chunks: list[str], weight: float) -> np.ndarray:
    """Each passage's probabilities blended with its chunk's mean: a sentence in a paragraph about
    retention is more likely about retention than its words alone say."""
    if not weight or not len(probs):
        return probs
    out = probs.copy()
    index: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        index.setdefault(c, []).append(i)
    for rows in index.values():
        out[rows] = (1 - weight) * probs[rows] + weight * probs[rows].mean(axis=0)
    return out


def pick_passages(passages: Sequence[Passage], scores: np.ndarray, floor: float) -> list[Passage]:
    """The best passage, then up to two more scoring at least ``floor``, no two alike."""
    chosen: list[Passage] = []
    seen: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        if len(chosen) == MAX_CITATIONS or (chosen and scores[i] < floor):
            break
        key = " ".join(plain(passages[i].text).lower().split())
        if key in seen:
            continue
        seen.add(key)
        chosen.append(passages[i])
    return chosen


def unescape_md(text: str) -> str:
    """Markdown escapes out ("cookie\\_setting.htm" is "cookie_setting.htm")."""
    return text.replace("\\_", "_").replace("\\*", "*")


def summary(text: str) -> str:
    """One line of the passage itself: markdown (links too) and line breaks out, cut at a word."""
    line = plain(MD_LINK.sub(r"\1", unescape_md(text)))
    if len(line) <= SUMMARY_CHARS:
        return line
    return line[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"
