"""The browser chat (Gradio): streaming answers with numbered, expandable citation cards.

All policy and model text is HTML-escaped (and markdown-neutralised) before it reaches the
Chatbot, so a policy that contains markup is shown as text, never run.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict

import gradio as gr

from ui.security import question_digest

log = logging.getLogger("policychat.chat")

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


def enclosing_section(policy, start: int, end: int, version: str | None):
    """The innermost section of ``policy`` (same version) that contains [start, end)."""
    best = None
    for s in policy.sections:
        if s.start <= start and end <= s.end and (s.version == version or version is None):
            if best is None or (s.end - s.start) < (best.end - best.start):
                best = s
    return best


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
            section = enclosing_section(policy, start, end, version)
            lo, hi = (section.start, section.end) if section else (start - CONTEXT_CHARS, end + CONTEXT_CHARS)
            lo, hi = max(lo, start - CONTEXT_CHARS, 0), min(hi, end + CONTEXT_CHARS, len(text))
            before = ("… " if lo > (section.start if section else 0) else "") + text[lo:start].lstrip("\n")
            after = text[end:hi].rstrip() + (" …" if hi < (section.end if section else len(text)) else "")
            heading = esc(section.path_str if section else cite["section"])
            context = (f'<div class="pc-context"><div class="pc-context-title">{heading}</div>'
                       f'<div class="pc-context-text">{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}</div></div>')
    if not context:
        context = f'<div class="pc-context"><div class="pc-context-text"><mark>{esc(quote)}</mark></div></div>'
    return (f'<li class="pc-cite" data-policy="{esc(cite["policy"])}"><details><summary>'
            f'<span class="pc-num">{n}</span><span class="pc-card-body">'
            f'<span class="pc-src"><b>{esc(title)}</b> · {esc_inline(cite["section"])}{meta}</span>'
            f'<span class="pc-quote">“{esc(short)}”</span>'
            f'<span class="pc-more">Show in context</span></span></summary>{context}</details></li>')


def render_answer(text: str, citations: list[dict] | None = None, policies: dict | None = None,
                  sources: SourceCache | None = None, pending: bool = False, abstained: bool = False) -> str:
    """One assistant message: the answer text, then numbered citation cards."""
    body = esc(text.strip()) if text.strip() else ""
    if pending and not body:
        body = '<span class="pc-typing" aria-label="Thinking"><i></i><i></i><i></i></span>'
    elif pending:
        body += '<span class="pc-caret"></span>'
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


# Page-level layout (outside Gradio's .contain scope, which its css= prefixing cannot reach).
PAGE_CSS = """
.gradio-container { max-width: 920px !important; margin: 0 auto !important; padding: 12px 16px !important; }
footer { display: none !important; }
@media (max-width: 600px) {
  .gradio-container { padding: 6px 4px 4px !important; }
  .gradio-container .main, .gradio-container .main.fillable { padding: 0 !important; }
}
"""
HEAD = ('<meta name="description" content="PolicyChat: answers about privacy policies, with sources">'
        f"<style>{PAGE_CSS}</style>")

CSS = """
#pc-header { align-items: center; gap: 10px; flex-wrap: wrap; }
#pc-brand-wrap { flex: 1 1 260px !important; min-width: 0 !important; }
#pc-brand-wrap h1 { font-size: 1.35rem; margin: 0; font-weight: 700; color: #1e1b4b; display: flex;
  align-items: center; gap: 10px; line-height: 1.2; }
#pc-brand-wrap .pc-logo { width: 32px; height: 32px; border-radius: 10px; background: #4f46e5; color: #fff;
  display: inline-flex; align-items: center; justify-content: center; font-size: 17px; flex: none; }
