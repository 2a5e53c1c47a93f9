"""Subscribing, confirming (double opt-in) and unsubscribing.

Every address confirms once through a signed link before anything but that
confirmation mail is sent to it; confirmation mails to one address are capped
per day so the forms cannot be used to mail-bomb someone. Services here add to
the caller's session; the views and CLI commit.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from ..extensions import db
from ..mail import queue_mail
from ..models import Comment, OutboxMessage, Status, Subscriber, Subscription, User
from ..permissions import is_signed_in

REPLIES, COMMENTS, BLOG = "replies", "comments", "blog"
CONFIRM_KIND = "subscription-confirm"
CONFIRM_MAX_AGE = 24 * 3600
MAX_EMAIL = 254
CHECKED = {"y", "on", "1", "true", "yes"}


class SubscriptionError(ValueError):
    pass


class LinkRefused(Exception):
    """A signed link that cannot be used; ``status`` and ``message`` for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Target:
    kind: str
    post_id: int | None = None
    comment_id: int | None = None


def has_verified_email(user: User | None, email: str) -> bool:
    """A signed-in user whose account address was verified skips the confirmation mail (the one
    place this rule lives)."""
    return (is_signed_in(user) and (user.email or "").lower() == email
            and user.email_verified_at is not None)


def normalise_email(raw: str | None) -> str:
    """:raise SubscriptionError: empty, too long or not an address."""
    raw = (raw or "").strip()
    if not raw:
        raise SubscriptionError("Please enter your email address.")
    if len(raw) > MAX_EMAIL:
        raise SubscriptionError(f"That email address is too long; the limit is {MAX_EMAIL} characters.")
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise SubscriptionError("Please enter a valid email address.") from None


# --- signed links -----------------------------------------------------------

def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"subscription-{purpose}")


def manage_url(subscriber: Subscriber) -> str:
    token = _serializer("manage").dumps({"s": subscriber.id, "e": subscriber.email})
    return url_for("subscriptions.manage", token=token, _external=True)


def unsubscribe_url(subscriber: Subscriber, subscription_ids: list[int]) -> str:
    token = _serializer("unsubscribe").dumps({"s": subscriber.id, "e": subscriber.email,
                                              "i": sorted(subscription_ids)})
    return url_for("subscriptions.unsubscribe", token=token, _external=True)


def _subscriber_from(data: Mapping) -> Subscriber:
    subscriber = db.session.get(Subscriber, data.get("s")) if isinstance(data.get("s"), int) else None
    if subscriber is None or subscriber.email != data.get("e"):
        # Erased, or the row now belongs to someone else: the link speaks for nobody.
        raise LinkRefused(410, "There are no subscriptions for this link any more.")
    return subscriber


