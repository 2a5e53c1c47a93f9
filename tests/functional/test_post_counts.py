"""The post keeps its comment counts ("N thoughts", and the top-level comments pages are cut
from) on its row: every way a comment changes keeps them equal to a count of the comments."""
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from blog.caching import bump
from blog.extensions import db
from blog.moderation import service as moderation
from blog.models import Comment, Post, User
from blog.signals import comment_changed
from tests.conftest import add_comments, login, post_comment


def counted(post_id: int) -> tuple[int, int]:
    """(approved and not deleted, approved top-level) counted from the comments themselves."""
    approved = (Comment.post_id == post_id, Comment.status == "approved")
    return (db.session.scalar(select(func.count()).where(*approved, Comment.deleted_at.is_(None))),
            db.session.scalar(select(func.count()).where(*approved, Comment.parent_id.is_(None))))


def kept(post_id: int) -> tuple[int, int]:
    return db.session.execute(select(Post.comment_count, Post.top_level_count).where(Post.id == post_id)).one()


def assert_counts(app, post_id: int, expected: tuple[int, int] | None = None) -> tuple[int, int]:
    with app.app_context():
        now = counted(post_id)
        assert kept(post_id) == now
        if expected is not None:
            assert now == expected
        return now


def heading(client, slug: str, page: int = 1) -> tuple[str | None, int]:
    html = client.get(f"/{slug}/" + (f"?cpage={page}" if page > 1 else "")).get_data(as_text=True)
    found = re.search(r'id="comments-title">([^<]*)</h2>', html)
    pages = re.search(r"Page \d+ of (\d+)", html)
    return (found.group(1) if found else None), int(pages.group(1)) if pages else 1


@pytest.fixture
def thread(app, post):
    """Six approved comments (two of them replies) and one held one; returns (slug, post id, ids)."""
    ids = add_comments(app, post, 6)
    held = add_comments(app, post, 1, status="pending", start=datetime(2026, 2, 1, tzinfo=timezone.utc))
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == post))
    assert_counts(app, post_id, (6, 4))
    return post, post_id, ids + held


def admin(app) -> User:
    return db.session.scalar(select(User).where(User.email == "author@example.com"))


@pytest.mark.parametrize("action, expected", [
    ("approve", (7, 5)), ("spam", (5, 3)), ("trash", (5, 3)), ("unapprove", (5, 3)),
])
def test_status_changes_keep_the_counts(app, client, thread, action, expected):
    slug, post_id, ids = thread
    target = ids[-1] if action == "approve" else ids[0]  # the held one, or an approved top-level one
    with app.app_context():
        moderation.set_status(db.session.get(Comment, target), action, admin(app))
    assert_counts(app, post_id, expected)
    assert heading(client, slug)[0] == f"{expected[0]} thoughts on “Hello “World””"


def test_restore_and_unspam_count_again(app, thread):
    _, post_id, ids = thread
    with app.app_context():
        actor = admin(app)
        moderation.set_status(db.session.get(Comment, ids[0]), "spam", actor)
        moderation.set_status(db.session.get(Comment, ids[1]), "trash", actor)
    assert_counts(app, post_id, (4, 2))
    with app.app_context():
        moderation.set_status(db.session.get(Comment, ids[0]), "unspam", admin(app))
        moderation.set_status(db.session.get(Comment, ids[1]), "restore", admin(app))
    assert_counts(app, post_id, (6, 4))


def test_bulk_actions_keep_the_counts(app, thread):
    _, post_id, ids = thread
    with app.app_context():
        moderation.bulk(ids[:4], "trash", admin(app))
    assert_counts(app, post_id)
    with app.app_context():
        moderation.bulk(ids, "approve", admin(app))
    assert_counts(app, post_id, (7, 5))


def test_deleting_keeps_the_counts(app, client, thread):
    """A comment without replies goes; one with replies stays as a placeholder: no thought, but a place."""
    slug, post_id, ids = thread
    with app.app_context():
        moderation.delete_permanently(db.session.get(Comment, ids[3]), admin(app))  # a top-level one, no replies
    assert_counts(app, post_id, (5, 3))
    with app.app_context():
        moderation.delete_permanently(db.session.get(Comment, ids[1]), admin(app))  # ids[2] replies to it
    assert_counts(app, post_id, (4, 3))
    assert heading(client, slug)[0] == "4 thoughts on “Hello “World””"


