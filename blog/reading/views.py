from __future__ import annotations

from flask import Response, abort, make_response, render_template, request, session
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..avatars import identicon_svg
from ..caching import cached, etag_for, last_modified, not_modified, post_key, validate
from ..comments.forms import CommentForm
from ..extensions import db
from ..models import Comment, Post, Status
from ..moderation.settings import discussion_for
from . import bp
from .thread import thread_page

HELD_SESSION_KEY = "held"


def get_post(slug: str) -> Post:
    """:raise 404: no published post with this slug."""
    post = db.session.scalar(select(Post).where(Post.slug == slug, Post.published_at.is_not(None)))
    if post is None:
        abort(404)
    return post


def int_arg(name: str, default: int | None = None) -> int | None:
    """A positive integer query argument; anything else counts as absent."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else default


@bp.get("/")
def index():
    posts = db.session.scalars(
        select(Post).where(Post.published_at.is_not(None)).order_by(Post.published_at.desc())
    ).all()
    return render_template("reading/index.html", posts=posts)


@bp.get("/<slug>/")
def post(slug: str):
    return render_post(get_post(slug))


def render_post(post: Post, form: CommentForm | None = None, errors: dict | None = None,
                message: str | None = None, status: int = 200):
    """The post page; a refused comment comes back here with its form as typed.

    A reader with no held comment who is not signed in gets the shared, cached comment
    section, and a 304 when their copy (tied to their session's CSRF token) is current.
    """
    discussion = discussion_for(post)
    held_ids = list(session.get(HELD_SESSION_KEY, ()))
    shared = not held_ids and not current_user.is_authenticated
    conditional = shared and status == 200 and errors is None

    def page_etag() -> str:
        return etag_for("page", post_key(post), request.query_string.decode(), session.get("csrf_token"))

    if conditional and session.get("csrf_token"):
        unchanged = not_modified(page_etag(), last_modified(post))
        if unchanged is not None:
            return unchanged

    form = form or CommentForm(formdata=None)
    reply_to = None
    parent_id = form.comment_parent.data if errors is not None else int_arg("replytocom")
    if parent_id and str(parent_id).isdigit():
        reply_to = db.session.get(Comment, int(parent_id))
        if reply_to is None or reply_to.post_id != post.id or reply_to.status != Status.APPROVED:
            reply_to = None
        else:
            form.comment_parent.data = str(reply_to.id)
    count, section = comment_section(post, int_arg("cpage", 1), discussion, held_ids, shared)
    response = make_response(render_template(
        "reading/post.html", post=post, comment_list=section, comment_count=count, form=form,
        errors=errors or {}, message=message, reply_to=reply_to,
    ), status)
    if conditional:
        # Private: the page carries this reader's CSRF token; revalidate every time.
        response.cache_control.private = True
        response.cache_control.no_cache = True
        validate(response, page_etag(), last_modified(post))
    return response


def comment_section(post: Post, page: int, discussion, held_ids: list[int], shared: bool) -> tuple[int, Markup]:
    """(approved count, rendered heading + comments + page links); shared ones come from the cache."""
    def render() -> bytes:
        thread = thread_page(post, page, discussion.per_page, held_ids)
        html = render_template("comments/_list.html", post=post, thread=thread,
                               max_depth=discussion.thread_depth)
        return f"{thread.counts.approved}\n{html}".encode()

    if shared:
        value = cached(post_key(post, "html", page, discussion.per_page, discussion.thread_depth), render)
    else:
        value = render()
    count, html = value.decode().split("\n", 1)
    return int(count), Markup(html)


@bp.get("/avatars/<key>.svg")
def avatar(key: str):
    if not key.isalnum() or len(key) > 64:
        abort(404)
    return Response(identicon_svg(key), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
