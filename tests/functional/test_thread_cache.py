"""The thread cache is never stale: every kind of change to a comment shows at once.

Moderation's own service is not here yet, so its changes are made the two ways a
service can make them: through the ORM, and as a bulk UPDATE/DELETE followed by the
``comment_changed`` signal that every service sends after commit.
"""
import os
import re
import time
import uuid

import pytest
from sqlalchemy import delete, event, select, update

from blog.extensions import db
from blog.models import Comment, Post
from blog.moderation.spam import _signer
from blog.signals import comment_changed
from tests import conftest
from tests.conftest import add_comments, csrf_from, login, post_comment

API = "/api/v1/posts/{}/comments?per_page=all"


def views(client, slug):
    """What a reader sees: the page's HTML and the JSON thread's comment bodies."""
    html = client.get(f"/{slug}/").get_data(as_text=True)
    data = client.get(API.format(slug)).get_json()
    bodies = []
    stack = list(data["comments"])
    while stack:
        c = stack.pop()
        bodies.append(c["body_html"])
        stack.extend(c["replies"])
    return html, " ".join(bodies), data["count"]


def comment_reads(app, do) -> list[str]:
    """The SQL statements that read the comments table while ``do()`` runs."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        do()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return [s for s in statements if "FROM comments" in s]


def assert_served_from_cache(client, slug, app):
    """Only the post row is read (its version is the cache key), never the comments."""
    assert comment_reads(app, lambda: (client.get(f"/{slug}/"), client.get(API.format(slug)))) == []


def change(app, post_id, action, *, orm=None, bulk=None, signal=True):
    """Change comments as a service would, then send the signal after commit."""
    with app.app_context():
        if orm:
            orm(db.session)
        if bulk is not None:
            db.session.execute(bulk)
        db.session.commit()
        if signal:
            comment_changed.send(app, comment=None, post_id=post_id, action=action)


def version(app, post_id):
    with app.app_context():
        return db.session.scalar(select(Post.comments_version).where(Post.id == post_id))


@pytest.fixture
def thread(app, client, post):
    ids = add_comments(app, post, 3)
    add_comments(app, post, 1, status="pending", start=None)
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == post))
        pending_id = db.session.scalar(select(Comment.id).where(Comment.status == "pending"))
    html, bodies, count = views(client, post)
    assert count == 3 and "Comment 1" in bodies
    assert_served_from_cache(client, post, app)
    return post, post_id, ids, pending_id


def test_new_comment_shows_at_once(app, client, thread, make_user):
    slug, _, _, _ = thread
    writer = app.test_client()
    login(writer, "author@example.com")
    post_comment(writer, slug, comment="A fresh approved comment")
    html, bodies, count = views(client, slug)
    assert "A fresh approved comment" in html and "A fresh approved comment" in bodies and count == 4
    assert "4 thoughts on" in html


@pytest.mark.parametrize("how", ["orm", "bulk"])
def test_approval_shows_at_once(app, client, thread, how):
    slug, post_id, _, pending_id = thread
    if how == "orm":
        change(app, post_id, "approve", orm=lambda s: setattr(s.get(Comment, pending_id), "status", "approved"))
    else:
        change(app, post_id, "approve", bulk=update(Comment).where(Comment.id == pending_id).values(status="approved"))
    html, bodies, count = views(client, slug)
    assert count == 4 and f'id="comment-{pending_id}"' in html and "4 thoughts on" in html


@pytest.mark.parametrize("how", ["orm", "bulk"])
@pytest.mark.parametrize("status", ["spam", "trash", "pending"])
def test_unapproval_hides_at_once(app, client, thread, how, status):
    slug, post_id, ids, _ = thread
    if how == "orm":
        change(app, post_id, status, orm=lambda s: setattr(s.get(Comment, ids[0]), "status", status))
    else:
        change(app, post_id, status, bulk=update(Comment).where(Comment.id == ids[0]).values(status=status))
    html, bodies, count = views(client, slug)
    assert f'id="comment-{ids[0]}"' not in html and "<p>Comment 0</p>" not in bodies and count == 2


@pytest.mark.parametrize("how", ["orm", "bulk"])
def test_edit_shows_at_once(app, client, thread, how):
    slug, post_id, ids, _ = thread
    if how == "orm":
        def edit(s):
            c = s.get(Comment, ids[1])
            c.body_raw, c.body_html = "Edited words", "<p>Edited words</p>"
        change(app, post_id, "edit", orm=edit)
    else:
        change(app, post_id, "edit", bulk=update(Comment).where(Comment.id == ids[1]).values(
            body_raw="Edited words", body_html="<p>Edited words</p>"))
    html, bodies, _ = views(client, slug)
    assert "Edited words" in html and "Edited words" in bodies and "Comment 1<" not in html


@pytest.mark.parametrize("how", ["orm", "bulk"])
def test_delete_shows_at_once(app, client, thread, how):
    slug, post_id, ids, _ = thread
    if how == "orm":
        change(app, post_id, "delete", orm=lambda s: s.delete(s.get(Comment, ids[2])))
    else:
        change(app, post_id, "delete", bulk=delete(Comment).where(Comment.id == ids[2]))
    html, bodies, count = views(client, slug)
    assert f'id="comment-{ids[2]}"' not in html and "Comment 2" not in bodies and count == 2


def test_orm_change_without_a_signal_shows_too(app, client, thread):
    """The flush hook bumps the version in the change's own transaction, signal or not."""
    slug, post_id, ids, _ = thread
    change(app, post_id, "spam", orm=lambda s: setattr(s.get(Comment, ids[1]), "status", "spam"), signal=False)
    assert f'id="comment-{ids[1]}"' not in views(client, slug)[0]