def read_link(purpose: str, token: str, max_age: int | None = None) -> tuple[Subscriber, dict]:
    """:raise LinkRefused: 400 tampered or not ours, 410 expired or for an erased address."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkRefused(410, "This link has expired. Sign up again to get a new one.") from None
    except BadSignature:
        raise LinkRefused(400, "This link is not valid. Please copy the whole link from the email.") from None
    if not isinstance(data, dict):
        raise LinkRefused(400, "This link is not valid. Please copy the whole link from the email.")
    return _subscriber_from(data), data


# --- subscribing ------------------------------------------------------------

def subscribe(email: str, targets: list[Target], user: User | None = None,
              now: datetime | None = None) -> Subscriber:
    """Record what ``email`` asked to follow and mail a confirmation link if the address needs one.

    The caller commits. The outcome looks the same to whoever sent the form,
    whether the address was new, confirmed or over its confirmation limit.
    """
    now = now or datetime.now(timezone.utc)
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
    if subscriber is None:
        subscriber = Subscriber(email=email, created_at=now)
        db.session.add(subscriber)
        db.session.flush()
    if subscriber.confirmed_at is None and has_verified_email(user, email):
        subscriber.confirmed_at = now
    for target in targets:
        if db.session.scalar(select(Subscription.id).where(
                Subscription.subscriber_id == subscriber.id, Subscription.kind == target.kind,
                _same(Subscription.post_id, target.post_id),
                _same(Subscription.comment_id, target.comment_id))) is None:
            db.session.add(Subscription(subscriber_id=subscriber.id, kind=target.kind, post_id=target.post_id,
                                        comment_id=target.comment_id, created_at=now))
    if subscriber.confirmed_at is None and targets:
        request_confirmation(subscriber, now)
    return subscriber


def subscribe_commenter(comment: Comment, data: Mapping, user: User | None) -> None:
    """The comment form's three checkboxes, inside submit_comment's transaction.

    Spam and trash subscribe nobody: a spammer cannot make the blog mail an address.
    """
    if not comment.author_email or comment.status in (Status.SPAM, Status.TRASH):
        return
    targets = []
    if _checked(data, "subscribe_replies"):
        targets.append(Target(REPLIES, comment.post_id, comment.id))
    if _checked(data, "subscribe_comments"):
        targets.append(Target(COMMENTS, comment.post_id))
    if _checked(data, "subscribe_blog"):
        targets.append(Target(BLOG))
    if targets:
        subscribe(comment.author_email.lower(), targets, user, comment.created_at)


def _same(column, value):
    return column.is_(None) if value is None else column == value


def _checked(data: Mapping, name: str) -> bool:
    value = data.get(name)
    return value is True or (isinstance(value, str) and value.strip().lower() in CHECKED)


def request_confirmation(subscriber: Subscriber, now: datetime) -> bool:
    """Queue the confirmation mail unless this address had its day's share; False when capped.

    A new mail replaces the previous link, so only the latest one works.
    """
    limit = int(current_app.config["SUBSCRIPTION_CONFIRM_PER_DAY"])
    sent = db.session.scalar(select(func.count()).where(
        OutboxMessage.to_addr == subscriber.email, OutboxMessage.kind == CONFIRM_KIND,
        OutboxMessage.created_at >= now - timedelta(days=1))) or 0
    if sent >= limit:
        return False
    subscriber.confirm_nonce = secrets.token_hex(16)
    token = _serializer("confirm").dumps({"s": subscriber.id, "e": subscriber.email, "n": subscriber.confirm_nonce})
    context = {"confirm_url": url_for("subscriptions.confirm", token=token, _external=True),
               "items": describe(pending_targets(subscriber)), "hours": CONFIRM_MAX_AGE // 3600}
    queue_mail(subscriber.email, "Please confirm your subscription",
               render_template("subscriptions/mail/confirm.txt", **context),
               render_template("subscriptions/mail/confirm.html", **context), kind=CONFIRM_KIND)
    return True


def pending_targets(subscriber: Subscriber) -> list[Subscription]:
    return list(db.session.scalars(
        select(Subscription).where(Subscription.subscriber_id == subscriber.id).order_by(Subscription.id)))


def describe(subscriptions: list[Subscription]) -> list[tuple[Subscription, str]]:
    """Each subscription with the words a reader recognises it by."""
    described = []
    for s in subscriptions:
        if s.kind == REPLIES and s.comment is not None:
            text = f"Replies to your comment on “{s.comment.post.title}”"
        elif s.kind == COMMENTS and s.post is not None:
            text = f"All new comments on “{s.post.title}”"
        else:
            text = "New posts by email"
        described.append((s, text))
    return described


def read_confirm_link(token: str) -> Subscriber:
    """:raise LinkRefused: bad, older than a day, already used or replaced by a newer link."""
    subscriber, data = read_link("confirm", token, max_age=CONFIRM_MAX_AGE)
    if not subscriber.confirm_nonce or not secrets.compare_digest(subscriber.confirm_nonce, str(data.get("n", ""))):
        raise LinkRefused(410, "This confirmation link was already used or replaced by a newer one.")
    return subscriber


def confirm(token: str, now: datetime | None = None) -> Subscriber:
    """Confirm the address the link was sent to; the link stops working. Commits.

    :raise LinkRefused: see read_confirm_link.
    """
    subscriber = read_confirm_link(token)
    subscriber.confirmed_at = now or datetime.now(timezone.utc)
    subscriber.confirm_nonce = None
    db.session.commit()
    return subscriber


def unsubscribe(subscriber: Subscriber, subscription_ids: list[int] | None) -> int:
    """Turn off the given subscriptions of this address, or all of them (None). Commits.

    Turning off everything also forgets the confirmation: anyone subscribing the
    address again has to go through its inbox again.
    """
    query = delete(Subscription).where(Subscription.subscriber_id == subscriber.id)
    if subscription_ids is not None:
        query = query.where(Subscription.id.in_(subscription_ids))
    removed = db.session.execute(query).rowcount
    if not db.session.scalar(select(Subscription.id).where(Subscription.subscriber_id == subscriber.id).limit(1)):
        subscriber.confirmed_at = None
        subscriber.confirm_nonce = None
    db.session.commit()
    return removed

