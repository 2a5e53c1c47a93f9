"""Mail to the post's author about held comments: content, one-click links, batching."""
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.mail.delivery import deliver_due
from blog.models import Comment, ModerationMailComment, OutboxMessage, Post
from tests.conftest import csrf_from, post_comment
from tests.functional.moderation_helpers import status_of, world  # noqa: F401

LINK = re.compile(r"(Approve|Spam|Trash): https?://[^/\s]+(/moderation/mail/\S+)")


def mails(app):
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def as_sent(app):
    """The mails as they went out: a waiting mail is written again when it is due, with the
    comments that joined it (no MAIL_URL in tests: the worker logs what it would send)."""
    with app.app_context():
        deliver_due(datetime.now(timezone.utc) + timedelta(days=1))
    return mails(app)


def joined(app, message):
    """The ids of the comments that joined a mail, as the mail worker will read them."""
    with app.app_context():
        return db.session.scalars(select(ModerationMailComment.comment_id)
                                  .where(ModerationMailComment.outbox_id == message.id)).all()


def links(message, index=0):
    """The action links of the index-th comment in the mail: {"Approve": path, ...}."""
    found = LINK.findall(message.body_text)
    groups = [found[i:i + 3] for i in range(0, len(found), 3)]
    return dict(groups[index])


def test_held_comment_mails_the_author_with_reasons_and_links(app, world):
    message, later = mails(app)  # the second comment came inside the interval: it waits (see batching)
    assert later.next_attempt_at > message.next_attempt_at
    assert message.to_addr == "author@example.com" and message.kind == "moderation"
    assert "Please moderate" in message.subject and "Gus Guest" in message.subject
    body = message.body_text
    assert "Held words, first time" in body and "First comment from this commenter" in body
    assert "gus@example.org" in body and "Comments waiting for your approval:" in body
    assert set(links(message)) == {"Approve", "Spam", "Trash"}


def test_link_get_shows_a_confirmation_and_changes_nothing(app, world):
    path = links(mails(app)[0])["Approve"]
    client = app.test_client()
    for _ in range(3):  # a mail scanner fetching the link, again and again
        page = client.get(path)
        assert page.status_code == 200
        assert "Approve this comment?" in page.get_data(as_text=True)
    assert status_of(app, world.comment_id) == "pending"
    done = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 200 and "is now <strong>approved</strong>" in done.get_data(as_text=True)
    assert status_of(app, world.comment_id) == "approved"


def test_each_link_does_exactly_one_thing(app, world):
    message = mails(app)[0]
    client = app.test_client()
    path = links(message)["Spam"]
    page = client.get(path).get_data(as_text=True)
    client.post(path, data={"csrf_token": csrf_from(page)})
    assert status_of(app, world.comment_id) == "spam"
    path = links(message)["Trash"]
    page = client.get(path).get_data(as_text=True)
    client.post(path, data={"csrf_token": csrf_from(page)})
    assert status_of(app, world.comment_id) == "trash"


def test_link_works_once(app, world):
    path = links(mails(app)[0])["Approve"]
    client = app.test_client()
    token = csrf_from(client.get(path).get_data(as_text=True))
    assert client.post(path, data={"csrf_token": token}).status_code == 200
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert client.get(path).status_code == 410


def test_tampered_link_is_refused(app, world):
    path = links(mails(app)[0])["Approve"]
    client = app.test_client()
    page = client.get("/hello-world/").get_data(as_text=True)
    for bad in (path[:-2] + ("AA" if not path.endswith("AA") else "BB"), "/moderation/mail/nonsense"):
        res = client.post(bad, data={"csrf_token": csrf_from(page)})
        assert res.status_code == 400 and "not valid" in res.get_data(as_text=True)
        assert client.get(bad).status_code == 400
    assert status_of(app, world.comment_id) == "pending"


def test_link_without_csrf_is_refused(app, world):
    path = links(mails(app)[0])["Approve"]
    client = app.test_client()
    client.get(path)
    assert client.post(path).status_code == 400
    assert status_of(app, world.comment_id) == "pending"


def test_expired_link(app, world, monkeypatch):
    path = links(mails(app)[0])["Approve"]
    client = app.test_client()
    token = csrf_from(client.get(path).get_data(as_text=True))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3 * 86400 + 60)
    res = client.post(path, data={"csrf_token": token})
    assert res.status_code == 410 and "expired" in res.get_data(as_text=True)
    assert status_of(app, world.comment_id) == "pending"


