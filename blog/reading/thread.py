"""Reading a thread: a fixed number of queries per page, the tree built in one pass.

A page is a slice of top-level comments (oldest first, WordPress's
page_comments) with every visible reply beneath them. Replies carry their
top-level ancestor in ``root_id``, so one query loads a page's subtrees.
"""
from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select

from ..extensions import db
from ..models import Comment, Post, Status

# Columns a rendered comment needs: never the email, IP or user agent. Table columns, not
# ORM attributes, so the rows skip the ORM's loading machinery.
C = Comment.__table__.c
PUBLIC_COLUMNS = (C.id, C.post_id, C.parent_id, C.root_id, C.depth, C.user_id, C.author_name,
                  C.author_url, C.avatar_key, C.body_html, C.status, C.created_at, C.edited_at,
                  C.deleted_at)
# A page's comments as the template reads them: a Row's attribute lookup costs ten times a
# named tuple's, and a page of 50 threads makes thousands of them.
PageComment = namedtuple("PageComment", [c.name for c in PUBLIC_COLUMNS])


@dataclass(frozen=True)
class Counts:
    approved: int  # the heading's "N thoughts"
    top_level: int  # what pages are cut from


@dataclass(frozen=True)
class Node:
    """One step of the walk: open a comment, open its children, close them, close it."""

    kind: str  # "comment" | "children" | "end_children" | "end_comment"
    comment: Any = None  # a PageComment


@dataclass(frozen=True)
class ThreadPage:
    counts: Counts
    page: int
    pages: int
    walk: list[Node]


def _visible(held_ids: Iterable[int], moderator: bool = False):
    held = list(held_ids)
    approved = C.status == Status.APPROVED
    if moderator:  # the post's moderators see held comments in place, to reply or act on them
        return C.status.in_([Status.APPROVED, Status.PENDING])
    if not held:
        return approved
    return or_(approved, and_(C.id.in_(held), C.status == Status.PENDING))


def counts_for(post: Post | Any) -> Counts:
    """The post's counts, kept on its row (``comment_count``, ``top_level_count``: see
    caching.py): no query, whatever the thread's size. ``post`` may be its head row."""
    return Counts(approved=post.comment_count, top_level=post.top_level_count)


# Built once: the approved top-level comments before a given one (in the thread's order).
_BEFORE = select(func.count()).where(
    Comment.post_id == bindparam("post_id"), Comment.parent_id.is_(None), Comment.status == Status.APPROVED,
    or_(Comment.created_at < bindparam("created_at"),
        and_(Comment.created_at == bindparam("created_at"), Comment.id < bindparam("root_id"))))


def page_of(comment: Comment, per_page: int, top_level: int | None = None) -> int:
    """The page (1-based) whose slice of top-level comments holds this comment's thread.

    ``top_level``: the post's approved top-level comments as its row counted them
    (``Post.top_level_count``); fewer than a page of them means page 1, without a query.
    """
    if top_level is not None and top_level < per_page:
        return 1
    root = comment if comment.root_id in (None, comment.id) else db.session.get(Comment, comment.root_id)
    before = db.session.scalar(_BEFORE, {"post_id": comment.post_id, "created_at": root.created_at,
                                         "root_id": root.id}) or 0
    return before // per_page + 1


def comment_rows(post_id: int, page: int, per_page: int | None, held_ids: Iterable[int] = (),
                 stream: bool = False, moderator: bool = False, columns=PUBLIC_COLUMNS):
    """One query: the public columns of a page's comments (every comment when ``per_page`` is
    None), oldest first, as plain rows rather than ORM objects (no identity map, no events).

    ``stream``: an iterator over the rows as the driver hands them over, not a list.
    ``columns``: PUBLIC_COLUMNS, or the same in the same order with other types.
    """
    visible = _visible(held_ids, moderator)
    where = [visible]
    if per_page is None:
        where.append(C.post_id == post_id)
    else:
        # By root_id alone (the roots are this post's): with post_id here too, planners
        # walk every comment of the post instead of the page's subtrees.
        roots = (
            select(C.id)
            .where(C.post_id == post_id, C.parent_id.is_(None), visible)
            .order_by(C.created_at, C.id)
            .limit(per_page).offset((page - 1) * per_page)
            .scalar_subquery()
        )
        where.append(C.root_id.in_(roots))
    query = select(*columns).where(*where).order_by(C.created_at, C.id)
    if stream:
        return db.session.execute(query.execution_options(yield_per=1000))  # fetched in batches
    return db.session.execute(query).all()


def clamp_page(page: int, per_page: int | None, counts: Counts) -> tuple[int, int]:
    """(page, pages): a page past either end falls back to the nearest one."""
    pages = max(1, math.ceil(counts.top_level / per_page)) if per_page else 1
    return min(max(1, page), pages), pages


def thread_page(post: Post, page: int, per_page: int, held_ids: Iterable[int] = (),
                moderator: bool = False) -> ThreadPage:
    """One query whatever the thread's size: the page's comments (the counts are the post's)."""
    counts = counts_for(post)
    page, pages = clamp_page(page, per_page, counts)
    rows = comment_rows(post.id, page, per_page, list(held_ids), moderator=moderator)
    comments = [PageComment._make(row) for row in rows]
    return ThreadPage(counts=counts, page=page, pages=pages, walk=list(walk(comments)))


def nest(items: list) -> list:
    """Hang each item (with ``id``, ``parent`` and an empty ``replies`` list) under its parent,
    in O(n) whatever the order; one whose parent is not among them is left out with its replies."""
    by_id = {item.id: item for item in items}
    top = []
    for item in items:
        if item.parent is None:
            top.append(item)
        elif item.parent in by_id:
            by_id[item.parent].replies.append(item)
    return top


def walk(comments: list) -> Iterator[Node]:
    """Walk comments (ordered oldest first) as a tree, depth first, in O(n), no recursion.

    A comment whose parent is not among them (not visible) is left out with its replies.
    """
    children: dict[int | None, list] = {}
    for c in comments:
        children.setdefault(c.parent_id, []).append(c)
    stack: list[Iterator] = [iter(children.get(None, ()))]
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
