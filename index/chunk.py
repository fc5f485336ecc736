"""Section-aware, token-budgeted chunks whose text is exactly ``source[start:end]``.

A chunk never crosses a section boundary, except that a tiny section merges with the
next sibling under the same parent; long paragraphs split at sentence ends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.clean import BLANK, BODY, TITLE, VERSION, CleanDoc

# Title and version lines are cited too ("effective as of ..."), but never become headings.
TEXT_LABELS = (BODY, TITLE, VERSION)
from index.records import Chunk, Line, Section, Unit, Version
from index.settings import DEFAULT_MAX_TOKENS
from index.text import BULLET_RE, is_list_intro, opens_line, sentence_spans
from index.tokens import count_tokens

TINY_SECTION_TOKENS = 40
MIN_UNIT_WORDS = 3
LABEL_LINES = 2  # short lines above a unit kept as its label
LIST_ITEMS = 12  # unbulleted lines read as a list's items after its intro
# A shorter line still cites something when it names a web address: "Criteo https://www.criteo.com/".
ADDRESS_RE = re.compile(r"https?://|\bwww\.|@[\w-]+\.\w")


@dataclass
class _Piece:
    section: Section
    start: int
    end: int
    tokens: int
    first_of_section: bool
    last_of_section: bool


def chunk_version(doc: CleanDoc, version: Version, sections: list[Section], policy_id: str,
                  id_prefix: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> list[Chunk]:
    """Chunks of one version, in document order."""
    pieces: list[_Piece] = []
    starts = [s.start for s in sections] + [version.end]
    for i, section in enumerate(sections):
        own_end = min(starts[i + 1], version.end) if i + 1 < len(starts) else version.end
        for segment in _segments(doc, section.start, own_end):
            pieces.extend(_pack(doc.text, section, segment, max_tokens))
        section_pieces = [p for p in pieces if p.section is section]
        if section_pieces:
            section_pieces[0].first_of_section = True
            section_pieces[-1].last_of_section = True
    pieces = _merge_tiny(doc, pieces, max_tokens)
    chunks = []
    for p in pieces:
        text = doc.text[p.start:p.end]
        chunks.append(Chunk(id=f"{id_prefix}:{p.start}", policy=policy_id,
                            version=version.label, current=version.current,
                            section=p.section.path_str, start=p.start, end=p.end, text=text,
                            tokens=p.tokens))
    return chunks


def _segments(doc: CleanDoc, start: int, end: int) -> list[list[Line]]:
    """Runs of body lines in [start, end) not interrupted by dropped (non-blank) lines."""
    runs: list[list[Line]] = [[]]
    for ln, lab in zip(doc.lines, doc.labels):
        if ln.start < start or ln.start >= end or lab == BLANK:
            continue
        if lab in TEXT_LABELS:
            runs[-1].append(ln)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _units_of_line(text: str, line: Line, max_tokens: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) pieces of one line: the line, or its sentences if too long."""
    tokens = count_tokens(line.text)
    if tokens <= max_tokens:
        return [(line.start, line.end, tokens)]
    out = []
    for a, b in sentence_spans(line.text, line.start):
        t = count_tokens(text[a:b])
        if t <= max_tokens:
            out.append((a, b, t))
            continue
        # A run-on sentence: cut at spaces into budget-sized parts.
        step = max(1, len(text[a:b]) * max_tokens // (t + 1))
        pos = a
        while pos < b:
            cut = min(b, pos + step)
            if cut < b:
                space = text.rfind(" ", pos + 1, cut)
                cut = space if space > pos else cut
            out.append((pos, cut, count_tokens(text[pos:cut])))
            pos = cut
            while pos < b and text[pos].isspace():
                pos += 1
    return out


def _pack(text: str, section: Section, lines: list[Line], max_tokens: int) -> list[_Piece]:
    pieces: list[_Piece] = []
    cur: list[tuple[int, int, int]] = []
    for line in lines:
        for unit in _units_of_line(text, line, max_tokens):
            if cur and sum(u[2] for u in cur) + unit[2] > max_tokens:
                pieces.append(_Piece(section, cur[0][0], cur[-1][1], sum(u[2] for u in cur), False, False))
                cur = []
            cur.append(unit)
    if cur:
        pieces.append(_Piece(section, cur[0][0], cur[-1][1], sum(u[2] for u in cur), False, False))
    return pieces


def _merge_tiny(doc: CleanDoc, pieces: list[_Piece], max_tokens: int) -> list[_Piece]:
    out: list[_Piece] = []
    for p in pieces:
        prev = out[-1] if out else None
        if (prev is not None and prev.first_of_section and prev.last_of_section
                and prev.tokens < TINY_SECTION_TOKENS and p.first_of_section
                and prev.section.path[:-1] == p.section.path[:-1]
                and prev.tokens + p.tokens <= max_tokens and _contiguous(doc, prev.end, p.start)):
            out[-1] = _Piece(prev.section, prev.start, p.end, prev.tokens + p.tokens, True, p.last_of_section)
        else:
            out.append(p)
    return out


def _contiguous(doc: CleanDoc, a: int, b: int) -> bool:
    return all(lab in (*TEXT_LABELS, BLANK) for ln, lab in zip(doc.lines, doc.labels) if a <= ln.start < b)


def units_of_chunk(doc: CleanDoc, chunk: Chunk, heading_starts: set[int]) -> list[Unit]:
    """Sentences and list items of a chunk (heading lines excluded): citation candidates, with
    the line they stand on, their bullet, whether they open it and the short label lines above."""
    units = []
    labels: list[str] = []   # short lines since the last unit: a table row's name and type
    for ln, lab in zip(doc.lines, doc.labels):
        if lab not in TEXT_LABELS or ln.end <= chunk.start or ln.start >= chunk.end or ln.start in heading_starts:
            continue
        lo, hi = max(ln.start, chunk.start), min(ln.end, chunk.end)
        bullet = lo == ln.start and BULLET_RE.match(ln.text)
        if bullet:
            lo += bullet.end()  # a list item is quoted without its bullet
        before = len(units)
        for a, b in sentence_spans(doc.text[lo:hi], lo):
            piece = doc.text[a:b]
            if len(piece.split()) >= MIN_UNIT_WORDS or (len(piece.split()) == 2 and ADDRESS_RE.search(piece)):
                units.append(Unit(chunk_id=chunk.id, start=a, end=b, text=piece, paragraph=ln.start,
                                  bullet=bool(bullet), label=" ".join(labels[-LABEL_LINES:]),
                                  opens=opens_line(doc.text, ln.start, a)))
        if len(units) > before:
            labels = []
        elif ln.text.strip() and len(ln.text.split()) < MIN_UNIT_WORDS:
            labels.append(ln.text.strip())
        else:
            labels = []
    return units


def with_list_intros(units: list[Unit], chunks: list[Chunk]) -> list[Unit]:
    """Each unit of a list with the start of the intro that announces it (``Unit.intro``, the
    list's id): the nearest earlier unit ending in ":", followed by the units after its line
    (bulleted or not; up to LIST_ITEMS unbulleted lines), in its chunk and in the chunks that
    go on with its section. A later sentence of an item's line belongs to the list too.
    ``units`` and ``chunks`` are one version's, in document order."""
    goes_on = {a.id: b.id for a, b in zip(chunks, chunks[1:]) if a.section == b.section}
    out: list[Unit] = []
    intro: Unit | None = None
    chunk_id: str | None = None   # the chunk the list has reached
    plain_items = 0
    for unit in units:
        if intro is not None and unit.chunk_id != chunk_id:
            chunk_id = _reached(goes_on, chunk_id, unit.chunk_id)
            intro = intro if chunk_id is not None else None
        if intro is not None and unit.opens and not unit.bullet and plain_items >= LIST_ITEMS:
            intro = None
        if intro is not None and unit.paragraph != intro.paragraph:
            if unit.opens and not unit.bullet:
                plain_items += 1
            unit = replace(unit, intro=intro.start)
        out.append(unit)
        if is_list_intro(unit.text):
            intro, chunk_id, plain_items = unit, unit.chunk_id, 0
    return out


def _reached(goes_on: dict[str, str], start: str | None, target: str) -> str | None:
    """``target`` when the chunks after ``start`` go on with its section up to ``target``."""
    current = goes_on.get(start) if start is not None else None
    while current is not None and current != target:
        current = goes_on.get(current)
    return current
