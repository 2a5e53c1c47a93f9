"""The real app, made to stop inside a comment's transaction so a test can SIGKILL the worker there.

When the ModerationEvent of a comment whose text contains "KILL-ME" has been written (the
comment row is written too, nothing is committed), the worker writes its pid to
$KILL_MARKER and sleeps. Posting writes both with Core statements (comments/service.py),
so this listens to the engine, not to a session's flush.
"""
import os
import time

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Insert

from blog import create_app
from blog.models import Comment, ModerationEvent

app = create_app()


@event.listens_for(Engine, "after_execute")
def _stop_mid_transaction(conn, clause, multiparams, params, _options, _result):
    if not (isinstance(clause, Insert) and clause.table is ModerationEvent.__table__):
        return
    for row in multiparams or [params]:
        body = conn.execute(select(Comment.body_raw).where(Comment.id == row["comment_id"])).scalar()
        if body is not None and "KILL-ME" in body:
            with open(os.environ["KILL_MARKER"], "w") as f:
                f.write(str(os.getpid()))
            time.sleep(120)
