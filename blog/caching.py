"""A thread cache that is never stale, and conditional GETs.

Every entry's key carries the post's ``comments_version``. The version is bumped
in the same transaction as any ORM change to one of the post's comments (a flush
hook), and again after commit for a ``comment_changed`` signal whose change the
hook did not see (a bulk UPDATE). A reader loads the post row first, so it can
only ask for the current version: a change makes a new key, and old entries are
never read again; they age out (LRU in process, a TTL in Redis).

The same hook keeps the post's counts (``comment_count``, ``top_level_count``)
right: after every flush that touches a post's comments they are counted again
from the comments table, never adjusted by deltas, so a cascade, a bulk change or
a transition the hook did not foresee cannot leave them wrong. On PostgreSQL the
bump's row lock orders concurrent writers to one post, and the recount is a later
statement, so it sees (READ COMMITTED) every change committed before the lock.

Two tiers: a byte-bounded LRU in each process, in front of Redis when REDIS_URL
is set, so that several app servers render each version once between them.
Because versions live in the database, the in-process tier is safe even with
many workers and hosts. Redis being down costs speed, never a page.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from itertools import chain

from flask import Flask, Response, current_app, request
from sqlalchemy import and_, bindparam, event, func, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import ETags

from .extensions import db
from .models import Comment, Post, Status
from .signals import comment_changed

log = logging.getLogger(__name__)

BUMPED = "comment_posts_bumped"  # Session.info: posts bumped in the open transaction
COMMITTED = "comment_posts_bumped_committed"  # ... and in the last one committed
RECOUNTED = "comment_posts_recounted"  # Session.info: posts recounted by the flush under way


class LocalLRU:
    """Least recently used entries go first once the values pass ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            self.size += len(value) - (len(old) if old is not None else 0)
            self.entries[key] = value
            while self.size > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped)


class ThreadCache:
    def __init__(self, max_bytes: int, redis_url: str | None, ttl: int, prefix: str):
        self.local = LocalLRU(max_bytes)
        self.redis = None
        if redis_url:  # imported only here: the client brings ~6 MB a worker that has no Redis
            import redis

            self.redis = redis.Redis.from_url(redis_url, socket_timeout=1)
            self.redis_error = redis.RedisError
        self.ttl = ttl
        self.prefix = prefix

    def get(self, key: str) -> bytes | None:
        value = self.local.get(key)
        if value is None and self.redis is not None:
            try:
                value = self.redis.get(self.prefix + key)
            except self.redis_error as exc:
                log.warning("cache read failed: %s", exc)
            if value is not None:
                self.local.set(key, value)
        return value

    def set(self, key: str, value: bytes) -> None:
        self.local.set(key, value)
        if self.redis is not None:
            try:
                self.redis.set(self.prefix + key, value, ex=self.ttl)
            except self.redis_error as exc:
                log.warning("cache write failed: %s", exc)


def thread_cache() -> ThreadCache | None:
    """The app's cache, or None when PAGE_CACHE is off."""
    return current_app.extensions.get("thread_cache")


def cached(key: str, produce) -> bytes:
    """The cached bytes for ``key``, produced (and stored) on a miss."""
    cache = thread_cache()
    if cache is None:
        return produce()
    value = cache.get(key)
    if value is None:
        value = produce()
        cache.set(key, value)
    return value


def post_key(post: Post, *parts) -> str:
    """What a post's thread looks like depends on these; the version covers its comments.

    The timestamps keep a database restored from a backup (or rebuilt by a test) from
    meeting entries that a lower version left in Redis.
    """
    stamps = (t.timestamp() if t else 0 for t in (post.comments_changed_at, post.published_at))
    return ":".join(map(str, (post.id, post.comments_version, *stamps, *parts)))


def etag_for(*parts) -> str:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=12).hexdigest()


def last_modified(post: Post) -> datetime | None:
    stamps = [t for t in (post.published_at, post.comments_changed_at) if t is not None]
    return max(stamps) if stamps else None


