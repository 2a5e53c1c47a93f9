"""Mail to a post's author about new comments, with one-click actions, batched.

A mail is queued in the same transaction as the comment. At most one
moderation mail per recipient goes out per interval: a comment arriving
inside the interval joins the mail already waiting for its turn (its
``next_attempt_at`` is in the future) with a row of its own
(``ModerationMailComment``), and the mail is written again when it is due
(``compose_due``), with each comment's status and the count of comments
waiting as they are then.

The action links are signed (itsdangerous), expire, carry a nonce so each
works once, and only act on a POST from their confirmation page: a mail
scanner that fetches the link moderates nothing.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Row, and_, bindparam, func, select

from ..extensions import db
from ..mail import composer, queue_mail
from ..models import Comment, ModerationEvent, ModerationMailComment, OutboxMessage, Post, Status, User

MAIL_KIND = "moderation"
IDS_HEADER = "X-Blog-Comment-Ids"  # the comments the mail lists
SITE_HEADER = "X-Blog-Site"  # the address its links start with
LINK_ACTIONS = {"approve": Status.APPROVED, "spam": Status.SPAM, "trash": Status.TRASH}
EXCERPT = 80
# A waiting mail lists the first comment in full and the latest LISTED after it; the rest are
# counted. Listing them all made each new comment of a busy interval cost more than the last.
LISTED = 20
_LINK_LINE = re.compile(r"^ *(Approve|Spam|Trash): (\S+/moderation/mail/([\w.-]+))$", re.M)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="moderation-mail-action")


def action_token(comment_id: int, action: str, user_id: int) -> str:
    return _serializer().dumps({"c": comment_id, "a": action, "u": user_id, "n": secrets.token_hex(16)})


def read_action_token(token: str) -> dict:
    """:raise itsdangerous.SignatureExpired: too old; BadSignature: tampered or not ours."""
    max_age = int(current_app.config["MODERATION_LINK_DAYS"]) * 86400
    data = _serializer().loads(token, max_age=max_age)
    if not (isinstance(data, dict) and data.get("a") in LINK_ACTIONS and isinstance(data.get("c"), int)
            and isinstance(data.get("u"), int) and isinstance(data.get("n"), str)):
        raise BadSignature("unexpected payload")
    return data


# The statements of a mail, built once (building one costs more than running it).
# The author's address and the mail to them still waiting for its turn, if any:
_AUTHOR_AND_WAITING = (
    select(User.email, OutboxMessage.id).where(User.id == bindparam("author_id"))
    .outerjoin(OutboxMessage, and_(OutboxMessage.to_addr == User.email, OutboxMessage.kind == MAIL_KIND,
                                   OutboxMessage.status == "queued",
                                   OutboxMessage.next_attempt_at > bindparam("now")))
    .order_by(OutboxMessage.id.desc()).limit(1))
_JOIN = ModerationMailComment.__table__.insert()
_JOINED = (select(ModerationMailComment.comment_id).where(ModerationMailComment.outbox_id == bindparam("outbox_id"))
           .order_by(ModerationMailComment.comment_id))
_AUTHOR_ID = select(User.id).where(User.email == bindparam("email")).limit(1)
_LAST_MAIL_DUE = select(func.max(OutboxMessage.next_attempt_at)).where(
    OutboxMessage.to_addr == bindparam("to"), OutboxMessage.kind == MAIL_KIND)
# Post by post through (post_id, status): a join let SQLite scan every comment of the blog.
_WAITING_COUNT = select(func.count()).select_from(Comment).where(
    Comment.post_id.in_(select(Post.id).where(Post.author_id == bindparam("author_id"))),
    Comment.status == Status.PENDING).scalar_subquery()
# What the mail says of each comment it lists, as rows: the post's title and the count of
# comments waiting come along.
_LISTED_COMMENTS = (select(Comment.id, Comment.status, Comment.author_name, Comment.author_email, Comment.ip,
                           Comment.author_url, Comment.body_raw, Post.title, _WAITING_COUNT.label("waiting"))
                    .join(Post, Post.id == Comment.post_id).where(Comment.id.in_(bindparam("ids", expanding=True))))
_REASONS = (select(ModerationEvent.comment_id, ModerationEvent.reasons)
            .where(ModerationEvent.comment_id.in_(bindparam("ids", expanding=True))).order_by(ModerationEvent.id))


def notify_author(comment: Comment, post: Post | Row, discussion, now: datetime) -> None:
    """Queue (or extend) the author's mail about this comment, if the settings ask for one.
    ``post`` may be its head row."""
    if comment.user_id is not None and comment.user_id == post.author_id:
        return
    if comment.status == Status.PENDING:
        if not discussion.notify_held:
            return
    elif comment.status != Status.APPROVED or not discussion.notify_published:
        return
    db.session.flush()
    connection = db.session.connection()
    email, waiting_id = connection.execute(_AUTHOR_AND_WAITING, {"author_id": post.author_id, "now": now}).one()
    if not email:
        return
    if waiting_id is None:
        interval = timedelta(minutes=int(current_app.config["MODERATION_MAIL_INTERVAL_MINUTES"]))
        last = connection.scalar(_LAST_MAIL_DUE, {"to": email})
        message = queue_mail(email, "", "", kind=MAIL_KIND,
                             headers={SITE_HEADER: request.url_root} if has_request_context() else {})
        message.next_attempt_at = max(now, last + interval) if last else now
        _fill(message, [comment.id], post.author_id)
        db.session.flush()
        waiting_id = message.id
    # Writing the whole mail again for each comment of a busy interval was most of the cost of
    # posting one: the comment joins it with a row, and it is written once, when due.
    connection.execute(_JOIN, {"outbox_id": waiting_id, "comment_id": comment.id})


@composer(MAIL_KIND)
def compose_due(message: OutboxMessage) -> None:
    """Write a waiting mail as it goes out: the comments that joined it, as they are now. The
    links already in it stay; those of comments that joined it are made for the site the
    first one came through."""
    joined = db.session.scalars(_JOINED, {"outbox_id": message.id}).all()
    author_id = db.session.scalar(_AUTHOR_ID, {"email": message.to_addr})
    if author_id is None or not joined:
        return
    with current_app.test_request_context(base_url=message.headers.get(SITE_HEADER)):
        _fill(message, joined, author_id, _written_links(message.body_text, author_id))


def _window(ids: list[int]) -> tuple[list[int], int]:
    """The first comment and the latest LISTED after it; how many more are only counted."""
    return ids[:1] + ids[1:][-LISTED:], max(0, len(ids) - 1 - LISTED)


def _fill(message: OutboxMessage, ids: list[int], author_id: int,
          written: dict[tuple[int, str], str] | None = None) -> None:
    """Write the mail about ``ids`` (in the order they came), keeping the action links
    ``written`` in it before."""
    written = written or {}
    ids, unlisted = _window(ids)
    connection = db.session.connection()
    comments = {c.id: c for c in connection.execute(_LISTED_COMMENTS, {"ids": ids, "author_id": author_id})}
    ordered = [comments[i] for i in ids if i in comments]
    reasons = {cid: why for cid, why in connection.execute(_REASONS, {"ids": ids}) if why}  # the latest, by id
    first, rest = ordered[0], ordered[1:]
    waiting = first.waiting
    held = first.status == Status.PENDING
    lines = [
        f"A new comment on “{first.title}” is {'waiting for your approval' if held else 'published'}.",
        "",
        f"Author: {first.author_name} ({first.author_email or 'no email'}, IP {first.ip or 'unknown'})",
    ]
    if first.author_url:
        lines.append(f"Website: {first.author_url}")
    lines += ["Comment:", *(f"  {line}" for line in first.body_raw.splitlines()), ""]
    if reasons.get(first.id):
        lines += ["Why it was held:", *(f"  - {r}" for r in reasons[first.id]), ""]
    lines += _links(first, author_id, written)
    if rest:
        lines += ["", f"Also since then ({len(rest) + unlisted} more"
                      + (f"; the latest {len(rest)} here, all on the desk):" if unlisted else "):")]
        for c in rest:
            excerpt = " ".join(c.body_raw.split())
            excerpt = excerpt if len(excerpt) <= EXCERPT else excerpt[:EXCERPT - 1] + "…"
            why = "; ".join(reasons.get(c.id, [])) or c.status
            lines += ["", f"* {c.author_name} on “{c.title}”: {excerpt}", f"  ({why})",
                      *(f"  {link}" for link in _links(c, author_id, written))]
    lines += ["", f"Comments waiting for your approval: {waiting}.",
              f"Moderation desk: {url_for('moderation.desk', status='pending', _external=True)}",
              "", "The links above work once and expire in "
              f"{current_app.config['MODERATION_LINK_DAYS']} days; each asks you to confirm."]
    count = len(ordered) + unlisted
    message.subject = (f"[{first.title}] Please moderate: “{first.author_name}”" if count == 1 and held
                       else f"[{first.title}] New comment by “{first.author_name}”" if count == 1
                       else f"{count} new comments to review ({waiting} waiting)")
    message.body_text = "\n".join(lines) + "\n"
    message.headers = {**(message.headers or {}), IDS_HEADER: ",".join(str(c.id) for c in ordered)}


def _links(comment: Row, author_id: int, written: dict[tuple[int, str], str]) -> list[str]:
    actions = ["Approve", "Spam", "Trash"] if comment.status == Status.PENDING else ["Spam", "Trash"]
    return [f"{action}: " + (written.get((comment.id, action)) or url_for(
                'moderation.mail_action', token=action_token(comment.id, action.lower(), author_id), _external=True))
            for action in actions]


def _written_links(body: str, author_id: int) -> dict[tuple[int, str], str]:
    """The action links already in a mail for ``author_id``: {(comment id, action): url}, each
    read from its own signed token, so a link keeps to its comment whatever joined or left the
    mail since, and text that only looks like a link (a comment's own) is passed over."""
    links: dict[tuple[int, str], str] = {}
    for action, url, token in _LINK_LINE.findall(body):
        try:
            data = read_action_token(token)
        except BadSignature:  # not ours, or expired: a new one is signed
            continue
        if data["u"] == author_id and data["a"] == action.lower():
            links[(data["c"], action)] = url
    return links
