"""The chat page and the embeddable widget in a real chromium.

The real app (real model, real index) runs under uvicorn in a background thread on a free
loopback port; a second, plain http.server on other ports serves the host pages that embed
the widget, so the widget is tested cross-origin with the app's allow-list set to the host.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import app_in_thread, free_port
from index.config import BUNDLED_CORPUS

pytestmark = [pytest.mark.browser,
              # Gradio's queue calls pandas APIs that pandas 3 deprecates; not ours to fix
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated.*")]

ANSWER_TIMEOUT = 120_000  # ms: the first answer warms up the model and the lexical index
PAYLOAD = "<img src=x onerror=alert(1)>"
HOSTILE_CSS = ("* { display:block!important; font-size:2px!important; color:transparent!important } "
               "button{display:none!important} div{position:static!important}")

XSS_POLICY = f"""Quokkafield Privacy Policy

Effective date: March 1, 2024

1. Information We Collect

When you join the Quokkafield loyalty programme we collect your email address and your shoe size {PAYLOAD} so that we can send you offers.

2. How Long We Keep Data

We keep loyalty programme data for two years after your last purchase <script>alert(2)</script> and then delete it.Backup copies are erased within thirty days.

3. Contact

Write to privacy@quokkafield.example with any question about this policy.
"""


@pytest.fixture(scope="session")
def browser_db(tmp_path_factory, embedder) -> Path:
    """An index of one bundled policy plus a policy whose text contains markup."""
    from index.pipeline import Indexer
    from index.store import Store, open_client

    files = tmp_path_factory.mktemp("browser-policies")
    shutil.copy(BUNDLED_CORPUS / "aliexpress.txt", files / "aliexpress.txt")
    (files / "quokkafield.txt").write_text(XSS_POLICY, encoding="utf-8")
    db = tmp_path_factory.mktemp("browser-db")
    report = Indexer(Store(open_client(db)), lambda: embedder).run([files])
    assert report.count("indexed") == 2, [r.message for r in report.results]
    return db


class HostPages:
    """A plain static web server (another origin) serving the pages that embed the widget."""

    def __init__(self, root: Path):
        handler = functools.partial(QuietHandler, directory=str(root))
        self.allowed = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.foreign = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self.allowed, self.foreign)]
        for t in self.threads:
            t.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.allowed.server_address[1]}"

    @property
    def foreign_origin(self) -> str:
        return f"http://127.0.0.1:{self.foreign.server_address[1]}"

    def close(self):
        for s in (self.allowed, self.foreign):
            s.shutdown()
            s.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def host_page(app_url: str, policy: str, css: str = "") -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Host shop</title>
<link rel="icon" href="data:,">
<style>body {{ font-family: serif; }} {css}</style></head>
<body><h1>Host shop</h1><p>Products and things.</p><button id="host-button">Host button</button>
<script src="{app_url}/widget.js" data-policy="{policy}" data-title="Privacy help" data-color="#e62e04" defer></script>
</body></html>"""


@pytest.fixture(scope="session")
def servers(browser_db, embedder, tmp_path_factory):
    """(app_url, HostPages): the real app under uvicorn, the host pages on two other ports."""
    from ui.context import AppContext
    from ui.feedback import FeedbackStore
    from index.settings import Settings
    from ui.server import create_app

    root = tmp_path_factory.mktemp("host-pages")
    hosts = HostPages(root)
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    (root / "shop.html").write_text(host_page(app_url, "aliexpress"))
    (root / "hostile.html").write_text(host_page(app_url, "aliexpress", HOSTILE_CSS))
    (root / "markup.html").write_text(host_page(app_url, "quokkafield"))

    ctx = AppContext(db_dir=browser_db)
    ctx.__dict__["embedder"] = embedder
    feedback = FeedbackStore(tmp_path_factory.mktemp("feedback") / "feedback.sqlite3")
    app = create_app(ctx, Settings(allowed_origins=(hosts.origin,), rate_capacity=0), feedback=feedback)
    with app_in_thread(app, port, lifespan="on"):
        # warm the model and the index once so that the browser tests measure the UI, not the start
        assert httpx.post(f"{app_url}/api/ask", json={"question": "warm up"}, timeout=300).status_code == 200
        yield app_url, hosts, feedback
    hosts.close()


