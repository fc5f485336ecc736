"""Records of the label, comparison and diff views; each serialises to the documented JSON."""
from __future__ import annotations

from dataclasses import dataclass, field

from assistant.records import Citation

LABEL_SCHEMA = "policychat.label/1"
COMPARE_SCHEMA = "policychat.compare/1"
DIFF_SCHEMA = "policychat.diff/1"


@dataclass(frozen=True)
class Row:
    """One practice row of the label: its key (a practice label of the model, or "contact")."""

    key: str
    title: str


# The card's rows, in the order the label shows them.
ROWS: tuple[Row, ...] = (
    Row("collect", "What is collected"),
    Row("use", "How it is used"),
    Row("share", "Who it is shared with"),
    Row("choice", "Your choices"),
    Row("access", "Access, correction and deletion"),
    Row("retention", "How long it is kept"),
    Row("security", "Security"),
    Row("children", "Children"),
    Row("international", "International transfers and regional rights"),
    Row("change", "How changes are announced"),
    Row("dnt", "Do Not Track"),
    Row("contact", "How to contact"),
)
ROW_KEYS = tuple(r.key for r in ROWS)


@dataclass(frozen=True)
class Fact:
    """A typed fact found in a cited passage: a duration, an e-mail address, a named party …"""

    kind: str
    text: str
    citation: int  # 1-based index into the row's citations

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "citation": self.citation}


@dataclass
class LabelRow:
    key: str
    title: str
    stated: bool
    score: float          # the row's deciding score (best passage), compared with ``threshold``
    threshold: float
    summary: str = ""     # one extractive line; "" when not stated
    citations: list[Citation] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "stated": self.stated,
                "summary": self.summary if self.stated else "Not stated",
                "score": round(self.score, 4), "threshold": round(self.threshold, 4),
                "citations": [c.to_dict() for c in self.citations],
                "facts": [f.to_dict() for f in self.facts]}

    @classmethod
    def from_dict(cls, data: dict) -> "LabelRow":
        return cls(key=data["key"], title=data["title"], stated=data["stated"], score=data["score"],
                   threshold=data["threshold"], summary=data["summary"] if data["stated"] else "",
                   citations=[Citation(**c) for c in data["citations"]],
                   facts=[Fact(**f) for f in data["facts"]])


@dataclass
class PolicyLabel:
    """The privacy label of one policy version."""

    policy: str
    title: str
    version: str | None
    current: bool
    rows: list[LabelRow]
    labeler: str = ""   # which model and calibration produced it (a stale label is rebuilt)

    def row(self, key: str) -> LabelRow:
        return next(r for r in self.rows if r.key == key)

    def to_dict(self) -> dict:
        return {"schema": LABEL_SCHEMA, "policy": self.policy, "title": self.title, "version": self.version,
                "current": self.current, "labeler": self.labeler, "rows": [r.to_dict() for r in self.rows]}

    @classmethod
    def from_dict(cls, data: dict) -> "PolicyLabel":
        return cls(policy=data["policy"], title=data["title"], version=data["version"], current=data["current"],
                   rows=[LabelRow.from_dict(r) for r in data["rows"]], labeler=data.get("labeler", ""))
