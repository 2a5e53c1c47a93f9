"""The audit log: every status change of a comment, by a person or a rule, is an event."""
from __future__ import annotations

from datetime import datetime

from ..extensions import db
from ..models import Comment, ModerationEvent, User


def record_status(comment: Comment, to_status: str, actor: User | None, action: str, now: datetime,
                  reasons: list[str] | None = None, rule: str | None = None) -> ModerationEvent:
    """Set the status and add its event to the session; the caller's unit of work commits."""
    event = ModerationEvent(
        comment_id=comment.id, actor_id=actor.id if actor is not None else None,
        rule=rule if actor is None else None, action=action, from_status=comment.status,
        to_status=to_status, reasons=list(reasons or []), at=now,
    )
    comment.status = to_status
    db.session.add(event)
    return event
