"""The demo content: the article this product was made for, with its four comments."""
from __future__ import annotations

import json
import os
import re
import secrets
from datetime import datetime, timedelta, timezone
from importlib import resources

from markupsafe import escape
from sqlalchemy import select

from .avatars import avatar_key
from .extensions import db
from .models import Comment, ModerationEvent, Post, Role, Status, User
from .sanitize import sanitize_comment

AUTHOR_EMAIL = "winifred@example.com"
# The seed names no readers; these stand in for them.
READER_NAMES = ("Carol Whitfield", "Daniel Ostrowski", "Priya Raman")
FILE_NAME = re.compile(r"[\w.-]*\d[\w.-]*")  # no spaces, some digits


def load_seed() -> dict:
    return json.loads(resources.files("blog").joinpath("data/post.json").read_text(encoding="utf-8"))


def image_placeholder(alt: str) -> str:
    """A captioned frame where the picture was; the caption carries the alt text.

    An alt text that is only a file name (``iStock_000025095355XSmall``) describes
    nothing, so that frame is decorative and uncaptioned, hidden from screen readers.
    """
    frame = '<span class="image-placeholder-box" aria-hidden="true"></span>'
    if FILE_NAME.fullmatch(alt):
        return f'<figure class="wp-block-image image-placeholder" aria-hidden="true">{frame}</figure>'
    return (f'<figure class="wp-block-image image-placeholder">{frame}'
            f'<figcaption class="wp-element-caption">{escape(alt)}</figcaption></figure>')


def body_html(blocks: list[dict], closing: list[str]) -> str:
    """Trusted author HTML from the seed's blocks; images exist only as alt text."""
    parts = []
    for block in blocks:
        if block["type"] == "paragraph":
            parts.append(f"<p>{escape(block['text'])}</p>")
        elif block["type"] == "image":
            parts.append(image_placeholder(block["alt"]))
    parts.extend(f'<p class="closing">{escape(line)}</p>' for line in closing)
    return "\n".join(parts)


def load_demo() -> tuple[Post, str | None]:
    """Create the author, the post and its comments unless they exist.

    Returns the post and the author's password when the account was created
    now (from DEMO_AUTHOR_PASSWORD, or generated), else None.
    """
    seed = load_seed()
    password = None
    author = db.session.scalar(select(User).where(User.email == AUTHOR_EMAIL))
    if author is None:
        password = os.environ.get("DEMO_AUTHOR_PASSWORD") or secrets.token_urlsafe(12)
        author = User(email=AUTHOR_EMAIL, display_name=seed["author"]["display_name"], role=Role.AUTHOR)
        author.set_password(password)
        db.session.add(author)
        db.session.flush()

    post = db.session.scalar(select(Post).where(Post.slug == seed["slug"]))
    if post is None:
        published = datetime.now(timezone.utc) - timedelta(days=2)
        post = Post(slug=seed["slug"], title=seed["title"], body=body_html(seed["blocks"], seed["closing"]),
                    author_id=author.id, published_at=published)
        db.session.add(post)
        db.session.flush()
        by_seed_id: dict[int, Comment] = {}
        readers = iter(READER_NAMES)
        for i, item in enumerate(seed["comments"]):
            parent = by_seed_id.get(item["parent"])
            if item["by"] == "post_author":
                name, email, user_id = author.display_name, author.email, author.id
            else:
                name = next(readers)
                email, user_id = f"{name.split()[0].lower()}@example.org", None
            comment = Comment(
                post_id=post.id, parent_id=parent.id if parent else None,
                root_id=parent.root_id if parent else None, depth=parent.depth + 1 if parent else 1,
                user_id=user_id, author_name=name, author_email=email,
                avatar_key=avatar_key(email, name), body_raw=item["text"],
                body_html=sanitize_comment(item["text"]), status=Status.APPROVED,
                created_at=published + timedelta(hours=3 + 5 * i),
            )
            db.session.add(comment)
            db.session.flush()
            comment.root_id = comment.root_id or comment.id
            db.session.add(ModerationEvent(comment_id=comment.id, rule="demo", action="import",
                                           to_status=Status.APPROVED, reasons=["Demo content"]))
            by_seed_id[item["id"]] = comment
    db.session.commit()
    return post, password
