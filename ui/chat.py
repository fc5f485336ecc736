"""The browser chat (Gradio): streaming answers with numbered, expandable citation cards.

All policy and model text is HTML-escaped (and markdown-neutralised) before it reaches the
Chatbot, so a policy that contains markup is shown as text, never run.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import gradio as gr

from index.sections import innermost_section
from ui.answer_html import answer_html, with_breaks
from ui.security import question_digest

log = logging.getLogger("policychat.chat")
STATIC = Path(__file__).resolve().parent / "static"

ALL = ""
EXAMPLES = [
    "How long do you keep my data?",
    "Who receives my payment information?",
    "How do I delete my account?",
    "Do you use cookies for advertising?",
]
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


def policy_label(policy) -> str:
    current = policy.current_version
    version = (current.label or "undated") if current else "undated"
    return f"{policy.title} · {version}"


def policy_choices(services) -> list[tuple[str, str]]:
    choices = [("All policies", ALL)]
    try:
        policies = services.ctx.store.policies()
    except Exception as exc:  # the chat still loads; answering reports the outage
        log.warning("policies unavailable: %s", type(exc).__name__)
        services.ctx.reset_store()
        return choices
    return choices + [(policy_label(p), pid) for pid, p in policies.items()]


def theme():
    font = [gr.themes.LocalFont("IBM Plex Sans", weights=(400, 600, 700)), "ui-sans-serif", "system-ui",
            "sans-serif"]
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          radius_size="lg", font=font,
                          font_mono=[gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "monospace"]
                          ).set(body_background_fill="#f5f6fa", block_shadow="none")


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


# chat-page.css: page-level layout (outside Gradio's .contain scope, which its css= prefixing
# cannot reach); chat.js: keeps the start of each new answer in view.
HEAD = ('<meta name="description" content="PolicyChat: answers about privacy policies, with sources">'
        f"<style>{static_text('chat-page.css')}</style><script>{static_text('chat.js')}</script>")
CSS = static_text("chat.css")


def build_chat(services) -> gr.Blocks:
    """The chat page for ``services`` (an ``api.Services``)."""
    from ui.api import ApiError, check_policy, store_errors, validate_question

    sources = SourceCache(services)

    def respond(message, history, policy, session_id, turns, request: gr.Request):
        history = list(history or [])
        turns = dict(turns or {})
        message = message or ""
        client = request.client.host if request is not None and request.client else "unknown"
        try:
            question = validate_question(message, services.settings)
            wait = services.limiter.take(f"chat:{client}")
            if wait > 0:
                raise ApiError(429, f"Too many questions; please wait {int(wait) + 1} seconds.")
            policy = check_policy(services, policy or None)
        except ApiError as exc:
            if exc.status == 422 and not message.strip():
                yield gr.update(), history, turns
                return
            gr.Warning(exc.message[:1].upper() + exc.message[1:])
            yield gr.update(), history, turns
            return
        history += [{"role": "user", "content": render_question(question)},
                    {"role": "assistant", "content": render_answer("", pending=True)}]
        yield "", history, turns
        text, answer = "", None
        try:
            try:
                policies = sources.policies()
            except Exception:
                policies = {}
            for kind, payload in services.ctx.assistant.stream(question, policy=policy, session_id=session_id):
                if kind in ("token", "reset"):
                    text = text + str(payload) if kind == "token" else ""
                    history[-1] = {"role": "assistant", "content": render_answer(text, policies=policies,
                                                                                 pending=True)}
                    yield "", history, turns
                elif kind == "answer":
                    answer = payload
            if answer is None:
                raise RuntimeError("no answer")
            contract = answer.to_contract()
            history[-1] = {"role": "assistant", "content": render_answer(
                contract["answer"], contract["citations"], policies, sources, abstained=contract["abstained"])}
            turns[str(len(history) - 1)] = {"question": question, "policy": policy, "answer": contract["answer"],
                                            "abstained": contract["abstained"],
                                            "citations": contract["citations"]}
            log.info("chat %s policy=%s citations=%d", question_digest(question), policy or "*",
                     len(contract["citations"]))
        except store_errors() as exc:
            log.warning("store unavailable in chat: %s", type(exc).__name__)
            services.ctx.reset_store()
            history[-1] = {"role": "assistant", "content": render_error(
                "The policy index is unavailable right now. Please try again in a moment.")}
        except Exception:
            log.exception("chat answer failed for %s", question_digest(question))
            history[-1] = {"role": "assistant", "content": render_error(
                "Sorry, something went wrong while answering. Please try again.")}
        yield "", history, turns

    def on_like(turns, session_id, data: gr.LikeData):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = (turns or {}).get(str(index))
        if not turn:
            return
        rating = 1 if data.liked is True else -1 if data.liked is False else 0
        stored = services.feedback.record(question=turn["question"], rating=rating, answer=turn["answer"],
                                          policy=turn["policy"], session_id=session_id,
                                          abstained=turn["abstained"], citations=turn["citations"])
        if stored and rating:
            gr.Info("Thanks for the feedback!", duration=2)

    def pick_example(data: gr.SelectData):
        value = data.value
        return value.get("text", "") if isinstance(value, dict) else str(value or "")

    def clear():
        return [], {}, uuid.uuid4().hex, ""

    def refresh_policies(current):
        choices = policy_choices(services)
        value = current if current in {v for _, v in choices} else ALL
        return gr.update(choices=choices, value=value)

    with gr.Blocks(title="PolicyChat — privacy policy answers", analytics_enabled=False,
                   fill_height=True) as demo:
        session = gr.State(lambda: uuid.uuid4().hex)
        turns = gr.State({})
        with gr.Row(elem_id="pc-header", equal_height=False):
            gr.Markdown('<div id="pc-brand"><h1><span class="pc-logo" aria-hidden="true">P</span>'
                        'PolicyChat</h1><p>Answers quoted from the privacy policies.</p></div>',
                        elem_id="pc-brand-wrap")
            policy = gr.Dropdown(policy_choices(services), value=ALL, label="Policy", show_label=False,
                                 container=False, elem_id="pc-policy", interactive=True, filterable=False,
                                 scale=0, min_width=200)
            clear_btn = gr.Button("New chat", elem_id="pc-clear", variant="secondary", scale=0, min_width=0,
                                  size="md")
        chatbot = gr.Chatbot(elem_id="pc-chat", show_label=False, label="Conversation", scale=1,
                             min_height=360, height="70vh", latex_delimiters=[], sanitize_html=True,
                             render_markdown=True, line_breaks=False, layout="bubble", autoscroll=False,
                             feedback_options=("Like", "Dislike"), buttons=["copy"],
                             placeholder="**Ask anything about a privacy policy.**  \n"
                             "Every answer cites the exact passages it is based on.",
                             examples=[{"text": q} for q in EXAMPLES])
        with gr.Row(elem_id="pc-input-row", equal_height=True):
            box = gr.Textbox(placeholder="Ask about a privacy policy…", show_label=False, label="Your question",
                             elem_id="pc-input", max_lines=6, lines=1, scale=1, submit_btn=True,
                             autofocus=True)   # no max_length: the browser would cut a pasted question

        gr.Markdown("Answers quote the policies verbatim; they are not legal advice.", elem_id="pc-note")

        inputs = [box, chatbot, policy, session, turns]
        box.submit(respond, inputs, [box, chatbot, turns], api_visibility="private", show_progress="hidden")
        chatbot.example_select(pick_example, None, box, api_visibility="private").then(
            respond, inputs, [box, chatbot, turns], api_visibility="private", show_progress="hidden")
        chatbot.like(on_like, [turns, session], None, api_visibility="private")
        clear_btn.click(clear, None, [chatbot, turns, session, box], api_visibility="private")
        chatbot.clear(clear, None, [chatbot, turns, session, box], api_visibility="private")
        demo.load(refresh_policies, policy, policy, api_visibility="private")
    from ui.insights_view import add_pages

    add_pages(demo, services)  # the Summary, Compare and Changes pages
    return demo