# --- the Gradio chat ----------------------------------------------------------------------
def ask_in_chat(page, question: str):
    box = page.locator("#pc-input textarea")
    box.wait_for()
    box.fill(question)
    box.press("Enter")


def test_chat_answers_with_citation_cards(servers, page_factory):
    app_url, _, feedback = servers
    page, watch = page_factory()
    elsewhere = []   # everything must come from the app itself (offline: no CDN, no fonts API)
    page.on("request", lambda r: elsewhere.append(r.url)
            if not r.url.startswith((app_url, "data:", "blob:")) else None)
    page.goto(app_url + "/", wait_until="domcontentloaded")
    ask_in_chat(page, "How long does AliExpress keep my data?")
    card = page.locator(".pc-cite").first
    card.wait_for(timeout=ANSWER_TIMEOUT)
    assert "AliExpress.com Privacy Policy" in card.locator(".pc-src").inner_text()
    quote = card.locator(".pc-quote").inner_text()
    assert len(quote) > 20
    assert page.locator(".pc-num").first.inner_text() == "1"
    assert page.locator(".pc-answer").last.inner_text().strip()
    # expanding the card shows the surrounding section with the quote highlighted
    card.locator("summary").click()
    mark = card.locator(".pc-context mark")
    mark.wait_for()
    assert " ".join(mark.inner_text().split())[:40] in " ".join(quote.split())
    assert card.locator(".pc-context-text").inner_text().strip() != mark.inner_text().strip()
    # thumbs up is stored (hashed)
    before = len(feedback.rows())
    page.locator("#pc-chat button[aria-label='Like']").last.click()
    deadline = time.monotonic() + 15
    while len(feedback.rows()) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    row = feedback.rows()[-1]
    assert row["rating"] == 1 and row["question"] is None and len(row["question_sha256"]) == 64
    # a new chat clears the conversation
    page.locator("#pc-clear").click()
    page.locator(".pc-cite").first.wait_for(state="detached")
    assert not watch.csp_violations(), watch.csp_violations()
    assert not watch.dialogs
    assert elsewhere == []


