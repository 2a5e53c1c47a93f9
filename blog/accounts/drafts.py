"""A comment being written survives the trip to a provider's sign-in page.

Kept in the database (a comment can be 64 KB, too big for a cookie), keyed by a random
token held in the session, and handed back once on the post page.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from flask import session
from sqlalchemy import delete

from ..extensions import db
from ..models import CommentDraft, Post

FIELDS = ("comment", "author", "email", "url", "comment_parent",
          "subscribe_replies", "subscribe_comments", "subscribe_blog")
SESSION_KEY = "draft"
KEEP = timedelta(days=1)
MAX_FIELD = 70_000


def save_draft(post: Post, form: Mapping[str, str], now: datetime | None = None) -> None:
    """Store the named form fields (as typed) for this session; the caller's request commits."""
    now = now or datetime.now(timezone.utc)
    fields = {name: form[name][:MAX_FIELD] for name in FIELDS if isinstance(form.get(name), str) and form.get(name)}
    db.session.execute(delete(CommentDraft).where(CommentDraft.created_at < now - KEEP))
    old = session.pop(SESSION_KEY, None)
    if old:
        db.session.execute(delete(CommentDraft).where(CommentDraft.key == old))
    if not fields.get("comment") and not fields.get("author"):
        db.session.commit()
        return
    key = secrets.token_urlsafe(32)
    db.session.add(CommentDraft(key=key, post_id=post.id, fields=fields, created_at=now))
    db.session.commit()
    session[SESSION_KEY] = key


def take_draft(post: Post) -> dict[str, str] | None:
    """The fields saved for this post in this session, once; None when there are none."""
    key = session.get(SESSION_KEY)
    if not key:
        return None
    draft = db.session.get(CommentDraft, key)
    if draft is None or draft.post_id != post.id:
        return None
    session.pop(SESSION_KEY)
    fields = dict(draft.fields)
    db.session.delete(draft)
    db.session.commit()
    return fields
