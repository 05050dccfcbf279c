"""The system Chromium driven by Playwright against the app served on localhost.

No browser is ever downloaded: the tests use the Debian package's ``/usr/bin/chromium``,
and fail (never skip) when it cannot start.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Response
from werkzeug.serving import BaseWSGIServer, make_server

#: The Debian package's browser (scripts/test installs it with apt-get).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Headless as root, and quiet: without the networking flags Chromium keeps calling Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How Chromium reports a request that failed because the browser context is offline.
OFFLINE = "Failed to load resource: net::ERR_INTERNET_DISCONNECTED"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def read_whole(app: Flask) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The app whose every response is read in full, and its file closed, before a byte
    is sent.

    A browser drops connections it no longer needs (a favicon, a page it navigated away
    from). Werkzeug's development server then leaves the response's file unclosed, and
    the ResourceWarning from its thread fails a suite that treats warnings as errors.
    """

    def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return serve


class LiveServer:
    """The app on a free port of 127.0.0.1, served by threads of this process."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, read_whole(app), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Watched:
    """A page whose console errors, uncaught exceptions and server errors are kept,
    and whose HTML is remembered after every navigation."""

    def __init__(self, context: BrowserContext, name: str) -> None:
        self.page: Page = context.new_page()
        self.name = name
        self.errors: list[str] = []
        self.shots = 0
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        # A Content-Security-Policy violation is reported here as an error too. A request
        # a test cut off with the context set offline is not the page's error: Chromium
        # reports the page's own navigation, and the worker's check of sw.js, when the
        # worker answers them from its cache.
        if message.type == "error" and not message.text.startswith(OFFLINE):
            where = message.location.get("url", "")
            self.errors.append(f"console: {message.text} ({where})")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.errors.append(f"{response.status} {response.url}")

    def shot(self, label: str) -> None:
        """A full-page screenshot in the test output folder, numbered in journey order."""
        self.shots += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def text(self) -> str:
        """What the user can read on the page, attributes excluded."""
        return self.page.locator("body").inner_text()


def type_into(page: Page, field: Locator, text: str, *, replace: bool = False) -> None:
    """Focuses a field and types, as a keyboard user does; checks the focus is visible."""
    field.focus()
    assert_focus_visible(field)
    if replace:
        page.keyboard.press("Control+A")
    page.keyboard.type(text)


def assert_focus_visible(field: Locator) -> None:
    assert field.evaluate("e => e === document.activeElement"), "the field did not take focus"
    outline = field.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none", "a focused field must show where the focus is"


def focused_label(page: Page) -> str:
    """The accessible text of the focused element: its label's text or its own."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            if (e.labels && e.labels.length) return e.labels[0].innerText.trim();
            return (e.innerText || e.value || '').trim();
        }"""
    )


def sign_in(watched: Watched, username: str, password: str) -> None:
    """The sign-in page filled with the keyboard alone: type, Tab, type, Enter."""
    page = watched.page
    page.goto("/dang-nhap")
    type_into(page, page.get_by_label("Tên đăng nhập", exact=True), username)
    page.keyboard.press("Tab")
    assert focused_label(page) == "Mật khẩu"
    assert_focus_visible(page.get_by_label("Mật khẩu", exact=True))
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/dang-nhap" not in page.url, watched.text()


def number_text(text: str) -> float | None:
    """A figure as the pages write it ("1.234", "112,5%", "–") as a number."""
    text = text.strip().rstrip("%").strip()
    if not re.search(r"\d", text):
        return None
    return float(text.replace(".", "").replace(",", "."))
