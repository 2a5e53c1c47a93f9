"""Two app servers (separate gunicorn masters, as two hosts would run) on one database and
one Redis: what one does, the other shows at once; caches and rate limits are shared.

Needs TEST_REDIS_URL (CI sets it); CI runs it on SQLite and again on PostgreSQL, the
production setup.
"""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import CSRF_RE
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL")
pytestmark = [pytest.mark.live,
              pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL names a Redis database for tests")]


class Browser:
    """One reader's cookies against one server."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()),
                                                  NoRedirect())

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path: str, fields: dict) -> int:
        try:
            with self.opener.open(self.base + path, data=urlencode(fields).encode(), timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def form(self, path: str, action: str, **fields) -> int:
        _, html = self.get(path)
        match = CSRF_RE.search(html)
        return self.post(action, {**fields, "csrf_token": match.group(1) or match.group(2)})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def servers(migrated, post, tmp_path):
    """Start two gunicorn masters on the test database; stop both (their process groups)."""
    prefix = f"test-live-{uuid.uuid4().hex}:"
    env = {**os.environ, "DATABASE_URL": migrated, "REDIS_URL": REDIS_URL, "SECRET_KEY": "live-test-secret",
           "BLOG_ENV": "production", "BLOG_PAGE_CACHE_PREFIX": prefix, "BLOG_RATELIMIT_KEY_PREFIX": prefix,
           "BLOG_RATELIMIT_DEFAULT": "200 per minute", "BLOG_COMMENT_FLOOD_SECONDS": "0"}
    env.pop("TEST_DATABASE_URL", None)
    procs, bases = [], []
    gunicorn = Path(sys.executable).with_name("gunicorn")
    for i in range(2):
        port = free_port()
        log = open(tmp_path / f"server{i}.log", "wb")
        procs.append(subprocess.Popen(
            [str(gunicorn), "-c", "deploy/gunicorn.conf.py", "-w", "1", "-b", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if Browser(base).get(f"/{post}/")[0] == 200:
                        break
                except urllib.error.URLError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "server0.log").read_text()
                time.sleep(0.2)
        yield bases, prefix
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{prefix}*"))  # limiter keys start "LIMITS:"
        if keys:
            client.delete(*keys)


def test_a_comment_through_one_server_shows_on_the_other_at_once(servers, post):
    (one, two), prefix = servers
    reader = Browser(two)
    for path in (f"/{post}/", f"/api/v1/posts/{post}/comments"):  # both servers have cached it
        assert "Through server one" not in reader.get(path)[1]
        assert "Through server one" not in Browser(one).get(path)[1]
    author = Browser(one)
    assert author.form("/login", "/login", email="author@example.com", password="correct horse battery") in (302, 303)
    assert author.form(f"/{post}/", f"/{post}/comments", comment="Through server one", comment_parent="0") == 303
    _, html = reader.get(f"/{post}/")
    assert "Through server one" in html and "One thought on" in html
    assert "Through server one" in reader.get(f"/api/v1/posts/{post}/comments")[1]
    assert reader.get(f"/api/v1/posts/{post}/count")[1].endswith('"count":1}')

    # And back: a reply through server two shows on server one, whose copy was cached.
    assert "Back through two" not in Browser(one).get(f"/{post}/")[1]
    writer = Browser(two)
    assert writer.form("/login", "/login", email="author@example.com", password="correct horse battery") in (302, 303)
    first = re.search(r'id="comment-(\d+)"', html).group(1)
    assert writer.form(f"/{post}/", f"/{post}/comments", comment="Back through two", comment_parent=first) == 303
    again = Browser(one).get(f"/{post}/")[1]
    assert "Back through two" in again and "2 thoughts on" in again


def test_the_rendered_thread_is_shared_through_redis(servers, post):
    import redis

    (one, two), prefix = servers
    Browser(one).get(f"/api/v1/posts/{post}/comments?per_page=all")
    keys = redis.Redis.from_url(REDIS_URL).keys(prefix + "*json*")
    assert len(keys) == 1
    body = Browser(two).get(f"/api/v1/posts/{post}/comments?per_page=all")[1]
    assert body.encode() == redis.Redis.from_url(REDIS_URL).get(keys[0])


def test_rate_limits_are_shared(servers, post):
    (one, two), _ = servers
    statuses = [Browser(base).get(f"/api/v1/posts/{post}/count")[0] for base in (one, two) * 150]
    assert statuses.count(200) + statuses.count(429) == 300
    # 200 a minute for this route across both servers, not 200 on each; and counted though
    # the count is cached (the API's fast path leaves GETs to Flask when every route is limited).
    assert statuses.count(200) == 200 and statuses[-1] == 429
