"""Email subscriptions through the real forms and links, CSRF on, asserting on the outbox."""
from __future__ import annotations

import json
import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, OutboxMessage, Post, Subscriber, Subscription, SubscriptionNotice
from blog.signals import comment_changed
from tests.conftest import csrf_from, login, post_comment

SITE = {"SERVER_NAME": "blog.example"}  # CLI commands build links from it


def outbox(app, to: str | None = None, kind: str | None = None) -> list[OutboxMessage]:
    """Subscription mail in the outbox (the author's moderation mail is another matter)."""
    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.kind.startswith("subscription-")).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.to_addr == to)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def link(message: OutboxMessage, path: str) -> str:
    """The path of the first link in the mail's text part that goes to ``path``."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s>]*)", message.body_text)
    assert match, f"no {path} link in:\n{message.body_text}"
    return match.group(1)


def sign_up(client, slug: str, email: str):
    page = client.get(f"/{slug}/")
    return client.post(f"/{slug}/subscribe", data={"email": email, "csrf_token": csrf_from(page.get_data(as_text=True))})


def confirm_by_mail(app, client, email: str):
    [mail] = outbox(app, to=email, kind="subscription-confirm")[-1:]
    path = link(mail, "/subscriptions/confirm/")
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def set_status(app, comment_id: int, status: str, action: str) -> None:
    """What a moderation service does: change the status, commit, then send comment_changed."""
    with app.test_request_context():
        comment = db.session.get(Comment, comment_id)
        comment.status = status
        db.session.commit()
        comment_changed.send(app, comment=comment, post_id=comment.post_id, action=action)


def moderate(app, comment_id: int, action: str) -> None:
    """The post's author acts on the desk, through the moderation service."""
    from blog.models import User
    from blog.moderation.service import set_status as desk_action

    with app.test_request_context():
        comment = db.session.get(Comment, comment_id)
        assert desk_action(comment, action, db.session.get(User, comment.post.author_id))


def last_comment_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Comment.id).order_by(Comment.id.desc()).limit(1))


def subscriber(app, email: str) -> Subscriber | None:
    with app.app_context():
        row = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
        db.session.expunge_all()
        return row


def draft(app, slug="next-sunday", title="Next Sunday") -> str:
    with app.app_context():
        author = db.session.scalar(select(Post)).author_id
        db.session.add(Post(slug=slug, title=title, body="<p>The letter for Sunday.</p>", author_id=author,
                            published_at=None))
        db.session.commit()
    return slug


# --- the sign-up under the post and double opt-in -----------------------------

def test_signup_form_sits_right_after_the_article(client, demo):
    html = client.get(f"/{demo}/").get_data(as_text=True)
    closing = html.index("Sign up to have next Sunday")
    form = html.index('id="subscribe"')
    assert closing < html.index("</article>") < form < html.index('id="comments"')
    assert 'name="email"' in html[form:html.index("</form>", form)]


def test_nothing_but_one_confirmation_until_the_link_is_followed(app, client, post, runner):
    res = sign_up(client, post, "Reader@Example.org")
    assert res.status_code == 303
    assert "link to confirm" in client.get(res.headers["Location"]).get_data(as_text=True)
    [mail] = outbox(app)
    assert (mail.to_addr, mail.kind) == ("reader@example.org", "subscription-confirm")
    assert "New posts by email" in mail.body_text and mail.body_html
    assert "List-Unsubscribe" not in mail.headers  # a confirmation is not a list mail

    app.config.update(SITE)
    draft(app)
    assert runner.invoke(args=["posts", "publish", "next-sunday"]).exit_code == 0
    assert len(outbox(app)) == 1  # unconfirmed: the new post is not sent

    assert confirm_by_mail(app, client, "reader@example.org").status_code == 303
    assert subscriber(app, "reader@example.org").confirmed_at is not None
    draft(app, "the-sunday-after", "The Sunday after")
    result = runner.invoke(args=["posts", "publish", "the-sunday-after"])
    assert "1 subscriber mailed" in result.output
    [letter] = outbox(app, kind="subscription-post")
    assert letter.subject == "New post: The Sunday after"
    assert "http://blog.example/the-sunday-after/" in letter.body_text and "The letter for Sunday." in letter.body_text
    assert 'href="http://blog.example/the-sunday-after/"' in letter.body_html
    assert letter.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http://blog\.example/subscriptions/unsubscribe/[^>]+>", letter.headers["List-Unsubscribe"])
    # Publishing again mails nobody twice.
    assert "0 subscribers mailed" in runner.invoke(args=["posts", "publish", "the-sunday-after"]).output