#pc-brand-wrap p { margin: 4px 0 0; color: #64748b; font-size: .9rem; }
#pc-policy { flex: 0 1 360px !important; min-width: 200px !important; }
#pc-policy input { text-overflow: ellipsis; padding-right: 28px !important; }
#pc-chat button[aria-label="Clear"] { display: none !important; }
#pc-clear { flex: none !important; min-width: 0 !important; width: auto !important; white-space: nowrap; }
#pc-chat { border-radius: 16px; }
#pc-chat .message-row.bot-row .message, #pc-chat .message-row.bot-row .role { max-width: 100% !important; }
#pc-chat .message-row.bot-row { margin-right: 12px !important; }
#pc-chat .bot { overflow-wrap: anywhere; }
#pc-input-row { gap: 8px; }
.pc-answer { line-height: 1.55; }
.pc-error { color: #b91c1c; }
.pc-abstained { color: #475569; font-style: italic; }
.pc-cites-label { margin: 12px 0 6px; font-size: .75rem; font-weight: 600; letter-spacing: .06em;
  text-transform: uppercase; color: #64748b; }
ol.pc-cites { list-style: none !important; margin: 0 !important; padding: 0 !important;
  display: flex; flex-direction: column; gap: 8px; }
li.pc-cite { margin: 0 !important; padding: 0 !important; list-style: none !important; }
li.pc-cite::marker { content: none; }
.pc-cite details { border: 1px solid #e2e8f0; border-radius: 12px; background: #fff; overflow: hidden; }
.pc-cite details[open] { border-color: #a5b4fc; box-shadow: 0 1px 6px rgba(79,70,229,.12); }
.pc-cite summary { display: flex; gap: 10px; padding: 10px 12px; cursor: pointer; list-style: none; }
.pc-cite summary::-webkit-details-marker { display: none; }
.pc-cite summary:focus-visible { outline: 2px solid #4f46e5; outline-offset: -2px; }
.pc-num { flex: none; width: 22px; height: 22px; border-radius: 50%; background: #eef2ff; color: #4338ca;
  font-size: .75rem; font-weight: 700; display: inline-flex; align-items: center; justify-content: center;
  margin-top: 1px; }
.pc-card-body { display: flex; flex-direction: column; gap: 4px; min-width: 0; }
.pc-src { font-size: .8rem; color: #334155; overflow-wrap: anywhere; }
.pc-src b { color: #1e1b4b; }
.pc-ver { margin-left: 6px; padding: 1px 6px; border-radius: 6px; background: #f1f5f9; color: #64748b;
  font-size: .7rem; white-space: nowrap; }
.pc-quote { font-size: .88rem; color: #0f172a; overflow-wrap: anywhere; }
.pc-more { font-size: .75rem; color: #4f46e5; font-weight: 600; }
.pc-cite details[open] .pc-more { display: none; }
.pc-context { border-top: 1px solid #e2e8f0; padding: 10px 12px 12px 44px; background: #f8fafc;
  max-height: 320px; overflow: auto; }
.pc-context-title { font-size: .75rem; font-weight: 600; color: #64748b; margin-bottom: 6px; }
.pc-context-text { font-size: .84rem; line-height: 1.55; color: #334155; overflow-wrap: anywhere; }
.pc-context mark { background: #fef08a; color: inherit; padding: 1px 0; border-radius: 2px; }
.pc-typing { display: inline-flex; gap: 4px; padding: 4px 0; }
.pc-typing i { width: 7px; height: 7px; border-radius: 50%; background: #94a3b8;
  animation: pc-blink 1.2s infinite ease-in-out; }
.pc-typing i:nth-child(2) { animation-delay: .2s; } .pc-typing i:nth-child(3) { animation-delay: .4s; }
.pc-caret { display: inline-block; width: 7px; height: 1em; margin-left: 2px; vertical-align: text-bottom;
  background: #6366f1; animation: pc-blink 1s infinite; }
@keyframes pc-blink { 0%, 80%, 100% { opacity: .25 } 40% { opacity: 1 } }
#pc-note { font-size: .78rem; color: #64748b; text-align: center; }
#pc-note p { margin: 0; }
@media (max-width: 600px) {
  #pc-header { gap: 6px; }
  #pc-brand-wrap { flex-basis: 100% !important; }
  #pc-brand-wrap p { display: none; }
  #pc-brand-wrap h1 { font-size: 1.1rem; }
  #pc-brand-wrap .pc-logo { width: 26px; height: 26px; font-size: 14px; border-radius: 8px; }
  #pc-header > *:has(#pc-policy), #pc-policy { flex: 1 1 0 !important; min-width: 0 !important; }
  #pc-chat .message-row { margin: 10px 6px 6px !important; }
  #pc-chat .message-row.bot-row { margin-right: 6px !important; max-width: calc(100% - 12px) !important; }
  #pc-chat .message-row.bot-row .message { padding: 4px 8px !important; }
  .pc-cite summary { padding: 8px 10px; gap: 8px; }
  .pc-context { padding: 8px 10px 10px; }
  #pc-note { display: none; }
}
"""


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
            for kind, payload in services.ctx.assistant.stream(question, policy=policy, session_id=session_id):
                if kind in ("token", "reset"):
                    text = text + str(payload) if kind == "token" else ""
                    history[-1] = {"role": "assistant", "content": render_answer(text, pending=True)}
                    yield "", history, turns
                elif kind == "answer":
                    answer = payload
            if answer is None:
                raise RuntimeError("no answer")
            contract = answer.to_contract()
            try:
                policies = sources.policies()
            except Exception:
                policies = {}
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
                             render_markdown=True, line_breaks=False, layout="bubble",
                             feedback_options=("Like", "Dislike"), buttons=["copy"],
                             placeholder="**Ask anything about a privacy policy.**  \n"
                             "Every answer cites the exact passages it is based on.",
                             examples=[{"text": q} for q in EXAMPLES])
        with gr.Row(elem_id="pc-input-row", equal_height=True):
            box = gr.Textbox(placeholder="Ask about a privacy policy…", show_label=False, label="Your question",
                             elem_id="pc-input", max_lines=6, lines=1, scale=1, submit_btn=True,
                             max_length=services.settings.max_question_chars, autofocus=True)
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
