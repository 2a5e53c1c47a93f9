"""What subscribers are told: approved comments (at once or in an hourly digest) and new posts.

A comment notifies only once it is approved, on arrival or when a moderator
approves it later; never its own writer; and each address hears about each
comment or post once (SubscriptionNotice is the record, unique per address).
"""
from __future__ import annotations

import html
import logging
import re
from collections import defaultdict
from datetime import datetime, timezone

import bleach
from flask import current_app, render_template, url_for
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..mail import queue_mail, unsubscribe_headers
from ..models import Comment, Post, Status, Subscriber, Subscription, SubscriptionNotice
from ..moderation.settings import discussion_for
from ..reading.thread import page_of
from .service import BLOG, COMMENTS, REPLIES, manage_url, unsubscribe_url

log = logging.getLogger(__name__)

EXCERPT = 400


def on_comment_changed(sender, comment: Comment, post_id: int, action: str, **extra) -> None:
    """comment_changed receiver (sent after commit): mail subscribers about a newly approved comment.

    The comment is already saved; a failure here is logged and must not turn
    the writer's or moderator's request into an error.
    """
    try:
        notify_comment(comment.id)
    except Exception:
        db.session.rollback()
        log.exception("subscription notifications for comment %s failed", comment.id)


def notify_comment(comment_id: int, now: datetime | None = None) -> int:
    """Queue (or gather for the digest) one notice per subscriber not yet told. Commits; returns how many."""
    now = now or datetime.now(timezone.utc)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.status != Status.APPROVED:
        return 0
    writers = {e.lower() for e in (comment.author_email, comment.user.email if comment.user else None) if e}
    follows = [and_(Subscription.kind == COMMENTS, Subscription.post_id == comment.post_id)]
    if comment.parent_id is not None:
        follows.append(and_(Subscription.kind == REPLIES, Subscription.comment_id == comment.parent_id))
    rows = db.session.execute(
        select(Subscription, Subscriber).join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(or_(*follows), Subscriber.confirmed_at.is_not(None), Subscriber.email.not_in(writers),
               ~exists().where(SubscriptionNotice.subscriber_id == Subscriber.id,
                               SubscriptionNotice.comment_id == comment.id))
        .order_by(Subscriber.id, Subscription.kind.desc())  # "replies" before "comments"
    ).all()
    chosen: dict[int, tuple[Subscription, Subscriber]] = {}
    for subscription, subscriber in rows:
        chosen.setdefault(subscriber.id, (subscription, subscriber))
    digest = bool(current_app.config["SUBSCRIPTION_DIGEST"])
    for subscription, subscriber in chosen.values():
        db.session.add(SubscriptionNotice(subscriber_id=subscriber.id, subscription_id=subscription.id,
                                          comment_id=comment.id, created_at=now, sent_at=None if digest else now))
        if not digest:
            _comment_mail(subscriber, subscription, comment)
    try:
        db.session.commit()
    except IntegrityError:
        # Another process told them first (two approvals at once): theirs stands, nothing is sent twice.
        db.session.rollback()
        return 0
    return len(chosen)


def comment_permalink(comment: Comment) -> str:
    page = page_of(comment, discussion_for(comment.post).per_page)
    return url_for("reading.post", slug=comment.post.slug, cpage=page if page > 1 else None,
                   _anchor=f"comment-{comment.id}", _external=True)


def html_to_text(markup: str) -> str:
    """The sanitised comment as plain text, paragraphs and line breaks kept."""
    markup = re.sub(r"</p>\s*", "\n\n", markup)
    markup = re.sub(r"<br\s*/?>", "\n", markup)
    return html.unescape(bleach.clean(markup, tags=set(), strip=True)).strip()


def _item(comment: Comment) -> dict:
    return {"comment": comment, "permalink": comment_permalink(comment), "text": html_to_text(comment.body_html)}


def _comment_mail(subscriber: Subscriber, subscription: Subscription, comment: Comment) -> None:
    is_reply = subscription.kind == REPLIES
    title = comment.post.title
    subject = (f"{comment.author_name} replied to your comment on “{title}”" if is_reply
               else f"New comment by {comment.author_name} on “{title}”")
    _send(subscriber, [subscription.id], subject, "comment", is_reply=is_reply, post=comment.post,
          item=_item(comment))


def _send(subscriber: Subscriber, subscription_ids: list[int], subject: str, template: str, **context) -> None:
    unsubscribe = unsubscribe_url(subscriber, subscription_ids)
    context.update(unsubscribe_url=unsubscribe, manage_url=manage_url(subscriber))
    queue_mail(subscriber.email, subject,
               render_template(f"subscriptions/mail/{template}.txt", **context),
               render_template(f"subscriptions/mail/{template}.html", **context),
               headers=unsubscribe_headers(unsubscribe), kind=f"subscription-{template}")


def send_digests(now: datetime | None = None) -> int:
    """One mail per subscriber with the comments gathered since their last digest. Commits; returns mails.

    Run hourly (``flask subscriptions digest``). A gathered comment that is no
    longer approved, or whose subscription was turned off, is dropped.
    """
    now = now or datetime.now(timezone.utc)
    notices = db.session.scalars(
        select(SubscriptionNotice).where(SubscriptionNotice.sent_at.is_(None),
                                         SubscriptionNotice.comment_id.is_not(None))
        .order_by(SubscriptionNotice.subscriber_id, SubscriptionNotice.id)).all()
    by_subscriber: dict[int, list[SubscriptionNotice]] = defaultdict(list)
    for notice in notices:
        comment = db.session.get(Comment, notice.comment_id)
        if notice.subscription_id is None or comment is None or comment.status != Status.APPROVED:
            db.session.delete(notice)  # a later approval may tell them again
            continue
        by_subscriber[notice.subscriber_id].append(notice)
    for subscriber_id, gathered in by_subscriber.items():
        subscriber = db.session.get(Subscriber, subscriber_id)
        items = [_item(db.session.get(Comment, n.comment_id)) for n in gathered]
        count = len(items)
        subject = "1 new comment" if count == 1 else f"{count} new comments"
        _send(subscriber, sorted({n.subscription_id for n in gathered}), f"{subject} you follow", "digest",
              items=items)
        for notice in gathered:
            notice.sent_at = now
    db.session.commit()
    return len(by_subscriber)


def publish_post(post: Post, now: datetime | None = None) -> int:
    """Publish the post if it is a draft, and mail every confirmed subscriber to new posts
    who has not had it yet. Commits; returns how many mails were queued."""
    now = now or datetime.now(timezone.utc)
    if post.published_at is None or post.published_at > now:
        post.published_at = now
    rows = db.session.execute(
        select(Subscription, Subscriber).join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.kind == BLOG, Subscriber.confirmed_at.is_not(None),
               ~exists().where(SubscriptionNotice.subscriber_id == Subscriber.id,
                               SubscriptionNotice.post_id == post.id))
        .order_by(Subscriber.id)).all()
    excerpt = html_to_text(post.body)
    if len(excerpt) > EXCERPT:
        excerpt = excerpt[:EXCERPT].rsplit(" ", 1)[0] + "…"
    link = url_for("reading.post", slug=post.slug, _external=True)
    for subscription, subscriber in rows:
        db.session.add(SubscriptionNotice(subscriber_id=subscriber.id, subscription_id=subscription.id,
                                          post_id=post.id, created_at=now, sent_at=now))
        _send(subscriber, [subscription.id], f"New post: {post.title}", "post", post=post,
              excerpt=excerpt, permalink=link)
    db.session.commit()
    return len(rows)