def test_confirmation_link_works_once(app, client, post):
    sign_up(client, post, "once@example.org")
    [mail] = outbox(app)
    path = link(mail, "/subscriptions/confirm/")
    page = client.get(path)
    assert confirm_by_mail(app, client, "once@example.org").status_code == 303
    again = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    assert client.get(path).status_code == 410


def test_expired_confirmation_link_is_refused(app, client, post, monkeypatch):
    sign_up(client, post, "late@example.org")
    path = link(outbox(app)[0], "/subscriptions/confirm/")
    later = int(time.time()) + 25 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    res = client.get(path)
    assert res.status_code == 410 and "expired" in res.get_data(as_text=True)
    assert subscriber(app, "late@example.org").confirmed_at is None


def test_confirming_needs_a_post_and_the_page_token(app, client, post):
    sign_up(client, post, "scan@example.org")
    path = link(outbox(app)[0], "/subscriptions/confirm/")
    client.get(path)  # a mail scanner following the link confirms nothing
    assert subscriber(app, "scan@example.org").confirmed_at is None
    assert client.post(path).status_code == 400  # no CSRF token
    assert subscriber(app, "scan@example.org").confirmed_at is None


@pytest.mark.parametrize("token", ["nonsense", "eyJzIjoxfQ.AAAA.BBBB"])
def test_tampered_links_are_refused_clearly(client, token):
    for path in (f"/subscriptions/confirm/{token}", f"/subscriptions/manage/{token}",
                 f"/subscriptions/unsubscribe/{token}"):
        res = client.get(path)
        assert res.status_code == 400 and "not valid" in res.get_data(as_text=True)
    assert client.post(f"/subscriptions/unsubscribe/{token}").status_code == 400


def test_confirmation_mails_to_one_address_are_capped(app, client, post):
    for _ in range(6):
        res = sign_up(client, post, "victim@example.org")
        assert res.status_code == 303  # the same answer every time: nothing to learn from it
    assert len(outbox(app, to="victim@example.org")) == 3
    # Only the latest link works.
    mails = outbox(app)
    first, last = (link(m, "/subscriptions/confirm/") for m in (mails[0], mails[-1]))
    assert client.get(first).status_code == 410 and client.get(last).status_code == 200


def test_signup_with_a_bad_address_keeps_what_was_typed(app, client, post):
    res = sign_up(client, post, "not-an-address")
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert 'value="not-an-address"' in html and "valid email address" in html
    assert outbox(app) == []
    page = client.get(f"/{post}/")
    assert client.post(f"/{post}/subscribe", data={"email": "a@example.org"}).status_code == 400  # no CSRF token
    assert page.status_code == 200 and outbox(app) == []


def verified(app, user_id: int) -> None:
    from datetime import datetime, timezone

    from blog.models import User

    with app.app_context():
        db.session.get(User, user_id).email_verified_at = datetime.now(timezone.utc)
        db.session.commit()


def test_signed_in_user_with_a_verified_address_skips_confirmation(app, client, post, make_user):
    verified(app, make_user("sam@example.com", "Sam"))
    login(client, "sam@example.com")
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert "your account's address, sam@example.com" in html
    post_comment(client, post, author=None, email=None, comment="Signed in", subscribe_comments="y")
    assert sign_up(client, post, "ignored@example.org").status_code == 303  # the account's address is used
    assert outbox(app) == [] and subscriber(app, "ignored@example.org") is None
    assert subscriber(app, "sam@example.com").confirmed_at is not None
    with app.app_context():
        assert {s.kind for s in db.session.scalars(select(Subscription))} == {"comments", "blog"}


