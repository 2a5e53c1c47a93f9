"""Which comments the current visitor may still edit or delete as their writer."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import session
from flask_login import current_user

from ..permissions import can_edit_own

# Ids of the comments this browser wrote as a guest. The session cookie is signed, so it binds
# each id to this browser; nobody can add an id they did not post.
OWN_SESSION_KEY = "own"


def owned_ids() -> list[int]:
    return list(session.get(OWN_SESSION_KEY, ()))


def remember_own(comment_id: int, keep: int = 20) -> None:
    own = [i for i in session.get(OWN_SESSION_KEY, []) if i != comment_id]
    session[OWN_SESSION_KEY] = (own + [comment_id])[-keep:]


def editable_ids(walk: Iterable, now: datetime, edit_minutes: int) -> set[int]:
    """Ids on a thread page that get Edit/Delete links (the service checks again on use)."""
    user = current_user if current_user.is_authenticated else None
    own = owned_ids()
    if user is None and not own:
        return set()
    nodes = list(walk)
    with_replies = {prev.comment.id for prev, node in zip(nodes, nodes[1:])
                    if node.kind == "children" and prev.kind == "comment"}
    return {n.comment.id for n in nodes if n.kind == "comment"
            and can_edit_own(user, n.comment, now, edit_minutes, own, n.comment.id in with_replies)}
