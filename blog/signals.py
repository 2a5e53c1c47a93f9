"""Named signals: side effects (cache purge, notifications) subscribe here instead of
living in the write path.

``comment_changed`` is sent after the transaction that changed a comment has
committed, with ``comment`` (the Comment, or None for a change to many at once),
``post_id`` and ``action`` (e.g.
"submit", "approve", "spam", "trash", "edit", "delete"), by every service that
changes comments.
"""
from blinker import Namespace

signals = Namespace()
comment_changed = signals.signal("comment-changed")
