"""Cached pages, JSON threads and counts answered in front of Flask (issue #6).

Why: on a cache hit the bytes are ready, yet most of a worker's time went to Flask around
them (request and app contexts, the session, Flask-Login's cookie hook, the ORM session for
one row): about 470 µs a request for a JSON thread, 800 µs for a page, against 60–110 µs
here. This WSGI layer answers those hits with DBAPI reads of the post's head (and, for a
page, the site's settings) and a dictionary lookup, and leaves everything else to Flask.

It answers only what it can answer exactly as the views answer it (same status, body and
headers; tests/functional/test_fast_path.py compares the two):

- a GET of ``/api/v1/posts/<slug>/comments`` with an explicit ``per_page`` (and ``page``),
  or of ``/api/v1/posts/<slug>/count``, whose bytes are in the thread cache, or a
  conditional GET of them that the client's copy satisfies (304);
- a GET of a post page (``/<slug>/``, or ``?cpage=N``) from a reader with no session yet,
  whose shared page (reading.views.shared_page) is in the cache: as Flask does for such a
  first visit, it makes the reader's session with a new CSRF token, and fills in that token
  and the form's "served at" stamp.

It falls through to Flask on anything else: other methods, paths or query arguments, a
default ``per_page`` (that needs the site settings), a session or remember-me cookie (the
reader may have something of their own on the page; Flask may refresh it), a miss, an
empty entry (a page past the last: a 404 is Flask's to write), a database error,
TRUSTED_HOSTS set, a rate limit on every route (RATELIMIT_DEFAULT or RATELIMIT_APPLICATION).

Never stale: the post's version is read from the database on every request, as the views
read it; only rendered bytes are cached, under keys that carry the version (caching.py).
Rate limits are as before: the forms' limits count POSTs only (ratelimits.py), and an
operator's limit on every route sends every request through Flask, where it is counted.
"""
from __future__ import annotations

import re
import secrets
import threading
import weakref
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, NamedTuple

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import Serializer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import dump_cookie, http_date, parse_date, parse_etags, quote_etag

from .api import bp
from .api.threads import MAX_PER_PAGE
from .api.views import cors_headers
from .caching import etag_for, is_fresh, last_modified, post_key
from .extensions import db
from .models import Post, SiteSetting
from .moderation.rules import closed_by_age
from .moderation.settings import FIELDS, discussion_for, values_for
from .moderation.spam import stamp_signer
from .reading.views import shared_page_etag, shared_page_key, slot
from .security import CookieSessions, fixed_headers, policy_with

P = Post.__table__.c
_PUBLISHED = (P.slug == bindparam("slug"), P.published_at.is_not(None))
# Only what the cache key and Last-Modified are made of (caching.post_key, last_modified),
# and for a page the post's own discussion settings.
_HEAD = select(P.id, P.comments_version, P.comments_changed_at, P.published_at).where(*_PUBLISHED)
_PAGE_HEAD = select(P.id, P.comments_version, P.comments_changed_at, P.published_at, P.settings).where(*_PUBLISHED)
_SITE_SETTINGS = select(SiteSetting.name, SiteSetting.value)

# A strict subset of what the views accept: no percent-escapes, no repeats, so the raw
# text is what Flask would parse. Anything looser is Flask's to judge.
_ARG = re.compile(r"(page|per_page)=([0-9]{1,9}|all)\Z")
_CPAGE = re.compile(r"cpage=([1-9][0-9]{0,8})\Z")


class Head(NamedTuple):
    id: int
    comments_version: int
    comments_changed_at: datetime | None
    published_at: datetime | None


class PageHead(NamedTuple):
    id: int
    comments_version: int
    comments_changed_at: datetime | None
    published_at: datetime | None
    settings: dict[str, Any] | None


class Query:
    """A statement compiled once for the engine's dialect, run on a DBAPI cursor."""

    def __init__(self, engine, statement):
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = compiled.positiontup if compiled.positional else None
        # SQLAlchemy's own conversions for these columns (SQLite keeps datetimes and JSON as text).
        self.converters = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                           for c in statement.selected_columns]

    def rows(self, cursor, params: dict) -> list[tuple]:
        cursor.execute(self.sql, tuple(params[name] for name in self.order) if self.order is not None else params)
        return [tuple(convert(value) if convert else value for convert, value in zip(self.converters, row))
                for row in cursor.fetchall()]


