"""Versions: one file may hold several dated versions of a policy; the newest is current."""
from __future__ import annotations

from index.clean import BODY, VERSION, CleanDoc
from index.records import Version
from index.text import effective_date, find_date, plain


def split_versions(doc: CleanDoc) -> list[Version]:
    """Versions in file order, each spanning from its marker to the next one."""
    content = [ln for ln, lab in zip(doc.lines, doc.labels) if lab not in ("chrome", "blank")]
    if not content:
        return []
    end = content[-1].end
    markers = doc.lines_with(VERSION)
    if not markers:
        date = next((d for d in (effective_date(ln.text) for ln in doc.lines_with(BODY)) if d), None)
        versions = [Version(label=date, effective_date=date, start=content[0].start, end=end)]
    else:
        versions = []
        for i, marker in enumerate(markers):
            stop = markers[i + 1].start if i + 1 < len(markers) else end
            date = find_date(marker.text) or _first_date_within(doc, marker.start, stop)
            versions.append(Version(label=date or plain(marker.text), effective_date=date,
                                    start=marker.start, end=_last_content_end(doc, marker.start, stop)))
        if content[0].start < markers[0].start:
            # A preamble before the first marker belongs to the first version.
            versions[0].start = content[0].start
    newest = max(versions, key=lambda v: v.effective_date or "")
    newest.current = True
    return versions


def _first_date_within(doc: CleanDoc, start: int, stop: int) -> str | None:
    for ln in doc.lines_with(BODY):
        if start <= ln.start < stop and (d := effective_date(ln.text)):
            return d
    return None


def _last_content_end(doc: CleanDoc, start: int, stop: int) -> int:
    ends = [ln.end for ln, lab in zip(doc.lines, doc.labels)
            if lab not in ("chrome", "blank") and start <= ln.start < stop]
    return max(ends) if ends else stop
