"""The real app, made to stop inside a comment's transaction so a test can SIGKILL the worker there.

When a flush writes the ModerationEvent of a comment whose text contains
"KILL-ME" (the comment row is already written, nothing is committed), the
worker writes its pid to $KILL_MARKER and sleeps.
"""
import os
import time

from sqlalchemy import event
from sqlalchemy.orm import Session

from blog import create_app
from blog.models import Comment, ModerationEvent

app = create_app()


@event.listens_for(Session, "after_flush")
def _stop_mid_transaction(session, _context):
    events = [o for o in session.new if isinstance(o, ModerationEvent)]
    comments = [session.get(Comment, e.comment_id) for e in events]
    if any(c is not None and "KILL-ME" in c.body_raw for c in comments):
        with open(os.environ["KILL_MARKER"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
