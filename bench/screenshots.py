"""Screenshots of the chat and the widget, taken with chromium from the real app.

    .venv/bin/python bench/screenshots.py [--db DIR] [--out docs/screenshots]

Starts `policychat serve` on a free loopback port (indexing the bundled policies first when
the index is empty), then saves chat-desktop.png (1280×900, a cross-policy answer with one
citation expanded), chat-phone.png (390×844, a bulleted answer), widget-desktop.png (1280×900)
and widget-phone.png (390×844, asked with a tap on Send), both on /demo. The chat is shown as
the page leaves it after an answer (the answer's start pinned in view), not scrolled by hand.
Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars"]
ANSWER_MS = 180_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ui.cli", "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "POLICYCHAT_RATE_LIMIT": "off"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 900
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited:\n{proc.stdout.read()}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                httpx.post(url + "/api/ask", json={"question": "warm up"}, timeout=300)
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not become healthy in time")


def chat_shot(browser, url: str, path: Path, width: int, height: int, question: str, policy_label: str | None):
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
    page.goto(url + "/", wait_until="domcontentloaded")
    box = page.locator("#pc-input textarea")
    box.wait_for(timeout=60_000)
    if policy_label:
        page.locator("#pc-policy input[role='combobox']").click()
        page.get_by_role("option", name=policy_label).click()
    box.fill(question)
    box.press("Enter")
    page.locator(".pc-cite").first.wait_for(timeout=ANSWER_MS)
    page.wait_for_timeout(600)
    if width >= 700:   # open the first card in place (a click would also scroll the page to it)
        page.locator(".pc-cite details").first.evaluate("d => d.open = true")
    page.wait_for_timeout(600)
    page.screenshot(path=str(path))
    page.close()


def widget_shot(browser, url: str, path: Path, width: int, height: int, question: str):
    phone = width < 500
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                  has_touch=phone)
    page = context.new_page()
    page.goto(url + "/demo", wait_until="domcontentloaded")
    launcher = page.locator("policychat-widget >> button.launcher")
    launcher.tap() if phone else launcher.click()
    page.locator("policychat-widget >> textarea").fill(question)
    send = page.locator("policychat-widget >> button.send")
    send.tap() if phone else send.click()
    page.locator("policychat-widget >> .cite").first.wait_for(timeout=ANSWER_MS)
    page.wait_for_timeout(600)
    page.screenshot(path=str(path))
    context.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("POLICYCHAT_DB", "/tmp/policychat-screenshots-db"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(args.db, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            chat_shot(browser, url, out / "chat-desktop.png", 1280, 900, "Who receives my payment information?",
                      None)
            chat_shot(browser, url, out / "chat-phone.png", 390, 844, "How do I delete my account?",
                      "AliExpress.com Privacy Policy · 2020-09-09")
            widget_shot(browser, url, out / "widget-desktop.png", 1280, 900, "How long do you keep my data?")
            widget_shot(browser, url, out / "widget-phone.png", 390, 844, "How do I delete my account?")
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    for name in ("chat-desktop.png", "chat-phone.png", "widget-desktop.png", "widget-phone.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
