"""Rules applied when a comment arrives: spam signals, trust from proof, sign-in, closing, the audit event."""
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, ModerationEvent, Post
from tests.conftest import csrf_from, login, post_comment

SLOW = {"COMMENT_MIN_SUBMIT_SECONDS": 3}


def last(app):
    with app.app_context():
        c = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
        e = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == c.id)).first()
        return c, e


def send_form(client, slug, **fields):
    """Post the real form with every field it carries, hidden ones included."""
    import re

    html = client.get(f"/{slug}/").get_data(as_text=True)
    data = {"author": "Guest", "email": "g@example.org", "comment": "Greetings from me",
            "csrf_token": csrf_from(html),
            "comment_ts": re.search(r'name="comment_ts" value="([^"]+)"', html).group(1),
            "comment_hp": ""}
    data.update(fields)
    return client.post(f"/{slug}/comments", data=data)


def test_honeypot_filled_goes_to_spam(app, client, post):
    res = send_form(client, post, comment_hp="http://bot.example")
    c, e = last(app)
    assert res.status_code == 303 and c.status == "spam" and e.rule == "honeypot"
    assert "Greetings from me" not in client.get(f"/{post}/").get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [SLOW], indirect=True)
def test_form_sent_too_fast_is_spam(app, client, post):
    send_form(client, post)
    c, e = last(app)
    assert c.status == "spam" and e.rule == "too_fast"


@pytest.mark.parametrize("config_overrides", [SLOW], indirect=True)
def test_form_sent_after_three_seconds_is_judged_normally(app, client, post, monkeypatch):
    html = client.get(f"/{post}/").get_data(as_text=True)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 4)
    import re

    client.post(f"/{post}/comments", data={
        "author": "Guest", "email": "g@example.org", "comment": "Hello", "csrf_token": csrf_from(html),
        "comment_ts": re.search(r'name="comment_ts" value="([^"]+)"', html).group(1)})
    c, e = last(app)
    assert c.status == "pending" and e.rule == "previously_approved"


@pytest.mark.parametrize("config_overrides", [SLOW], indirect=True)
def test_forged_or_missing_stamp_counts_as_too_fast(app, client, post):
    send_form(client, post, comment_ts="12345.forged")
    assert last(app)[0].status == "spam"
    post_comment(client, post, comment="no stamp at all")
    assert last(app)[0].status == "spam"


def test_signed_in_commenter_with_an_approved_comment_is_trusted(app, client, post, make_user):
    make_user("sam@example.com", "Sam")
    login(client, "sam@example.com")
    post_comment(client, post, author=None, email=None, comment="first")
    assert last(app)[0].status == "pending"
    with app.app_context():
        db.session.execute(Comment.__table__.update().values(status="approved"))
        db.session.commit()
    post_comment(client, post, author=None, email=None, comment="second")
    assert last(app)[0].status == "approved"


def test_guest_cannot_borrow_an_accounts_approval(app, client, post, make_user):
    """Typing a member's email proves nothing."""
    make_user("sam@example.com", "Sam")
    member = app.test_client()
    login(member, "sam@example.com")
    post_comment(member, post, author=None, email=None, comment="member words")
    with app.app_context():
        db.session.execute(Comment.__table__.update().values(status="approved"))
        db.session.commit()
    post_comment(client, post, author="Sam", email="sam@example.com", comment="impostor")
    assert last(app)[0].status == "pending"


@pytest.mark.parametrize("config_overrides", [{"COMMENT_REGISTRATION": True}], indirect=True)
def test_sign_in_required(app, client, post, make_user):
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert "You must be <a" in html and 'id="commentform"' not in html
    page = csrf_from(app.test_client().get("/login").get_data(as_text=True))
    res = client.post(f"/{post}/comments", data={"author": "G", "email": "g@example.org",
                                                 "comment": "typed anyway", "csrf_token": page})
    assert res.status_code in (400, 403)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Comment)) == 0
    make_user("sam@example.com", "Sam")
    login(client, "sam@example.com")
    assert post_comment(client, post, author=None, email=None, comment="member").status_code == 303


@pytest.mark.parametrize("config_overrides", [{"COMMENT_REGISTRATION": True}], indirect=True)
def test_sign_in_required_refusal_keeps_the_text(app, client, post):
    html = client.get("/login").get_data(as_text=True)
    res = client.post(f"/{post}/comments", data={"author": "G", "email": "g@example.org",
                                                 "comment": "typed anyway", "csrf_token": csrf_from(html)})
    body = res.get_data(as_text=True)
    assert res.status_code == 403 and "You must be logged in to post a comment." in body
    assert "typed anyway" in body


@pytest.mark.parametrize("config_overrides", [{"COMMENT_CLOSE_AFTER_DAYS": 14}], indirect=True)
def test_comments_close_after_n_days(app, client, post):
    assert 'id="commentform"' in client.get(f"/{post}/").get_data(as_text=True)
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    with app.app_context():
        p = db.session.scalar(select(Post))
        p.published_at = datetime.now(timezone.utc) - timedelta(days=15)
        db.session.commit()
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert "Comments are closed." in html and 'id="commentform"' not in html
    res = client.post(f"/{post}/comments", data={"author": "G", "email": "g@example.org", "comment": "late",
                                                 "csrf_token": token})
    assert res.status_code == 403 and "Comments are closed." in res.get_data(as_text=True)
    assert "late" in res.get_data(as_text=True).split("Comments are closed.")[1]
