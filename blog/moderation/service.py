"""Moderation: each function is one unit of work that commits once, records its
ModerationEvent(s) and sends ``comment_changed`` after the commit.

Callers check permissions with the predicates in blog.permissions; these
functions check them again and raise NotAllowed, so no path can skip them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from ..avatars import avatar_key
from ..comments.service import Submission, submit_comment, validate_fields
from ..extensions import db
from ..models import (Block, BlockKind, Comment, ModerationEvent, Post, SiteSetting, Status,
                      UsedActionToken, User)
from ..permissions import can_block, can_edit_own, can_moderate, can_unblock
from ..sanitize import MarkupTooComplex, sanitize_comment
from ..signals import comment_changed
from .audit import record_status
from .blocks import blocked_as
from .notify import read_action_token
from .rules import Facts, decide
from .settings import FIELDS, SITE_ONLY, discussion_for, forget_site_values, site_values, values_for

DELETED_HTML = "<p>This comment was deleted.</p>"


class NotAllowed(Exception):
    """The actor may not do this (a 403)."""


class Invalid(Exception):
    """The request cannot be carried out as asked (a 4xx with this message)."""

    def __init__(self, message: str, status: int = 422, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors or {}


# action → target status; "unspam" and "restore" go back to where the comment was.
ACTIONS = {"approve": Status.APPROVED, "unapprove": Status.PENDING, "spam": Status.SPAM,
           "unspam": None, "trash": Status.TRASH, "restore": None}
BULK_ACTIONS = (*ACTIONS, "delete")
ACTION_NAMES = {"approve": "Approved", "unapprove": "Unapproved", "spam": "Marked as spam", "unspam": "Not spam",
                "trash": "Trashed", "restore": "Restored"}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _signal(comments: Iterable[Comment], action: str) -> None:
    app = current_app._get_current_object()
    for c in comments:
        comment_changed.send(app, comment=c, post_id=c.post_id, action=action)


def _require(actor: User | None, post: Post) -> None:
    if not can_moderate(actor, post):
        raise NotAllowed()


def _target(comment: Comment, action: str) -> str:
    target = ACTIONS[action]
    if target is not None:
        return target
    # Not spam / Restore: back to the status before it was marked so (pending if unknown).
    left_from = Status.SPAM if action == "unspam" else Status.TRASH
    if comment.status != left_from:
        return comment.status
    previous = db.session.scalar(
        select(ModerationEvent.from_status).where(ModerationEvent.comment_id == comment.id,
                                                  ModerationEvent.to_status == left_from)
        .order_by(ModerationEvent.id.desc()).limit(1))
    return previous if previous in (Status.PENDING, Status.APPROVED) else Status.PENDING


def _apply(comment: Comment, action: str, actor: User | None, now: datetime,
           reasons: list[str] | None = None, rule: str | None = None) -> bool:
    """Change one comment's status in the session; False when it already had it (idempotent)."""
    if comment.deleted_at is not None:
        return False
    target = _target(comment, action)
    if comment.status == target:
        return False
    record_status(comment, target, actor, action, now, reasons=reasons, rule=rule)
    return True


def set_status(comment: Comment, action: str, actor: User, now: datetime | None = None) -> bool:
    """Approve, unapprove, spam, unspam, trash or restore one comment. :raise NotAllowed:"""
    _require(actor, comment.post)
    changed = _apply(comment, action, actor, _now(now))
    db.session.commit()
    if changed:
        _signal([comment], action)
    return changed


def bulk(comment_ids: Iterable[int], action: str, actor: User, now: datetime | None = None) -> int:
    """One action over many comments, all or nothing. :raise NotAllowed: any is not the actor's."""
    if action not in BULK_ACTIONS:
        raise Invalid("Choose an action for the selected comments.", 400)
    now = _now(now)
    comments = db.session.scalars(select(Comment).where(Comment.id.in_(set(comment_ids)))
                                  .order_by(Comment.id)).all()
    for c in comments:
        _require(actor, c.post)
    if action == "delete":
        for c in comments:
            _delete(c, actor, now)
        db.session.commit()
        _signal(comments, "delete")
        return len(comments)
    changed = [c for c in comments if _apply(c, action, actor, now)]
    db.session.commit()
    _signal(changed, action)
    return len(changed)


