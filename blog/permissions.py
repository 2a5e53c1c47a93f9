"""Named permission predicates, shared by views, API and templates. The user is explicit."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .models import Comment, Post, Role, User


def is_signed_in(user: User | None) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_moderate(user: User | None, post: Post) -> bool:
    """An admin moderates everything; an author moderates comments on their own posts."""
    if not is_signed_in(user):
        return False
    return user.role == Role.ADMIN or (user.role == Role.AUTHOR and post.author_id == user.id)


def is_post_author_comment(comment: Comment, post: Post) -> bool:
    return comment.user_id is not None and comment.user_id == post.author_id


def can_block(user: User | None) -> bool:
    """Blocks reach every post, so only authors and admins place them."""
    return is_signed_in(user) and user.role in (Role.AUTHOR, Role.ADMIN)


def can_unblock(user: User | None, block) -> bool:
    return is_signed_in(user) and (user.role == Role.ADMIN or block.created_by_id == user.id)


def can_edit_own(user: User | None, comment: Comment, now: datetime, edit_minutes: int,
                 owned_ids: Iterable[int], has_replies: bool) -> bool:
    """A commenter edits or deletes their own comment inside the edit window, before any reply.

    Signed-in: by account. Guest: ``owned_ids`` from the signed session cookie set when they posted.
    """
    if comment.deleted_at is not None or has_replies or comment.status in ("spam", "trash"):
        return False
    if edit_minutes <= 0 or now - comment.created_at > timedelta(minutes=edit_minutes):
        return False
    if comment.user_id is not None:
        return is_signed_in(user) and user.id == comment.user_id
    return comment.id in set(owned_ids)


def can_use_desk(user: User | None) -> bool:
    """Authors (their posts) and admins (all) have a moderation desk; readers do not."""
    return is_signed_in(user) and user.role in (Role.AUTHOR, Role.ADMIN)
