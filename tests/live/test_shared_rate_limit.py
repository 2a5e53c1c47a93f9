"""Two app processes share one rate limit through Redis (REDIS_URL)."""
from __future__ import annotations

import os
import uuid
from contextlib import ExitStack

import pytest
import redis
import requests

from tests.conftest import csrf_from
from tests.live.conftest import gunicorn, load_post

pytestmark = pytest.mark.live

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to a Redis database the tests may use")
def test_comment_limit_is_shared_by_two_processes_through_redis(live_database, tmp_path):
    slug = load_post(live_database)
    prefix = f"test-{uuid.uuid4().hex}"
    env = {"REDIS_URL": REDIS_URL, "BLOG_RATELIMIT_ENABLED": "true", "BLOG_RATELIMIT_KEY_PREFIX": prefix,
           "BLOG_COMMENT_LIMIT_PER_IP": "3/minute", "BLOG_COMMENT_FLOOD_SECONDS": "0"}
    store = redis.Redis.from_url(REDIS_URL)
    try:
        with ExitStack() as stack:
            servers = [stack.enter_context(gunicorn(live_database, tmp_path / f"gunicorn{i}.log", workers=1, env=env))
                       for i in range(2)]
            sessions = [requests.Session() for _ in servers]
            tokens = [csrf_from(s.get(f"{srv.url}/{slug}/", timeout=30).text) for s, srv in zip(sessions, servers)]

            def send(i: int, text: str) -> requests.Response:
                return sessions[i].post(f"{servers[i].url}/{slug}/comments", allow_redirects=False, timeout=30, data={
                    "author": "Ann", "email": "ann@example.org", "comment": text, "csrf_token": tokens[i]})

            statuses = [send(i % 2, f"comment {n}").status_code for n, i in enumerate(range(3))]
            assert statuses == [303, 303, 303]
            refused = send(1, "the fourth, to the second process")
            assert refused.status_code == 429
            assert "the fourth, to the second process" in refused.text and int(refused.headers["Retry-After"]) > 0
            assert send(0, "and the first process agrees").status_code == 429
        assert store.keys(f"*{prefix}*"), "no limit was kept in Redis"
    finally:
        keys = store.keys(f"*{prefix}*")
        if keys:
            store.delete(*keys)
        store.close()
