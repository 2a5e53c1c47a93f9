"""Browser tests: real headless Chromium (Debian's package) driven by Playwright,
against the app served on a free port by a werkzeug server in a background thread.

Where Chromium or the playwright package is missing, each browser test module
skips itself with the reason (``require_browser()`` at its top), so the rest of
the suite still runs and the skip report says why.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


def require_browser() -> None:
    """Call at the top of a browser test module, before importing playwright."""
    reason = missing_browser()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}", allow_module_level=True)


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    slug: str  # the demo post's

    def post_url(self, query: str = "") -> str:
        return f"{self.url}/{self.slug}/{query}"


@pytest.fixture
def live_server(app, demo):
    """The test app on the test database, with the demo content, served on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", demo)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for this package's tests. Package scope, not session: Playwright's sync
    API leaves its event loop marked as running until it stops, which would break
    asyncio.run() in tests collected after these."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a shared, busy CI machine: patience, not flakiness
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(javascript=True, width=1280, scheme="light"): a page in a fresh context (own cookies).

    After the test, fails if a page threw a script error or the browser blocked
    anything under the Content-Security-Policy.
    """
    contexts, problems = [], []

    def make(javascript: bool = True, width: int = 1280, height: int = 900, scheme: str = "light"):
        context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript,
                                      viewport={"width": width, "height": height}, color_scheme=scheme)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("console", lambda msg: "Content Security Policy" in msg.text and problems.append(msg.text))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_page):
    return new_page()
