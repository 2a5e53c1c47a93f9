from __future__ import annotations

import hmac
from datetime import datetime, timezone

from flask import Response, abort, current_app, make_response, redirect, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import Row, bindparam, select

from ..accounts.drafts import take_draft
from ..avatars import gravatar_url, identicon_svg
from ..caching import cached, etag_for, last_modified, not_modified, post_key, validate
from ..comments.forms import CommentForm
from ..comments.service import parse_id
from ..extensions import db
from ..models import Comment, Post, Status
from ..moderation.own import editable_ids, owned_ids
from ..permissions import can_moderate
from ..moderation.rules import closed_by_age
from ..moderation.settings import discussion_for
from ..moderation.spam import form_stamp
from . import bp
from .thread import thread_page

HELD_SESSION_KEY = "held"


# Built once: composing a statement costs more than running it against a warm SQLite.
_POST = select(Post).where(Post.slug == bindparam("slug"), Post.published_at.is_not(None))
P = Post.__table__.c
_POST_HEAD = select(P.id, P.slug, P.title, P.author_id, P.published_at, P.comments_open, P.settings,
                    P.comments_version, P.comments_changed_at, P.comment_count,
                    P.top_level_count).where(P.slug == bindparam("slug"), P.published_at.is_not(None))


def _published(statement, slug: str):
    if "\x00" in slug:  # no slug has one, and PostgreSQL refuses to compare it
        abort(404)
    found = db.session.execute(statement, {"slug": slug}).first()
    if found is None:
        abort(404)
    return found


def get_post(slug: str) -> Post:
    """:raise 404: no published post with this slug."""
    return _published(_POST, slug)[0]


def get_post_head(slug: str) -> Row:
    """What the thread's cache keys and JSON need of a post (the columns named in
    ``_POST_HEAD``), as a plain row: no ORM object, no author join.

    :raise 404: no published post with this slug.
    """
    return _published(_POST_HEAD, slug)


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
    return render_post(get_post_head(slug))


def full_post(post: Post | Row) -> Post:
    """The post itself (body, author) for a template, loaded only when one is rendered."""
    return post if isinstance(post, Post) else db.session.get(Post, post.id)


def render_post(post: Post | Row, form: CommentForm | None = None, errors: dict | None = None,
                message: str | None = None, status: int = 200):
    """The post page; a refused comment comes back here with its form as typed,
    except a reply to a comment that cannot be replied to: that becomes a new comment.

    A reader with nothing of their own on the page (no held or editable comment, not signed
    in, no draft) gets the shared, cached page, and a 304 when their copy (tied to their
    session's CSRF token) is current. ``post`` may be its head row (``get_post_head``).
    """
    discussion = discussion_for(post)
    moderator = can_moderate(current_user, post)
    held_ids = list(session.get(HELD_SESSION_KEY, ()))
    draft = take_draft(post) if form is None else None  # typed before signing in through a provider
    shared = not held_ids and not owned_ids() and not current_user.is_authenticated
    conditional = shared and status == 200 and errors is None and form is None and not draft
    now = datetime.now(timezone.utc)
    closed = closed_by_age(post.published_at, now, discussion.close_after_days)

    def page_etag() -> str:
        return shared_page_etag(post, request.query_string.decode(), session.get("csrf_token"), closed, discussion)

    if conditional and session.get("csrf_token"):
        unchanged = not_modified(page_etag(), last_modified(post))
        if unchanged is not None:
            return unchanged
    if conditional and not set(request.args) - {"cpage"} and "_flashes" not in session:
        response = make_response(shared_page(post, discussion, closed, now))
        return private_revalidated(response, page_etag(), post)

    post = full_post(post)
    if form is None:
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
    count, section = comment_section(post, int_arg("cpage", 1), discussion, held_ids, shared, moderator, now)
    response = make_response(render_template(
        "reading/post.html", post=post, comment_list=section, comment_count=count, form=form,
        errors=errors or {}, message=message, reply_to=reply_to, comments_closed=closed,
        sign_in_required=discussion.sign_in_required, moderator=moderator,
    ), status)
    if conditional:
        private_revalidated(response, page_etag(), post)
    return response


def private_revalidated(response: Response, etag: str, post: Post | Row) -> Response:
    # Private: the page carries this reader's CSRF token; revalidate every time.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return validate(response, etag, last_modified(post))


def slot(name: str, key: str | bytes | None = None) -> str:
    """A stand-in, unguessable without the secret key, for a per-reader value in a shared page."""
    key = key if key is not None else current_app.config["SECRET_KEY"]
    return "slot" + hmac.new(key.encode() if isinstance(key, str) else key, name.encode(), "sha256").hexdigest()[:32]


# The shared page's cache key and a reader's ETag for it: the fast path (fastpath.py) makes both too.
def shared_page_key(post: Post | Row, host_url: str, page: int, closed: bool, discussion, token_slot: str) -> str:
    # The slot is in the key too: a page cached under another secret key has other stand-ins.
    return post_key(post, "page", host_url, page, closed, discussion.sign_in_required, discussion.per_page,
                    discussion.thread_depth, token_slot)


def shared_page_etag(post: Post | Row, query_string: str, csrf_token: str | None, closed: bool, discussion) -> str:
    """Tied to the reader's session CSRF token: the page carries it."""
    return etag_for("page", post_key(post), query_string, csrf_token, closed, discussion.sign_in_required)


def shared_page(post: Post | Row, discussion, closed: bool, now: datetime) -> bytes:
    """The page as every anonymous reader with nothing of their own sees it, rendered once
    per version of the thread; only the reader's CSRF token and the form's "served at"
    stamp are filled in per request. The host is in the key: the share links carry it.
    """
    page = int_arg("cpage", 1)
    token_slot, stamp_slot = slot("csrf_token"), slot("comment_ts")

    def render() -> bytes:
        form = CommentForm(formdata=None, meta={"csrf": False})
        form.comment_parent.data = "0"
        full = full_post(post)  # templates always get the post itself, never the head row
        count, section = comment_section(full, page, discussion, [], True, False, now)
        return render_template(
            "reading/post.html", post=full, comment_list=section, comment_count=count, form=form,
            errors={}, message=None, reply_to=None, comments_closed=closed,
            sign_in_required=discussion.sign_in_required, moderator=False,
            csrf_token=lambda: token_slot, comment_form_stamp=lambda: stamp_slot,
        ).encode()

    body = cached(shared_page_key(post, request.host_url, page, closed, discussion, token_slot), render)
    return (body.replace(token_slot.encode(), generate_csrf().encode())
            .replace(stamp_slot.encode(), form_stamp().encode()))


def comment_section(post: Post, page: int, discussion, held_ids: list[int], shared: bool,
                    moderator: bool, now: datetime) -> tuple[int, Markup]:
    """(approved count, rendered heading + comments + page links); shared ones come from the cache."""
    def render() -> bytes:
        thread = thread_page(post, page, discussion.per_page, held_ids, moderator=moderator)
        editable = set() if shared else editable_ids(thread.walk, now, discussion.edit_minutes)
        html = render_template("comments/_list.html", post=post, thread=thread, moderator=moderator,
                               max_depth=discussion.thread_depth, editable_ids=editable)
        return f"{thread.counts.approved}\n{html}".encode()

    if shared:
        value = cached(post_key(post, "html", page, discussion.per_page, discussion.thread_depth), render)
    else:
        value = render()
    count, html = value.decode().split("\n", 1)
    # Safe to mark: our own autoescaped _list.html output, cached in process or the operator's Redis.
    return int(count), Markup(html)  # nosec B704


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
