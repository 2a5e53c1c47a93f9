"""In Chromium: type a comment, sign in through the real OpenID Connect provider, get the text back, post it."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import require_browser

require_browser()
pytestmark = pytest.mark.browser


@pytest.fixture
def config_overrides(oidc_provider):
    return oidc_provider.config()


@pytest.fixture
def live_server(app, oidc_provider):
    """The app on the port whose callback the provider knows (one host name: 127.0.0.1)."""
    server = make_server("127.0.0.1", oidc_provider.live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{oidc_provider.live_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_sign_in_through_the_provider_and_comment(live_server, post, page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/{post}/")
    assert page.get_by_text("Fill in your details below or click an icon to log in:").is_visible()
    page.fill("#comment", "Written before signing in, kept through the round trip.")
    page.get_by_role("button", name="Log in with Test OpenID").click()

    # The provider's development login and consent pages.
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", "dora")
    page.fill("input[name=password]", "anything")
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/interaction/**")
    page.locator("button[type=submit]").first.click()

    page.wait_for_url(f"{live_server}/{post}/**")
    respond = page.locator("#respond")
    assert "You are commenting using your Test OpenID account." in respond.inner_text()
    assert "Dora Tester" in respond.inner_text()
    assert page.locator("#author").count() == 0  # guest fields hidden
    # The avatar from the provider is allowed by this page's CSP and shows.
    assert page.eval_on_selector(".identity-avatar", "img => img.complete && img.naturalWidth") == 40
    assert page.input_value("#comment") == "Written before signing in, kept through the round trip."

    page.locator("#submit").click()
    page.wait_for_load_state()
    comment = page.locator("li.comment").filter(has_text="kept through the round trip")
    assert comment.count() == 1
    assert "Dora Tester" in comment.inner_text()
    assert not [e for e in errors if "Content Security Policy" in e], errors
