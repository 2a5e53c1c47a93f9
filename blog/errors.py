"""Error pages: a clear message and status, never a traceback.

A form refused on the way in (bad CSRF token, rate limit, database down) comes
back with what was typed, so nothing is lost: a comment as the post page with
its form filled in (or, with the database down, the form alone); any other
form as its fields again (passwords aside), sent back to the same address.
"""
from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is nothing here.",
    405: "That method is not allowed here.",
    413: "What you sent is too large.",
    429: "Too many requests. Please wait a moment and try again.",
    503: "The site is busy. Please try again in a moment.",
}
FORM_MESSAGES = {
    400: "Your session expired or the form was sent from elsewhere. Please check what you typed and send it again.",
    429: "You are sending this form too often. What you typed is below; please send it again in a minute.",
    503: "We could not save this just now. What you typed is below; please send it again in a minute.",
}
UNSTORABLE = "What you sent contains characters that cannot be stored (such as NUL bytes). Please check it and send it again."
UNREADABLE = "We could not read the form you sent (it was not valid form data). Please type it again."
RETRY_AFTER = "30"  # seconds, on a 503
# The database is down, locked past the busy timeout, or the pool is exhausted.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


def _typed_fields() -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.form.items(multi=True)
            if name != "csrf_token" and "password" not in name.lower()]


def _form_again(status: int, message: str):
    """For a refused form POST: the page again with what was typed, or None."""
    if request.method != "POST":
        return None
    if request.endpoint == "comments.create":
        slug = (request.view_args or {}).get("slug", "")
    elif request.endpoint == "accounts.oauth_login":
        slug = request.form.get("post", "")  # a provider button under the comment form
    else:
        slug = None
    if slug is not None:
        from .comments.forms import CommentForm
        from .reading.views import get_post, render_post

        try:
            post = get_post(slug)
        except HTTPException:
            post = None  # no such post: the text comes back as plain fields below
        if post is not None:
            return render_post(post, CommentForm(meta={"csrf": False}), errors={}, message=message, status=status)
    fields = _typed_fields()
    if not fields:
        return None
    return render_template("errors/resend.html", status=status, message=message, fields=fields,
                           action=request.path), status


def _as_anonymous() -> None:
    """Render without loading the signed-in user: that needs the database that failed."""
    g._login_user = login_manager.anonymous_user()


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if request.content_length and not request.form and not request.files:
            # A body came but no field could be parsed (e.g. invalid UTF-8).
            return render_template("errors/error.html", status=400, message=UNREADABLE), 400
        return _form_again(400, FORM_MESSAGES[400]) or (
            render_template("errors/error.html", status=400, message=FORM_MESSAGES[400]), 400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        message = MESSAGES.get(error.code, error.description)
        # Keep what the exception says about itself, e.g. Allow on a 405.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        if request.path.startswith("/api/"):
            from .api.views import json_error

            return json_error(error.code, message), error.code, headers
        if error.code == 429:
            response = _form_again(429, FORM_MESSAGES[429])
            if response:
                return response
        return render_template("errors/error.html", status=error.code, message=message), error.code, headers

    def database_unavailable(error):
        log.error("database unavailable: %s", error)
        try:
            db.session.rollback()
        except DATABASE_UNAVAILABLE:
            pass
        _as_anonymous()
        if request.method == "POST" and request.endpoint == "comments.create":
            from .comments.forms import CommentForm

            # No thread (the database is what failed): just the form, as typed.
            page = render_template(
                "comments/retry.html", form=CommentForm(meta={"csrf": False}),
                slug=(request.view_args or {}).get("slug", ""),
                message="We could not save your comment just now. It is below; please send it again in a minute.")
        elif request.method == "POST" and _typed_fields():
            page = render_template("errors/resend.html", status=503, message=FORM_MESSAGES[503],
                                   fields=_typed_fields(), action=request.path)
        else:
            page = render_template("errors/error.html", status=503, message=MESSAGES[503])
        return page, 503, {"Retry-After": RETRY_AFTER}

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def unstorable_value(error):
        # The database refused a value the request carried (PostgreSQL: a NUL
        # byte or a number out of range; SQLite: an integer past 64 bits): the
        # client's mistake, not ours.
        log.warning("value refused by the database: %s", error)
        db.session.rollback()
        return _form_again(400, UNSTORABLE) or (
            render_template("errors/error.html", status=400, message=UNSTORABLE), 400)

    for exception in DATABASE_UNAVAILABLE:
        app.register_error_handler(exception, database_unavailable)

    @app.errorhandler(Exception)
    def server_error(error):
        log.exception("unhandled error")
        return render_template("errors/error.html", status=500,
                               message="Something went wrong on our side. It has been logged."), 500
