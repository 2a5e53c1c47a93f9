"""Shared set-up for the moderation tests: people with each role and a held comment."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Block, Comment, ModerationEvent, OutboxMessage, Post, SiteSetting
from tests.conftest import csrf_from, login

PASSWORD = "correct horse battery"


@dataclass
class World:
    slug: str
    post_id: int
    comment_id: int  # held, by a guest
    approved_id: int  # approved, by a guest


@pytest.fixture
def world(app, client, post, make_user) -> World:
    """The post's author (author@example.com), another author with a post of their own,
    a reader, an admin, and two guest comments on the post: one held, one approved."""
    from tests.conftest import post_comment

    make_user("other@example.com", "Otto Other", role="author")
    make_user("reader@example.com", "Rita Reader")
    make_user("admin@example.com", "Ada Admin", role="admin")
    with app.app_context():
        db.session.add(Post(slug="others-post", title="Other’s post", body="<p>x</p>",
                            author_id=_user_id("other@example.com")))
        db.session.commit()
    guest = app.test_client()
    post_comment(guest, post, author="Gus Guest", email="gus@example.org", comment="Held words, first time")
    post_comment(guest, post, author="Gus Guest", email="gus@example.org", comment="Second words")
    with app.app_context():
        held, second = db.session.scalars(select(Comment).order_by(Comment.id)).all()
        second.status = "approved"
        post_id = held.post_id
        db.session.commit()
        return World(post, post_id, held.id, second.id)


def _user_id(email: str) -> int:
    from blog.models import User

    return db.session.scalar(select(User.id).where(User.email == email))


def snapshot(app) -> tuple:
    """Everything moderation could change, to prove a refused request changed nothing."""
    with app.app_context():
        return (
            db.session.execute(select(Comment.id, Comment.status, Comment.body_raw, Comment.author_name,
                                      Comment.deleted_at, Comment.edited_at).order_by(Comment.id)).all(),
            db.session.scalars(select(ModerationEvent.id).order_by(ModerationEvent.id)).all(),
            db.session.execute(select(Block.kind, Block.value)).all(),
            db.session.execute(select(SiteSetting.name, SiteSetting.value)).all(),
            db.session.execute(select(Post.id, Post.settings).order_by(Post.id)).all(),
            db.session.scalar(select(db.func.count()).select_from(OutboxMessage)),
        )


def signed_in(app, email: str | None):
    client = app.test_client()
    if email:
        res = login(client, email, PASSWORD)
        assert res.status_code == 303, res.get_data(as_text=True)
    return client


def token_of(client, path: str = "/hello-world/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


def status_of(app, comment_id: int) -> str | None:
    with app.app_context():
        c = db.session.get(Comment, comment_id)
        return c.status if c else None
