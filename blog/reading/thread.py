"""Reading a thread: a fixed number of queries per page, the tree built in one pass.

A page is a slice of top-level comments (oldest first, WordPress's
page_comments) with every visible reply beneath them. Replies carry their
top-level ancestor in ``root_id``, so one query loads a page's subtrees.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import load_only

from ..extensions import db
from ..models import Comment, Post, Status

# Columns a rendered comment needs: never the email, IP or user agent.
PUBLIC_COLUMNS = (Comment.id, Comment.post_id, Comment.parent_id, Comment.root_id, Comment.depth,
                  Comment.user_id, Comment.author_name, Comment.author_url, Comment.avatar_key, Comment.body_html,
                  Comment.status, Comment.created_at, Comment.edited_at, Comment.deleted_at)


@dataclass(frozen=True)
class Counts:
    approved: int  # the heading's "N thoughts"
    top_level: int  # what pages are cut from


@dataclass(frozen=True)
class Node:
    """One step of the walk: open a comment, open its children, close them, close it."""

    kind: str  # "comment" | "children" | "end_children" | "end_comment"
    comment: Comment | None = None


@dataclass(frozen=True)
class ThreadPage:
    counts: Counts
    page: int
    pages: int
    walk: list[Node]


def _visible(held_ids: Iterable[int], moderator: bool = False):
    held = list(held_ids)
    approved = Comment.status == Status.APPROVED
    if moderator:  # the post's moderators see held comments in place, to reply or act on them
        return Comment.status.in_([Status.APPROVED, Status.PENDING])
    if not held:
        return approved
    return or_(approved, and_(Comment.id.in_(held), Comment.status == Status.PENDING))


def counts_for(post_id: int) -> Counts:
    approved = Comment.status == Status.APPROVED
    row = db.session.execute(
        # A deleted comment kept for its replies holds its place but is no "thought".
        select(func.coalesce(func.sum(case((Comment.deleted_at.is_(None), 1), else_=0)), 0),
               func.coalesce(func.sum(case((Comment.parent_id.is_(None), 1), else_=0)), 0))
        .where(Comment.post_id == post_id, approved)
    ).one()
    return Counts(approved=int(row[0]), top_level=int(row[1]))


def page_of(comment: Comment, per_page: int) -> int:
    """The page (1-based) whose slice of top-level comments holds this comment's thread."""
    root = db.session.get(Comment, comment.root_id or comment.id)
    before = db.session.scalar(select(func.count()).where(
        Comment.post_id == comment.post_id, Comment.parent_id.is_(None),
        Comment.status == Status.APPROVED,
        or_(Comment.created_at < root.created_at,
            and_(Comment.created_at == root.created_at, Comment.id < root.id)),
    )) or 0
    return before // per_page + 1


def thread_page(post: Post, page: int, per_page: int, held_ids: Iterable[int] = (),
                moderator: bool = False) -> ThreadPage:
    """Two queries whatever the thread's size: the counts, and the page's comments."""
    held_ids = list(held_ids)
    counts = counts_for(post.id)
    pages = max(1, math.ceil(counts.top_level / per_page))
    page = min(max(1, page), pages)
    visible = _visible(held_ids, moderator)
    roots = (
        select(Comment.id)
        .where(Comment.post_id == post.id, Comment.parent_id.is_(None), visible)
        .order_by(Comment.created_at, Comment.id)
        .limit(per_page).offset((page - 1) * per_page)
        .scalar_subquery()
    )
    comments = db.session.scalars(
        select(Comment).options(load_only(*PUBLIC_COLUMNS, raiseload=True))
        .where(Comment.root_id.in_(roots), visible)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    return ThreadPage(counts=counts, page=page, pages=pages, walk=list(walk(comments)))


def walk(comments: list[Comment]) -> Iterator[Node]:
    """Walk comments (ordered oldest first) as a tree, depth first, in O(n), no recursion.

    A comment whose parent is not among them (not visible) is left out with its replies.
    """
    children: dict[int | None, list[Comment]] = {}
    for c in comments:
        children.setdefault(c.parent_id, []).append(c)
    stack: list[Iterator[Comment]] = [iter(children.get(None, ()))]
    while stack:
        c = next(stack[-1], None)
        if c is None:
            stack.pop()
            if stack:
                yield Node("end_children")
                yield Node("end_comment")
            continue
        yield Node("comment", c)
        kids = children.get(c.id)
        if kids:
            yield Node("children")
            stack.append(iter(kids))
        else:
            yield Node("end_comment")