def test_signed_in_user_with_an_unverified_address_confirms_by_mail(app, client, post, make_user):
    make_user("una@example.com", "Una")
    login(client, "una@example.com")
    post_comment(client, post, author=None, email=None, comment="Signed in", subscribe_comments="y")
    [mail] = outbox(app)
    assert (mail.to_addr, mail.kind) == ("una@example.com", "subscription-confirm")
    assert subscriber(app, "una@example.com").confirmed_at is None


# --- notifications on approval ------------------------------------------------

def subscribed_commenter(app, client, post, email="ann@example.org", **boxes) -> int:
    """A guest comments with checkboxes ticked, confirms by mail, and gets approved."""
    post_comment(client, post, author="Ann", email=email, comment="My first thoughts",
                 **{k: "y" for k in boxes})
    comment_id = last_comment_id(app)
    confirm_by_mail(app, client, email)
    set_status(app, comment_id, "approved", "approve")
    return comment_id


def test_reply_notifies_the_parents_subscriber_only_after_approval(app, client, post):
    parent = subscribed_commenter(app, client, post, subscribe_replies=True)
    assert outbox(app, kind="subscription-comment") == []  # her own comment tells her nothing

    other = app.test_client()
    post_comment(other, post, author="Bob", email="bob@example.org", comment_parent=str(parent),
                 comment='Agreed! <script>alert(1)</script><b>so</b> true')
    reply = last_comment_id(app)
    assert outbox(app, kind="subscription-comment") == []  # held on arrival: nothing yet

    set_status(app, reply, "approved", "approve")
    [mail] = outbox(app, kind="subscription-comment")
    assert mail.to_addr == "ann@example.org"
    assert mail.subject == "Bob replied to your comment on “Hello “World””"
    assert f"/{post}/#comment-{reply}" in mail.body_text
    assert "<b>so</b> true" in mail.body_html and "<script>" not in mail.body_html
    assert "Agreed!" in mail.body_text and "<b>" not in mail.body_text
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/subscriptions/manage/" in mail.body_text and "/subscriptions/manage/" in mail.body_html

    # Unapproved and approved again: still told only once.
    set_status(app, reply, "pending", "unapprove")
    set_status(app, reply, "approved", "approve")
    assert len(outbox(app, kind="subscription-comment")) == 1


def test_author_approving_on_the_desk_notifies_once(app, client, post):
    parent = subscribed_commenter(app, client, post, subscribe_replies=True)
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org", comment_parent=str(parent),
                 comment="Held at first")
    reply = last_comment_id(app)
    moderate(app, reply, "spam")
    moderate(app, reply, "unspam")
    assert outbox(app, kind="subscription-comment") == []
    moderate(app, reply, "approve")
    moderate(app, reply, "unapprove")
    moderate(app, reply, "approve")
    [mail] = outbox(app, kind="subscription-comment")
    assert mail.to_addr == "ann@example.org" and f"#comment-{reply}" in mail.body_text


@pytest.mark.parametrize("config_overrides", [{"COMMENT_PREVIOUSLY_APPROVED": False}], indirect=True)
def test_reply_approved_on_arrival_notifies_at_once(app, client, post):
    parent = subscribed_commenter(app, client, post, subscribe_replies=True)
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org", comment_parent=str(parent),
                 comment="Straight through")
    [mail] = outbox(app, kind="subscription-comment")
    assert mail.to_addr == "ann@example.org" and "Straight through" in mail.body_text


@pytest.mark.parametrize("status", ["pending", "spam", "trash"])
def test_nothing_is_sent_for_held_spam_or_trashed_comments(app, client, post, status):
    parent = subscribed_commenter(app, client, post, subscribe_replies=True, subscribe_comments=True)
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org", comment_parent=str(parent),
                 comment="Buy cheap things")
    reply = last_comment_id(app)
    set_status(app, reply, status, {"pending": "unapprove", "spam": "spam", "trash": "trash"}[status])
    assert outbox(app, kind="subscription-comment") == []


def test_unconfirmed_subscriber_is_not_notified(app, client, post):
    post_comment(client, post, author="Ann", email="ann@example.org", comment="hi", subscribe_replies="y")
    parent = last_comment_id(app)
    set_status(app, parent, "approved", "approve")
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org",
                 comment_parent=str(parent), comment="reply")
    set_status(app, last_comment_id(app), "approved", "approve")
    assert [m.kind for m in outbox(app)] == ["subscription-confirm"]


