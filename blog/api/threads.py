"""The thread as JSON: the same query and tree as the HTML page, shaped to public fields."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, String, type_coerce

from ..models import Post
from ..reading.thread import PUBLIC_COLUMNS, Counts, clamp_page, comment_rows, counts_for, nest

MAX_PER_PAGE = 500

TIMES = ("created_at", "edited_at", "deleted_at")
# The times as the database hands them over, unparsed (parsing them was a quarter of the
# work on a 10,000-comment thread): SQLite's stored UTC text, PostgreSQL's driver datetimes.
JSON_COLUMNS = tuple(type_coerce(c, String).label(c.name) if c.name in TIMES else c for c in PUBLIC_COLUMNS)


def rfc3339(value: str | datetime | None) -> str | datetime | None:
    """A time as JSON shows it (orjson writes datetimes as RFC 3339 itself)."""
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.ffffff", always UTC
        return f"{value[:10]}T{value[11:]}+00:00"
    return value


@dataclass(slots=True)
class PublicComment:
    """What anyone may see of a comment (orjson writes these fields as a JSON object).

    Slots, not dicts: a 10,000-comment thread is held in memory whole while it is nested.
    """

    id: int
    parent: int | None
    depth: int
    author: str
    author_url: str | None
    avatar_url: str | None
    body_html: str
    created: str | datetime
    edited: str | datetime | None
    is_post_author: bool
    replies: list[PublicComment]
    deleted: bool


def thread_json(post: Row | Post, page: int, per_page: int | None, avatar_url: str) -> dict | None:
    """One query: the rows (the counts are the post's). ``per_page`` None: the whole
    thread, whose counts come from its own rows.

    ``avatar_url`` is the avatar route with ``KEY`` where the key goes. None for a page
    past the last (page 1 always exists).
    """
    if per_page is None:
        if page != 1:
            return None
        counts, pages = None, 1
    else:
        counts = counts_for(post)
        clamped, pages = clamp_page(page, per_page, counts)
        if clamped != page:
            return None
    author_id = post.author_id
    prefix, suffix = avatar_url.split("KEY", 1)
    # The rows carry no email, IP or user agent to leak; each is dropped once shaped.
    # Rows unpacked by position (PUBLIC_COLUMNS' order): named access costs a lookup per field.
    # A deleted comment keeps its place (its replies hang under it) but nothing of its own.
    comments = [PublicComment(
        cid, parent, depth, name, url, f"{prefix}{key or 'anonymous'}{suffix}", html, rfc3339(created),
        rfc3339(edited), user_id is not None and user_id == author_id, [], False,
    ) if deleted is None else PublicComment(
        cid, parent, depth, "", None, None, "", rfc3339(created), None, False, [], True,
    ) for cid, _, parent, _, depth, user_id, name, url, key, html, _, created, edited, deleted
        in comment_rows(post.id, page, per_page, stream=True, columns=JSON_COLUMNS)]
    if counts is None:
        counts = Counts(approved=sum(not c.deleted for c in comments),
                        top_level=sum(c.parent is None for c in comments))
    return {
        "post": {"slug": post.slug, "title": post.title},
        "count": counts.approved,
        "top_level": counts.top_level,
        "page": page,
        "pages": pages,
        "per_page": per_page or "all",
        "comments": nest(comments),
    }