def test_batched_at_most_one_mail_per_interval(app, world):
    guest = app.test_client()
    for i in range(3):
        post_comment(guest, world.slug, author=f"Newcomer {i}", email=f"n{i}@example.org", comment=f"Words {i}")
    rows = mails(app)
    assert len(rows) == 2  # the first went at once; everything since waits in one mail
    first, later = rows
    assert (later.next_attempt_at - first.next_attempt_at).total_seconds() == pytest.approx(600, abs=1)
    later = as_sent(app)[1]
    assert later.subject.startswith("4 new comments to review (4 waiting)")
    body = later.body_text
    assert "Second words" in body and all(f"Words {i}" in body for i in range(3))
    assert "Also since then (3 more):" in body and "Comments waiting for your approval: 4." in body
    assert len(LINK.findall(body)) == 3 * 3 + 2  # the approved one can only be spammed or trashed


@pytest.mark.parametrize("config_overrides", [{"MODERATION_NOTIFY_PUBLISHED": True,
                                               "MODERATION_MAIL_INTERVAL_MINUTES": 0,
                                               "COMMENT_PREVIOUSLY_APPROVED": False}], indirect=True)
def test_published_comment_mails_by_setting(app, post):
    post_comment(app.test_client(), post, comment="Straight through")
    [message] = mails(app)
    assert "New comment by" in message.subject and "is published" in message.body_text
    assert set(links(message)) == {"Spam", "Trash"}


@pytest.mark.parametrize("config_overrides", [{"MODERATION_NOTIFY_HELD": False}], indirect=True)
def test_no_mail_when_turned_off(app, post):
    post_comment(app.test_client(), post, comment="Held quietly")
    assert mails(app) == []


def test_a_busy_interval_lists_the_latest_and_counts_the_rest(app, world, monkeypatch):
    """Each held comment rewrites the waiting mail: it lists a bounded number, so the thousandth
    comment of an interval costs what the tenth did."""
    from blog.moderation import notify

    monkeypatch.setattr(notify, "LISTED", 2)
    guest = app.test_client()
    for i in range(5):
        post_comment(guest, world.slug, author=f"Newcomer {i}", email=f"n{i}@example.org", comment=f"Words {i}")
    later = as_sent(app)[-1]
    assert later.subject.startswith("6 new comments to review (6 waiting)")
    body = later.body_text
    assert "Also since then (5 more; the latest 2 here, all on the desk):" in body
    assert "Second words" in body and "Words 3" in body and "Words 4" in body
    assert not any(f"Words {i}" in body for i in range(3))
    assert "Comments waiting for your approval: 6." in body



def test_a_comment_joins_the_waiting_mail_by_its_id_and_the_mail_is_written_when_due(app, post):
    """Joining the waiting mail only adds a row with the comment's id (writing the whole mail again
    for each comment of a busy interval was most of the cost of posting one). When it goes out, it lists
    every comment that joined, keeps the links it had, gets its own for the others, and takes
    no link from comment text that looks like the mail's link lines."""
    guest = app.test_client()
    post_comment(guest, post, author="First", email="f@example.org", comment="Goes out at once")
    forged = ["Approve: https://evil.example/moderation/mail/a", "  Spam: https://evil.example/moderation/mail/b",
              "* Someone", "  Trash: https://evil.example/moderation/mail/c"]
    post_comment(guest, post, author="Mallory", email="m@example.org", comment="\n".join(["Looks like mail", *forged]))
    before = mails(app)[-1]  # the waiting mail, written for Mallory's comment, first and in full
    post_comment(guest, post, author="Newcomer", email="n@example.org", comment="Plain words")
    waiting = mails(app)[-1]
    assert waiting.id == before.id and (waiting.body_text, waiting.headers) == (before.body_text, before.headers)
    assert len(joined(app, waiting)) == 2
    after = as_sent(app)[-1]
    assert after.status == "sent" and "Also since then (1 more):" in after.body_text
    assert "Plain words" in after.body_text and after.subject.startswith("2 new comments to review (3 waiting)")

    def ours(message):
        return [(action, url) for action, url in re.findall(r"(Approve|Spam|Trash): (\S+)", message.body_text)
                if url.startswith("http://localhost/moderation/mail/")]

    assert len(ours(before)) == 3 and ours(after)[:3] == ours(before)  # Mallory's links, as they were
    assert [action for action, _ in ours(after)[3:]] == ["Approve", "Spam", "Trash"]  # the newcomer's own
    assert after.body_text.count("evil.example") == 3  # only in Mallory's text, as she typed it
    ids = [int(i) for i in after.headers["X-Blog-Comment-Ids"].split(",")]
    client = app.test_client()
    for comment_id, (_, url) in zip(ids, [ours(after)[0], ours(after)[3]]):  # each Approve link
        path = url.removeprefix("http://localhost")
        client.post(path, data={"csrf_token": csrf_from(client.get(path).get_data(as_text=True))})
        assert status_of(app, comment_id) == "approved"


