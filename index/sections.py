"""Headings and the section tree of one version.

Heading styles are recognised per line (markdown '#', whole-line bold, lettered 'A.',
numbered '1.'/'1.1'/'1-', '(a)', and bare short title lines); a style's level comes from
its rank among the styles the version actually uses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.clean import BODY, TITLE, VERSION, CleanDoc
from index.records import Line, Section, Version
from index.text import BULLET_RE, plain

INTRO = "Introduction"
STYLE_RANK = ["md1", "md2", "md3", "md4", "md5", "md6", "letter", "num1", "num2", "num3",
              "paren", "bold", "bare"]
MAX_HEADING_CHARS = 100
MAX_HEADING_WORDS = 14
LOWER_IN_TITLE = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the",
                  "to", "with"}
SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the",
               "to", "with", "your", "our", "we", "you", "us", "this", "that", "is", "are"}

MD_RE = re.compile(r"^(#{1,6})\s+(\S.*)$")
BOLD_RE = re.compile(r"^(\*\*[^*]+\*\*[\s\u00a0]*)+$")
LETTER_RE = re.compile(r"^([A-Z])\.[\s\u00a0]*([A-Za-z].*)$")
NUM_RE = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)\s*[.\-)]?\s*([A-Za-z].*)$")
PAREN_RE = re.compile(r"^\(([a-z]|[ivx]{1,4})\)\s+(\S.*)$")
URLISH_RE = re.compile(r"https?://|www\.|\w\.(com|org|net|ru|cn)\b")
TERMINAL = (".", ";", ",", "!")


@dataclass(frozen=True)
class Heading:
    line: Line
    style: str
    title: str


def detect_heading(raw: str, prev: str | None, nxt: str | None) -> tuple[str, str] | None:
    """(style, display title) when ``raw`` is a heading line, else None.

    ``prev``/``nxt`` are the neighbouring non-blank lines; bare title lines need a
    sentence-ended line before them and text after them, which keeps table cells out.
    """
    s = raw.strip().replace("\u00a0", " ")
    p = plain(s)
    if not p or len(p) > MAX_HEADING_CHARS or len(p.split()) > MAX_HEADING_WORDS or nxt is None:
        return None
    if m := MD_RE.match(s):
        return f"md{len(m.group(1))}", display_title(plain(m.group(2)))
    indented = raw[:1].isspace()
    if (m := LETTER_RE.match(p)) and not p.endswith((";", ",")) and _mostly_upper_or_title(m.group(2)):
        return "letter", display_title(f"{m.group(1)}. {m.group(2)}")
    if (m := NUM_RE.match(p)) and not indented and not p.endswith(TERMINAL) and len(p.split()) <= 10:
        depth = m.group(1).count(".") + 1
        return f"num{min(depth, 3)}", display_title(f"{m.group(1)}. {m.group(2)}")
    if (m := PAREN_RE.match(p)) and not p.endswith(TERMINAL) and len(p.split()) <= 10:
        return "paren", display_title(p)
    if BOLD_RE.match(s) and not p.endswith((",", ";")):
        return "bold", display_title(p)
    if _is_bare_heading(raw, p, prev, nxt):
        return "bare", display_title(p)
    return None


def _is_bare_heading(raw: str, p: str, prev: str | None, nxt: str) -> bool:
    if raw[:1].isspace() or BULLET_RE.match(raw) or not p[:1].isupper():
        return False
    if len(p) > 70 or len(p.split()) > 10 or p.endswith(TERMINAL) or URLISH_RE.search(p):
        return False
    if ":" in p.rstrip(":") or (p.endswith(":") and not _mostly_upper_or_title(p)):
        return False
    if prev is not None:
        before = plain(prev)
        # After a sentence, a heading, or a "Label: value" line; never after a table cell.
        if not before.endswith((".", ":", "?", "!", ")", "”", '"', ";")) and ": " not in before:
            return False
    return len(plain(nxt).split()) >= 6


def _mostly_upper_or_title(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]*", text) if w.lower() not in SMALL_WORDS]
    if not words:
        return False
    return sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def display_title(text: str) -> str:
    """A readable heading: no trailing dots/colons, 'A.X' spaced, ALL CAPS in title case."""
    t = re.sub(r"^([A-Z]|\d{1,3}(?:\.\d{1,3})*)\s*[.\-)]\s*", r"\1. ", text.strip())
    t = t.rstrip(" .:").strip()
    if sum(c.isupper() for c in t) > 0.7 * sum(c.isalpha() for c in t):
        words = t.split(" ")
        first = 1 if re.match(r"^([A-Z]|\d{1,3}(?:\.\d{1,3})*)\.$", words[0]) else 0  # after "A." / "1."
        last = len(words) - 1
        t = " ".join(w.lower() if first < i < last and w.lower() in LOWER_IN_TITLE else w[:1] + w[1:].lower()
                     for i, w in enumerate(words))
    return t


def find_headings(doc: CleanDoc, version: Version) -> list[Heading]:
    """Heading lines of one version, table-header runs excluded."""
    body = [ln for ln, lab in zip(doc.lines, doc.labels)
            if lab == BODY and version.start <= ln.start < version.end]
    found: list[Heading | None] = []
    for i, ln in enumerate(body):
        prev = body[i - 1].text if i else None
        nxt = body[i + 1].text if i + 1 < len(body) else None
        hit = detect_heading(ln.text, prev, nxt)
        found.append(Heading(ln, hit[0], hit[1]) if hit else None)
    return _drop_table_header_runs(found)


def _drop_table_header_runs(found: list[Heading | None]) -> list[Heading]:
    """Three or more headings in a row with no text between are a table's header cells."""
    out: list[Heading] = []
    i = 0
    while i < len(found):
        if found[i] is None:
            i += 1
            continue
        j = i
        while j < len(found) and found[j] is not None:
            j += 1
        run = [h for h in found[i:j] if h is not None]
        if len(run) < 3 or any(h.style.startswith(("md", "letter", "num")) for h in run):
            out.extend(run)
        i = j
    return out


