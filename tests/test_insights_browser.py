"""The Summary, Compare and Changes pages and the widget's Summary button in a real chromium,
at desktop (1280x900) and phone (390x844) sizes; screenshots go to docs/screenshots/."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.test_browser import CHROMIUM_ARGS, Watch, chromium_path  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated.*"),
              pytest.mark.filterwarnings("ignore:SSR mode is not supported.*")]

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def app_url(ctx, tmp_path_factory):
    """The real app over the bundled corpus (all five policies) under uvicorn in a thread."""
    import uvicorn

    from ui.feedback import FeedbackStore
    from ui.security import Settings
    from ui.server import create_app

    port = free_port()
    app = create_app(ctx, Settings(allowed_origins=(), rate_capacity=0),
                     feedback=FeedbackStore(tmp_path_factory.mktemp("fb") / "feedback.sqlite3"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the app did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser):
    contexts = []

    def make(size: str):
        width, height = SIZES[size]
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        return page, Watch(page)

    yield make
    for c in contexts:
        c.close()


def choose(page, dropdown: str, *options: str) -> None:
    """Open a dropdown and click options as a person does (a multiselect stays open: Escape)."""
    page.locator(f"{dropdown} input[role='combobox']").click()
    for option in options:
        page.get_by_role("option", name=option, exact=True).click()
    if len(options) > 1:
        page.keyboard.press("Escape")


def fits_the_screen(page, size: str) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px ({size})"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_summary_page_shows_the_cited_label(app_url, open_page, size):
    page, watch = open_page(size)
    page.goto(app_url + "/summary", wait_until="domcontentloaded")
    choose(page, "#pc-summary-policy", "PODpartner Privacy Policy")
    page.locator("#pc-summary-go").click()
    rows = page.locator(".pc-label .pc-row")
    rows.first.wait_for()
    assert rows.count() == 12
    assert page.locator(".pc-label h2").inner_text().startswith("PODpartner Privacy Policy · version 2021-12-07")
    contact = page.locator(".pc-row-contact")
    assert "service@podpartner.com" in contact.locator(".pc-facts").inner_text()
    assert "Not stated" in page.locator(".pc-row-dnt").inner_text()
    # a citation opens "show in context": the quote highlighted inside its section
    card = contact.locator(".pc-cite").first
    card.locator("summary").click()
    mark = card.locator(".pc-context mark")
    mark.wait_for()
    assert "service@podpartner.com" in page.locator(".pc-row-contact .pc-cite").all_inner_texts()[0] \
        or mark.inner_text()
    fits_the_screen(page, size)
    shoot(page, f"summary-{size}")
    assert not watch.csp_violations() and not watch.dialogs


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_compare_page_tables_five_policies(app_url, open_page, size):
    page, watch = open_page(size)
    page.goto(app_url + "/compare", wait_until="domcontentloaded")
    choose(page, "#pc-compare-policies", "Alibaba Privacy Policy", "AliExpress.com Privacy Policy",
           "AliPartnership Privacy Policy", "AloPal Privacy Policy", "PODpartner Privacy Policy")
    page.locator("#pc-compare-go").click()
    table = page.locator(".pc-compare table.pc-table")
    table.wait_for()
    assert table.locator("tbody tr").count() == 12
    assert table.locator("tbody tr").first.locator("td").count() == 5
    share = table.locator("tr.pc-tr-share").inner_text()
    assert "Stripe" in share or "Google Analytics" in share
    assert page.locator(".pc-flag").count() >= 1   # differences are highlighted
    card = page.locator(".pc-compare .pc-cite").first
    card.locator("summary").click()
    card.locator(".pc-context mark").wait_for()
    fits_the_screen(page, size)
    shoot(page, f"compare-{size}")
    assert not watch.csp_violations() and not watch.dialogs


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_changes_page_shows_the_alibaba_diff(app_url, open_page, size):
    page, watch = open_page(size)
    page.goto(app_url + "/changes", wait_until="domcontentloaded")
    choose(page, "#pc-changes-policy", "Alibaba Privacy Policy")
    page.locator("#pc-changes-go").click()
    summary = page.locator(".pc-diff-summary")
    summary.wait_for()
    assert "2018-05-25 → 2019-01-17" in summary.inner_text()
    intro = page.locator(".pc-change").first
    assert "Introduction" in intro.locator("summary").first.inner_text()
    intro.locator("summary").first.click()
    added = intro.locator(".pc-add summary").all_inner_texts()
    assert any("Please refer to AliExpress.com Privacy Policy" in t for t in added)
    intro.locator(".pc-add summary").first.click()
    intro.locator(".pc-add .pc-context mark").first.wait_for()
    assert page.locator(".pc-change-removed summary", has_text="F. Minors").count() == 1
    fits_the_screen(page, size)
    shoot(page, f"changes-{size}")
    assert not watch.csp_violations() and not watch.dialogs


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_widget_summary_button_shows_the_label(app_url, open_page, size):
    page, watch = open_page(size)
    page.goto(app_url + "/demo", wait_until="domcontentloaded")
    page.locator("policychat-widget .launcher").click()
    page.locator("policychat-widget .summary-btn").click()
    rows = page.locator("policychat-widget .label-row")
    rows.first.wait_for()
    assert rows.count() == 12
    first = rows.first
    sources = first.locator(".label-cites")
    assert sources.count() == 1 and not sources.evaluate("d => d.open")   # closed until asked for
    sources.locator("summary").click()
    assert first.locator(".label-cites .quote").first.is_visible()
    shoot(page, f"widget-summary-{size}")
    assert not watch.csp_violations() and not watch.dialogs
