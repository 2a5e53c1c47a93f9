"""Error pages: a clear message and status, never a traceback.

A comment refused on the way in (bad CSRF token, rate limit, database down)
comes back as the post page with the form as typed, so nothing is lost.
"""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db

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


def _comment_form_again(status: int, message: str):
    """For a refused comment POST: the post page with the text kept, or None."""
    if request.endpoint == "comments.create":
        slug = (request.view_args or {}).get("slug", "")
    elif request.endpoint == "accounts.oauth_login" and request.method == "POST":
        slug = request.form.get("post", "")  # a provider button under the comment form
    else:
        return None
    from .comments.forms import CommentForm
    from .reading.views import get_post, render_post

    try:
        post = get_post(slug)
    except HTTPException:
        return None
    return render_post(post, CommentForm(meta={"csrf": False}), errors={}, message=message, status=status)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        message = "Your session expired or the form was sent from elsewhere. Please check your comment and send it again."
        return _comment_form_again(400, message) or (
            render_template("errors/error.html", status=400, message=message), 400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        message = MESSAGES.get(error.code, error.description)
        if request.path.startswith("/api/"):
            from .api.views import json_error

            return json_error(error.code, message)
        if error.code == 429:
            response = _comment_form_again(429, "You are posting too quickly. Your comment is below; please send it again in a minute.")
            if response:
                return response
        return render_template("errors/error.html", status=error.code, message=message), error.code

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        log.error("database unavailable: %s", error)
        db.session.rollback()
        if request.endpoint == "comments.create":
            from .comments.forms import CommentForm

            # No thread (the database is what failed): just the form, as typed.
            page = render_template(
                "comments/retry.html", form=CommentForm(meta={"csrf": False}),
                slug=(request.view_args or {}).get("slug", ""),
                message="We could not save your comment just now. It is below; please send it again in a minute.")
        else:
            page = render_template("errors/error.html", status=503, message=MESSAGES[503])
        return page, 503, {"Retry-After": "30"}

    @app.errorhandler(Exception)
    def server_error(error):
        log.exception("unhandled error")
        return render_template("errors/error.html", status=500,
                               message="Something went wrong on our side. It has been logged."), 500