def reply_as_author(comment: Comment, actor: User, text: str, ip: str | None = None,
                    user_agent: str | None = None) -> Comment:
    """The moderator's reply, approved at once; replying to a held comment approves it.

    :raise NotAllowed: :raise CommentRefused: as submit_comment.
    """
    _require(actor, comment.post)
    return submit_comment(comment.post, {"comment": text, "comment_parent": str(comment.id)},
                          Submission(user=actor, ip=ip, user_agent=user_agent))


def _sanitized(text: str) -> tuple[str, dict[str, str]]:
    try:
        return sanitize_comment(text), {}
    except MarkupTooComplex as exc:
        return "", {"comment": str(exc)}


def edit(comment: Comment, actor: User, data: Mapping[str, str], now: datetime | None = None) -> Comment:
    """A moderator's quick edit of the text, name, email and URL; re-sanitised, editor recorded.

    :raise NotAllowed: :raise Invalid: (422) with field errors.
    """
    _require(actor, comment.post)
    if comment.deleted_at is not None:
        raise Invalid("A deleted comment cannot be edited.", 409)
    now = _now(now)
    # An account's comment keeps the account's name and email; a guest's can be corrected.
    values, errors = validate_fields(data, comment.user)
    errors.pop("comment_parent", None)
    body_html, more = _sanitized(values["comment"]) if "comment" not in errors else ("", {})
    errors.update(more)
    if errors:
        raise Invalid("The comment was not changed. Please check the fields marked below.", 422, errors)
    if comment.user_id is None:
        comment.author_name, comment.author_email, comment.author_url = values["author"], values["email"], values["url"]
        comment.avatar_key = avatar_key(values["email"], values["author"])
    comment.body_raw, comment.body_html = values["comment"], body_html
    comment.edited_at, comment.edited_by_id = now, actor.id
    db.session.add(ModerationEvent(comment_id=comment.id, actor_id=actor.id, action="edit",
                                   from_status=comment.status, to_status=comment.status,
                                   reasons=[f"Edited by {actor.display_name}"], at=now))
    db.session.commit()
    _signal([comment], "edit")
    return comment


def has_replies(comment: Comment) -> bool:
    return bool(db.session.scalar(select(exists().where(Comment.parent_id == comment.id))))


def edit_own(comment: Comment, user: User | None, owned_ids: Iterable[int], text: str,
             now: datetime | None = None) -> Comment:
    """The commenter's own edit inside the edit window: re-sanitised and re-judged by the rules.

    :raise NotAllowed: not theirs, window over, or someone replied. :raise Invalid: bad text.
    """
    now = _now(now)
    discussion = discussion_for(comment.post)
    if not can_edit_own(user, comment, now, discussion.edit_minutes, owned_ids, has_replies(comment)):
        raise NotAllowed()
    # Only the text changes: the other fields' checks do not apply.
    values, errors = validate_fields({"comment": text}, comment.user)
    body_html, more = _sanitized(values["comment"]) if "comment" not in errors else ("", {})
    errors.update(more)
    if "comment" in errors:
        raise Invalid("Your comment was not changed.", 422, {"comment": errors["comment"]})
    comment.body_raw, comment.body_html = values["comment"], body_html
    comment.edited_at = now
    comment.edited_by_id = user.id if user is not None and user.is_authenticated else None
    decision = decide(_facts(comment, moderator=can_moderate(user, comment.post)), discussion.rules)
    db.session.add(ModerationEvent(comment_id=comment.id, actor_id=comment.edited_by_id, action="edit",
                                   from_status=comment.status, to_status=comment.status,
                                   reasons=["Edited by the commenter"], at=now))
    # The rules may hold (or trash) an edited comment; an edit never approves a held one.
    if decision.status != Status.APPROVED and decision.status != comment.status:
        record_status(comment, decision.status, None, "edit", now, list(decision.reasons), decision.rule)
    db.session.commit()
    _signal([comment], "edit")
    return comment


