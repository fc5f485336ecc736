"""The chat page (Gradio): a question box, a policy picker and streaming answers with citation
cards (ui/chat_html.py). Questions are answered through ui/service.py, the same path as
/api/ask; this module only renders.
"""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

import gradio as gr

from ui.chat_html import SourceCache, render_answer, render_error, render_question
from ui.insights_view import add_pages
from ui.service import ApiError, QuestionRequest, Services, accept, answer_events

log = logging.getLogger("policychat.chat")
STATIC = Path(__file__).resolve().parent / "static"

ALL = ""
EXAMPLES = [
    "How long do you keep my data?",
    "Who receives my payment information?",
    "How do I delete my account?",
    "Do you use cookies for advertising?",
]
# What the page says instead of an answer (the API's wording is for programs).
UNAVAILABLE_TEXT = "The policy index is unavailable right now. Please try again in a moment."
FAILED_TEXT = "Sorry, something went wrong while answering. Please try again."


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
CSS = static_text("chat.css") + static_text("insights.css")  # the chat page and its insights pages


def build_chat(services: Services) -> gr.Blocks:
    """The chat page, with the insights pages, for ``services``."""
    sources = SourceCache(services)

    def respond(message, history, policy, session_id, turns, request: gr.Request):
        history = list(history or [])
        turns = dict(turns or {})
        message = message or ""
        client = request.client.host if request is not None and request.client else "unknown"
        try:
            accepted = accept(services, QuestionRequest(message, policy or None, session_id,
                                                        meter=f"chat:{client}"))
        except ApiError as exc:
            if exc.status != 422 or message.strip():  # an empty box is no question: nothing to say
                gr.Warning(exc.message[:1].upper() + exc.message[1:])
            yield gr.update(), history, turns
            return
        history += [{"role": "user", "content": render_question(accepted.question)},
                    {"role": "assistant", "content": render_answer("", pending=True)}]
        yield "", history, turns
        try:
            policies = sources.policies()
        except Exception:  # titles are a nicety; the answer does not need them
            policies = {}
        text = ""
        for kind, payload in answer_events(services, accepted, "chat"):
            if kind in ("token", "reset"):
                text = text + str(payload) if kind == "token" else ""
                history[-1] = {"role": "assistant", "content": render_answer(text, policies=policies, pending=True)}
                yield "", history, turns
            elif kind == "answer":
                contract = payload.to_contract()
                history[-1] = {"role": "assistant", "content": render_answer(
                    contract["answer"], contract["citations"], policies, sources, abstained=contract["abstained"])}
                turns[str(len(history) - 1)] = {"question": accepted.question, "policy": accepted.policy,
                                                "answer": contract["answer"], "abstained": contract["abstained"],
                                                "citations": contract["citations"]}
            else:
                message = UNAVAILABLE_TEXT if kind == "unavailable" else FAILED_TEXT
                history[-1] = {"role": "assistant", "content": render_error(message)}
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
    add_pages(demo, services)  # the Summary, Compare and Changes pages
    return demo
