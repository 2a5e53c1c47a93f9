"""A worker SIGKILLed in the middle of storing a comment leaves nothing half-written."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, func, select

from blog.models import Comment, ModerationEvent
from tests.conftest import csrf_from
from tests.live.conftest import gunicorn, load_post

pytestmark = pytest.mark.live


def test_worker_killed_mid_transaction_leaves_no_half_written_comment(live_database, tmp_path):
    slug = load_post(live_database, COMMENT_PREVIOUSLY_APPROVED=False)
    marker = tmp_path / "worker.pid"
    env = {"KILL_MARKER": str(marker), "BLOG_COMMENT_FLOOD_SECONDS": "0"}
    with gunicorn(live_database, tmp_path / "gunicorn.log", workers=1,
                  app="tests.live.killable_app:app", env=env) as server:
        session = requests.Session()
        token = csrf_from(session.get(f"{server.url}/{slug}/", timeout=30).text)
        form = {"author": "Victim", "email": "victim@example.org", "csrf_token": token}
        outcome: dict = {}

        def send():
            try:
                outcome["status"] = session.post(f"{server.url}/{slug}/comments", allow_redirects=False,
                                                 data={**form, "comment": "KILL-ME halfway"}, timeout=60).status_code
            except requests.RequestException as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text()):
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.05)
        pid = int(marker.read_text())
        os.kill(pid, signal.SIGKILL)
        sender.join(60)
        assert "status" not in outcome, "the killed request got an answer"

        # gunicorn starts a new worker; the database is usable at once (no lock left behind).
        deadline = time.monotonic() + 30
        while True:
            try:
                res = session.post(f"{server.url}/{slug}/comments", allow_redirects=False,
                                   data={**form, "comment": "after the crash"}, timeout=30)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert res.status_code == 303, res.text[:500]
        assert pid not in server.worker_pids()

    engine = create_engine(live_database)
    with engine.connect() as conn:
        bodies = conn.scalars(select(Comment.body_raw).where(Comment.author_email == "victim@example.org")).all()
        events = conn.scalar(select(func.count()).select_from(ModerationEvent)
                             .join(Comment, Comment.id == ModerationEvent.comment_id)
                             .where(Comment.author_email == "victim@example.org"))
    engine.dispose()
    assert bodies == ["after the crash"]
    assert events == 1
