"""Posting a comment: the one path the HTML form, the JSON API and the CLI share."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import Row, Select, bindparam, exists, literal, or_, select
from sqlalchemy.orm import make_transient_to_detached

from ..avatars import avatar_key
from ..caching import BUMPED, bump, count_comments
from ..extensions import db
from ..models import Comment, Identity, ModerationEvent, Post, Status, User, digest_of
from ..moderation.audit import record_status
from ..moderation.blocks import MATCHES, block_params, first_block
from ..moderation.notify import notify_author
from ..moderation.rules import Facts, closed_by_age, decide
from ..moderation.settings import discussion_for
from ..permissions import can_moderate, is_signed_in
from ..sanitize import MarkupTooComplex, sanitize_comment
from ..signals import comment_changed
from ..subscriptions.service import subscribe_commenter

# WordPress's column limits (wp_get_comment_fields_max_lengths()).
MAX_NAME, MAX_EMAIL, MAX_URL, MAX_COMMENT = 245, 100, 200, 65525
# C0 controls but tab/newline/carriage return, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\r\n]")
_TAG = re.compile(r"<[^>]*>")  # in sanitised HTML, where text never holds a raw "<"
# "name:" starts a scheme unless digits follow (then it is host:port).
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:(?![0-9])", re.I)
_UNSAFE_IN_URL = re.compile(r"[\s<>\"\\^`{|}]")
MAX_ID = 2**31 - 1  # ids are 32-bit integers in every database we run on
_ID = re.compile(r"[0-9]{1,10}")

DUPLICATE_MESSAGE = "Duplicate comment detected; it looks as though you’ve already said that!"
FLOOD_MESSAGE = "You are posting comments too quickly. Slow down."
# The form comes back as a new comment (see render_post), so sending again works.
PARENT_MESSAGE = ("The comment you are replying to does not exist or is not published. "
                  "Send yours again to post it as a new comment.")
SIGN_IN_MESSAGE = "You must be logged in to post a comment."


@dataclass
class CommentRefused(Exception):
    """A comment that cannot be accepted. ``errors`` maps form fields to messages."""

    status: int
    message: str
    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Submission:
    """Who is writing and from where; the fields come separately, as typed."""

    user: User | None = None
    identity: Identity | None = None  # the outside account the user signed in with, if any
    ip: str | None = None
    user_agent: str | None = None
    honeypot: str = ""  # the hidden field only robots fill in
    form_age: float | None = None  # seconds since the form was served; None: not a browser form


def parse_id(value: object) -> int | None:
    """A positive id as typed in a form or query ("12"), else None: never raises."""
    if isinstance(value, str) and _ID.fullmatch(value.strip()):
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    return None


def website(url: str) -> str | None:
    """The commenter's website as stored, or None when it is not a plain http(s) address.

    A bare domain gets http:// in front, as WordPress's esc_url() does; any
    other scheme (javascript:, data:, ftp:, mailto:) is refused, and so are
    credentials in the address (http://bank.example@evil.example).
    """
    if not _SCHEME.match(url):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    host = (parts.hostname or "").strip(".")
    if (parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc or "." not in host
            or _UNSAFE_IN_URL.search(url)):
        return None
    return url


def _text(data: Mapping[str, str], name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


def validate_fields(data: Mapping[str, str], user: User | None) -> tuple[dict, dict[str, str]]:
    """Check the form fields against WordPress's limits.

    Returns the cleaned values and a field → message map (empty when all is well).
    Only the named fields are read, whatever else the request carries.
    """
    errors: dict[str, str] = {}
    comment = data.get("comment") if isinstance(data.get("comment"), str) else ""
    comment = comment.strip()
    values = {"comment": comment, "parent": None}

    for name in ("author", "email", "url"):
        raw = data.get(name)
        if isinstance(raw, str) and (_CONTROL.search(raw) or _LINE_BREAK.search(raw)):
            errors[name] = "This field may not contain control characters or line breaks."
    if _CONTROL.search(comment):
        errors["comment"] = "Your comment contains control characters; please remove them."
    elif not comment:
        errors["comment"] = "Please type your comment."
    elif len(comment) > MAX_COMMENT:
        errors["comment"] = f"Your comment is too long: {len(comment):,} characters; the limit is {MAX_COMMENT:,}."

    if is_signed_in(user):
        values.update(author=user.display_name, email=user.email, url=None)
    else:
        author, email, url = _text(data, "author"), _text(data, "email"), _text(data, "url")
        values.update(author=author, email=email.lower() or None, url=url or None)
        if "author" not in errors:
            if not author:
                errors["author"] = "Please enter your name."
            elif len(author) > MAX_NAME:
                errors["author"] = f"Your name is too long; the limit is {MAX_NAME} characters."
        if "email" not in errors:
            if not email:
                errors["email"] = "Please enter your email address. It will not be published."
            elif len(email) > MAX_EMAIL:
                errors["email"] = f"Your email address is too long; the limit is {MAX_EMAIL} characters."
            else:
                try:
                    values["email"] = validate_email(email, check_deliverability=False).normalized.lower()
                except EmailNotValidError:
                    errors["email"] = "Please enter a valid email address."
        if url and "url" not in errors:
            address = website(url)
            if address is None:
                errors["url"] = "Please enter a website address starting with http:// or https://."
            elif len(address) > MAX_URL:
                errors["url"] = f"Your website address is too long; the limit is {MAX_URL} characters."
            else:
                values["url"] = address

    parent = _text(data, "comment_parent")
    if parent and parent != "0":
        values["parent"] = parse_id(parent)
        if values["parent"] is None:
            errors["comment_parent"] = PARENT_MESSAGE
    return values, errors


@dataclass(frozen=True)
class _AuthorChecks:
    """What posting needs to know about a comment's author, in one query built once (building a
    statement costs more than running it, and each round trip has its own overhead): the same
    text already sent to the post, one sent within the flood window (by the same author or
    address), an earlier approved comment, and a block on the account, email or address."""

    with_flood: Select
    without_flood: Select

    @classmethod
    def by(cls, same_author) -> _AuthorChecks:
        facts = [
            exists().where(Comment.post_id == bindparam("post_id"), Comment.body_digest == bindparam("digest"),
                           same_author, Comment.status != Status.TRASH,
                           Comment.body_raw == bindparam("body")).label("duplicate"),
            exists().where(same_author, Comment.status == Status.APPROVED).label("approved"),
            *MATCHES,
        ]
        flood = exists().where(Comment.created_at >= bindparam("since"),
                               or_(same_author, Comment.ip == bindparam("ip"))).label("flood")
        return cls(with_flood=select(*facts, flood), without_flood=select(*facts, literal(False).label("flood")))


_BY_ACCOUNT = _AuthorChecks.by(Comment.user_id == bindparam("user_id"))
_BY_EMAIL = _AuthorChecks.by(Comment.author_email == bindparam("email"))
# The writes of a new comment, built once: Core statements, no unit of work.
_COMMENTS = Comment.__table__
_INSERT_COMMENT = _COMMENTS.insert()
_ROOT_IS_SELF = _COMMENTS.update().where(_COMMENTS.c.id == bindparam("comment_id")).values(
    root_id=_COMMENTS.c.id)
_INSERT_EVENT = ModerationEvent.__table__.insert()


def submit_comment(post: Post | Row, data: Mapping[str, str], who: Submission,
                   now: datetime | None = None) -> Comment:
    """Validate, sanitise, decide and store one comment with its audit event.

    ``post`` may be its head row (``reading.views.get_post_head``).

    :raise CommentRefused: 403 comments closed; 422 invalid fields or parent;
        409 duplicate; 429 flood. The caller re-renders what was typed.
    """
    now = now or datetime.now(timezone.utc)
    discussion = discussion_for(post)
    if not post.comments_open or closed_by_age(post.published_at, now, discussion.close_after_days):
        raise CommentRefused(403, "Comments are closed on this post.")
    if discussion.sign_in_required and not is_signed_in(who.user):
        raise CommentRefused(403, SIGN_IN_MESSAGE)
    values, errors = validate_fields(data, who.user)
    identity = who.identity if who.identity is not None and who.user is not None \
        and who.identity.user_id == who.user.id else None
    if identity is not None and not values["email"]:
        values["email"] = (identity.email or "")[:MAX_EMAIL].lower() or None
    moderator = can_moderate(who.user, post)

    parent = None
    if values["parent"] is not None and "comment_parent" not in errors:
        parent = db.session.get(Comment, values["parent"])
        # A moderator may answer a held comment: replying approves it, as in WordPress.
        replyable = {Status.APPROVED, Status.PENDING} if moderator else {Status.APPROVED}
        if (parent is None or parent.post_id != post.id or parent.status not in replyable
                or parent.deleted_at is not None):
            errors["comment_parent"] = PARENT_MESSAGE

    body_html = ""
    if "comment" not in errors:
        try:
            body_html = sanitize_comment(values["comment"])
        except MarkupTooComplex as exc:
            errors["comment"] = str(exc)
        else:
            if not _TAG.sub("", body_html).strip():
                errors["comment"] = "Nothing of your comment is left once the markup comments cannot use is removed."
    if errors:
        raise CommentRefused(422, "Your comment could not be posted. Please check the fields marked below.", errors)

    user_id = who.user.id if is_signed_in(who.user) else None
    checks, author = (_BY_ACCOUNT, {"user_id": user_id}) if user_id else (_BY_EMAIL, {"email": values["email"]})
    params = {**author, **block_params(user_id, values["email"], who.ip), "post_id": post.id,
              "body": values["comment"], "digest": digest_of(values["comment"]), "ip": who.ip}
    if not moderator and discussion.flood_seconds > 0:
        since = now - timedelta(seconds=discussion.flood_seconds)
        facts = db.session.connection().execute(checks.with_flood, {**params, "since": since}).one()
    else:
        facts = db.session.connection().execute(checks.without_flood, params).one()
    if facts.duplicate:
        raise CommentRefused(409, DUPLICATE_MESSAGE, {"comment": DUPLICATE_MESSAGE})
    if facts.flood:
        raise CommentRefused(429, FLOOD_MESSAGE)

    if parent is not None and parent.depth >= discussion.thread_depth:
        parent = db.session.get(Comment, parent.parent_id) if parent.parent_id else parent
    depth = parent.depth + 1 if parent is not None else 1

    decision = decide(Facts(
        text=values["comment"], name=values["author"], email=values["email"] or "",
        url=values["url"] or "", ip=who.ip or "", user_agent=who.user_agent or "",
        link_count=body_html.count("<a "), is_moderator=moderator,
        has_approved_comment=bool(facts.approved),
        # An account is proof of who wrote the earlier comment; a typed name and email are not.
        identity_proven=user_id is not None,
        blocked=first_block(facts),
        honeypot=who.honeypot, form_age=who.form_age,
    ), discussion.rules)

    comment = _insert(dict(
        post_id=post.id, parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else None, depth=depth, user_id=user_id,
        author_name=values["author"], author_email=values["email"], author_url=values["url"],
        avatar_key=avatar_key(values["email"], values["author"]),
        body_raw=values["comment"], body_digest=params["digest"], body_html=body_html, status=decision.status,
        created_at=now, edited_at=None, ip=who.ip, user_agent=(who.user_agent or "")[:255] or None,
        identity_id=identity.id if identity else None, edited_by_id=None, deleted_at=None,
    ), dict(actor_id=user_id if moderator else None, rule=decision.rule, action="submit",
            from_status=None, to_status=decision.status, reasons=list(decision.reasons), at=now))
    parent_approved = moderator and parent is not None and parent.status == Status.PENDING
    if parent_approved:
        record_status(parent, Status.APPROVED, who.user, "approve", now,
                      reasons=["Approved by replying to it"])
    notify_author(comment, post, discussion, now)
    subscribe_commenter(comment, data, who.user)
    _commit_keeping_what_was_written(post)
    app = current_app._get_current_object()
    if parent_approved:
        comment_changed.send(app, comment=parent, post_id=post.id, action="approve")
    comment_changed.send(app, comment=comment, post_id=post.id, action="submit")
    return comment


def _insert(values: dict, event: dict) -> Comment:
    """Store a new comment and its audit event with Core statements, bump its post's version,
    and hand back the comment as a persistent ORM object built from what was written.

    Through the unit of work this took two flushes (the id, then root_id = id for a
    top-level comment) and was the largest part of posting's cost.
    """
    connection = db.session.connection()
    comment_id = connection.execute(_INSERT_COMMENT, values).inserted_primary_key[0]
    if values["root_id"] is None:
        connection.execute(_ROOT_IS_SELF, {"comment_id": comment_id})
    connection.execute(_INSERT_EVENT, {**event, "comment_id": comment_id})
    # No flush sees this comment, so the version is bumped here, once for the transaction,
    # and the post's counts taken again after each comment (once the bump holds the post).
    bumped = db.session.info.setdefault(BUMPED, set())
    if values["post_id"] not in bumped:
        bump(connection, [values["post_id"]], recount=False)
        bumped.add(values["post_id"])
    if values["status"] == Status.APPROVED:  # the counts are of approved comments
        count_comments(connection, [values["post_id"]])
    comment = Comment(**values, id=comment_id)
    comment.root_id = comment.root_id or comment_id
    make_transient_to_detached(comment)  # as if loaded: no INSERT at the next flush
    db.session.add(comment)
    return comment


def _commit_keeping_what_was_written(post: Post) -> None:
    """Commit without expiring the objects: what the request reads next (the new comment, the
    post's id and slug) is what it just wrote, and reloading both rows was a tenth of the work
    of posting. Only the post's version and counts moved behind the ORM's back (caching.py): those are
    read again on use."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    if isinstance(post, Post):  # a head row is a snapshot, and nothing reads it again
        session.expire(post, ["comments_version", "comments_changed_at", "comment_count", "top_level_count"])

