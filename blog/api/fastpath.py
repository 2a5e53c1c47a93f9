"""Cached JSON threads and counts answered in front of Flask (issue #6).

Why: on a cache hit the bytes are ready, yet half of a worker's time serving a 1,000-comment
thread went to Flask around them (request and app contexts, opening the session, Flask-Login's
cookie hook, the ORM session for one row): about 470 µs a request, against 60–110 µs here.
This WSGI layer answers those hits with one DBAPI read of the post's version and a
dictionary lookup, and leaves everything else to Flask, untouched.

It answers only what it can answer exactly as the views in views.py do (same status, body
and headers; tests/functional/test_api_fast_path.py compares the two): a GET of
``/api/v1/posts/<slug>/comments`` with an explicit ``per_page`` (and ``page``), or of
``/api/v1/posts/<slug>/count``, whose bytes are in the thread cache, or a conditional GET
that the client's copy satisfies (304). It falls through to Flask on anything else: other
methods, paths or query arguments, a default ``per_page`` (that needs the site settings),
a session or remember-me cookie (Flask may refresh it), a miss, an empty entry (a page past
the last: a 404 is Flask's to write), a database error, TRUSTED_HOSTS set, a rate limit on
every route (RATELIMIT_DEFAULT or RATELIMIT_APPLICATION).

Never stale: the post's version is read from the database on every request, as the views
read it; only rendered bytes are cached, under keys that carry the version (caching.py).
Rate limits are as before: the forms' limits count POSTs only (ratelimits.py), and an
operator's limit on every route sends every request through Flask, where it is counted.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from flask import Flask
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import http_date, parse_date, parse_etags, quote_etag

from ..caching import etag_for, is_fresh, last_modified, post_key
from ..extensions import db
from ..models import Post
from ..security import fixed_headers, policy_with
from . import bp
from .threads import MAX_PER_PAGE
from .views import cors_headers

P = Post.__table__.c
# Only what the cache key and Last-Modified are made of (caching.post_key, last_modified).
_HEAD = select(P.id, P.comments_version, P.comments_changed_at, P.published_at).where(
    P.slug == bindparam("slug"), P.published_at.is_not(None))

# A strict subset of what the view accepts: no percent-escapes, no repeats, so the raw
# text is what Flask would parse. Anything looser is Flask's to judge.
_ARG = re.compile(r"(page|per_page)=([0-9]{1,9}|all)\Z")


class Head(NamedTuple):
    id: int
    comments_version: int
    comments_changed_at: datetime | None
    published_at: datetime | None


class Heads:
    """A post's head by slug, read through the DBAPI: a tenth of the ORM session's cost.

    The connection comes from the app's pool and goes back to it after each read (the pool
    rolls back), so every read sees the database as it is now.
    """

    def __init__(self, engine):
        dialect = engine.dialect
        compiled = _HEAD.compile(dialect=dialect)
        self.engine, self.sql, self.positional = engine, str(compiled), compiled.positional
        # SQLAlchemy's own conversions for these columns (SQLite keeps datetimes as text).
        self.converters = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                           for c in _HEAD.selected_columns]
        self.errors = (dialect.loaded_dbapi.Error, SQLAlchemyError)

    def get(self, slug: str) -> Head | None:
        """None when there is no such published post, or the database fails (Flask will say which)."""
        try:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(self.sql, (slug,) if self.positional else {"slug": slug})
                row = cursor.fetchone()
                cursor.close()
            finally:
                connection.close()
        except self.errors:
            return None
        if row is None:
            return None
        return Head(*(convert(value) if convert else value for convert, value in zip(self.converters, row)))


def page_args(query: str) -> tuple[int, int] | None:
    """(page, per_page; 0 for all) as the view reads them, or None: Flask's to judge."""
    args = {}
    for part in query.split("&"):
        match = _ARG.match(part)
        if match is None or match[1] in args:
            return None
        args[match[1]] = match[2]
    page, per_page = args.get("page", "1"), args.get("per_page")
    if per_page is None or page == "all" or int(page) < 1:
        return None
    if per_page == "all":
        return int(page), 0
    if not 1 <= int(per_page) <= MAX_PER_PAGE:
        return None
    return int(page), int(per_page)


class FastPath:
    """WSGI middleware: cache hits of the JSON thread and count here, everything else to ``app``."""

    def __init__(self, flask_app: Flask, app):
        self.flask_app = flask_app
        self.app = app
        self.path = re.compile(re.escape(bp.url_prefix) + r"/posts/([^/]+)/(comments|count)\Z")
        self.heads: Heads | None = None

    def __call__(self, environ, start_response):
        answer = self.answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body

    def answer(self, environ) -> tuple[str, list[tuple[str, str]], list[bytes]] | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        match = self.path.match(environ.get("PATH_INFO", ""))
        if match is None:
            return None
        app, config = self.flask_app, self.flask_app.config
        cookies = environ.get("HTTP_COOKIE")
        if cookies and any(f"{name}=" in cookies for name in (
                config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token"))):
            return None
        cache = app.extensions.get("thread_cache")
        if cache is None or config.get("TRUSTED_HOSTS"):
            return None
        # A limit on every route (Flask-Limiter's RATELIMIT_DEFAULT/APPLICATION) counts GETs too.
        if config.get("RATELIMIT_ENABLED", True) and (config.get("RATELIMIT_DEFAULT")
                                                      or config.get("RATELIMIT_APPLICATION")):
            return None
        try:  # WSGI hands the path over as latin-1; Flask decodes it as UTF-8
            slug = match[1].encode("latin-1").decode()
        except UnicodeError:
            return None
        if "\x00" in slug:
            return None
        query = environ.get("QUERY_STRING", "")
        if match[2] == "count":
            if query:
                return None
            parts: tuple = ("count",)
        else:
            args = page_args(query)
            if args is None:
                return None
            parts = ("json", args[0], args[1] or "all")

        if self.heads is None:
            with app.app_context():
                self.heads = Heads(db.engine)
        head = self.heads.get(slug)
        if head is None:
            return None
        key = post_key(head, *parts)
        etag, modified = etag_for(key), last_modified(head)
        # What the after_request hooks add, in their order: the API's CORS and Vary: Origin,
        # the session's Vary: Cookie (Flask-Login reads it on every response), security.py's.
        tail = [*cors_headers(config["CORS_ORIGINS"], environ.get("HTTP_ORIGIN")),
                ("Vary", "Origin, Cookie"),
                ("Content-Security-Policy", policy_with(config.get("CSP_EXTRA") or {})),
                *fixed_headers(app, environ.get("wsgi.url_scheme") in ("https", "wss"))]
        if is_fresh(parse_etags(environ.get("HTTP_IF_NONE_MATCH")), parse_date(environ.get("HTTP_IF_MODIFIED_SINCE")),
                    etag, modified):
            # As Werkzeug sends a 304: no entity headers (Content-*, Last-Modified).
            return "304 NOT MODIFIED", [("ETag", quote_etag(etag, weak=True)), *tail], []
        body = cache.get(key)
        if not body:
            return None
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   ("Cache-Control", "public, no-cache"), ("ETag", quote_etag(etag, weak=True))]
        if modified is not None:
            headers.append(("Last-Modified", http_date(modified)))
        return "200 OK", headers + tail, [body]


def init_app(app: Flask) -> None:
    """In front of Flask, when there is a cache to answer from."""
    if app.config["PAGE_CACHE"]:
        app.wsgi_app = FastPath(app, app.wsgi_app)