def test_post_subscriber_hears_of_new_comments_but_not_their_own(app, client, post):
    subscribed_commenter(app, client, post, subscribe_comments=True)
    post_comment(client, post, author="Ann", email="ann@example.org", comment="Me again")
    set_status(app, last_comment_id(app), "approved", "approve")
    assert outbox(app, kind="subscription-comment") == []
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org", comment="New voice")
    set_status(app, last_comment_id(app), "approved", "approve")
    [mail] = outbox(app, kind="subscription-comment")
    assert mail.subject == "New comment by Bob on “Hello “World””"


def test_both_subscriptions_make_one_mail(app, client, post):
    parent = subscribed_commenter(app, client, post, subscribe_replies=True, subscribe_comments=True)
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org",
                 comment_parent=str(parent), comment="reply")
    set_status(app, last_comment_id(app), "approved", "approve")
    [mail] = outbox(app, kind="subscription-comment")
    assert "replied to your comment" in mail.subject


def test_spam_subscribes_nobody(app, client, post):
    app.config["DISALLOWED_KEYS"] = "casino"
    post_comment(client, post, author="X", email="victim@example.org", comment="casino", subscribe_blog="y")
    assert outbox(app) == [] and subscriber(app, "victim@example.org") is None


# --- unsubscribing ---------------------------------------------------------------

def notified_reply(app, client, post) -> tuple[OutboxMessage, int]:
    """Ann's comment, subscribed to replies, and the mail about Bob's approved reply to it."""
    parent = subscribed_commenter(app, client, post, subscribe_replies=True)
    reply_to(app, post, parent, "Bob")
    [mail] = outbox(app, kind="subscription-comment")
    return mail, parent


def reply_to(app, post, parent: int, name: str) -> None:
    post_comment(app.test_client(), post, author=name, email=f"{name.lower()}@example.org",
                 comment_parent=str(parent), comment=f"{name} replies")
    set_status(app, last_comment_id(app), "approved", "approve")


def test_one_click_unsubscribe_from_the_mail_client(app, client, post):
    mail, parent = notified_reply(app, client, post)
    url = mail.headers["List-Unsubscribe"].strip("<>")
    path = re.sub(r"^https?://[^/]+", "", url)
    # RFC 8058: a POST with this body, from the mail provider, with no cookies and no CSRF token.
    res = app.test_client().post(path, data={"List-Unsubscribe": "One-Click"})
    assert res.status_code == 200 and "unsubscribed" in res.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Subscription)) is None
    reply_to(app, post, parent, "Cleo")
    assert len(outbox(app, kind="subscription-comment")) == 1


def test_unsubscribe_link_asks_before_acting_and_never_for_a_sign_in(app, client, post):
    mail, parent = notified_reply(app, client, post)
    path = link(mail, "/subscriptions/unsubscribe/")
    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200 and "Log in" not in page.get_data(as_text=True).split("<main", 1)[1]
    assert page.headers["X-Robots-Tag"] == "noindex" and page.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert db.session.scalar(select(Subscription)) is not None  # a GET changes nothing
    assert visitor.post(path).status_code == 200
    reply_to(app, post, parent, "Cleo")
    assert len(outbox(app, kind="subscription-comment")) == 1


