"""A reader in real Chromium: reads the thread, replies with and without JavaScript,
gets a refused form back with everything typed still there."""
import re

import pytest

from tests.browser.conftest import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

FIRST = "Carol Whitfield"  # the demo's first comment, answered by the author


def first_comment(page):
    return page.locator("ol.comment-list > li.comment.depth-1").first


def comment_id(li) -> str:
    return li.get_attribute("id").removeprefix("comment-")


def test_thread_is_nested_with_the_author_reply_badged(page, live_server):
    page.goto(live_server.post_url())
    expect(page.locator("h1")).to_have_text("What Can I Do If My Partner Won’t Go To Couples Therapy?")
    expect(page.locator("h2.comments-title")).to_have_text(re.compile(r"^4 thoughts on “What Can I Do"))
    first = first_comment(page)
    expect(first.locator(".fn").first).to_have_text(FIRST)
    reply = first.locator(":scope > ol.children > li.comment.depth-2")
    expect(reply).to_have_count(1)
    expect(reply).to_have_class(re.compile(r"\bbypostauthor\b"))
    expect(reply.locator(".fn")).to_have_text("Winifred")
    expect(reply.locator(".author-badge")).to_be_visible()
    expect(reply.locator(".author-badge")).to_have_text("Author")
    expect(reply.locator(".comment-content")).to_contain_text("You’re welcome!")
    expect(page.locator("ol.comment-list > li.comment")).to_have_count(3)


def test_reply_moves_the_form_without_a_page_load_and_cancel_returns_it(page, live_server):
    page.goto(live_server.post_url())
    page.evaluate("window.samePage = true")  # gone if the browser loads a page
    first = first_comment(page)
    link = first.locator(":scope > .comment-body .comment-reply-link")
    link.click()

    respond = page.locator("#respond")
    expect(first.locator(":scope > #respond")).to_have_count(1)
    # Right below the comment it answers, before its replies.
    assert first.evaluate("li => li.querySelector(':scope > .comment-body').nextElementSibling.id") == "respond"
    expect(page.locator("#comment")).to_be_focused()
    expect(page.locator("#reply-title")).to_contain_text(f"Reply to {FIRST}")
    expect(page.locator("#comment_parent")).to_have_value(comment_id(first))
    expect(page.locator("#cancel-comment-reply-link")).to_be_visible()
    assert page.evaluate("window.samePage") is True

    page.locator("#cancel-comment-reply-link").click()
    expect(page.locator("#comments > #respond")).to_have_count(1)
    expect(link).to_be_focused()
    expect(page.locator("#reply-title")).to_contain_text("Leave a Reply")
    expect(page.locator("#cancel-comment-reply-link")).to_be_hidden()
    expect(page.locator("#comment_parent")).to_have_value("0")
    expect(respond).to_have_count(1)
    assert page.evaluate("window.samePage") is True