class Reads:
    """Queries run through the DBAPI: a tenth of the ORM session's cost.

    Each thread keeps one connection of its own, out of the app's pool, in autocommit: a
    read is one round trip, with no pre-ping, BEGIN or ROLLBACK around it (on PostgreSQL
    those were three more), and each read sees the database as it is now. A connection that
    fails is closed and the request goes to Flask; the next one connects again.
    """

    def __init__(self, engine):
        self.engine = engine
        self.head, self.page_head, self.site = (Query(engine, s) for s in (_HEAD, _PAGE_HEAD, _SITE_SETTINGS))
        self.errors = (engine.dialect.loaded_dbapi.Error, SQLAlchemyError)
        self.local = threading.local()
        self.opened: weakref.WeakSet = weakref.WeakSet()
        event.listen(engine, "engine_disposed", lambda _engine: self.close_all())

    def connection(self):
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.engine.raw_connection()
            connection.detach()  # this thread's from now on; closing it closes it
            if self.engine.dialect.name == "postgresql":
                connection.dbapi_connection.autocommit = True
            # (SQLite's driver begins transactions only before writes: its reads are autocommit.)
            self.local.connection = connection
            self.opened.add(connection)
        return connection

    def run(self, *queries: tuple[Query, dict]) -> list[list[tuple]] | None:
        """Each query's rows, or None when the database fails (Flask will say how)."""
        try:
            cursor = self.connection().cursor()
            try:
                return [query.rows(cursor, params) for query, params in queries]
            finally:
                cursor.close()
        except self.errors:
            self.close(getattr(self.local, "connection", None))
            return None

    def close(self, connection) -> None:
        self.local.connection = None
        if connection is not None:
            self.opened.discard(connection)
            try:
                connection.close()
            except self.errors:
                pass

    def close_all(self) -> None:
        """With the engine's pool (engine.dispose()): no connection outlives it."""
        for connection in list(self.opened):
            try:
                connection.close()
            except Exception:  # another thread's SQLite connection, already gone: nothing to free
                pass
        self.opened = weakref.WeakSet()
        self.local = threading.local()


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


class KeyOnce(TimestampSigner):
    """itsdangerous derives its key again for every signature; a first visit takes three."""

    @cached_property
    def key(self) -> bytes:
        return super().derive_key()

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        return self.key if secret_key is None else super().derive_key(secret_key)


def signer_of(serializer: URLSafeTimedSerializer) -> KeyOnce:
    return KeyOnce(serializer.secret_keys, salt=serializer.salt, **serializer.signer_kwargs)


class Signing:
    """A first visit's session, CSRF token and form stamp, signed as Flask, Flask-WTF and
    moderation.spam sign them (their serializers' payloads, signed by KeyOnce).

    The payloads are not run through zlib first, as itsdangerous tries for every one: for a
    few dozen bytes the attempt took a tenth of the page's own work, and the serializers
    read both forms."""

    def __init__(self, app: Flask, secret: str | bytes, csrf_secret: str | bytes):
        self.session = app.session_interface.get_signing_serializer(app)
        self.csrf = URLSafeTimedSerializer(csrf_secret, salt="wtf-csrf-token")
        self.session_signer, self.csrf_signer = signer_of(self.session), signer_of(self.csrf)
        self.stamp_signer = stamp_signer(secret, KeyOnce)
        self.field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.token_slot, self.stamp_slot = slot("csrf_token", secret).encode(), slot("comment_ts", secret).encode()
        self.slots = re.compile(b"(" + self.token_slot + b"|" + self.stamp_slot + b")")

    def first_visit(self) -> tuple[str, str, bytes, bytes]:
        """(raw CSRF token, session cookie value, signed CSRF token, form stamp) for a new reader."""
        raw = secrets.token_hex(20)  # 40 hex digits, the shape of the token Flask-WTF's generate_csrf makes
        cookie = self.session_signer.sign(uncompressed(self.session, {self.field: raw})).decode()
        return raw, cookie, self.csrf_signer.sign(uncompressed(self.csrf, raw)), self.stamp_signer.sign("comment-form")


def uncompressed(serializer: URLSafeTimedSerializer, obj) -> bytes:
    """The serializer's URL-safe payload in its uncompressed form."""
    return base64_encode(Serializer.dump_payload(serializer, obj))