def not_modified(etag: str, modified: datetime | None) -> Response | None:
    """A 304 when the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    if not is_fresh(request.if_none_match, request.if_modified_since, etag, modified):
        return None
    response = Response(status=304)
    validate(response, etag, modified)
    return response


def is_fresh(if_none_match: ETags, if_modified_since: datetime | None, etag: str,
             modified: datetime | None) -> bool:
    """Whether a client holding these validators has the current copy."""
    if if_none_match:
        return if_none_match.contains_weak(etag)
    return bool(if_modified_since and modified and modified.replace(microsecond=0) <= if_modified_since)


def validate(response: Response, etag: str, modified: datetime | None) -> Response:
    response.set_etag(etag, weak=True)
    if modified is not None:
        response.last_modified = modified
    return response


# --- versions -------------------------------------------------------------

_POSTS = Post.__table__
# Built once: posting bumps a version with every comment.
_BUMP = update(_POSTS).where(_POSTS.c.id.in_(bindparam("post_ids", expanding=True))).values(
    comments_version=_POSTS.c.comments_version + 1, comments_changed_at=bindparam("now"))


def bump(connection, post_ids, *, recount: bool = True) -> None:
    """A new version of these posts' threads; their counts taken again unless ``recount`` is false."""
    connection.execute(_BUMP, {"post_ids": sorted(post_ids), "now": datetime.now(timezone.utc)})
    if recount:
        count_comments(connection, post_ids)


def _recount_statement():
    posts, comments = Post.__table__, Comment.__table__
    approved = and_(comments.c.post_id == posts.c.id, comments.c.status == Status.APPROVED)

    def counted(*where):
        return select(func.count()).where(approved, *where).scalar_subquery()

    return update(posts).where(posts.c.id.in_(bindparam("post_ids", expanding=True))).values(
        comment_count=counted(comments.c.deleted_at.is_(None)),
        top_level_count=counted(comments.c.parent_id.is_(None)))


# Built once: it runs after every flush that changes a comment, and composing it cost more
# than running it.
_RECOUNT = _recount_statement()


def count_comments(connection, post_ids) -> None:
    """Set the posts' comment counts from their comments.

    On PostgreSQL, run it only once the transaction holds the posts' rows (``bump``): its
    own snapshot then sees every committed change of another writer to these posts.
    """
    connection.execute(_RECOUNT, {"post_ids": sorted(post_ids)})


@event.listens_for(Session, "after_begin")
def _new_transaction(session, transaction, connection) -> None:
    session.info[BUMPED] = set()


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    # Kept for the signals sent after this commit (reading an expired attribute to build
    # them begins the next transaction): their posts need no second bump.
    session.info[COMMITTED] = session.info.get(BUMPED, set())


@event.listens_for(Session, "after_flush")
def _bump_in_transaction(session, flush_context) -> None:
    commented = {obj.post_id for obj in chain(session.new, session.deleted) if isinstance(obj, Comment)}
    commented |= {obj.post_id for obj in session.dirty
                  if isinstance(obj, Comment) and session.is_modified(obj, include_collections=False)}
    commented.discard(None)
    # A post's own title, settings or open/closed state show in its thread too.
    post_ids = commented | {obj.id for obj in session.dirty
                            if isinstance(obj, Post) and session.is_modified(obj, include_collections=False)}
    # Once per transaction is enough: every change in it becomes visible with that one bump.
    bumped = session.info.setdefault(BUMPED, set())
    post_ids -= bumped
    if post_ids:
        bump(session.connection(), post_ids, recount=False)
        bumped.update(post_ids)
    # The counts, though, after every flush: a later one in the transaction may change them again.
    if commented:
        count_comments(session.connection(), commented)
        session.info.setdefault(RECOUNTED, set()).update(commented)


@event.listens_for(Session, "after_flush_postexec")
def _forget_old_counts(session, flush_context) -> None:
    # A post loaded before the flush would still show the counts from before it.
    for post_id in session.info.pop(RECOUNTED, ()):
        post = session.identity_map.get(session.identity_key(Post, post_id))
        if post is not None:
            session.expire(post, ["comment_count", "top_level_count"])


@comment_changed.connect
def _bump_after_signal(sender, post_id=None, **extra) -> None:
    info = db.session.info
    if post_id is None or post_id in info.get(BUMPED, ()) or post_id in info.get(COMMITTED, ()):
        return
    with db.engine.begin() as connection:
        bump(connection, [post_id])


def init_app(app: Flask) -> None:
    if app.config["PAGE_CACHE"]:
        app.extensions["thread_cache"] = ThreadCache(
            max_bytes=int(app.config["PAGE_CACHE_LOCAL_BYTES"]),
            redis_url=app.config.get("REDIS_URL"),
            ttl=int(app.config["PAGE_CACHE_TTL"]), prefix=app.config["PAGE_CACHE_PREFIX"])
