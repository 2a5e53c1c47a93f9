"""Live servers: gunicorn in its own process group on a free port, with its own database.

The database is a fresh SQLite file, or, when the suite runs on PostgreSQL
(TEST_DATABASE_URL), a scratch database next to the test one
(``<test db>_live``), dropped afterwards. Either is built by the migrations.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from blog import create_app, init_migrations
from blog.config import normalise_db_url
from tests.conftest import scratch_database

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
SECRET = "live-test-secret-key"

@pytest.fixture
def live_database(tmp_path) -> Iterator[str]:
    """A migrated, empty database of the kind the suite runs on; its SQLAlchemy URL."""
    from flask_migrate import upgrade

    base = normalise_db_url(os.environ.get("TEST_DATABASE_URL"))
    with scratch_database(base, "live", tmp_path) as url:
        app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url})
        init_migrations(app)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            from blog.extensions import db

            db.engine.dispose()
        yield url


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn(database_url: str, log: Path, *, workers: int = 2, threads: int = 1,
             app: str = "app:app", env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Serve ``app`` under gunicorn on a socket bound here (port 0: a free one), until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BLOG_", "REDIS_URL", "DATABASE_URL"))}
    environ.update({
        "SECRET_KEY": SECRET, "DATABASE_URL": database_url, "BLOG_ENV": "production",
        "BLOG_RATELIMIT_ENABLED": "false", "PYTHONUNBUFFERED": "1", **(env or {}),
    })
    cmd = [str(GUNICORN), "--bind", f"fd://{sock.fileno()}", "--workers", str(workers),
           "--threads", str(threads), "--graceful-timeout", "5", "--timeout", "60", app]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
                                   pass_fds=(sock.fileno(),), start_new_session=True)
    sock.close()
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{server.log_text()}")
            try:
                if requests.get(server.url + "/", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer:\n{server.log_text()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def load_post(database_url: str, **settings) -> str:
    """The demo post in the live database, with per-post discussion settings; its slug."""
    from blog.demo import load_demo
    from blog.extensions import db

    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        post, _ = load_demo()
        if settings:
            post.settings = settings
            db.session.commit()
        slug = post.slug
        db.engine.dispose()
    return slug