def build_sections(doc: CleanDoc, version: Version) -> list[Section]:
    """The version's section tree, flattened in document order, with paths."""
    headings = find_headings(doc, version)
    counts: dict[str, int] = {}
    for h in headings:
        counts[h.style] = counts.get(h.style, 0) + 1
    # A numbering style used once is not structure (e.g. a lone "1- About ..." title).
    style_of = {h.line.start: (h.style if counts[h.style] > 1 or not h.style.startswith(("letter", "num"))
                               else "bare") for h in headings}
    used = sorted({style_of[h.line.start] for h in headings}, key=STYLE_RANK.index)
    level_of = {style: i + 1 for i, style in enumerate(used)}

    body = [ln for ln, lab in zip(doc.lines, doc.labels)
            if lab in (BODY, TITLE, VERSION) and version.start <= ln.start < version.end]
    sections: list[Section] = []
    if body and (not headings or body[0].start < headings[0].line.start):
        sections.append(Section(path=(INTRO,), heading=INTRO, level=1, start=body[0].start,
                                end=version.end, version=version.label))
    stack: list[Section] = []
    for h in headings:
        level = level_of[style_of[h.line.start]]
        while stack and stack[-1].level >= level:
            stack.pop()
        path = tuple(s.heading for s in stack) + (h.title,)
        section = Section(path=path, heading=h.title, level=level, start=h.line.start,
                          end=version.end, version=version.label)
        stack.append(section)
        sections.append(section)
    _close_sections(sections, version.end)
    return sections


def _close_sections(sections: list[Section], version_end: int) -> None:
    """A section ends where the next section at the same or a higher level starts.

    The Introduction has no subsections: it ends where the first heading starts, even when
    that heading's style ranks below it (e.g. bold headings before a lone '#####' one)."""
    for i, sec in enumerate(sections):
        if sec.path == (INTRO,) and i + 1 < len(sections):
            sec.end = sections[i + 1].start
            continue
        sec.end = next((s.start for s in sections[i + 1:] if s.level <= sec.level), version_end)


def innermost_section(sections: list[Section], version: str | None, start: int,
                      end: int | None = None) -> Section | None:
    """The deepest section of one version that holds ``source[start:end]`` (``end``:
    ``start + 1``, the section that offset lies in)."""
    end = start + 1 if end is None else end
    inside = [s for s in sections if s.version == version and s.start <= start and end <= s.end]
    return max(inside, key=lambda s: len(s.path)) if inside else None


def render_tree(sections: list[Section]) -> str:
    """Indented outline of a section list."""
    return "\n".join("  " * (len(s.path) - 1) + s.heading for s in sections)
