"""Records shared by ingestion, storage and retrieval."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class SourceDoc:
    """A policy's source text: the file itself (txt/md) or its extracted readable text (html/pdf)."""

    policy_id: str
    path: str
    kind: str
    text: str


@dataclass(frozen=True)
class Line:
    """One line of the source text; ``text == source[start:end]`` without the newline."""

    start: int
    end: int
    text: str


@dataclass
class Version:
    label: str | None
    effective_date: str | None
    start: int
    end: int
    current: bool = False


@dataclass
class Section:
    path: tuple[str, ...]
    heading: str
    level: int
    start: int
    end: int
    version: str | None = None

    @property
    def path_str(self) -> str:
        return " > ".join(self.path)


@dataclass
class Chunk:
    id: str
    policy: str
    version: str | None
    current: bool
    section: str
    start: int
    end: int
    text: str
    tokens: int = 0

    def embed_text(self) -> str:
        """Heading path first, so the section's topic is part of every chunk's vector."""
        return f"{self.section}\n{self.text}"


@dataclass
class Unit:
    """A sentence or list item inside a chunk: the grain of a citation."""

    chunk_id: str
    start: int
    end: int
    text: str
    # Structure read at ingestion, so that ranking, list expansion and antecedents are lookups:
    paragraph: int = -1     # paragraph id: start offset of the source line the unit stands on
    bullet: bool = False    # the line opens with a bullet or an item number
    intro: int = -1         # list id: start of the list intro ("… as follows:") a unit's list hangs from
    label: str = ""         # short name lines right above it (a table row's name and type)
    opens: bool | None = None  # it opens its line (a list item, not a later sentence of one);
                               # None: an index written before this was stored (PIPELINE_VERSION < 9)


@dataclass
class Policy:
    id: str
    title: str
    path: str
    kind: str
    content_hash: str
    versions: list[Version] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    chunk_count: int = 0

    @property
    def current_version(self) -> Version | None:
        return next((v for v in self.versions if v.current), None)

    def to_dict(self) -> dict:
        data = asdict(self)
        for s in data["sections"]:
            s["path"] = list(s["path"])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":
        return cls(
            id=data["id"], title=data["title"], path=data["path"], kind=data["kind"],
            content_hash=data["content_hash"],
            versions=[Version(**v) for v in data.get("versions", [])],
            sections=[Section(**{**s, "path": tuple(s["path"])}) for s in data.get("sections", [])],
            chunk_count=data.get("chunk_count", 0),
        )
