"""axe-core (axe-playwright-python carries the engine) finds no serious or critical
violation on the reader's pages, under the app's own Content-Security-Policy."""
import pytest

from tests.browser.conftest import require_browser

require_browser()

from axe_playwright_python.sync_playwright import Axe  # noqa: E402

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}


def assert_no_serious_violations(page):
    # Playwright's evaluate runs over the DevTools protocol, which CSP does not govern:
    # axe gets in without the page's policy being loosened.
    results = Axe().run(page)
    assert results.response["passes"], "axe did not run"
    found = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
    report = "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                       + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                                   for n in v["nodes"][:5])
                       for v in found)
    assert not found, f"axe found:\n{report}"


def assert_strict_csp(response):
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp


def test_the_scan_sees_a_planted_violation(page, live_server):
    """The scan is live on this page: an unlabelled field planted in the form is reported."""
    page.goto(live_server.post_url())
    page.evaluate("document.getElementById('commentform').append(document.createElement('textarea'))")
    with pytest.raises(AssertionError, match=r"label \(critical\)"):
        assert_no_serious_violations(page)


@pytest.mark.parametrize("width, scheme", [(1280, "light"), (390, "light"), (1280, "dark")],
                         ids=["desktop", "phone", "dark"])
def test_post_page(new_page, live_server, width, scheme):
    page = new_page(width=width, scheme=scheme)
    assert_strict_csp(page.goto(live_server.post_url()))
    assert_no_serious_violations(page)


def test_post_page_with_the_reply_form_moved(page, live_server):
    page.goto(live_server.post_url())
    page.locator(".comment-reply-link").first.click()
    assert_no_serious_violations(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_refused_form(new_page, live_server, scheme):
    page = new_page(scheme=scheme)
    page.goto(live_server.post_url())
    page.locator("#comment").fill("No email given")
    page.locator("#author").fill("Ada Reader")
    with page.expect_navigation() as nav:
        page.locator("#submit").click()
    assert nav.value.status == 422
    assert_strict_csp(nav.value)
    assert_no_serious_violations(page)


def test_held_comment_on_its_permalink(page, live_server):
    page.goto(live_server.post_url())
    page.locator("#comment").fill("Held for now")
    page.locator("#author").fill("Ada Reader")
    page.locator("#email").fill("ada@example.org")
    page.locator("#submit").click()
    page.wait_for_url("**#comment-*")
    assert_no_serious_violations(page)


@pytest.mark.parametrize("path", ["/login", "/"])
def test_other_reader_pages(page, live_server, path):
    assert_strict_csp(page.goto(path))
    assert_no_serious_violations(page)


def test_login_refused(page, live_server):
    page.goto("/login")
    page.locator("#email").fill("nobody@example.org")
    page.locator("#password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert_no_serious_violations(page)


def test_post_page_signed_in(page, live_server, make_user):
    make_user("ada@example.org", "Ada Reader", "correct horse battery")
    page.goto("/login")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.goto(live_server.post_url())
    assert page.locator(".logged-in-as").count() == 1
    assert_no_serious_violations(page)