def test_reply_works_from_the_keyboard(page, live_server):
    page.goto(live_server.post_url())
    link = first_comment(page).locator(":scope > .comment-body .comment-reply-link")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#comment")).to_be_focused()
    page.keyboard.type("Typed from the keyboard")
    page.keyboard.press("Escape")
    expect(link).to_be_focused()
    expect(page.locator("#comments > #respond")).to_have_count(1)
    expect(page.locator("#comment")).to_have_value("Typed from the keyboard")  # nothing lost

    # Again, leaving by the Cancel link: it sits just before the form.
    page.keyboard.press("Enter")
    expect(page.locator("#comment")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#cancel-comment-reply-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(link).to_be_focused()
    expect(page.locator("#comments > #respond")).to_have_count(1)


def submit_reply(page, text: str, name="Ada Reader", email="ada@example.org"):
    page.locator("#comment").fill(text)
    page.locator("#author").fill(name)
    page.locator("#email").fill(email)
    page.locator("#submit").click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    return page.url.rsplit("#comment-", 1)[1]


def assert_held_reply_in_place(page, new_id: str, parent_id: str, text: str):
    mine = page.locator(f"#comment-{parent_id} > ol.children > li#comment-{new_id}")
    expect(mine).to_have_count(1)
    expect(mine).to_have_class(re.compile(r"\bdepth-2\b"))
    expect(mine.locator(".comment-content")).to_have_text(text)
    expect(mine.locator(".comment-awaiting-moderation")).to_have_text("Your comment is awaiting moderation.")
    expect(mine.locator(".fn")).to_have_text("Ada Reader")
    expect(mine).to_be_in_viewport()


def test_reply_with_javascript_lands_on_its_permalink_held(page, live_server):
    page.goto(live_server.post_url())
    first = first_comment(page)
    parent_id = comment_id(first)
    first.locator(":scope > .comment-body .comment-reply-link").click()
    new_id = submit_reply(page, "Thank you, this helped me too.")
    assert_held_reply_in_place(page, new_id, parent_id, "Thank you, this helped me too.")


def test_reply_without_javascript(new_page, live_server):
    page = new_page(javascript=False)
    page.goto(live_server.post_url())
    first = first_comment(page)
    parent_id = comment_id(first)
    link = first.locator(":scope > .comment-body .comment-reply-link")
    expect(link).to_have_attribute("href", re.compile(rf"\?replytocom={parent_id}#respond$"))
    link.click()
    page.wait_for_url(re.compile(rf"\?replytocom={parent_id}#respond$"))
    expect(page.locator("#reply-title")).to_contain_text(f"Reply to {FIRST}")
    expect(page.locator("#cancel-comment-reply-link")).to_be_visible()
    expect(page.locator("#comment_parent")).to_have_value(parent_id)

    new_id = submit_reply(page, "Replying the old-fashioned way.")
    assert_held_reply_in_place(page, new_id, parent_id, "Replying the old-fashioned way.")


def test_cancel_without_javascript_goes_back_to_a_plain_comment(new_page, live_server):
    page = new_page(javascript=False)
    page.goto(live_server.post_url())
    first_comment(page).locator(":scope > .comment-body .comment-reply-link").click()
    page.locator("#cancel-comment-reply-link").click()
    page.wait_for_url(re.compile(r"/#respond$"))
    expect(page.locator("#reply-title")).to_contain_text("Leave a Reply")
    expect(page.locator("#cancel-comment-reply-link")).to_be_hidden()
    expect(page.locator("#comment_parent")).to_have_value("0")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_refused_reply_comes_back_with_the_error_at_the_field(new_page, live_server, javascript):
    page = new_page(javascript=javascript)
    page.goto(live_server.post_url())
    first = first_comment(page)
    parent_id = comment_id(first)
    first.locator(":scope > .comment-body .comment-reply-link").click()
    page.locator("#comment").fill("A reply I took\nsome time to write.")
    page.locator("#author").fill("Ada Reader")
    page.locator("#url").fill("https://ada.example.org")
    page.locator("#subscribe_replies").check()
    with page.expect_navigation() as nav:
        page.locator("#submit").click()
    assert nav.value.status == 422

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your comment could not be posted.")
    email = page.locator("#email")
    expect(email).to_have_attribute("aria-invalid", "true")
    described = email.get_attribute("aria-describedby").split()
    error = page.locator("#email-error")
    assert "email-error" in described
    expect(error).to_have_text("Please enter your email address. It will not be published.")
    expect(email).to_have_accessible_description(re.compile("Please enter your email address"))
    expect(alert).to_be_in_viewport()
    if javascript:
        expect(alert).to_be_focused()
    # Everything typed is still there, and it is still a reply.
    expect(page.locator("#comment")).to_have_value("A reply I took\nsome time to write.")
    expect(page.locator("#author")).to_have_value("Ada Reader")
    expect(page.locator("#url")).to_have_value("https://ada.example.org")
    expect(page.locator("#subscribe_replies")).to_be_checked()
    expect(page.locator("#comment_parent")).to_have_value(parent_id)
    expect(page.locator("#reply-title")).to_contain_text(f"Reply to {FIRST}")
    expect(page.locator("#comment")).not_to_have_attribute("aria-invalid", "true")

    # The summary's link takes the reader to the field.
    alert.get_by_role("link", name=re.compile("Please enter your email address")).click()
    expect(email).to_be_focused()
    page.keyboard.type("ada@example.org")
    page.locator("#submit").click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    new_id = page.url.rsplit("#comment-", 1)[1]
    assert_held_reply_in_place(page, new_id, parent_id, re.compile(r"A reply I took\s*some time to write\."))


def test_cancel_with_javascript_on_a_server_opened_reply_keeps_the_text(page, live_server):
    page.goto(live_server.post_url())
    parent_id = comment_id(first_comment(page))
    page.goto(live_server.post_url(f"?replytocom={parent_id}#respond"))
    page.evaluate("window.samePage = true")
    page.locator("#comment").fill("Second thoughts")
    page.locator("#cancel-comment-reply-link").click()
    expect(page.locator("#reply-title")).to_contain_text("Leave a Reply")
    expect(page.locator("#comment_parent")).to_have_value("0")
    expect(page.locator("#comment")).to_have_value("Second thoughts")
    expect(page.locator("#comment")).to_be_focused()
    assert page.evaluate("window.samePage") is True


def test_signed_in_reader_sees_their_name_instead_of_the_fields(page, live_server, make_user):
    make_user("ada@example.org", "Ada Reader", "correct horse battery")
    page.goto("/login")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.post_url())
    expect(page.locator(".logged-in-as")).to_contain_text("Logged in as Ada Reader.")
    expect(page.locator("#author, #email, #url")).to_have_count(0)
    first = first_comment(page)
    parent_id = comment_id(first)
    first.locator(":scope > .comment-body .comment-reply-link").click()
    page.keyboard.type("Signed in and replying.")
    page.locator("#submit").click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    new_id = page.url.rsplit("#comment-", 1)[1]
    assert_held_reply_in_place(page, new_id, parent_id, "Signed in and replying.")


def test_expired_session_keeps_the_text_and_the_second_try_works(page, live_server):
    page.goto(live_server.post_url())
    page.locator("#comment").fill("Written slowly over lunch.")
    page.locator("#author").fill("Ada Reader")
    page.locator("#email").fill("ada@example.org")
    page.context.clear_cookies()  # the session, and with it the CSRF token, is gone
    with page.expect_navigation() as nav:
        page.locator("#submit").click()
    assert nav.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("Your session expired")
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.locator("#comment")).to_have_value("Written slowly over lunch.")
    expect(page.locator("#author")).to_have_value("Ada Reader")
    page.locator("#submit").click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    new_id = page.url.rsplit("#comment-", 1)[1]
    expect(page.locator(f"#comment-{new_id} .comment-content")).to_have_text("Written slowly over lunch.")
