"""Refusals through the real form (CSRF on): a clear message at the field, nothing lost, nothing stored."""
from __future__ import annotations

import html5lib
import pytest
from sqlalchemy import func, select

from blog.comments.service import DUPLICATE_MESSAGE, MAX_COMMENT, MAX_EMAIL, MAX_NAME, MAX_URL
from blog.extensions import db
from blog.models import Comment, Post
from tests.conftest import add_comments, csrf_from, login, post_comment
from tests.unit.test_validation import email_of_length

TYPED = {"author": "Ada Lovelace", "email": "ada@example.org", "url": "https://ada.example/",
         "comment": "Line one\nline <b>two</b> & “three”", "comment_parent": "0"}


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def parse(res):
    return html5lib.parse(res.get_data(as_text=True), namespaceHTMLElements=False)


def by_id(document, id_):
    found = [el for el in document.iter() if el.get("id") == id_]
    assert len(found) == 1, f"#{id_} on the page {len(found)} times"
    return found[0]


def as_parsed(value: str) -> str:
    """What a browser's parser makes of typed text put back into the page."""
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def assert_refused_at(res, field: str, typed: dict, status: int = 422, text: str | None = None):
    """The form comes back with the message at the field and every field as typed."""
    assert res.status_code == status
    document = parse(res)
    assert "role" in by_id(document, "form-message").attrib  # announced
    error = by_id(document, f"{field}-error")
    message = "".join(error.itertext())
    assert message.strip()
    if text:
        assert text in message
    control = by_id(document, "comment" if field == "comment_parent" else field)
    assert f"{field}-error" in control.get("aria-describedby", "").split()
    if field == "comment_parent":
        # Nothing to reply to: the form comes back as a new comment, so sending it again works.
        typed = {**typed, "comment_parent": "0"}
    else:
        assert control.get("aria-invalid") == "true"
    assert_kept(document, typed)
    return document


def assert_kept(document, typed: dict):
    for name in ("author", "email", "url"):
        assert as_parsed(by_id(document, name).get("value", "")) == as_parsed(typed[name]), name
    textarea = by_id(document, "comment")
    assert (textarea.text or "") == as_parsed(typed["comment"]).removeprefix("\n")
    assert by_id(document, "comment_parent").get("value") == typed["comment_parent"]


def send(client, slug, **changes):
    typed = {**TYPED, **changes}
    return post_comment(client, slug, **typed), typed


@pytest.mark.parametrize("field, value, text", [
    ("author", "", "enter your name"),
    ("author", "   ", "enter your name"),
    ("author", "x" * (MAX_NAME + 1), "too long"),
    ("author", "Ada\nLovelace", "line breaks"),
    ("email", "", "enter your email"),
    ("email", "ada.example.org", "valid email"),
    ("email", "ada@", "valid email"),
    ("email", email_of_length(MAX_EMAIL + 1), "too long"),
    ("email", "ada@example.org\r\nBcc: all@example.org", "line breaks"),
    ("url", "javascript:alert(1)", "http://"),
    ("url", "data:text/html,<script>alert(1)</script>", "http://"),
    ("url", "ftp://ada.example/", "http://"),
    ("url", "http://" + "a" * (MAX_URL - 10) + ".com", "too long"),
    ("url", "http://ada.example/\nx", "line breaks"),
    ("comment", "", "type your comment"),
    ("comment", " \n\t\r\n  ", "type your comment"),
    ("comment", "x" * (MAX_COMMENT + 1), "too long"),
    ("comment", "<img src=x onerror=alert(1)>", "Nothing of your comment is left"),
    ("comment_parent", "abc", "does not exist"),
    ("comment_parent", "-1", "does not exist"),
    ("comment_parent", "1e9", "does not exist"),
    ("comment_parent", "9" * 40, "does not exist"),
    ("comment_parent", "2147483647", "does not exist"),
    ("comment_parent", "²", "does not exist"),
    ("comment_parent", "999", "does not exist"),
], ids=lambda v: v[:20] if isinstance(v, str) else v)
def test_refused_at_the_field_with_everything_kept(app, client, post, field, value, text):
    res, typed = send(client, post, **{field: value})
    assert_refused_at(res, field, typed, text=text)
    assert count(app) == 0


@pytest.mark.parametrize("field", ["author", "email", "url", "comment"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x9b"], ids=["NUL", "BEL", "ESC", "DEL", "CSI"])
def test_control_characters_refused_in_every_field(app, client, post, field, char):
    value = {"author": "Ada{}", "email": "ada{}@example.org", "url": "https://ada.example/{}",
             "comment": "Hello{}there"}[field].format(char)
    res, typed = send(client, post, **{field: value})
    assert_refused_at(res, field, typed, text="control characters")
    assert count(app) == 0


def test_several_bad_fields_are_all_marked(app, client, post):
    res, typed = send(client, post, author="", email="nope", url="javascript:x", comment="")
    document = parse(res)
    for field in ("author", "email", "url", "comment"):
        assert_refused_at(res, field, typed)
    # The summary at the top links each message to its field.
    summary = by_id(document, "form-message")
    assert {a.get("href") for a in summary.iter("a")} == {"#author", "#email", "#url", "#comment"}


def test_the_limits_themselves_are_accepted(app, client, post):
    url = "https://" + "a" * (MAX_URL - 12) + ".com"
    assert len(url) == MAX_URL
    res, typed = send(client, post, author="n" * MAX_NAME, email=email_of_length(MAX_EMAIL), url=url,
                      comment="c" * MAX_COMMENT)
    assert res.status_code == 303
    with app.app_context():
        [c] = db.session.scalars(select(Comment)).all()
        assert (len(c.author_name), len(c.author_email), len(c.author_url), len(c.body_raw)) == (
            MAX_NAME, MAX_EMAIL, MAX_URL, MAX_COMMENT)


@pytest.mark.parametrize("char", ["é", "中", "😀"])
def test_the_longest_comment_is_accepted_in_any_script(app, client, post, char):
    # Percent-encoded, 65,525 emoji are 786,300 bytes: the request limit must let them in.
    res, _ = send(client, post, comment=char * MAX_COMMENT)
    assert res.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Comment.body_raw)) == char * MAX_COMMENT