def _facts(comment: Comment, moderator: bool) -> Facts:
    same = (Comment.user_id == comment.user_id) if comment.user_id else (Comment.author_email == comment.author_email)
    earlier = db.session.scalar(select(exists().where(same, Comment.id != comment.id,
                                                      Comment.status == Status.APPROVED)))
    return Facts(text=comment.body_raw, name=comment.author_name, email=comment.author_email or "",
                 url=comment.author_url or "", ip=comment.ip or "", user_agent=comment.user_agent or "",
                 link_count=comment.body_html.count("<a "), is_moderator=moderator,
                 has_approved_comment=bool(earlier) or comment.status == Status.APPROVED,
                 identity_proven=comment.user_id is not None,
                 blocked=blocked_as(comment.user_id, comment.author_email, comment.ip))


def delete_own(comment: Comment, user: User | None, owned_ids: Iterable[int], now: datetime | None = None) -> None:
    """The commenter deletes their comment inside the edit window, before anyone replied."""
    now = _now(now)
    discussion = discussion_for(comment.post)
    if not can_edit_own(user, comment, now, discussion.edit_minutes, owned_ids, has_replies(comment)):
        raise NotAllowed()
    db.session.delete(comment)
    db.session.commit()
    _signal([comment], "delete")


def _delete(comment: Comment, actor: User | None, now: datetime) -> None:
    """Delete for good; a comment with replies keeps its place as "This comment was deleted."."""
    if comment.deleted_at is not None:
        return
    if has_replies(comment):
        comment.body_raw, comment.body_html = "", DELETED_HTML
        comment.author_name, comment.author_email, comment.author_url = "", None, None
        comment.user_id, comment.ip, comment.user_agent, comment.avatar_key = None, None, None, ""
        comment.deleted_at = now
        # The replies stay readable under the placeholder.
        record_status(comment, Status.APPROVED, actor, "delete", now, ["Deleted; its replies keep their place"],
                      rule=None if actor else "purge")
    else:
        db.session.delete(comment)


def delete_permanently(comment: Comment, actor: User, now: datetime | None = None) -> None:
    _require(actor, comment.post)
    _delete(comment, actor, _now(now))
    db.session.commit()
    _signal([comment], "delete")


def purge(now: datetime | None = None, days: int | None = None) -> int:
    """Delete spam and trash that has stayed so longer than the purge setting (30 days)."""
    now = _now(now)
    days = days if days is not None else discussion_for(None).purge_days
    cutoff = now - timedelta(days=days)
    last_change = (select(ModerationEvent.comment_id, func.max(ModerationEvent.at).label("at"))
                   .group_by(ModerationEvent.comment_id).subquery())
    old = db.session.scalars(
        select(Comment).outerjoin(last_change, last_change.c.comment_id == Comment.id)
        .where(Comment.status.in_([Status.SPAM, Status.TRASH]), Comment.deleted_at.is_(None),
               func.coalesce(last_change.c.at, Comment.created_at) < cutoff)).all()
    for c in old:
        _delete(c, None, now)
    db.session.commit()
    _signal(old, "delete")
    return len(old)


def block(comment: Comment, kind: str, actor: User) -> Block | None:
    """Block the commenter's account, email or IP: their next comments go to spam (idempotent)."""
    _require(actor, comment.post)
    if not can_block(actor):
        raise NotAllowed()
    value = {BlockKind.USER: str(comment.user_id) if comment.user_id else None,
             BlockKind.EMAIL: (comment.author_email or "").lower() or None,
             BlockKind.IP: comment.ip}.get(kind)
    if not value:
        raise Invalid("This comment has nothing of that kind to block.", 422)
    existing = db.session.scalar(select(Block).where(Block.kind == kind, Block.value == value))
    if existing is not None:
        return existing
    entry = Block(kind=kind, value=value, created_by_id=actor.id)
    db.session.add(entry)
    try:
        db.session.commit()
    except IntegrityError:  # blocked at the same moment by someone else
        db.session.rollback()
        return db.session.scalar(select(Block).where(Block.kind == kind, Block.value == value))
    return entry


def unblock(block_id: int, actor: User) -> None:
    entry = db.session.get(Block, block_id)
    if entry is None:
        return  # already gone: unblocking is idempotent
    if not can_unblock(actor, entry):
        raise NotAllowed()
    db.session.delete(entry)
    db.session.commit()