def test_one_change_bumps_the_version_once(app, thread):
    slug, post_id, ids, _ = thread
    before = version(app, post_id)
    change(app, post_id, "spam", orm=lambda s: setattr(s.get(Comment, ids[1]), "status", "spam"))
    assert version(app, post_id) == before + 1
    change(app, post_id, "spam", bulk=update(Comment).where(Comment.id == ids[2]).values(status="spam"))
    assert version(app, post_id) == before + 2


def test_post_title_and_closing_show_at_once(app, client, thread):
    slug, post_id, _, _ = thread
    assert 'class="comment-reply-link"' in views(client, slug)[0]

    def edit_post(s):
        p = s.get(Post, post_id)
        p.title, p.comments_open = "A new title", False
    change(app, post_id, "post", orm=edit_post)
    html, _, _ = views(client, slug)
    assert "3 thoughts on “A new title”" in html and 'class="comment-reply-link"' not in html


def test_a_readers_held_comment_is_theirs_alone(app, client, thread):
    slug, _, _, _ = thread
    writer = app.test_client()
    post_comment(writer, slug, comment="Only I can see this yet")
    mine = writer.get(f"/{slug}/").get_data(as_text=True)
    assert "Only I can see this yet" in mine and "Your comment is awaiting moderation." in mine
    for reader in (client, app.test_client()):
        html, bodies, _ = views(reader, slug)
        assert "Only I can see this yet" not in html + bodies
    assert "Only I can see this yet" in writer.get(f"/{slug}/").get_data(as_text=True)


def test_personal_views_never_come_from_the_shared_cache(app, client, thread):
    slug, _, _, _ = thread
    cache = app.extensions["thread_cache"]
    writer = app.test_client()
    post_comment(writer, slug, comment="Held words")  # a held comment: a personal view
    views(client, slug)
    for key in list(cache.local.entries):  # what a shared copy would show, were it used
        if ":html:" in key:  # the comment section
            cache.local.entries[key] = b"0\n<p>SHARED COPY</p>"
        elif ":page:" in key:  # the whole page
            cache.local.entries[key] = b"<p>SHARED COPY</p>"
    assert "SHARED COPY" in client.get(f"/{slug}/").get_data(as_text=True)
    assert "SHARED COPY" not in writer.get(f"/{slug}/").get_data(as_text=True)
    signed_in = app.test_client()
    login(signed_in, "author@example.com")
    page = signed_in.get(f"/{slug}/")
    assert "SHARED COPY" not in page.get_data(as_text=True) and "Logged in as" in page.get_data(as_text=True)
    assert "ETag" not in page.headers