def test_a_request_over_the_size_limit_is_a_clear_413(app, client, post):
    res, _ = send(client, post, comment="x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert res.status_code == 413 and "too large" in res.get_data(as_text=True)
    assert count(app) == 0


def test_bare_domain_gets_http(app, client, post):
    res, _ = send(client, post, url="ada.example/me")
    assert res.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Comment.author_url)) == "http://ada.example/me"


def test_comment_on_closed_post_is_refused_with_the_text_kept_read_only(app, client, post):
    page = client.get(f"/{post}/")  # the form was open when the reader started typing
    with app.app_context():
        db.session.execute(Post.__table__.update().values(comments_open=False))
        db.session.commit()
    typed = dict(TYPED)
    res = client.post(f"/{post}/comments", data={**typed, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert res.status_code == 403
    document = parse(res)
    assert "Comments are closed on this post." in "".join(by_id(document, "form-message").itertext())
    assert_kept(document, typed)
    assert "readonly" in by_id(document, "comment").attrib
    assert by_id(document, "commentform").find(".//input[@type='submit']") is None
    assert count(app) == 0


def test_closed_post_without_a_refusal_shows_no_form(app, client, post):
    with app.app_context():
        db.session.execute(Post.__table__.update().values(comments_open=False))
        db.session.commit()
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert "Comments are closed." in html and 'id="commentform"' not in html


@pytest.mark.parametrize("parent_status", ["pending", "spam", "trash"])
def test_reply_to_a_comment_that_is_not_approved_is_refused(app, client, post, parent_status):
    [parent] = add_comments(app, post, 1, status=parent_status)
    res, typed = send(client, post, comment_parent=str(parent))
    assert_refused_at(res, "comment_parent", typed, text="does not exist or is not published")
    assert count(app) == 1


def test_refused_reply_can_be_sent_again_as_a_new_comment(app, client, post):
    [parent] = add_comments(app, post, 1, status="trash")
    res, typed = send(client, post, comment_parent=str(parent))
    document = assert_refused_at(res, "comment_parent", typed, text="Send yours again")
    again = {el.get("name"): el.get("value") for el in document.iter("input") if el.get("type") == "hidden"}
    res = client.post(f"/{post}/comments", data={**typed, **again})
    assert res.status_code == 303
    with app.app_context():
        new = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
        assert new.parent_id is None and new.body_raw == typed["comment"]


def test_reply_to_a_comment_on_another_post_is_refused(app, client, post):
    with app.app_context():
        author_id = db.session.scalar(select(Post.author_id))
        db.session.add(Post(slug="other", title="Other", body="<p>x</p>", author_id=author_id))
        db.session.commit()
    [elsewhere] = add_comments(app, "other", 1)
    res, typed = send(client, post, comment_parent=str(elsewhere))
    assert_refused_at(res, "comment_parent", typed, text="does not exist")
    assert count(app) == 1


def test_refused_reply_to_a_real_comment_still_says_reply_to(app, client, post):
    [parent] = add_comments(app, post, 1)
    res, typed = send(client, post, comment_parent=str(parent), email="")
    document = assert_refused_at(res, "email", typed)
    assert "".join(by_id(document, "reply-title-text").itertext()) == "Reply to Reader 0"
    assert count(app) == 1


def test_duplicate_comment_is_refused_with_wordpress_message(app, client, post):
    first, typed = send(client, post)
    assert first.status_code == 303
    res = post_comment(client, post, **typed)
    assert_refused_at(res, "comment", typed, status=409, text=DUPLICATE_MESSAGE)
    assert DUPLICATE_MESSAGE == "Duplicate comment detected; it looks as though you’ve already said that!"
    assert count(app) == 1


def test_same_text_from_someone_else_is_not_a_duplicate(app, client, post):
    assert send(client, post)[0].status_code == 303
    assert send(app.test_client(), post, email="grace@example.org")[0].status_code == 303


def test_signed_in_user_is_not_asked_for_name_or_email(app, client, post, make_user):
    make_user("sam@example.com", "Sam")
    login(client, "sam@example.com")
    res = post_comment(client, post, author="", email="", url="", comment="Signed in")
    assert res.status_code == 303 and count(app) == 1


def test_notification_choices_are_kept_on_refusal(app, client, post):
    res, _ = send(client, post, email="", subscribe_replies="y", subscribe_blog="y")
    document = parse(res)
    assert "checked" in by_id(document, "subscribe_replies").attrib
    assert "checked" in by_id(document, "subscribe_blog").attrib
    assert "checked" not in by_id(document, "subscribe_comments").attrib


@pytest.mark.parametrize("query", ["?replytocom=²", "?replytocom=99999999999999999999", "?cpage=²",
                                   "?cpage=-1", "?replytocom=abc&cpage=1e9"])
def test_garbage_in_query_is_ignored_not_500(client, post, query):
    assert client.get(f"/{post}/{query}").status_code == 200