# --- the one-click mail links ---------------------------------------------------------------

@dataclass(frozen=True)
class LinkAction:
    comment: Comment
    action: str
    actor: User
    nonce: str


def check_link(token: str) -> LinkAction:
    """Read a mail link without acting on it.

    :raise Invalid: 400 tampered, 410 expired or already used, 404 the comment is gone,
        403 the recipient may no longer moderate it.
    """
    try:
        data = read_action_token(token)
    except SignatureExpired:
        raise Invalid("This link has expired. Open the moderation desk to act on the comment.", 410) from None
    except BadSignature:
        raise Invalid("This link is not valid. Please use the link exactly as it was in the email.", 400) from None
    if db.session.get(UsedActionToken, data["n"]) is not None:
        raise Invalid("This link has already been used. Each link in the email works once.", 410)
    comment, actor = db.session.get(Comment, data["c"]), db.session.get(User, data["u"])
    if comment is None or comment.deleted_at is not None:
        raise Invalid("That comment no longer exists.", 404)
    if actor is None or not can_moderate(actor, comment.post):
        raise Invalid("You may no longer moderate this comment.", 403)
    return LinkAction(comment, data["a"], actor, data["n"])


def use_link(token: str, now: datetime | None = None) -> LinkAction:
    """Carry out a mail link's one action, once. :raise Invalid: as check_link."""
    link = check_link(token)
    now = _now(now)
    db.session.add(UsedActionToken(nonce=link.nonce, used_at=now))
    changed = _apply(link.comment, link.action, link.actor, now, reasons=["From the link in the email"])
    try:
        db.session.commit()
    except IntegrityError:  # the same link, used twice at once
        db.session.rollback()
        raise Invalid("This link has already been used. Each link in the email works once.", 410) from None
    if changed:
        _signal([link.comment], link.action)
    return link



# --- discussion settings and the dry run -----------------------------------------------------

def save_settings(values: Mapping[str, object], actor: User, post: Post | None = None) -> None:
    """Site-wide (post None, admins) or one post's overrides (its moderators): only what differs is kept."""
    if post is None:
        if not (actor.is_authenticated and actor.role == "admin"):
            raise NotAllowed()
        defaults = {name: current_app.config[name] for name in FIELDS}
        db.session.execute(delete(SiteSetting))
        for name, value in values.items():
            if name in FIELDS and value != defaults[name]:
                db.session.add(SiteSetting(name=name, value=value))
    else:
        _require(actor, post)
        site = site_values()
        post.settings = {name: value for name, value in values.items()
                         if name in FIELDS and name not in SITE_ONLY and value != site[name]}
    db.session.commit()
    forget_site_values()


@dataclass(frozen=True)
class DryRunRow:
    comment: Comment
    now_status: str
    would: str
    reasons: tuple[str, ...]


def dry_run(values: Mapping[str, object], actor: User, post: Post | None, limit: int) -> list[DryRunRow]:
    """What the given settings would have decided for the last ``limit`` comments in the actor's
    scope (one post, or all they moderate). Nothing is saved. Three queries whatever ``limit``."""
    rules = discussion_for(post, values={**values_for(post), **values}).rules
    query = moderation_scope(select(Comment).join(Post), actor).where(Comment.deleted_at.is_(None))
    if post is not None:
        query = query.where(Comment.post_id == post.id)
    comments = db.session.scalars(query.order_by(Comment.created_at.desc(), Comment.id.desc())
                                  .limit(limit)).all()
    emails = {c.author_email for c in comments if c.author_email and not c.user_id}
    users = {c.user_id for c in comments if c.user_id}
    first_ok = {}
    if emails or users:
        rows = db.session.execute(
            select(Comment.user_id, Comment.author_email, func.min(Comment.id))
            .where(Comment.status == Status.APPROVED,
                   Comment.user_id.in_(users) | Comment.author_email.in_(emails))
            .group_by(Comment.user_id, Comment.author_email)).all()
        for user_id, email, first in rows:
            key = ("u", user_id) if user_id else ("e", email)
            first_ok[key] = min(first, first_ok.get(key, first))
    admins = set(db.session.scalars(select(User.id).where(User.role == "admin"))) if comments else set()
    out = []
    for c in comments:
        key = ("u", c.user_id) if c.user_id else ("e", c.author_email)
        earlier = key in first_ok and first_ok[key] < c.id
        facts = Facts(text=c.body_raw, name=c.author_name, email=c.author_email or "", url=c.author_url or "",
                      ip=c.ip or "", user_agent=c.user_agent or "", link_count=c.body_html.count("<a "),
                      is_moderator=c.user_id is not None and (c.user_id in admins or c.user_id == c.post.author_id),
                      has_approved_comment=earlier, identity_proven=c.user_id is not None)
        decision = decide(facts, rules)
        out.append(DryRunRow(c, c.status, decision.status, decision.reasons))
    return out