def test_deleting_a_parent_in_the_database_recounts_its_replies_too(app, thread):
    """The database deletes the replies (ON DELETE CASCADE) where the flush hook sees only the parent."""
    _, post_id, ids = thread
    with app.app_context():
        db.session.delete(db.session.get(Comment, ids[1]))
        db.session.commit()
    assert_counts(app, post_id, (4, 3))


def test_new_comments_and_edits_keep_the_counts(app, client, thread, make_user):
    slug, post_id, _ = thread
    writer = app.test_client()
    login(writer, "author@example.com")
    post_comment(writer, slug, comment="A new approved comment")
    assert_counts(app, post_id, (7, 5))
    post_comment(app.test_client(), slug, author="New Guest", email="new@example.org", comment="Held at first")
    assert_counts(app, post_id, (7, 5))  # a first comment from an unknown guest is held
    with app.app_context():
        c = db.session.scalar(select(Comment).where(Comment.body_raw == "A new approved comment"))
        moderation.edit(c, admin(app), {"comment": "Edited words", "author": c.author_name,
                                        "email": c.author_email or "", "url": ""})
    assert_counts(app, post_id, (7, 5))
    assert heading(client, slug)[0] == "7 thoughts on “Hello “World””"


def test_several_changes_in_one_transaction_are_all_counted(app, thread):
    """The version is bumped once per transaction; the counts follow every flush."""
    _, post_id, ids = thread
    with app.app_context():
        db.session.get(Comment, ids[0]).status = "spam"
        db.session.flush()
        db.session.get(Comment, ids[3]).status = "trash"
        db.session.flush()
        post = db.session.get(Post, post_id)
        assert (post.comment_count, post.top_level_count) == (4, 2)  # a loaded post reads them again
        db.session.commit()
    assert_counts(app, post_id, (4, 2))


def test_a_bulk_update_with_its_signal_recounts(app, thread):
    _, post_id, ids = thread
    with app.app_context():
        db.session.execute(update(Comment).where(Comment.id.in_(ids[:2])).values(status="spam"))
        db.session.commit()
        comment_changed.send(app, comment=None, post_id=post_id, action="spam")
    assert_counts(app, post_id, (4, 2))


def test_pages_follow_the_kept_top_level_count(app, client, post):
    """51 top-level comments make two pages; one of them trashed makes one again."""
    ids = add_comments(app, post, 51, replies_every=1000)
    assert heading(client, post) == ("51 thoughts on “Hello “World””", 2)
    assert 'id="comment-%d"' % ids[-1] in client.get(f"/{post}/?cpage=2").get_data(as_text=True)
    with app.app_context():
        moderation.set_status(db.session.get(Comment, ids[0]), "trash", admin(app))
    assert heading(client, post) == ("50 thoughts on “Hello “World””", 1)
    assert client.get(f"/api/v1/posts/{post}/count").get_json()["count"] == 50


def test_bump_recounts_after_bulk_inserts(app, post):
    """What bypasses the ORM (the load-test seeder) recounts with the version bump."""
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == post))
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        db.session.execute(Comment.__table__.insert(), [
            {"post_id": post_id, "root_id": None, "depth": 1, "author_name": f"R{i}", "avatar_key": "",
             "body_raw": "x", "body_html": "<p>x</p>", "status": "approved",
             "created_at": start + timedelta(seconds=i)} for i in range(3)])
        assert kept(post_id) == (0, 0)
        bump(db.session.connection(), [post_id])
        db.session.commit()
    assert_counts(app, post_id, (3, 3))


def test_two_writers_at_once_both_count(app, thread):
    """The second writer waits for the first one's lock on the post (SQLite: on the
    database), then counts with the first one's comment committed: neither is lost."""
    _, post_id, _ = thread
    first_flushed, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def comment(body: str) -> Comment:
        return Comment(post_id=post_id, root_id=None, depth=1, author_name="W", avatar_key="",
                       body_raw=body, body_html=f"<p>{body}</p>", status="approved")

    def second_writer():
        try:
            first_flushed.wait(10)
            with app.app_context():
                db.session.add(comment("second"))
                db.session.commit()  # waits for the first writer
        except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
            errors.append(exc)
        finally:
            second_done.set()

    worker = threading.Thread(target=second_writer)
    worker.start()
    with app.app_context():
        db.session.add(comment("first"))
        db.session.flush()  # bumped and recounted: holds the post (or the database)
        first_flushed.set()
        assert not second_done.wait(0.5)  # the second writer is waiting
        db.session.commit()
    worker.join(20)
    assert not errors and second_done.is_set()
    assert_counts(app, post_id, (8, 6))