def test_manage_page_lists_and_turns_off_one_or_all(app, client, post):
    mail, parent = notified_reply(app, client, post)
    path = link(mail, "/subscriptions/manage/")
    visitor = app.test_client()
    html = visitor.get(path).get_data(as_text=True)
    assert "Replies to your comment on “Hello “World””" in html and "ann@example.org" in html
    token = csrf_from(html)
    # Subscribe to more, then turn off one, then all.
    sign_up(client, post, "ann@example.org")
    html = visitor.get(path).get_data(as_text=True)
    assert "New posts by email" in html
    with app.app_context():
        blog_id = db.session.scalar(select(Subscription.id).where(Subscription.kind == "blog"))
    assert visitor.post(path, data={"subscription": str(blog_id)}).status_code == 400  # CSRF on
    res = visitor.post(path, data={"subscription": str(blog_id), "csrf_token": token}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "That subscription is turned off." in html and "New posts by email" not in html
    assert "Replies to your comment" in html
    res = visitor.post(path, data={"all": "1", "csrf_token": token}, follow_redirects=True)
    assert "No subscriptions" in res.get_data(as_text=True)
    # Everything off: the address must confirm again before anything is sent.
    assert subscriber(app, "ann@example.org").confirmed_at is None


# --- digest ----------------------------------------------------------------------

@pytest.mark.parametrize("config_overrides", [{"SUBSCRIPTION_DIGEST": True, **SITE}], indirect=True)
def test_digest_gathers_comments_into_one_mail(app, client, post, runner):
    subscribed_commenter(app, client, post, subscribe_comments=True)
    ids = []
    for name in ("Bob", "Cleo", "Dan"):
        post_comment(app.test_client(), post, author=name, email=f"{name.lower()}@example.org",
                     comment=f"{name} was here")
        ids.append(last_comment_id(app))
        set_status(app, ids[-1], "approved", "approve")
    set_status(app, ids[-1], "spam", "spam")  # spammed before the digest went: left out
    assert outbox(app, kind="subscription-digest") == []
    assert "Queued 1 digest mail." in runner.invoke(args=["subscriptions", "digest"]).output
    [mail] = outbox(app, kind="subscription-digest")
    assert mail.subject == "2 new comments you follow"
    assert "Bob was here" in mail.body_text and "Cleo was here" in mail.body_text and "Dan" not in mail.body_text
    assert f"#comment-{ids[0]}" in mail.body_html and mail.headers["List-Unsubscribe"]
    assert "Queued 0 digest mails." in runner.invoke(args=["subscriptions", "digest"]).output


def test_cli_needs_the_site_address_for_links(app, post, runner):
    result = runner.invoke(args=["posts", "publish", post])
    assert result.exit_code != 0 and "BLOG_SERVER_NAME" in result.output


# --- privacy -----------------------------------------------------------------------

def test_subscriber_addresses_never_show_publicly(app, client, post):
    subscribed_commenter(app, client, post, subscribe_comments=True)
    html = app.test_client().get(f"/{post}/").get_data(as_text=True)
    assert "ann@example.org" not in html


def test_privacy_export_and_erase_include_subscriptions(app, client, post, runner):
    subscribed_commenter(app, client, post, subscribe_replies=True, subscribe_blog=True)
    data = json.loads(runner.invoke(args=["privacy", "export", "ANN@example.org"]).output)
    assert {s["kind"] for s in data["subscriptions"]} == {"replies", "blog"}
    assert data["comments"][0]["author_email"] == "ann@example.org" and data["mail"]
    result = runner.invoke(args=["privacy", "erase", "ann@example.org", "--yes"])
    assert result.exit_code == 0 and "1 comments anonymised" in result.output
    with app.app_context():
        assert db.session.scalar(select(Subscriber)) is None
        assert db.session.scalar(select(Subscription)) is None
        assert db.session.scalar(select(SubscriptionNotice)) is None
        [c] = db.session.scalars(select(Comment)).all()
        assert (c.author_name, c.author_email, c.ip) == ("Anonymous", None, None)
    data = json.loads(runner.invoke(args=["privacy", "export", "ann@example.org"]).output)
    assert data["subscriptions"] == [] and data["comments"] == [] and data["mail"] == []


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_ENABLED": True, "SUBSCRIBE_LIMIT_PER_IP": "2/hour"}],
                         indirect=True)
def test_signups_from_one_client_are_rate_limited(app, client, post):
    assert [sign_up(client, post, f"r{i}@example.org").status_code for i in range(3)] == [303, 303, 429]
    assert len(outbox(app)) == 2


@pytest.mark.parametrize("config_overrides", [SITE], indirect=True)
def test_links_in_mail_ignore_a_forged_host_header(app, client, post):
    page = client.get(f"/{post}/", headers={"Host": "evil.example"})
    client.post(f"/{post}/subscribe", headers={"Host": "evil.example"},
                data={"email": "a@example.org", "csrf_token": csrf_from(page.get_data(as_text=True))})
    [mail] = outbox(app)
    assert "http://blog.example/subscriptions/confirm/" in mail.body_text and "evil" not in mail.body_text
