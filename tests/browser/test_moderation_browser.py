"""In Chromium: the author signs in, sees a held comment and why, approves it, and finds it on the post.
A reader never sees it before."""
from __future__ import annotations

import os
import threading

import pytest

from tests.conftest import post_comment

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not found at {CHROMIUM}"),
]


@pytest.fixture
def live_server(app):
    """The test app served on a free loopback port in a thread; stopped afterwards."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_author_approves_a_held_comment_in_the_browser(app, post, live_server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    post_comment(app.test_client(), post, author="Hazel Held", email="hazel@example.org",
                 comment="A careful first comment")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            reader = browser.new_context().new_page()
            reader.goto(f"{live_server}/{post}/")
            assert reader.locator("#comments").count() == 1
            assert reader.get_by_text("A careful first comment").count() == 0

            page = browser.new_context().new_page()
            page.goto(f"{live_server}/login?next=/moderation/")
            page.fill("input[name=email]", "author@example.com")
            page.fill("input[name=password]", "correct horse battery")
            page.keyboard.press("Enter")
            page.wait_for_url(f"{live_server}/moderation/")
            page.get_by_role("link", name="Pending (1)").click()
            row = page.locator("tr.comment-row", has_text="A careful first comment")
            sync_api.expect(row.locator(".moderation-reasons")).to_contain_text("First comment from this commenter")
            # Keyboard only: focus the Approve button and press Enter.
            row.get_by_role("button", name="Approve the comment by Hazel Held").focus()
            page.keyboard.press("Enter")
            page.wait_for_load_state()
            sync_api.expect(page.locator(".notice")).to_contain_text("Comment approved.")
            sync_api.expect(page.locator(".pending-count")).to_have_text("(0)")

            page.goto(f"{live_server}/{post}/")
            sync_api.expect(page.locator(".comment-content", has_text="A careful first comment")).to_be_visible()
            reader.reload()
            sync_api.expect(reader.locator(".comment-content", has_text="A careful first comment")).to_be_visible()
        finally:
            browser.close()
