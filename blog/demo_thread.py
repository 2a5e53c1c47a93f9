"""A big demo thread for load tests: ``flask demo thread --comments 10000``.

About 30% replies (to a recent comment, up to the thread depth), bodies of about
300 characters, every comment approved. Inserted in bulk with explicit ids, so
10,000 comments take about a second.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import click
from sqlalchemy import func, insert, select, text

from .avatars import avatar_key
from .caching import bump
from .extensions import db
from .models import Comment, Post, Role, User

WORDS = ("comment thread reply moderation reader blog post writing idea kind thanks agree "
         "question answer point time people week partner therapy talk listen change help").split()


def seed_thread(slug: str, n: int, *, seed: int = 6, depth: int = 5) -> Post:
    """Create (or replace the comments of) the post ``slug`` with ``n`` approved comments."""
    rng = random.Random(seed)
    post = db.session.scalar(select(Post).where(Post.slug == slug))
    if post is None:
        author = db.session.scalar(select(User).where(User.role.in_([Role.AUTHOR, Role.ADMIN])))
        if author is None:
            # With an address, as an author has: held comments queue the moderation mail, as on any blog.
            author = User(display_name="Load Test Author", email="load-test-author@example.invalid",
                          role=Role.AUTHOR)
            db.session.add(author)
            db.session.flush()
        post = Post(slug=slug, title=f"A thread of {n:,} comments",
                    body="<p>A post for load tests.</p>", author_id=author.id)
        db.session.add(post)
        db.session.flush()
    db.session.execute(Comment.__table__.delete().where(Comment.__table__.c.post_id == post.id))
    next_id = (db.session.scalar(select(func.max(Comment.id))) or 0) + 1
    start = datetime.now(timezone.utc) - timedelta(seconds=n)
    rows: list[dict] = []
    for i in range(n):
        parent = None
        if rows and rng.random() < 0.3:
            candidate = rows[rng.randrange(max(0, len(rows) - 50), len(rows))]
            if candidate["depth"] < depth:
                parent = candidate
        name, email = f"Reader {i}", f"reader{i}@example.org"
        words = []
        while sum(len(w) + 1 for w in words) < 300:
            words.append(rng.choice(WORDS))
        body = " ".join(words).capitalize() + "."
        cid = next_id + i
        rows.append({
            "id": cid, "post_id": post.id, "parent_id": parent["id"] if parent else None,
            "root_id": parent["root_id"] if parent else cid,
            "depth": parent["depth"] + 1 if parent else 1, "user_id": None,
            "author_name": name, "author_email": email, "author_url": None,
            "avatar_key": avatar_key(email, name), "body_raw": body, "body_html": f"<p>{body}</p>",
            "status": "approved", "created_at": start + timedelta(seconds=i), "edited_at": None,
            "ip": "127.0.0.1", "user_agent": "seed",
        })
    for chunk in range(0, n, 1000):
        db.session.execute(insert(Comment.__table__), rows[chunk:chunk + 1000])
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('comments', 'id'), "
                                "(SELECT COALESCE(MAX(id), 1) FROM comments))"))
    post.title = f"A thread of {n:,} comments"
    bump(db.session.connection(), [post.id])  # bulk statements pass no flush hook
    db.session.commit()
    return post


@click.command("thread")
@click.option("--slug", default="big-thread", show_default=True)
@click.option("--comments", "n", type=click.IntRange(0, 1_000_000), default=1000, show_default=True)
def thread_command(slug: str, n: int) -> None:
    """Create a post with a big thread of approved comments, for load tests."""
    post = seed_thread(slug, n)
    click.echo(f"/{post.slug}/ has {n:,} comments")
