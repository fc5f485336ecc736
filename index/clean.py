"""Cleaning: tell policy body lines from site chrome, tables of contents and structure lines.

Nothing is rewritten: every line keeps its source offsets, and cleaning only labels it.
Labels: body, blank, chrome, toc, title (the policy's own title) and version (a marker
that starts one of several versions held in one file).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.records import Line
from index.text import is_blank, plain, split_lines

BODY, BLANK, CHROME, TOC, TITLE, VERSION = "body", "blank", "chrome", "toc", "title", "version"

TITLE_RE = re.compile(r"(?i)^(?!(changes|about|to|this|our|the|updates?|amendments?)\b)([\w.&’'-]+\s+){0,3}privacy (policy|notice|statement)$")
VERSION_RE = re.compile(r"(?i)^(part\s+[a-z]\b.*\bversion\b|(new|old|current|previous|prior|archived)\s+version\b)")
TOC_LABEL_RE = re.compile(r"(?i)^(table of contents|contents)\s*:?$")
HEADING_NUMBER_RE = re.compile(r"^(?:[A-Z]|\d{1,3}(?:\.\d{1,3})*)\s*[.)\-]\s*\S")
CHROME_PATTERNS = [
    re.compile(r"(?i)^(©|\(c\)\s|copyright\s+(©|\d{4}))"),
    re.compile(r"(?i)all rights reserved\.?$"),
    re.compile(r"^[A-Za-z]{2,}\d{8,}$"),                      # tracking / page ids
    re.compile(r"(?i)^(is|was) this (page |article |answer )?helpful"),
    re.compile(r"(?i)^yes\s*no$"),
    re.compile(r"(?i)\bfollow us\b|\bapp store\b|\bgoogle play\b"),
    re.compile(r"(?i)^<\.?\s*back\b"),
    re.compile(r"(?i)^(sign in|log in|sign up|join free|register)\b.*\|"),
    re.compile(r"(?i)^(skip to (main )?content|cookie settings|accept (all )?cookies)$"),
]
NAV_SPLIT_RE = re.compile(r"\s+[|]\s+|\s+-\s+|\s*\|\s*")


@dataclass
class CleanDoc:
    """Source text with one label per line."""

    text: str
    lines: list[Line]
    labels: list[str]

    def lines_with(self, *labels: str) -> list[Line]:
        return [ln for ln, lab in zip(self.lines, self.labels) if lab in labels]

    @property
    def title(self) -> str | None:
        titles = self.lines_with(TITLE)
        return plain(titles[0].text) if titles else None


def clean(text: str) -> CleanDoc:
    """Label every line of a policy's source text."""
    lines = split_lines(text)
    labels = [BLANK if is_blank(ln.text) else BODY for ln in lines]
    for i, ln in enumerate(lines):
        if labels[i] == BODY and is_chrome_line(ln.text):
            labels[i] = CHROME
    _label_structure(lines, labels)
    _drop_leading_chrome(labels)
    _drop_trailing_chrome(lines, labels)
    _label_tocs(lines, labels)
    return CleanDoc(text=text, lines=lines, labels=labels)


def is_chrome_line(raw: str) -> bool:
    """Navigation bars, footers, copyright lines, breadcrumbs and tracking ids."""
    s = plain(raw)
    if any(p.search(s) for p in CHROME_PATTERNS):
        return True
    parts = [p for p in NAV_SPLIT_RE.split(s) if p.strip()]
    if ("|" in s and len(parts) >= 3 or len(parts) >= 4) and all(len(p.split()) <= 7 for p in parts):
        return True
    crumbs = [p for p in s.split("/") if p.strip()]
    return ("http" not in s and s[:1].isupper() and len(crumbs) >= 3
            and all(len(c.split()) <= 5 for c in crumbs) and not s.endswith("."))


def _label_structure(lines: list[Line], labels: list[str]) -> None:
    for i, ln in enumerate(lines):
        if labels[i] != BODY:
            continue
        s = plain(ln.text)
        if VERSION_RE.match(s):
            labels[i] = VERSION
        elif (TITLE_RE.match(s) and not HEADING_NUMBER_RE.match(s)
              and not ln.text.lstrip().startswith(("<", "*", "-", "·"))):
            labels[i] = TITLE


def _drop_leading_chrome(labels: list[str]) -> None:
    """Everything before the policy's first title or version line is page frame."""
    starts = [i for i, lab in enumerate(labels) if lab in (TITLE, VERSION)]
    if not starts or starts[0] > 0.6 * len(labels):
        return
    for i in range(starts[0]):
        if labels[i] == BODY:
            labels[i] = CHROME


def _drop_trailing_chrome(lines: list[Line], labels: list[str]) -> None:
    """Short orphan lines that trail chrome at the page end are chrome too."""
    i = len(labels) - 1
    while i >= 0 and labels[i] in (BLANK, CHROME, BODY):
        if labels[i] == BODY:
            if len(plain(lines[i].text).split()) > 3:
                break
            nxt = [lab for lab in labels[i + 1:] if lab != BLANK]
            if not nxt or nxt[0] != CHROME:
                break
            labels[i] = CHROME
        i -= 1


def _label_tocs(lines: list[Line], labels: list[str]) -> None:
    """Tables of contents: a 'Contents' label and its short entries, or a run of numbered
    heading lines whose entries recur later in the body."""
    n = len(lines)
    i = 0
    while i < n:
        if labels[i] == BODY and TOC_LABEL_RE.match(plain(lines[i].text)):
            j = i + 1
            entries = []
            while j < n and (labels[j] == BLANK or (labels[j] == BODY and _is_toc_entry(lines[j].text))):
                if labels[j] == BODY:
                    entries.append(j)
                j += 1
            if len(entries) >= 3:
                labels[i] = TOC
                for k in entries:
                    labels[k] = TOC
            i = j
            continue
        i += 1
    _label_unmarked_tocs(lines, labels)


def _is_toc_entry(raw: str) -> bool:
    s = plain(raw).lstrip("*·•-o ").strip()
    return 0 < len(s.split()) <= 10 and not s.endswith((",", ";"))


def _label_unmarked_tocs(lines: list[Line], labels: list[str]) -> None:
    body = [i for i, lab in enumerate(labels) if lab == BODY]
    run: list[int] = []
    for idx in body + [None]:
        if idx is not None and HEADING_NUMBER_RE.match(plain(lines[idx].text)) and _is_toc_entry(lines[idx].text):
            # An entry that repeats one already in the run is the body's first heading
            # right after the table of contents, not another entry.
            if not run or (_only_blank_between(labels, run[-1], idx)
                           and _toc_key(lines[idx].text) not in {_toc_key(lines[k].text) for k in run}):
                run.append(idx)
                continue
        if len(run) >= 4:
            later = {_toc_key(lines[k].text) for k in body if k > run[-1]}
            if sum(_toc_key(lines[k].text) in later for k in run) >= 0.6 * len(run):
                for k in run:
                    labels[k] = TOC
        run = [idx] if idx is not None and HEADING_NUMBER_RE.match(plain(lines[idx].text)) else []


def _only_blank_between(labels: list[str], a: int, b: int) -> bool:
    return all(lab == BLANK for lab in labels[a + 1:b])


def _toc_key(raw: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", plain(raw).lower())