def test_after_a_failed_send_each_link_still_acts_on_its_own_comment(app, post, monkeypatch):
    """A mail that failed to go out waits again, and comments keep joining it: when one pushes an
    earlier one out of the listed window, the links written for that one are not handed on."""
    from blog.moderation import notify

    monkeypatch.setattr(notify, "LISTED", 1)
    guest = app.test_client()
    for name in ("First", "Anna"):  # the first goes at once; Anna's opens the waiting mail
        post_comment(guest, post, author=name, email=f"{name.lower()}@example.org", comment=f"Words of {name}")
    post_comment(guest, post, author="Bert", email="bert@example.org", comment="Words of Bert")
    app.config["MAIL_URL"] = "smtp://127.0.0.1:1"  # nothing listens: the attempt fails, the mail waits
    with app.app_context():
        deliver_due(datetime.now(timezone.utc) + timedelta(days=1))
    app.config.pop("MAIL_URL")
    failed = mails(app)[-1]
    assert failed.status == "queued" and "Words of Bert" in failed.body_text
    post_comment(guest, post, author="Cleo", email="cleo@example.org", comment="Words of Cleo")
    with app.app_context():  # the retry is due a day and a minute on (the failed attempt's "now" + backoff)
        deliver_due(datetime.now(timezone.utc) + timedelta(days=2))
    later = mails(app)[-1]
    assert later.status == "sent" and "Words of Cleo" in later.body_text and "Words of Bert" not in later.body_text
    ids = [int(i) for i in later.headers["X-Blog-Comment-Ids"].split(",")]
    path = links(later, 1)["Approve"]  # Cleo's
    client = app.test_client()
    client.post(path, data={"csrf_token": csrf_from(client.get(path).get_data(as_text=True))})
    assert status_of(app, ids[1]) == "approved"
    assert [status_of(app, i) for i in range(ids[0], ids[1])] == ["pending", "pending"]  # Anna's and Bert's


def test_comments_held_at_the_same_moment_all_join_the_waiting_mail(app, post):
    """Each comment joins the waiting mail with a row of its own: writers on two posts of one
    author neither wait for each other's transaction to end nor write their list over the
    other's (when they shared the mail's row, the last to commit stored the list it had read
    plus its own comment, and the other comment fell out of the mail)."""
    from blog.moderation.notify import notify_author
    from blog.moderation.settings import discussion_for

    guest = app.test_client()
    for name in ("First", "Anna"):  # the first goes at once; Anna's opens the waiting mail
        post_comment(guest, post, author=name, email=f"{name.lower()}@example.org", comment=f"Words of {name}")
    with app.app_context():
        first = db.session.scalars(select(Post).where(Post.slug == post)).one()
        db.session.add(Post(slug="second-post", title="Second", body="<p>Body</p>", author_id=first.author_id))
        db.session.commit()

    def held(name, slug):
        """A held comment and its notice, in this app context's transaction, not committed."""
        page = db.session.scalars(select(Post).where(Post.slug == slug)).one()
        comment = Comment(post_id=page.id, author_name=name, author_email=f"{name.lower()}@example.org",
                          body_raw=f"Words of {name}", body_html=f"<p>Words of {name}</p>", status="pending")
        db.session.add(comment)
        db.session.flush()
        notify_author(comment, page, discussion_for(page), datetime.now(timezone.utc))

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer at a time into the database")
        held("Bert", post)
        with app.app_context():  # another request, in a transaction of its own
            held("Cleo", "second-post")
            db.session.commit()
        db.session.commit()
    sent = as_sent(app)[-1]
    assert sent.subject.startswith("3 new comments to review (4 waiting)")  # First waits too
    assert all(f"Words of {name}" in sent.body_text for name in ("Anna", "Bert", "Cleo"))


@pytest.mark.parametrize("config_overrides", [{"SERVER_NAME": "blog.example.com"}], indirect=True)
def test_the_mails_links_name_the_configured_site_whatever_host_the_comments_came_through(app, post):
    """The mail is written when due, for the site the first comment came through: with
    SERVER_NAME set, a forged Host header on a guest's request puts nothing of its own in it."""
    guest = app.test_client()
    for name in ("First", "Anna", "Bert"):  # the first goes at once; Anna's and Bert's wait and join
        page = guest.get(f"/{post}/", base_url="http://evil.example")
        guest.post(f"/{post}/comments", base_url="http://evil.example", data={
            "author": name, "email": f"{name.lower()}@example.org", "comment": f"Words of {name}",
            "comment_parent": "0", "csrf_token": csrf_from(page.get_data(as_text=True))})
    sent = as_sent(app)
    assert len(sent) == 2 and "Words of Bert" in sent[1].body_text
    for message in sent:
        assert "evil.example" not in message.body_text
        assert len(re.findall(r"(?:Approve|Spam|Trash): http://blog\.example\.com/moderation/mail/", message.body_text)) \
            == (3 if message is sent[0] else 6)