# --- the desk's queries -----------------------------------------------------------------------

def moderation_scope(query, actor: User):
    """Restrict a query joined to Post to what the actor moderates (admins: everything)."""
    if actor.role == "admin":
        return query
    return query.where(Post.author_id == actor.id)


@dataclass(frozen=True)
class DeskPage:
    rows: list[Comment]
    reasons: dict[int, list[str]]
    parents: dict[int, str]
    counts: dict[str, int]
    total: int
    page: int
    pages: int


def desk_page(actor: User, status: str | None, post_id: int | None, search: str, page: int,
              per_page: int = 20) -> DeskPage:
    """The desk's rows, newest first, with counts per status: five queries whatever the page size."""
    scoped = moderation_scope(select(Comment).join(Post), actor).where(Comment.deleted_at.is_(None))
    if post_id:
        scoped = scoped.where(Comment.post_id == post_id)
    counts_query = moderation_scope(select(Comment.status, func.count()).select_from(Comment).join(Post), actor) \
        .where(Comment.deleted_at.is_(None)).group_by(Comment.status)
    if post_id:
        counts_query = counts_query.where(Comment.post_id == post_id)
    counts = {s.value: 0 for s in Status} | dict(db.session.execute(counts_query).all())
    counts["all"] = counts[Status.PENDING] + counts[Status.APPROVED]

    rows_query = scoped.where(Comment.status == status) if status else \
        scoped.where(Comment.status.in_([Status.PENDING, Status.APPROVED]))
    if search:
        like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows_query = rows_query.where(
            Comment.body_raw.ilike(like, escape="\\") | Comment.author_name.ilike(like, escape="\\")
            | Comment.author_email.ilike(like, escape="\\") | Comment.author_url.ilike(like, escape="\\")
            | Comment.ip.ilike(like, escape="\\"))
    total = db.session.scalar(select(func.count()).select_from(rows_query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.scalars(rows_query.options(contains_eager(Comment.post)).order_by(Comment.created_at.desc(), Comment.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    ids = [c.id for c in rows]
    # Why each row has its status: the latest change's reasons, or who made it.
    reasons: dict[int, list[str]] = {}
    for cid, why, action, name in db.session.execute(
            select(ModerationEvent.comment_id, ModerationEvent.reasons, ModerationEvent.action, User.display_name)
            .outerjoin(User, User.id == ModerationEvent.actor_id)
            .where(ModerationEvent.comment_id.in_(ids), ModerationEvent.action != "edit")
            .order_by(ModerationEvent.id)).all():
        reasons[cid] = why or ([f"{ACTION_NAMES.get(action, action)} by {name}"] if name else [])
    parent_ids = {c.parent_id for c in rows if c.parent_id}
    parents = dict(db.session.execute(select(Comment.id, Comment.author_name)
                                      .where(Comment.id.in_(parent_ids))).all()) if parent_ids else {}
    return DeskPage(rows, reasons, parents, counts, total, page, pages)


def posts_for(actor: User) -> list[Post]:
    return db.session.scalars(moderation_scope(select(Post), actor).order_by(Post.published_at.desc())).all()


def blocks_for(actor: User) -> list[Block]:
    query = select(Block).order_by(Block.created_at.desc())
    if actor.role != "admin":
        query = query.where(Block.created_by_id == actor.id)
    return db.session.scalars(query).all()