class FastPath:
    """WSGI middleware: cache hits of pages, JSON threads and counts here, everything else to ``app``."""

    def __init__(self, flask_app: Flask, app):
        self.flask_app = flask_app
        self.app = app
        self.api_path = re.compile(re.escape(bp.url_prefix) + r"/posts/([^/]+)/(comments|count)\Z")
        self.page_path = re.compile(r"/[^/]+/\Z")
        self.routes = flask_app.url_map.bind("localhost")
        self.reads: Reads | None = None
        self.signings: dict[tuple, Signing] = {}
        # Small memos, emptied when full: a path's route, a host's URL, a cached page cut at its
        # slots (under a key that carries the thread's version, so never stale).
        self.route_of: dict[str, tuple[str, dict] | None] = {}
        self.host_url_of: dict[tuple, str] = {}
        self.pieces_of: dict[str, list[bytes]] = {}

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
        try:  # WSGI hands the path over as latin-1; Flask decodes it as UTF-8
            path = environ.get("PATH_INFO", "").encode("latin-1").decode()
        except UnicodeError:
            return None
        api = self.api_path.match(path)
        if api is None and self.page_path.match(path) is None:
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
        if "\x00" in path:
            return None
        if self.reads is None:
            with app.app_context():
                self.reads = Reads(db.engine)
        if api is not None:
            return self.json(environ, cache, api[1], api[2])
        if path not in self.route_of:
            try:
                endpoint, args = self.routes.match(path, method="GET")
            except Exception:  # not found, a redirect, another method: Flask's to answer
                endpoint, args = None, {}
            remember(self.route_of, path, args["slug"] if endpoint == "reading.post" else None, 4096)
        slug = self.route_of[path]
        return None if slug is None else self.page(environ, cache, slug)

    def tail(self, environ) -> list[tuple[str, str]]:
        """What security.py's after_request hook adds."""
        config = self.flask_app.config
        return [("Content-Security-Policy", policy_with(config.get("CSP_EXTRA") or {})),
                *fixed_headers(self.flask_app, environ.get("wsgi.url_scheme") in ("https", "wss"))]

    def json(self, environ, cache, slug: str, what: str):
        query = environ.get("QUERY_STRING", "")
        if what == "count":
            if query:
                return None
            parts: tuple = ("count",)
        else:
            args = page_args(query)
            if args is None:
                return None
            parts = ("json", args[0], args[1] or "all")
        found = self.reads.run((self.reads.head, {"slug": slug}))
        if not found or not found[0]:
            return None
        head = Head(*found[0][0])
        key = post_key(head, *parts)
        etag, modified = etag_for(key), last_modified(head)
        # Before security.py's headers: the API's CORS and Vary: Origin, to which the session
        # adds Cookie (Flask-Login reads it on every response).
        tail = [*cors_headers(self.flask_app.config["CORS_ORIGINS"], environ.get("HTTP_ORIGIN")),
                ("Vary", "Origin, Cookie"), *self.tail(environ)]
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

    def page(self, environ, cache, slug: str):
        """A first visit (no session) to a page whose shared copy is cached, as render_post
        answers it: a new session with a CSRF token, filled into the page with the stamp."""
        query = environ.get("QUERY_STRING", "")
        match = _CPAGE.match(query) if query else None
        if query and match is None:
            return None
        found = self.reads.run((self.reads.page_head, {"slug": slug}), (self.reads.site, {}))
        if not found or not found[0]:
            return None
        head = PageHead(*found[0][0])
        app, config = self.flask_app, self.flask_app.config
        site = {name: config[name] for name in FIELDS}
        site.update((name, value) for name, value in found[1] if name in FIELDS)
        discussion = discussion_for(values=values_for(head, site))
        closed = closed_by_age(head.published_at, datetime.now(timezone.utc), discussion.close_after_days)
        signing = self.signing()
        if signing is None:
            return None
        where = tuple(environ.get(name) for name in ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
                                                      "SCRIPT_NAME"))
        if where not in self.host_url_of:
            remember(self.host_url_of, where, app.request_class(environ).host_url, 256)
        key = shared_page_key(head, self.host_url_of[where], int(match[1]) if match else 1, closed, discussion,
                              signing.token_slot.decode())
        pieces = self.pieces_of.get(key)
        if pieces is None:
            body = cache.get(key)
            if not body:
                return None
            pieces = remember(self.pieces_of, key, signing.slots.split(body), 32)
        raw, cookie_value, token, stamp = signing.first_visit()
        filled = pieces.copy()
        for i in range(1, len(filled), 2):  # the slots are at the odd places
            filled[i] = token if filled[i] == signing.token_slot else stamp
        body = b"".join(filled)
        session = app.session_interface
        cookie = dump_cookie(
            session.get_cookie_name(app), cookie_value,
            path=session.get_cookie_path(app), domain=session.get_cookie_domain(app),
            secure=session.get_cookie_secure(app), httponly=session.get_cookie_httponly(app),
            samesite=session.get_cookie_samesite(app), partitioned=session.get_cookie_partitioned(app),
            max_size=config["MAX_COOKIE_SIZE"])
        etag, modified = shared_page_etag(head, query, raw, closed, discussion), last_modified(head)
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                   ("Cache-Control", "private, no-cache"), ("ETag", quote_etag(etag, weak=True))]
        if modified is not None:
            headers.append(("Last-Modified", http_date(modified)))
        # The session's headers come last: Flask saves it after the after_request hooks.
        return "200 OK", [*headers, *self.tail(environ), ("Vary", "Cookie"), ("Set-Cookie", cookie)], [body]

    def signing(self) -> Signing | None:
        app, config = self.flask_app, self.flask_app.config
        secret = config.get("SECRET_KEY")
        csrf_secret = config.get("WTF_CSRF_SECRET_KEY") or secret
        if not secret or type(app.session_interface) not in (SecureCookieSessionInterface, CookieSessions):
            return None
        signing = self.signings.get((secret, csrf_secret))
        if signing is None:
            with app.app_context():
                signing = Signing(app, secret, csrf_secret)
            self.signings[(secret, csrf_secret)] = signing
        return signing


def remember(memo: dict, key, value, most: int):
    if len(memo) >= most:
        memo.clear()
    memo[key] = value
    return value


def init_app(app: Flask) -> None:
    """In front of Flask, when there is a cache to answer from."""
    if app.config["PAGE_CACHE"]:
        app.wsgi_app = FastPath(app, app.wsgi_app)
