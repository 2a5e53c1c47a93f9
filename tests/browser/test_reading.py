"""What a reader notices before writing: structure, keyboard use, a page that fits a phone."""
import re

import pytest

from tests.browser.conftest import require_browser
from tests.conftest import add_comments

require_browser()

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_headings_and_landmarks_in_order(page, live_server):
    page.goto(live_server.post_url())
    headings = page.locator("h1, h2, h3, h4, h5, h6").evaluate_all(
        "hs => hs.map(h => h.tagName + ' ' + h.textContent.trim().replace(/\\s+/g, ' '))")
    assert headings[0] == "H1 What Can I Do If My Partner Won’t Go To Couples Therapy?"
    assert [h for h in headings if h.startswith("H1")] == headings[:1]
    thoughts = next(i for i, h in enumerate(headings) if h.startswith("H2 4 thoughts on “What Can I Do"))
    leave = next(i for i, h in enumerate(headings) if h.startswith("H2 Leave a Reply"))
    assert thoughts < leave
    levels = [int(h[1]) for h in headings]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), headings  # no level skipped
    for role in ("banner", "main", "contentinfo"):
        expect(page.get_by_role(role)).to_have_count(1)
    expect(page.get_by_role("region", name=re.compile("thoughts on"))).to_have_count(1)


def test_skip_link_is_the_first_stop_and_lands_in_main(page, live_server):
    page.goto(live_server.post_url())
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()


def test_keyboard_focus_is_visible(page, live_server):
    page.goto(live_server.post_url())
    link = page.locator(".comment-reply-link").first
    link.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard, so :focus-visible applies
    expect(link).to_be_focused()
    style = link.evaluate("a => getComputedStyle(a).outlineStyle + ' ' + getComputedStyle(a).outlineWidth")
    assert style.startswith("solid") and not style.endswith(" 0px")


def test_every_form_field_has_a_label(page, live_server):
    page.goto(live_server.post_url())
    for field in page.locator("#commentform :is(input, textarea):not([type=hidden]):not([type=submit])").all():
        assert field.evaluate("f => f.labels.length") == 1, field.get_attribute("name")


def test_pictures_are_captioned_frames(page, live_server):
    page.goto(live_server.post_url())
    figures = page.locator(".entry-content figure.image-placeholder")
    expect(figures).to_have_count(3)
    expect(figures.locator("figcaption")).to_have_text([
        "Woman Carrying Stacked Cardboard Boxes While Standing On One Leg",
        "asphalt road with white start sign"])
    box = figures.first.locator(".image-placeholder-box").bounding_box()
    assert box["width"] > 300 and box["height"] > 150


@pytest.mark.parametrize("width", [390, 320])
def test_fits_a_phone_without_sideways_scrolling(new_page, live_server, width):
    page = new_page(width=width, height=800)
    page.goto(live_server.post_url())
    page.locator(".comment-reply-link").nth(1).click()  # the moved form, deepest nesting
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    body_size = page.locator(".entry-content p").first.evaluate("p => parseFloat(getComputedStyle(p).fontSize)")
    assert body_size >= 16


def test_deepest_replies_stay_readable_on_a_small_phone(app, new_page, live_server):
    add_comments(app, live_server.slug, 5, replies_every=1)  # a chain down to depth 5
    page = new_page(width=320, height=700)
    page.goto(live_server.post_url())
    deepest = page.locator("li.comment.depth-5 .comment-content").first
    expect(deepest).to_have_text("Comment 4")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert deepest.bounding_box()["width"] >= 200
    page.locator("li.comment.depth-4 .comment-reply-link").first.click()
    assert page.locator("#respond").bounding_box()["width"] >= 200
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