def test_page_answers_304_until_something_changes(app, client, thread):
    slug, post_id, ids, _ = thread
    first = client.get(f"/{slug}/")
    etag = first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"] and "no-cache" in first.headers["Cache-Control"]
    again = client.get(f"/{slug}/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert client.get(f"/{slug}/?cpage=2", headers={"If-None-Match": etag}).status_code == 200
    assert app.test_client().get(f"/{slug}/", headers={"If-None-Match": etag}).status_code == 200
    change(app, post_id, "spam", orm=lambda s: setattr(s.get(Comment, ids[0]), "status", "spam"))
    changed = client.get(f"/{slug}/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and f'id="comment-{ids[0]}"' not in changed.get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{"PAGE_CACHE": False}], indirect=True)
def test_cache_can_be_turned_off(app, client, post):
    add_comments(app, post, 3)
    views(client, post)
    assert len(comment_reads(app, lambda: client.get(f"/{post}/"))) == 1  # the rows, every time (the counts are the post's)
    assert "thread_cache" not in app.extensions


REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL names a Redis database for tests")
def test_two_servers_share_the_cache_in_redis(migrated, post, app):
    prefix = f"test:{uuid.uuid4().hex}:"
    from blog import create_app

    one = create_app(conftest.test_config(migrated, REDIS_URL=REDIS_URL, PAGE_CACHE_PREFIX=prefix))
    two = create_app(conftest.test_config(migrated, REDIS_URL=REDIS_URL, PAGE_CACHE_PREFIX=prefix))
    add_comments(one, post, 3)
    a, b = one.test_client(), two.test_client()
    assert views(a, post)[2] == 3
    # Rendered by server one, read from Redis by server two.
    assert comment_reads(two, lambda: views(b, post)) == []
    writer = one.test_client()
    login(writer, "author@example.com")
    post_comment(writer, post, comment="Through server one")
    html, bodies, count = views(b, post)
    assert "Through server one" in html and "Through server one" in bodies and count == 4
    with one.app_context():
        keys = one.extensions["thread_cache"].redis.keys(prefix + "*")
        assert keys
        one.extensions["thread_cache"].redis.delete(*keys)
    for server in (one, two):
        with server.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("action, shows", [
    ("approve", lambda ids, pending, html: f'id="comment-{pending}"' in html),
    ("spam", lambda ids, pending, html: f'id="comment-{ids[0]}"' not in html),
    ("trash", lambda ids, pending, html: f'id="comment-{ids[0]}"' not in html),
    ("unapprove", lambda ids, pending, html: f'id="comment-{ids[0]}"' not in html),
    ("edit", lambda ids, pending, html: "Moderator’s edit" in html),
    ("delete", lambda ids, pending, html: f'id="comment-{ids[0]}"' not in html),
    ("delete-with-replies", lambda ids, pending, html: "This comment was deleted." in html),
    ("bulk-spam", lambda ids, pending, html: f'id="comment-{ids[0]}"' not in html
     and f'id="comment-{ids[2]}"' not in html),
])
def test_the_moderation_service_invalidates(app, client, thread, action, shows):
    """The real moderation service, each action: the next reader sees the change."""
    from blog.models import User
    from blog.moderation import service

    slug, post_id, ids, pending = thread
    with app.app_context():
        author = db.session.scalar(select(User).where(User.email == "author@example.com"))
        target = db.session.get(Comment, pending if action == "approve" else ids[0])
        if action == "edit":
            service.edit(target, author, {"comment": "Moderator’s edit", "author": target.author_name,
                                          "email": target.author_email or "", "url": ""})
        elif action == "delete":
            service.delete_permanently(target, author)
        elif action == "delete-with-replies":
            service.reply_as_author(target, author, "A reply that keeps the place")
            views(client, slug)  # cached again, with the reply
            service.delete_permanently(db.session.get(Comment, ids[0]), author)
        elif action == "bulk-spam":
            service.bulk([ids[0], ids[2]], "spam", author)
        else:
            service.set_status(target, action, author)
    html, _, _ = views(client, slug)
    assert shows(ids, pending, html)


STAMP_RE = re.compile(r'name="comment_ts" value="([^"]+)"')


def test_shared_page_carries_each_readers_own_token_and_a_fresh_stamp(app, thread):
    slug = thread[0]
    first, second = app.test_client(), app.test_client()
    one = first.get(f"/{slug}/").get_data(as_text=True)
    time.sleep(1.1)  # the stamp counts whole seconds
    two = second.get(f"/{slug}/").get_data(as_text=True)
    assert_served_from_cache(second, slug, app)
    assert "slot" not in two and csrf_from(one) != csrf_from(two)
    with app.test_request_context():
        served = [_signer().unsign(STAMP_RE.search(html).group(1), return_timestamp=True)[1]
                  for html in (one, two)]
    assert served[1] > served[0]  # stamped when served, not when cached
    # Each token works for its own reader only.
    form = {"author": "Reader", "email": "reader@example.org", "comment": "From the cached page",
            "comment_parent": "0"}
    assert second.post(f"/{slug}/comments", data={**form, "csrf_token": csrf_from(one)}).status_code == 400
    assert second.post(f"/{slug}/comments", data={**form, "csrf_token": csrf_from(two)}).status_code == 303


def test_a_forged_host_header_never_reaches_other_readers(app, thread):
    slug = thread[0]
    forged = app.test_client().get(f"/{slug}/", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" in forged  # the share links are absolute
    assert "evil.example" not in app.test_client().get(f"/{slug}/").get_data(as_text=True)


def test_a_readers_notice_is_not_shared(app, thread):
    slug = thread[0]
    noticed = app.test_client()
    with noticed.session_transaction() as session:
        session["_flashes"] = [("message", "A notice for one reader")]
    assert "A notice for one reader" in noticed.get(f"/{slug}/").get_data(as_text=True)
    assert "A notice for one reader" not in app.test_client().get(f"/{slug}/").get_data(as_text=True)
    assert "A notice for one reader" not in noticed.get(f"/{slug}/").get_data(as_text=True)


def test_a_new_comment_bumps_the_version_once(app, client, thread):
    """The bump made inside the comment's transaction is enough; the signal after commit
    must not take the write lock again for the same post."""
    slug, post_id, _, _ = thread

    def version():
        with app.app_context():
            return db.session.get(Post, post_id).comments_version

    before = version()
    assert post_comment(client, slug, comment="One more").status_code == 303
    assert version() == before + 1


def test_a_new_secret_key_never_meets_pages_cached_under_the_old_one(app, thread):
    slug = thread[0]
    app.test_client().get(f"/{slug}/")  # cached under the old key's stand-ins
    app.config["SECRET_KEY"] = "a-rotated-secret-key-for-this-test"
    reader = app.test_client()
    page = reader.get(f"/{slug}/").get_data(as_text=True)
    assert "slot" not in page
    form = {"author": "Reader", "email": "reader@example.org", "comment": "After the rotation",
            "comment_parent": "0", "csrf_token": csrf_from(page)}
    assert reader.post(f"/{slug}/comments", data=form).status_code == 303


def test_after_posting_the_request_sees_the_new_version(app, thread):
    """Posting keeps the objects it wrote past the commit, but never a stale cache version."""
    from blog.comments.service import Submission, submit_comment
    from blog.reading.views import get_post

    slug = thread[0]
    with app.test_request_context():
        post = get_post(slug)
        before = post.comments_version
        comment = submit_comment(post, {"author": "Ann", "email": "ann@example.org", "comment": "Fresh",
                                        "comment_parent": "0"}, Submission(ip="192.0.2.7"))
        assert post.comments_version == before + 1 and comment.body_html == "<p>Fresh</p>"
