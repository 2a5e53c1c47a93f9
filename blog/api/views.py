from __future__ import annotations

import orjson
from flask import Response, abort, current_app, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

from ..caching import cached, etag_for, last_modified, not_modified, post_key, validate
from ..moderation.settings import discussion_for
from ..reading.thread import counts_for
from ..reading.views import get_post_head
from . import bp
from .threads import MAX_PER_PAGE, thread_json


def _dumps(payload) -> bytes:
    # orjson: several times faster than json on a 10,000-comment thread, and straight to
    # bytes (no second copy); datetimes come out as RFC 3339, as isoformat() writes them.
    return orjson.dumps(payload)


def json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/json")


def json_error(status: int, message: str) -> Response:
    return json_response(_dumps({"error": {"status": status, "message": message}}), status)


def _page_args() -> tuple[int, int | None]:
    """:raise 400: ``page`` not a positive integer, ``per_page`` not 1–MAX_PER_PAGE or ``all``."""
    page, per_page = request.args.get("page", "1"), request.args.get("per_page")
    if not (page.isdigit() and len(page) < 10 and int(page) >= 1):
        abort(400, "page must be a positive whole number.")
    if per_page is None:
        return int(page), None  # the post's discussion setting
    if per_page == "all":
        return int(page), 0
    if not (per_page.isdigit() and 1 <= int(per_page) <= MAX_PER_PAGE):
        abort(400, f"per_page must be a whole number from 1 to {MAX_PER_PAGE}, or all.")
    return int(page), int(per_page)


def _post(slug: str):
    """:raise 404: no published post with this slug."""
    try:
        return get_post_head(slug)
    except NotFound:
        abort(404, "There is no published post with this slug.")


@bp.get("/posts/<slug>/comments")
def thread(slug: str):
    """The approved thread, nested, paginated by top-level comment (``per_page=all``: all of it).

    :raise 400: bad ``page`` or ``per_page``. :raise 404: no such post, or a page past the last.
    """
    page, per_page = _page_args()
    post = _post(slug)
    if per_page is None:
        per_page = discussion_for(post).per_page
    key = post_key(post, "json", page, per_page or "all")
    etag, modified = etag_for(key), last_modified(post)
    unchanged = not_modified(etag, modified)
    if unchanged is not None:
        return unchanged

    def render() -> bytes:
        payload = thread_json(post, page, per_page or None, avatar_url=url_for("reading.avatar", key="KEY"))
        if payload is None:
            return b""
        return _dumps(payload)

    body = cached(key, render)
    if not body:
        abort(404, f"This thread has no page {page}.")
    response = json_response(body)
    response.cache_control.public = True
    response.cache_control.no_cache = True  # always revalidate: a 304 costs one query
    return validate(response, etag, modified)


@bp.get("/posts/<slug>/count")
def count(slug: str):
    """The number of approved comments. :raise 404: no such post."""
    post = _post(slug)
    key = post_key(post, "count")
    etag, modified = etag_for(key), last_modified(post)
    unchanged = not_modified(etag, modified)
    if unchanged is not None:
        return unchanged
    response = json_response(cached(key, lambda: _dumps({"slug": post.slug, "count": counts_for(post).approved})))
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return validate(response, etag, modified)


@bp.errorhandler(HTTPException)
def api_error(error: HTTPException):
    return json_error(error.code or 500, error.description)


@bp.after_request
def cors(response: Response) -> Response:
    """Let the configured origins' pages read the API (GET only, no credentials)."""
    for name, value in cors_headers(current_app.config["CORS_ORIGINS"], request.headers.get("Origin")):
        response.headers[name] = value
    response.vary.add("Origin")
    return response


def cors_headers(origins: str, origin: str | None) -> list[tuple[str, str]]:
    """The CORS headers for a request from ``origin``, given the CORS_ORIGINS setting."""
    allowed = {o.strip() for o in str(origins).split(",") if o.strip()}
    if not origin or not ("*" in allowed or origin in allowed):
        return []
    return [("Access-Control-Allow-Origin", "*" if "*" in allowed else origin),
            ("Access-Control-Allow-Methods", "GET, OPTIONS"),
            ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since"),
            ("Access-Control-Expose-Headers", "ETag, Last-Modified"),
            ("Access-Control-Max-Age", "86400")]
