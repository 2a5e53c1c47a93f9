"""Named signals: side effects (cache purge, notifications) subscribe here instead of
living in the write path.

``comment_changed`` is sent after the transaction that changed a comment has
committed, with ``comment`` (the Comment, or None for a change to many at once),
``post_id`` and ``action`` (e.g.
"submit", "approve", "spam", "trash", "edit", "delete"), by every service that
changes comments. A receiver that fails is logged and skipped: the change is
already stored, so failing the request would only make the writer send it again.
"""
from __future__ import annotations

import logging
from typing import Any

from blinker import NamedSignal

from .extensions import db

log = logging.getLogger(__name__)


class AfterCommitSignal(NamedSignal):
    """A signal whose receivers' failures never reach the sender."""

    def send(self, sender: Any = None, /, **kwargs: Any) -> list[tuple[Any, Any]]:
        results = []
        for receiver in self.receivers_for(sender):
            try:
                results.append((receiver, receiver(sender, **kwargs)))
            except Exception:
                log.exception("a receiver of %r failed after the commit", self.name)
                db.session.rollback()  # nothing of the sender's is pending: it has committed
        return results


comment_changed = AfterCommitSignal("comment-changed")
