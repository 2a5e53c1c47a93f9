"""The thread as JSON: the same rows and tree as the HTML page, shaped to public fields."""
from __future__ import annotations

from ..models import Post
from ..reading.thread import clamp_page, comment_rows, counts_for, nest

MAX_PER_PAGE = 500


def thread_json(post: Post, page: int, per_page: int | None, avatar_url: str) -> dict | None:
    """Two queries: the counts and the rows. ``per_page`` None: the whole thread.

    ``avatar_url`` is the avatar route with ``KEY`` where the key goes. None for a page
    past the last (page 1 always exists).
    """
    counts = counts_for(post.id)
    clamped, pages = clamp_page(page, per_page, counts)
    if clamped != page:
        return None
    author_id = post.author_id
    prefix, suffix = avatar_url.split("KEY", 1)
    # Public fields only: the row carries no email, IP or user agent to leak.
    items = [{
        "id": r.id,
        "parent": r.parent_id,
        "depth": r.depth,
        "author": r.author_name,
        "author_url": r.author_url,
        "avatar_url": f"{prefix}{r.avatar_key or 'anonymous'}{suffix}",
        "body_html": r.body_html,
        "created": r.created_at.isoformat(),
        "edited": r.edited_at.isoformat() if r.edited_at else None,
        "is_post_author": r.user_id is not None and r.user_id == author_id,
        "replies": [],
    } for r in comment_rows(post.id, page, per_page)]
    return {
        "post": {"slug": post.slug, "title": post.title},
        "count": counts.approved,
        "top_level": counts.top_level,
        "page": page,
        "pages": pages,
        "per_page": per_page or "all",
        "comments": nest(items),
    }
