"""Leaving a comment and replying through the real form, CSRF on."""
import re

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, ModerationEvent
from tests.conftest import add_comments, csrf_from, login, post_comment


def stored(app):
    with app.app_context():
        return db.session.scalars(select(Comment).order_by(Comment.id)).all()


def test_guest_first_comment_is_held_and_shown_only_to_its_writer(app, client, post):
    res = post_comment(client, post, comment="My <b>first</b> comment")
    assert res.status_code == 303
    [c] = stored(app)
    assert res.headers["Location"].endswith(f"/{post}/#comment-{c.id}")
    assert c.status == "pending" and c.body_html == "<p>My <b>first</b> comment</p>"
    mine = client.get(res.headers["Location"]).get_data(as_text=True)
    assert f'id="comment-{c.id}"' in mine
    assert "Your comment is awaiting moderation." in mine
    # Anybody else: nothing.
    other = app.test_client().get(f"/{post}/").get_data(as_text=True)
    assert f'id="comment-{c.id}"' not in other and "My <b>first</b>" not in other


def test_returning_guest_is_held_again_unless_wordpress_trust_is_on(app, client, post):
    """A typed name and email prove nothing: an earlier approval counts only with the WordPress setting."""
    post_comment(client, post, comment="first")
    with app.app_context():
        db.session.execute(Comment.__table__.update().values(status="approved"))
        db.session.commit()
    post_comment(client, post, comment="second one")
    c = stored(app)[-1]
    assert c.status == "pending"
    with app.app_context():
        event = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == c.id)).one()
        assert any("not verified" in r for r in event.reasons)


@pytest.mark.parametrize("config_overrides", [{"COMMENT_TRUST_UNVERIFIED_EMAIL": True}], indirect=True)
def test_returning_guest_with_approved_comment_is_published(app, client, post):
    post_comment(client, post, comment="first")
    with app.app_context():
        db.session.execute(Comment.__table__.update().values(status="approved"))
        db.session.commit()
    res = post_comment(client, post, comment="second one")
    c = stored(app)[-1]
    assert c.status == "approved"
    html = app.test_client().get(res.headers["Location"]).get_data(as_text=True)
    assert "second one" in html and "One thought" not in html and "2 thoughts on" in html


def test_arrival_is_recorded_with_reasons(app, client, post):
    post_comment(client, post, comment="see http://a.example.com and http://b.example.org")
    with app.app_context():
        [event] = db.session.scalars(select(ModerationEvent)).all()
        assert event.to_status == "pending" and event.action == "submit"
        assert any("2 links" in r for r in event.reasons)
        assert any("First comment" in r for r in event.reasons)


def test_reply_nests_under_its_parent(app, client, post):
    [parent_id] = add_comments(app, post, 1)
    res = post_comment(client, post, comment="A reply", comment_parent=str(parent_id))
    reply = stored(app)[-1]
    assert (reply.parent_id, reply.depth, reply.root_id) == (parent_id, 2, parent_id)
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    parent_li = html.index(f'id="comment-{parent_id}"')
    children = html.index('<ol class="children">', parent_li)
    assert children < html.index(f'id="comment-{reply.id}"')


def test_reply_at_max_depth_attaches_at_that_depth(app, client, post):
    ids = add_comments(app, post, 5, replies_every=1)  # a chain: depths 1..5
    with app.app_context():
        depths = [db.session.get(Comment, i).depth for i in ids]
    assert depths == [1, 2, 3, 4, 5]
    post_comment(client, post, comment="deep reply", comment_parent=str(ids[-1]))
    reply = stored(app)[-1]
    assert reply.depth == 5 and reply.parent_id == ids[-2]
    html = client.get(f"/{post}/").get_data(as_text=True)
    # No reply link on the deepest comments, as in WordPress.
    assert f"replytocom={ids[-1]}" not in html and f"replytocom={ids[-2]}" in html


def test_signed_in_user_sees_name_instead_of_fields(app, client, post, make_user):
    make_user("sam@example.com", "Sam Reader")
    login(client, "sam@example.com")
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert "Logged in as Sam Reader." in html
    assert 'name="author"' not in html and 'name="email"' not in html
    res = post_comment(client, post, author=None, email=None, comment="signed-in words")
    c = stored(app)[-1]
    assert res.status_code == 303 and c.author_name == "Sam Reader" and c.user_id is not None


