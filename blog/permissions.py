"""Named permission predicates, shared by views, API and templates. The user is explicit."""
from __future__ import annotations

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
