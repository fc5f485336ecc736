"""The Summary, Compare and Changes pages and the widget's Summary button in a real chromium,
at desktop (1280x900) and phone (390x844) sizes; screenshots go to docs/screenshots/."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import app_in_thread

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated.*"),
              pytest.mark.filterwarnings("ignore:SSR mode is not supported.*")]

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def app_url(ctx, tmp_path_factory):
    """The real app over the bundled corpus (all five policies) under uvicorn in a thread."""
    from ui.feedback import FeedbackStore
    from index.settings import Settings
    from ui.server import create_app

    app = create_app(ctx, Settings(allowed_origins=(), rate_capacity=0),
                     feedback=FeedbackStore(tmp_path_factory.mktemp("fb") / "feedback.sqlite3"))
    with app_in_thread(app) as url:
        yield url


@pytest.fixture
def open_page(page_factory):  # noqa: F811
    return lambda size: page_factory(*SIZES[size])


def choose(page, dropdown: str, *options: str) -> None:
    """Open a dropdown and click options as a person does (a multiselect stays open: Escape)."""
    page.locator(f"{dropdown} input[role='combobox']").click()
    for option in options:
        page.get_by_role("option", name=option, exact=True).click()
    if len(options) > 1:
        page.keyboard.press("Escape")


def show(open_page, app_url: str, size: str, path: str, dropdown: str, options: tuple, button: str, ready: str):
    """Open a page, choose in its dropdown and press its button as a person does; wait for ``ready``."""
    page, watch = open_page(size)
    page.goto(app_url + path, wait_until="domcontentloaded")
    choose(page, dropdown, *options)
    page.locator(button).click()
    page.locator(ready).first.wait_for()
    return page, watch


def fits_the_screen(page, size: str) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px ({size})"


def opens_in_context(card) -> str:
    """Open a citation card as a person does; the quote is highlighted in its section's text."""
    card.locator("summary").first.click()
    mark = card.locator(".pc-context mark").first
    mark.wait_for()
    return mark.inner_text()


def looks_right(page, watch, name: str, size: str) -> None:
    """No sideways scrolling, no CSP violation, no dialog; the screenshot for docs/screenshots/."""
    fits_the_screen(page, size)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size}.png"))
    assert not watch.csp_violations(), watch.csp_violations()
    assert not watch.dialogs


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_summary_page_shows_the_cited_label(app_url, open_page, size):
    page, watch = show(open_page, app_url, size, "/summary", "#pc-summary-policy", ("PODpartner Privacy Policy",),
                       "#pc-summary-go", ".pc-label .pc-row")
    assert page.locator(".pc-label .pc-row").count() == 12
    assert page.locator(".pc-label h2").inner_text().startswith("PODpartner Privacy Policy · version 2021-12-07")
    contact = page.locator(".pc-row-contact")
    assert "service@podpartner.com" in contact.locator(".pc-facts").inner_text()
    assert "Not stated" in page.locator(".pc-row-dnt").inner_text()
    # a citation opens "show in context": the quote highlighted inside its section
    quote = contact.locator(".pc-cite .pc-quote").first.inner_text()
    marked = opens_in_context(contact.locator(".pc-cite").first)
    assert " ".join(marked.split())[:40] in " ".join(quote.split())
    looks_right(page, watch, "summary", size)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_compare_page_tables_five_policies(app_url, open_page, size):
    titles = ("Alibaba Privacy Policy", "AliExpress.com Privacy Policy", "AliPartnership Privacy Policy",
              "AloPal Privacy Policy", "PODpartner Privacy Policy")
    page, watch = show(open_page, app_url, size, "/compare", "#pc-compare-policies", titles, "#pc-compare-go",
                       ".pc-compare table.pc-table")
    table = page.locator(".pc-compare table.pc-table")
    assert table.locator("tbody tr").count() == 12
    assert table.locator("tbody tr").first.locator("td").count() == 5
    contact = table.locator("tr.pc-tr-contact").inner_text()
    assert "service@podpartner.com" in contact and "support@alipartnership.com" in contact
    assert page.locator(".pc-flag").count() >= 1   # differences are highlighted
    assert opens_in_context(page.locator(".pc-compare .pc-cite").first)
    looks_right(page, watch, "compare", size)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_changes_page_shows_the_alibaba_diff(app_url, open_page, size):
    page, watch = show(open_page, app_url, size, "/changes", "#pc-changes-policy", ("Alibaba Privacy Policy",),
                       "#pc-changes-go", ".pc-diff-summary")
    summary = page.locator(".pc-diff-summary")
    assert "2018-05-25 → 2019-01-17" in summary.inner_text()
    intro = page.locator(".pc-change").first
    assert "Introduction" in intro.locator("summary").first.inner_text()
    intro.locator("summary").first.click()
    added = intro.locator(".pc-add summary").all_inner_texts()
    assert any("Please refer to AliExpress.com Privacy Policy" in t for t in added)
    assert "Alibaba.com" in opens_in_context(intro.locator(".pc-add").first)
    assert page.locator(".pc-change-removed summary", has_text="F. Minors").count() == 1
    looks_right(page, watch, "changes", size)


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
    looks_right(page, watch, "widget-summary", size)
