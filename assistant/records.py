"""Records of the answering side."""
from __future__ import annotations

from dataclasses import dataclass, field

from index.records import Chunk


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the rank it had in each retriever."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Scope:
    """Which policies and which version a question is about."""

    policies: tuple[str, ...] | None = None   # None = every policy
    version: str | None = None                # None = current; a label = that version


@dataclass
class Citation:
    policy: str
    section: str
    quote: str
    start: int
    end: int
    version: str | None

    def to_dict(self) -> dict:
        return {"policy": self.policy, "section": self.section, "quote": self.quote,
                "start": self.start, "end": self.end, "version": self.version}


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    question: str = ""
    standalone_question: str = ""
    policies: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    support: float = 0.0          # how well the best evidence matches (the abstention signal)
    versions: tuple = (None,)     # the version labels searched (None = current), for follow-ups
    refused: bool = False         # steering, another language or another subject: never carried into a session

    def to_contract(self) -> dict:
        """The JSON contract shared by the CLI, the API and the eval."""
        return {"answer": self.text, "abstained": self.abstained,
                "citations": [c.to_dict() for c in self.citations]}
