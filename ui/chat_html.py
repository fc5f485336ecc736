"""HTML of chat messages: the question, the answer with numbered, expandable citation cards,
an error. Used by the chat page (ui/chat_page.py) and the insights pages (ui/insights_view.py).

All policy and model text is HTML-escaped (and markdown-neutralised) before it reaches the
Chatbot, so a policy that contains markup is shown as text, never run.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from index.sections import innermost_section
from ui.answer_html import answer_html, with_breaks

log = logging.getLogger("policychat.chat")

CONTEXT_CHARS = 1200        # characters of the surrounding section shown on each side of a quote
SUMMARY_QUOTE_CHARS = 320   # the card's collapsed quote is cut here (the expanded view has all of it)

# Characters that mean something in HTML, markdown or LaTeX become numeric entities, so the
# Chatbot's markdown renderer shows them literally.
_ESCAPES = {c: f"&#{ord(c)};" for c in "&<>\"'`*_[]()#+-!|~$\\{}="}
_ESCAPES["\r"] = ""
_ESCAPES["\n"] = "<br>"
_ESCAPES["\t"] = " "


def esc(text: str) -> str:
    """HTML-escape ``text`` and neutralise markdown; newlines become <br> (no blank lines)."""
    return "".join(_ESCAPES.get(c, c) for c in text)


def esc_inline(text: str) -> str:
    """Like ``esc`` but whitespace (newlines included) collapsed to single spaces."""
    return esc(" ".join(text.split()))


class SourceCache:
    """Policy manifests and source texts, refreshed when a policy's content changes."""

    def __init__(self, services, size: int = 16):
        self.services = services
        self.size = size
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def policies(self) -> dict:
        return self.services.ctx.store.policies()

    def text(self, policy) -> str:
        key = (policy.id, policy.content_hash)
        with self._lock:
            if key in self._texts:
                self._texts.move_to_end(key)
                return self._texts[key]
        text = self.services.ctx.store.source_text(policy.id) or ""
        with self._lock:
            self._texts[key] = text
            while len(self._texts) > self.size:
                self._texts.popitem(last=False)
        return text


def section_body(text: str, section, quote_start: int) -> tuple[int, int]:
    """The section's text without its heading line (the card shows the heading as its title)."""
    first = section.start
    newline = text.find("\n", section.start, quote_start)
    if newline != -1:
        first = newline
    return first, section.end


def citation_card(n: int, cite: dict, policies: dict, sources: SourceCache) -> str:
    policy = policies.get(cite["policy"])
    title = policy.title if policy else cite["policy"]
    quote = cite["quote"]
    short = " ".join(quote.split())
    if len(short) > SUMMARY_QUOTE_CHARS:
        short = short[:SUMMARY_QUOTE_CHARS].rsplit(" ", 1)[0] + " …"
    version = cite.get("version")
    meta = f'<span class="pc-ver">version {esc(version)}</span>' if version else ""
    context = ""
    if policy is not None:
        try:
            text = sources.text(policy)
        except Exception as exc:  # the card still shows the quote without its context
            log.warning("source text unavailable for %s: %s", policy.id, type(exc).__name__)
            text = ""
        start, end = cite["start"], cite["end"]
        if text and 0 <= start <= end <= len(text) and text[start:end] == quote:
            section = innermost_section(policy.sections, version, start, end)
            first, last = section_body(text, section, start) if section else (0, len(text))
            lo, hi = max(first, start - CONTEXT_CHARS), min(last, end + CONTEXT_CHARS)
            before = ("… " if lo > first else "") + text[lo:start].lstrip()
            after = text[end:hi].rstrip() + (" …" if hi < last else "")
            heading = esc(section.path_str if section else cite["section"])
            context = (f'<div class="pc-context"><div class="pc-context-title">{heading}</div>'
                       f'<div class="pc-context-text">{esc(before)}<mark>{with_breaks(quote, esc)}</mark>'
                       f'{esc(after)}</div></div>')
    if not context:
        context = (f'<div class="pc-context"><div class="pc-context-text"><mark>{with_breaks(quote, esc)}</mark>'
                   f'</div></div>')
    return (f'<li class="pc-cite" data-policy="{esc(cite["policy"])}"><details><summary>'
            f'<span class="pc-num">{n}</span><span class="pc-card-body">'
            f'<span class="pc-src"><b>{esc(title)}</b> · {esc_inline(cite["section"])}{meta}</span>'
            f'<span class="pc-quote">“{with_breaks(short, esc)}”</span>'
            f'<span class="pc-more">Show in context</span></span></summary>{context}</details></li>')


def render_answer(text: str, citations: list[dict] | None = None, policies: dict | None = None,
                  sources: SourceCache | None = None, pending: bool = False, abstained: bool = False) -> str:
    """One assistant message: the answer text, then numbered citation cards."""
    titles = [p.title for p in (policies or {}).values()]
    body = answer_html(text, titles, esc) if text.strip() else ""
    if pending and not body:
        body = '<span class="pc-typing" aria-label="Thinking"><i></i><i></i><i></i></span>'
    elif pending:   # the caret ends the last line, inside its paragraph or list item
        caret = '<span class="pc-caret"></span>'
        tail = next((t for t in ("</li></ul>", "</p>") if body.endswith(t)), "")
        body = body[:len(body) - len(tail)] + caret + tail
    cls = "pc-answer pc-abstained" if abstained else "pc-answer"
    html = f'<div class="{cls}">{body}</div>'
    if citations:
        cards = "".join(citation_card(i, c, policies or {}, sources) for i, c in enumerate(citations, 1))
        html += (f'<div class="pc-cites-label">Sources</div><ol class="pc-cites">{cards}</ol>')
    return html


def render_error(message: str) -> str:
    return f'<div class="pc-answer pc-error">{esc(message)}</div>'


def render_question(text: str) -> str:
    return f'<div class="pc-question">{esc(text)}</div>'
