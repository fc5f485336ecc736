"""Small pure helpers on policy text: lines, list marks, markdown stripping, dates, sentences."""
from __future__ import annotations

import re
from datetime import date

from index.records import Line

_MD_MARK = re.compile(r"\*\*|__|(?<!\w)_(?=\S)|(?<=\S)_(?!\w)|\\(?=[_*])|^#{1,6}\s+|^>\s*")
_SPACE = re.compile(r"\s+")


def split_lines(text: str) -> list[Line]:
    """Every line of ``text`` with its offsets (the newline is excluded, '\\r' too)."""
    lines: list[Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        lines.append(Line(pos, pos + len(body), body))
        pos += len(raw)
    return lines


# A list item's mark: a bullet or an item number ("-", "•", "1.", "2)"). The indexer quotes an
# item without it and records that its line had one (Unit.bullet).
BULLET = r"(?:[*\-·•o]|\d{1,2}[.)])"
BULLET_RE = re.compile(rf"^\s*{BULLET}\s+")
# Looking back from a unit to its line's start, a letter or roman numeral counts too ("a)", "(ii)").
ITEM_MARK = rf"(?:{BULLET}|\(?\w{{1,2}}[.)])"
# What may stand between a line's start and the unit that opens it: indentation, an item mark.
_LINE_LEAD = re.compile(rf"[ \t\u00a0]*{ITEM_MARK}?[ \t\u00a0]*")


def opens_line(text: str, line_start: int, start: int) -> bool:
    """Whether the unit at ``start`` opens the line beginning at ``line_start`` (a list item or
    a paragraph), not a sentence inside it: only indentation or an item mark stand before it."""
    return _LINE_LEAD.fullmatch(text, line_start, start) is not None


def is_list_intro(text: str) -> bool:
    """Whether a unit announces a list ("… the following categories:")."""
    return text.rstrip().endswith(":")


def plain(text: str) -> str:
    """Text without markdown emphasis/heading marks, whitespace collapsed."""
    return _SPACE.sub(" ", _MD_MARK.sub("", text.replace("\ufeff", "").strip())).strip()


def is_blank(text: str) -> bool:
    return not text.strip()


# A year as policies and questions write one ("2018"), without the digits around it.
YEAR = r"(?:19|20)\d{2}"
MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1)}
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE_PATTERNS = [
    (re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})", re.I), ("m", "d", "y")),
    (re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})", re.I), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), ("y", "m", "d")),
]
DATE_CUE = re.compile(r"(?i)(?<![a-z])(effective|last\s+(?:updated|modified|revised)|updated\s+on|revised)\b")


def find_date(text: str) -> str | None:
    """The first calendar date in ``text`` as ISO 'YYYY-MM-DD', or None."""
    best: tuple[int, str] | None = None
    for pattern, order in _DATE_PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        parts = dict(zip(order, m.groups()))
        month = parts["m"]
        month_num = MONTHS[month.lower()] if not month.isdigit() else int(month)
        try:
            iso = date(int(parts["y"]), month_num, int(parts["d"])).isoformat()
        except ValueError:
            continue
        if best is None or m.start() < best[0]:
            best = (m.start(), iso)
    return best[1] if best else None


def effective_date(text: str) -> str | None:
    """A date stated as effective / last updated in ``text``, else None."""
    return find_date(text) if DATE_CUE.search(text) else None


# Sentence ends: ., ! or ? (optionally closed by quotes/brackets) followed by space and a capital,
# digit, quote or bullet. Abbreviations that commonly end in '.' are protected.
_ABBREV = re.compile(r"(?i)\b(e\.g|i\.e|etc|inc|ltd|co|no|vs|mr|ms|dr|u\.s|st|reg|art)\.$")
# "section M." / "J. Smith" / "section **H." (markdown bold): not a sentence end
_INITIAL = re.compile(r"(?:^|[\s(*_\"“])[A-Z]\.$")
_SENT_END = re.compile(r"[.!?;][\"'”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9•·*])")


def sentence_spans(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Sentence spans of one line/paragraph, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        head = text[start:m.start() + 1]
        bare = head.rstrip("\"'”’)]")
        if _ABBREV.search(bare) or _INITIAL.search(bare) or len(head.strip()) < 3:
            continue
        spans.append((start, m.start() + len(m.group(0).rstrip())))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if b - trail > a + lead:
            out.append((offset + a + lead, offset + b - trail))
    return out