def test_post_author_comment_is_approved_with_badge(app, client, post):
    login(client, "author@example.com")
    res = post_comment(client, post, comment="Thanks, everyone")
    c = stored(app)[-1]
    assert c.status == "approved"
    html = app.test_client().get(res.headers["Location"]).get_data(as_text=True)
    li = re.search(rf'<li id="comment-{c.id}" class="([^"]+)"', html).group(1)
    assert "bypostauthor" in li and ">Author</span>" in html


def test_comment_url_is_linked_nofollow_ugc(app, client, post):
    post_comment(client, post, url="example.net/me")
    c = stored(app)[-1]
    assert c.author_url == "http://example.net/me"
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert '<a href="http://example.net/me" rel="external nofollow ugc" class="url">Guest Writer</a>' in html


@pytest.mark.parametrize("config_overrides", [{"COMMENT_TRUST_UNVERIFIED_EMAIL": True}], indirect=True)
def test_comment_on_page_two_redirects_to_page_two(app, client, post):
    add_comments(app, post, 50, replies_every=10**6)
    with app.app_context():
        db.session.execute(Comment.__table__.update().values(author_email="guest@example.org"))
        db.session.commit()
    res = post_comment(client, post, comment="the fifty-first")
    c = stored(app)[-1]
    assert c.status == "approved"
    assert res.headers["Location"].endswith(f"/{post}/?cpage=2#comment-{c.id}")


def test_missing_csrf_keeps_text_and_says_why(app, client, post):
    res = client.post(f"/{post}/comments", data={"author": "A", "email": "a@example.org",
                                                 "comment": "typed with care"})
    html = res.get_data(as_text=True)
    assert res.status_code == 400
    assert "typed with care" in html and "send it again" in html
    assert stored(app) == []


def test_wrong_csrf_is_refused(app, client, post):
    client.get(f"/{post}/")
    res = client.post(f"/{post}/comments", data={"author": "A", "email": "a@example.org",
                                                 "comment": "x", "csrf_token": "forged"})
    assert res.status_code == 400 and stored(app) == []


def test_comment_to_unknown_post_is_404(client, post):
    page = client.get(f"/{post}/").get_data(as_text=True)
    res = client.post("/nope/comments", data={"comment": "x", "csrf_token": csrf_from(page)})
    assert res.status_code == 404


def test_get_on_comment_endpoint_is_405_page(client, post):
    res = client.get(f"/{post}/comments")
    assert res.status_code == 405 and "not allowed" in res.get_data(as_text=True)


def test_flood_is_refused_with_text_kept(app, post):
    app.config["COMMENT_FLOOD_SECONDS"] = 15
    client = app.test_client()
    assert post_comment(client, post, comment="one").status_code == 303
    res = post_comment(client, post, comment="two, too fast")
    html = res.get_data(as_text=True)
    assert res.status_code == 429
    assert "You are posting comments too quickly. Slow down." in html and "two, too fast" in html
    assert len(stored(app)) == 1


def test_flood_does_not_apply_to_the_post_author(app, post):
    app.config["COMMENT_FLOOD_SECONDS"] = 15
    client = app.test_client()
    login(client, "author@example.com")
    assert post_comment(client, post, comment="one").status_code == 303
    assert post_comment(client, post, comment="two").status_code == 303


def test_disallowed_keyword_goes_to_trash_silently(app, client, post):
    app.config["DISALLOWED_KEYS"] = "casino\n"
    res = post_comment(client, post, comment="Best CASINO deals")
    assert res.status_code == 303 and res.headers["Location"].endswith("#comments")
    assert stored(app)[-1].status == "trash"
    assert "CASINO" not in client.get(f"/{post}/").get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{"COMMENT_MODERATION": True}], indirect=True)
def test_manual_approval_holds_even_known_commenters(app, client, post):
    post_comment(client, post, comment="first")
    with app.app_context():
        db.session.execute(Comment.__table__.update().values(status="approved"))
        db.session.commit()
    post_comment(client, post, comment="second")
    assert stored(app)[-1].status == "pending"
