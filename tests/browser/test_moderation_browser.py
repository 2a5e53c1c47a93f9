"""In Chromium: the author signs in, sees a held comment and why, approves it, and finds it on the post.
A reader never sees it before."""
from __future__ import annotations

import threading

import pytest

from tests.browser.conftest import require_browser
from tests.conftest import post_comment

require_browser()
pytestmark = pytest.mark.browser


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


def test_author_approves_a_held_comment_in_the_browser(app, post, live_server, browser):
    from playwright import sync_api

    post_comment(app.test_client(), post, author="Hazel Held", email="hazel@example.org",
                 comment="A careful first comment")
    contexts = []
    try:
        contexts.append(browser.new_context())
        reader = contexts[-1].new_page()
        reader.goto(f"{live_server}/{post}/")
        assert reader.locator("#comments").count() == 1
        assert reader.get_by_text("A careful first comment").count() == 0

        contexts.append(browser.new_context())
        page = contexts[-1].new_page()
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
        for context in contexts:
            context.close()