def test_chat_policy_selector_and_phone_layout(servers, page_factory):
    app_url, _, _ = servers
    page, watch = page_factory(390, 844)
    page.goto(app_url + "/", wait_until="domcontentloaded")
    combo = page.locator("#pc-policy input[role='combobox']")
    combo.click()
    page.get_by_role("option", name="AliExpress.com Privacy Policy · 2020-09-09").click()
    assert combo.input_value() == "AliExpress.com Privacy Policy · 2020-09-09"
    ask_in_chat(page, "Who receives my payment information?")
    page.locator(".pc-cite").first.wait_for(timeout=ANSWER_TIMEOUT)
    sources = page.locator(".pc-src").all_inner_texts()
    assert sources and all(s.startswith("AliExpress.com Privacy Policy") for s in sources)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    for box in (page.locator("#pc-input textarea").bounding_box(), page.locator(".pc-cite").first.bounding_box()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert not watch.csp_violations()


def test_chat_shows_policy_and_question_markup_as_text(servers, page_factory):
    app_url, _, _ = servers
    page, watch = page_factory()
    page.goto(app_url + "/", wait_until="domcontentloaded")
    ask_in_chat(page, f"What does the Quokkafield loyalty programme collect? {PAYLOAD}")
    page.locator(".pc-cite").first.wait_for(timeout=ANSWER_TIMEOUT)
    page.locator(".pc-cite summary").first.click()
    assert PAYLOAD in page.locator(".pc-question").last.inner_text()
    assert PAYLOAD in page.locator(".pc-quote").first.inner_text()
    assert PAYLOAD in page.locator(".pc-context mark").first.inner_text()
    assert PAYLOAD in page.locator(".pc-answer").last.inner_text()
    assert page.locator("#pc-chat img[src='x']").count() == 0
    time.sleep(0.5)
    assert watch.dialogs == []


# --- the widget -----------------------------------------------------------------------------
W = "policychat-widget >> "


def open_widget(page):
    launcher = page.locator(W + "button.launcher")
    launcher.wait_for()
    launcher.click()
    page.locator(W + ".panel").wait_for()
    return launcher


def ask_in_widget(page, question: str):
    box = page.locator(W + "textarea")
    box.fill(question)
    box.press("Enter")
    page.locator(W + ".msg.bot:not(.welcome) .cite").first.wait_for(timeout=ANSWER_TIMEOUT)


def shadow_focus(page) -> str:
    return page.evaluate("""() => { const h = document.querySelector('policychat-widget');
        const a = h && h.shadowRoot.activeElement; return a ? a.tagName + '.' + a.className : ''; }""")


def test_widget_on_another_origin(servers, page_factory):
    app_url, hosts, _ = servers
    page, watch = page_factory()
    page.goto(hosts.origin + "/shop.html", wait_until="domcontentloaded")
    launcher = open_widget(page)
    assert launcher.get_attribute("aria-expanded") == "true"
    assert shadow_focus(page) == "TEXTAREA.input"                     # focus moved into the panel
    assert page.locator(W + ".log").get_attribute("aria-live") == "polite"
    assert page.locator(W + ".panel").get_attribute("role") == "dialog"
    ask_in_widget(page, "How long do you keep my data?")
    cites = page.locator(W + ".cite")
    first = cites.first
    assert first.locator(".num").inner_text() == "1"
    src = first.locator(".src").inner_text()
    assert src.startswith("AliExpress.com Privacy Policy · ")
    assert len(first.locator(".quote").inner_text()) > 20
    answer = page.locator(W + ".msg.bot .answer").last.inner_text()
    assert answer.strip()
    # Esc closes and gives focus back to the launcher
    page.keyboard.press("Escape")
    page.locator(W + ".panel").wait_for(state="hidden")
    assert shadow_focus(page) == "BUTTON.launcher"
    assert launcher.get_attribute("aria-expanded") == "false"
    # the conversation survives a reload (sessionStorage)
    page.reload(wait_until="domcontentloaded")
    open_widget(page)
    assert page.locator(W + ".msg.user").first.inner_text() == "How long do you keep my data?"
    assert page.locator(W + ".cite").count() == cites.count() > 0
    # keyboard only: Esc closes, Enter on the (focused) launcher reopens
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.locator(W + ".panel").wait_for()
    assert not watch.errors, watch.errors


def test_widget_full_screen_on_phone(servers, page_factory):
    _, hosts, _ = servers
    page, _ = page_factory(390, 844)
    page.goto(hosts.origin + "/shop.html", wait_until="domcontentloaded")
    open_widget(page)
    box = page.locator(W + ".panel").bounding_box()
    assert box["x"] == 0 and box["y"] == 0 and box["width"] == 390 and box["height"] == 844
    ask_in_widget(page, "How do I delete my account?")
    overflow = page.evaluate("() => { const l = document.querySelector('policychat-widget').shadowRoot"
                             ".querySelector('.log'); return l.scrollWidth - l.clientWidth; }")
    assert overflow <= 0


def test_widget_survives_hostile_host_css(servers, page_factory):
    _, hosts, _ = servers
    page, watch = page_factory()
    page.goto(hosts.origin + "/hostile.html", wait_until="domcontentloaded")
    assert page.locator("#host-button").is_hidden()                  # the hostile CSS is in force
    launcher = page.locator(W + "button.launcher")
    launcher.wait_for(state="visible")
    box = launcher.bounding_box()
    assert box["width"] > 40 and box["height"] > 30
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800
    open_widget(page)
    ask_in_widget(page, "How long do you keep my data?")
    quote = page.locator(W + ".cite .quote").first
    assert quote.is_visible()
    style = quote.evaluate("q => { const s = getComputedStyle(q); return [s.fontSize, s.color, s.display]; }")
    assert float(style[0].rstrip("px")) >= 12 and style[1] != "rgba(0, 0, 0, 0)" and style[2] != "none"
    panel = page.locator(W + ".panel").bounding_box()
    assert panel["width"] >= 300 and panel["height"] >= 300
    assert not watch.errors


def test_widget_shows_policy_markup_as_text(servers, page_factory):
    _, hosts, _ = servers
    page, watch = page_factory()
    page.goto(hosts.origin + "/markup.html", wait_until="domcontentloaded")
    open_widget(page)
    ask_in_widget(page, f"What does the loyalty programme collect? {PAYLOAD}")
    assert PAYLOAD in page.locator(W + ".msg.user").last.inner_text()
    assert PAYLOAD in page.locator(W + ".cite .quote").first.inner_text()
    assert PAYLOAD in page.locator(W + ".msg.bot .answer").last.inner_text()
    images = page.evaluate("() => document.querySelector('policychat-widget').shadowRoot.querySelectorAll('img').length"
                           " + document.querySelectorAll('img').length")
    assert images == 0
    time.sleep(0.5)
    assert watch.dialogs == []


def test_api_refuses_an_origin_outside_the_allow_list(servers, page_factory):
    app_url, hosts, _ = servers
    # the host page of a foreign origin can load the (public) script but not use the API
    page, watch = page_factory()
    page.goto(hosts.foreign_origin + "/shop.html", wait_until="domcontentloaded")
    open_widget(page)
    page.locator(W + "textarea").fill("How long do you keep my data?")
    page.locator(W + "textarea").press("Enter")
    error = page.locator(W + ".msg.bot.error")
    error.wait_for(timeout=30_000)
    assert page.locator(W + ".cite").count() == 0
    outcome = page.evaluate("""async (url) => {
        try { await fetch(url + '/api/policies'); return 'read'; } catch (e) { return 'blocked'; } }""", app_url)
    assert outcome == "blocked"
    # the same request from the allowed origin is readable
    page.goto(hosts.origin + "/shop.html", wait_until="domcontentloaded")
    outcome = page.evaluate("""async (url) => {
        try { const r = await fetch(url + '/api/policies'); return r.ok ? 'read' : 'status ' + r.status; }
        catch (e) { return 'blocked'; } }""", app_url)
    assert outcome == "read"
    # and at the HTTP level: no Access-Control-Allow-Origin for the foreign origin
    refused = httpx.options(f"{app_url}/api/ask/stream", headers={
        "Origin": hosts.foreign_origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert "access-control-allow-origin" not in refused.headers
    allowed = httpx.options(f"{app_url}/api/ask/stream", headers={
        "Origin": hosts.origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert allowed.headers["access-control-allow-origin"] == hosts.origin


def test_demo_page_serves_the_widget(servers, page_factory):
    app_url, _, _ = servers
    page, watch = page_factory()
    page.goto(app_url + "/demo", wait_until="domcontentloaded")
    open_widget(page)
    ask_in_widget(page, "Who do you share my data with?")
    color = page.locator(W + ".launcher").evaluate("b => getComputedStyle(b).backgroundColor")
    assert color == "rgb(230, 46, 4)"                                  # data-color
    assert not watch.csp_violations() and not watch.errors


# --- what a new user trips over (issue 17) ----------------------------------------------------
LONG_QUESTION = ("How long do you keep my data? " * 700).strip()  # a pasted 21,000-character question
LIMIT_MESSAGE = f"The question is {len(LONG_QUESTION)} characters; the limit is 2000"


def shadow(page, script: str):
    return page.evaluate("() => { const r = document.querySelector('policychat-widget').shadowRoot; "
                         f"return {script}; }}")


def test_widget_on_a_phone_sends_with_the_send_button(servers, page_factory):
    """Full screen on a phone: the launcher hides (it used to cover Send); a tap on Send asks."""
    _, hosts, _ = servers
    page, watch = page_factory(390, 844, touch=True)
    page.goto(hosts.origin + "/shop.html", wait_until="domcontentloaded")
    page.locator(W + "button.launcher").tap()
    page.locator(W + ".panel").wait_for()
    assert page.locator(W + "button.launcher").is_hidden()
    send = page.locator(W + "button.send")
    box = send.bounding_box()
    assert box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390
    # the element at Send's centre is Send itself, nothing on top of it
    assert shadow(page, f"r.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2})"
                        ".closest('button.send') !== null")
    page.locator(W + "textarea").fill("How do I delete my account?")
    send.tap()
    page.locator(W + ".msg.bot:not(.welcome) .cite").first.wait_for(timeout=ANSWER_TIMEOUT)
    assert page.locator(W + ".panel").is_visible()
    assert page.locator(W + ".msg.bot .answer").last.inner_text().strip()
    assert page.locator(W + ".cite .quote").first.inner_text().strip()
    # the panel's own close button closes it and the launcher comes back
    page.locator(W + ".head button[aria-label='Close Privacy help']").tap()
    page.locator(W + ".panel").wait_for(state="hidden")
    assert page.locator(W + "button.launcher").is_visible()
    assert not watch.errors, watch.errors


def test_widget_renders_lists_and_breaks_glued_sentences(servers, page_factory):
    _, hosts, _ = servers
    page, _ = page_factory()
    page.goto(hosts.origin + "/shop.html", wait_until="domcontentloaded")
    open_widget(page)
    ask_in_widget(page, "How do I delete my account?")
    answer = page.locator(W + ".msg.bot .answer").last
    items = answer.locator("li")
    assert items.count() >= 1
    assert not any(line.lstrip().startswith("- ") for line in answer.inner_text().splitlines())
    page.goto(hosts.origin + "/markup.html", wait_until="domcontentloaded")
    open_widget(page)
    ask_in_widget(page, "How long do you keep loyalty programme data?")
    glued = [q for q in page.locator(W + ".cite .quote").all() if "it.Backup" in q.text_content()]
    assert glued, "the Quokkafield retention sentence runs 'it.Backup' together"
    assert glued[0].locator(".join").count() == 1                      # a visible break …
    assert glued[0].locator(".join").evaluate("j => getComputedStyle(j).display") == "block"
    assert "then delete it.Backup copies" in glued[0].text_content()   # … and the quote stays verbatim


def test_widget_refuses_a_too_long_question_instead_of_cutting_it(servers, page_factory):
    _, hosts, _ = servers
    page, _ = page_factory()
    page.goto(hosts.origin + "/shop.html", wait_until="domcontentloaded")
    open_widget(page)
    box = page.locator(W + "textarea")
    box.fill(LONG_QUESTION)
    box.press("Enter")
    notice = page.locator(W + ".notice")
    notice.wait_for()
    assert notice.inner_text() == LIMIT_MESSAGE + "."
    assert page.locator(W + ".msg.user").count() == 0                  # nothing was asked
    assert len(box.input_value()) == len(LONG_QUESTION)                # and nothing was lost


def test_chat_refuses_a_too_long_question_instead_of_cutting_it(servers, page_factory):
    app_url, _, _ = servers
    page, _ = page_factory()
    page.goto(app_url + "/", wait_until="domcontentloaded")
    ask_in_chat(page, LONG_QUESTION)
    page.get_by_text(LIMIT_MESSAGE).first.wait_for()
    assert page.locator(".pc-question").count() == 0
    assert len(page.locator("#pc-input textarea").input_value()) == len(LONG_QUESTION)


def choose_aliexpress(page):
    combo = page.locator("#pc-policy input[role='combobox']")
    combo.click()
    page.get_by_role("option", name="AliExpress.com Privacy Policy · 2020-09-09").click()


def chat_layout(page) -> tuple[float, float]:
    return page.evaluate("() => [document.querySelector('#pc-chat').getBoundingClientRect().width, "
                         "document.querySelector('#pc-header').getBoundingClientRect().height]")


def wait_for_answers(page, n: int):
    page.wait_for_function("n => document.querySelectorAll('.pc-cites').length >= n "
                           "&& !document.querySelector('.pc-caret, .pc-typing')", arg=n, timeout=ANSWER_TIMEOUT)


def test_chat_keeps_the_new_answer_in_view_and_the_layout_stable(servers, page_factory):
    app_url, _, _ = servers
    page, _ = page_factory(1280, 900)
    page.goto(app_url + "/", wait_until="domcontentloaded")
    page.locator("#pc-input textarea").wait_for()
    empty = chat_layout(page)
    choose_aliexpress(page)
    ask_in_chat(page, "How do I delete my account?")
    wait_for_answers(page, 1)
    assert chat_layout(page) == empty                                   # no widening, no reflowed header
    ask_in_chat(page, "Who do you share my data with?")
    wait_for_answers(page, 2)
    page.wait_for_timeout(500)
    view = page.evaluate("""() => { const a = [...document.querySelectorAll('.pc-answer')].pop();
        const box = a.closest('.bubble-wrap'); const top = a.getBoundingClientRect().top - box.getBoundingClientRect().top;
        return {top, scrollable: box.scrollHeight > box.clientHeight + 200, height: box.clientHeight}; }""")
    assert view["scrollable"], view                                     # a long answer: the case that matters
    assert 0 <= view["top"] <= 160, view                                # the answer's start is in view, at the top
    # Gradio's scroll-down arrow is not laid over the answer text
    page.locator(".bubble-wrap").evaluate("b => b.scrollTop = b.scrollHeight / 3")
    page.wait_for_timeout(300)
    assert page.locator("#pc-chat button[aria-label='Scroll down']").is_hidden()


def test_chat_formats_answers_and_shows_each_heading_once(servers, page_factory):
    app_url, _, _ = servers
    page, _ = page_factory(390, 844)
    page.goto(app_url + "/", wait_until="domcontentloaded")
    ask_in_chat(page, "How long do you keep my data?")                  # both indexed policies answer
    wait_for_answers(page, 1)
    answer = page.locator(".pc-answer").last
    titles = answer.locator(".pc-part-title").all_inner_texts()
    assert "AliExpress.com Privacy Policy" in titles and len(titles) >= 2, answer.inner_text()
    # a quote that runs two source sentences together shows a break and keeps its text
    glued = [q for q in page.locator(".pc-quote").all() if "it.Backup" in q.text_content()]
    assert glued and glued[0].locator(".pc-join").count() == 1
    assert glued[0].locator(".pc-join").evaluate("j => getComputedStyle(j).display") == "block"
    choose_aliexpress(page)
    ask_in_chat(page, "How do I delete my account?")
    wait_for_answers(page, 2)
    answer = page.locator(".pc-answer").last
    assert answer.locator("ul.pc-list li").count() >= 1
    assert not any(line.lstrip().startswith("- ") for line in answer.inner_text().splitlines())
    # "Show in context": the section's heading once (the title), not again as the first line
    card = page.locator(".pc-cite").last
    card.locator("summary").click()
    title = card.locator(".pc-context-title").inner_text()
    first_line = card.locator(".pc-context-text").inner_text().lstrip("… ").splitlines()[0]
    squash = lambda t: "".join(ch for ch in t.lower() if ch.isalnum())
    assert squash(first_line) != squash(title.split(" > ")[-1]), (title, first_line)


def test_a_browser_gets_a_404_page_not_json(servers, page_factory):
    app_url, _, _ = servers
    page, watch = page_factory(390, 844)
    response = page.goto(app_url + "/etc/passwd/source", wait_until="domcontentloaded")
    assert response.status == 404
    page.get_by_role("heading", name="Page not found").wait_for()
    assert "/etc/passwd/source" in page.locator("main").inner_text()
    page.get_by_role("link", name="Open the chat").click()
    page.locator("#pc-input textarea").wait_for()
    assert not watch.csp_violations(), watch.csp_violations()
