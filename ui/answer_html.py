"""Answer and quote text as HTML for the chat: list items, per-policy headings, visible breaks
where a quote runs two sentences together. Pure text functions; every piece of text is escaped
with ``esc`` first, so policy text can never become markup.

The answer contract stays a plain string; this is only how the page shows it. ui/static/widget.js
renders the same way with DOM nodes (``answerNodes``, ``quoteNodes``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# "…to you.Information about…": a sentence end glued to the next sentence in the source.
JOINED = re.compile(r"(?<=[a-z0-9)\]”’\"'][.!?])(?=[A-Z“‘\"])")
# The list lines of an *answer* (assistant/answer.py writes "- "; widget.js's BULLET is this one),
# not index.text.BULLET_RE, which also reads item numbers ("1.", "2)") and "o" in policy text:
# an answer line starting "1. " is a sentence of a quote, not a list the answer made.
BULLET = re.compile(r"^\s*[-•*]\s+")
JOIN_MARK = '<span class="pc-join"></span>'   # empty: nothing for a screen reader to read


def with_breaks(text: str, esc: Callable[[str], str]) -> str:
    """``text`` escaped, with a (textless) break mark wherever two sentences are glued together."""
    return JOIN_MARK.join(esc(part) for part in JOINED.split(text))


def lead_title(line: str, titles: Iterable[str]) -> tuple[str, str] | None:
    """(title, rest) when ``line`` starts with a policy title and a colon, as cross-policy
    answers do ("AliExpress.com Privacy Policy: …"); the longest title wins."""
    for title in sorted(titles, key=len, reverse=True):
        if title and line.startswith(title + ": "):
            return title, line[len(title) + 2:]
    return None


def answer_html(text: str, titles: Iterable[str], esc: Callable[[str], str]) -> str:
    """Paragraphs, with "- " lines as a list and each policy's part under its title."""
    titles = list(titles)
    out: list[str] = []
    items: list[str] = []

    def close_list():
        if items:
            out.append('<ul class="pc-list">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.strip().splitlines():
        if not line.strip():
            continue
        if BULLET.match(line):
            items.append(with_breaks(BULLET.sub("", line), esc))
            continue
        close_list()
        lead = lead_title(line, titles)
        if lead:
            out.append(f'<p class="pc-part"><strong class="pc-part-title">{esc(lead[0])}</strong>'
                       f"{with_breaks(lead[1], esc)}</p>")
        else:
            out.append(f"<p>{with_breaks(line, esc)}</p>")
    close_list()
    return "".join(out)
