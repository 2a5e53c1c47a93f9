from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, current_app, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import select

from ..accounts.drafts import take_draft
from ..avatars import gravatar_url, identicon_svg
from ..comments.forms import CommentForm
from ..comments.service import parse_id
from ..extensions import db
from ..models import Comment, Post, Status
from ..moderation.own import editable_ids
from ..permissions import can_moderate
from ..moderation.rules import closed_by_age
from ..moderation.settings import discussion_for
from . import bp
from .thread import thread_page

HELD_SESSION_KEY = "held"


def get_post(slug: str) -> Post:
    """:raise 404: no published post with this slug."""
    if "\x00" in slug:  # no slug has one, and PostgreSQL refuses to compare it
        abort(404)
    post = db.session.scalar(select(Post).where(Post.slug == slug, Post.published_at.is_not(None)))
    if post is None:
        abort(404)
    return post


def int_arg(name: str, default: int | None = None) -> int | None:
    """A positive integer query argument; anything else counts as absent."""
    return parse_id(request.args.get(name, "")) or default


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
    """The post page; a refused comment comes back here with its form as typed,
    except a reply to a comment that cannot be replied to: that becomes a new comment."""
    discussion = discussion_for(post)
    moderator = can_moderate(current_user, post)
    if form is None:
        draft = take_draft(post)  # what was typed before signing in through a provider
        form = CommentForm(formdata=None, data=draft) if draft else CommentForm(formdata=None)
    reply_to = None
    parent_id = parse_id(form.comment_parent.data) if errors is not None else int_arg("replytocom")
    if parent_id:
        reply_to = db.session.get(Comment, parent_id)
        replyable = (Status.APPROVED, Status.PENDING) if moderator else (Status.APPROVED,)
        if reply_to is None or reply_to.post_id != post.id or reply_to.status not in replyable:
            reply_to = None
        else:
            form.comment_parent.data = str(reply_to.id)
    if reply_to is None:
        form.comment_parent.data = "0"
    thread = thread_page(post, int_arg("cpage", 1), discussion.per_page,
                         session.get(HELD_SESSION_KEY, ()), moderator=moderator)
    now = datetime.now(timezone.utc)
    return render_template(
        "reading/post.html", post=post, thread=thread, form=form, errors=errors or {},
        message=message, reply_to=reply_to, max_depth=discussion.thread_depth,
        held_ids=set(session.get(HELD_SESSION_KEY, ())),
        editable_ids=editable_ids(thread.walk, now, discussion.edit_minutes),
        comments_closed=closed_by_age(post.published_at, now, discussion.close_after_days),
        sign_in_required=discussion.sign_in_required, moderator=moderator,
    ), status


@bp.get("/avatars/<key>.svg")
def avatar(key: str):
    if not key.isalnum() or len(key) > 64:
        abort(404)
    if current_app.config["GRAVATAR"]:
        email = db.session.scalar(select(Comment.author_email).where(
            Comment.avatar_key == key, Comment.author_email.is_not(None)).limit(1))
        if email:
            return redirect(gravatar_url(email), code=302), {"Cache-Control": "public, max-age=3600"}
    return Response(identicon_svg(key), mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
