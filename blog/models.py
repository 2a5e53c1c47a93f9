"""Domain models. Models never commit: services own the unit of work."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(StrEnum):
    READER = "reader"
    AUTHOR = "author"
    ADMIN = "admin"


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    TRASH = "trash"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(245))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.READER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the owner followed the emailed link: a verified address can be trusted by the rules.
    email_verified_at: Mapped[datetime | None]

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class Post(db.Model):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # HTML from trusted authors
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    comments_open: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Bumped in the same transaction as any change to one of its comments: the cache key.
    comments_version: Mapped[int] = mapped_column(default=0, server_default="0")
    comments_changed_at: Mapped[datetime | None]
    # Recounted from its comments in the same transaction as any change to them (the
    # version's flush hook), so that reading a page costs the same at 10 comments or 100,000.
    # Approved and not deleted: the heading's "N thoughts" (WordPress's comment_count).
    comment_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Approved top-level comments, deleted ones kept for their replies too: what pages are cut from.
    top_level_count: Mapped[int] = mapped_column(default=0, server_default="0")

    author: Mapped[User] = relationship(lazy="joined")
    comments: WriteOnlyMapped[Comment] = relationship(back_populates="post")


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        # A post's comments by status, and recounting them.
        Index("ix_comments_thread", "post_id", "status", "parent_id", "created_at"),
        # A page of top-level comments in order, read from the index: with parent_id as an
        # indexed column instead, PostgreSQL sorted every top-level comment of the post.
        Index("ix_comments_roots", "post_id", "status", "created_at", "id",
              sqlite_where=text("parent_id IS NULL"), postgresql_where=text("parent_id IS NULL")),
        # Recounting a post's "N thoughts" (caching.count_comments) from the index alone, on
        # every change to its comments: at 10,000 comments 1 ms on SQLite instead of 7.
        Index("ix_comments_counted", "post_id", "status", "deleted_at"),
        # Flood checks look back a few seconds per address.
        Index("ix_comments_ip_created", "ip", "created_at"),
        # An author's comments, and whether one was approved (posting asks each time): by the
        # author alone that read all of their comments.
        Index("ix_comments_author_email_status", "author_email", "status"),
        Index("ix_comments_user_status", "user_id", "status"),
        # The duplicate check finds the same text on the post from its digest: by author and
        # post it read every comment the author had written there.
        Index("ix_comments_post_digest", "post_id", "body_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    # The top-level ancestor (itself for a top-level comment): one query loads a page's subtrees.
    root_id: Mapped[int | None] = mapped_column(index=True)
    depth: Mapped[int] = mapped_column(default=1)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(245))
    author_email: Mapped[str | None] = mapped_column(String(100))
    author_url: Mapped[str | None] = mapped_column(String(200))
    avatar_key: Mapped[str] = mapped_column(String(32), default="", index=True)  # GRAVATAR looks emails up by it
    body_raw: Mapped[str] = mapped_column(Text)
    # Kept with body_raw (see _keep_digest): the insert's default, then every ORM change.
    body_digest: Mapped[str | None] = mapped_column(
        String(16), default=lambda context: digest_of(context.get_current_parameters()["body_raw"]))
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # The outside identity the comment was written with, if any.
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id", ondelete="SET NULL"))
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Set when a comment with replies is deleted: its place in the thread stays, its words go.
    deleted_at: Mapped[datetime | None]

    post: Mapped[Post] = relationship(back_populates="comments")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<Comment {self.id} {self.status}>"


def digest_of(text: str) -> str:
    """A short digest of a comment's text, for finding the same text (the text is compared too)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@event.listens_for(Comment.body_raw, "set")
def _keep_digest(target: Comment, value: str, oldvalue, initiator) -> None:
    target.body_digest = digest_of(value)


class ModerationEvent(db.Model):
    """One status change of a comment, by a person or by a rule, with its reasons."""

    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rule: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(db.Model):
    """Mail waiting to be delivered, written in the same transaction as what caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    kind: Mapped[str] = mapped_column(String(32), default="")  # what caused it, e.g. "verify", "held"
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class ModerationMailComment(db.Model):
    """A comment that joined a moderation mail still waiting for its turn. A row each: when
    every held comment of a busy interval updated the mail's own row, writers took turns on it
    (and on PostgreSQL two could each write their own list over the other's)."""

    __tablename__ = "moderation_mail_comments"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class Identity(db.Model):
    """An outside account (OAuth / OpenID Connect) that signs a user in."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_identities_provider_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(default=False)  # as the provider says
    name: Mapped[str | None] = mapped_column(String(245))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class CommentDraft(db.Model):
    """What a reader typed before leaving for a provider's sign-in page, kept until they return."""

    __tablename__ = "comment_drafts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
class SiteSetting(db.Model):
    """A site-wide discussion setting changed on the settings page; absent means the config default."""

    __tablename__ = "site_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class BlockKind(StrEnum):
    USER = "user"
    EMAIL = "email"
    IP = "ip"


class Block(db.Model):
    """A commenter whose next comments go straight to spam."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_blocks_kind_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsedActionToken(db.Model):
    """A one-click moderation link that has been used: each link works once."""

    __tablename__ = "used_action_tokens"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscriber(db.Model):
    """An email address that asked for mail. Nothing but its confirmation is sent until confirmed_at."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    confirmed_at: Mapped[datetime | None]
    # The one confirmation link that may still be used; cleared when it is, replaced when a new one is sent.
    confirm_nonce: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscription(db.Model):
    """What an address follows: replies to one comment, all comments on a post, or new posts."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_target", "kind", "post_id", "comment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # replies | comments | blog
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriber: Mapped[Subscriber] = relationship()
    post: Mapped[Post | None] = relationship()
    comment: Mapped[Comment | None] = relationship()


class SubscriptionNotice(db.Model):
    """One comment or post an address was told about (or will be, in the next digest): never twice."""

    __tablename__ = "subscription_notices"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "comment_id", name="uq_subscription_notices_comment"),
        UniqueConstraint("subscriber_id", "post_id", name="uq_subscription_notices_post"),
        Index("ix_subscription_notices_unsent", "sent_at", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    # The subscription that caused it; gone (NULL) once unsubscribed, and then a digest skips it.
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="SET NULL"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
