"""Cached JSON threads and counts are answered in front of Flask (blog/api/fastpath.py),
exactly as the Flask views answer them: same status, body and headers, 304s, CORS, and a
new comment shows at once. Anything else still reaches Flask.
"""
import pytest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from blog.api.fastpath import FastPath
from tests.conftest import add_comments, login, post_comment

THREAD = "/api/v1/posts/{}/comments?per_page=all"
PAGED = "/api/v1/posts/{}/comments?per_page=2&page=2"
COUNT = "/api/v1/posts/{}/count"


@pytest.fixture
def flask_calls(app):
    """How many requests reached Flask's views (the fast path answers without them)."""
    calls = []

    @app.before_request
    def count():
        calls.append(1)

    return calls


@pytest.fixture
def through_flask(app):
    """A client whose requests go around the fast path, straight to Flask (same app, same cache),
    through ProxyFix when there is one."""
    outermost = app.wsgi_app
    if isinstance(outermost, ProxyFix):
        assert isinstance(outermost.app, FastPath)
        return Client(ProxyFix(outermost.app.app, x_for=outermost.x_for, x_proto=outermost.x_proto,
                               x_host=outermost.x_host, x_port=outermost.x_port))
    assert isinstance(outermost, FastPath)
    return Client(outermost.app)


def send_cookies(headers: dict, *clients) -> dict:
    """The headers without Cookie, whose cookies the clients send instead (a test client's
    own cookie jar replaces any Cookie header it is given)."""
    headers = dict(headers)
    for pair in filter(None, headers.pop("Cookie", "").split("; ")):
        for c in clients:
            c.set_cookie(*pair.split("=", 1))
    return headers


def same_answer(fast, slow):
    assert fast.status == slow.status
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
    assert fast.data == slow.data


@pytest.mark.parametrize("url", [THREAD, PAGED, COUNT])
@pytest.mark.parametrize("config_overrides, headers", [
    ({}, {}),
    ({"RATELIMIT_ENABLED": True}, {}),  # API GETs are not rate limited, on either path
    ({"CORS_ORIGINS": "https://blog.example"}, {"Origin": "https://blog.example"}),
    ({"CORS_ORIGINS": "*"}, {"Origin": "https://elsewhere.example"}),
    ({"CORS_ORIGINS": "https://blog.example"}, {"Origin": "https://evil.example"}),
    ({"PREFERRED_URL_SCHEME": "https", "GRAVATAR": True}, {"Cookie": "theme=dark"}),
    ({"TRUSTED_PROXIES": 1}, {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}),
], indirect=["config_overrides"])
def test_a_cache_hit_answers_as_flask_does(app, client, post, flask_calls, through_flask, url, headers):
    add_comments(app, post, 7)
    url = url.format(post)
    headers = send_cookies(headers, client, through_flask)
    first = client.get(url, headers=headers)  # a miss: Flask renders it into the cache
    assert first.status_code == 200 and len(flask_calls) == 1
    hit = client.get(url, headers=headers)
    assert len(flask_calls) == 1, "the hit reached Flask"
    same_answer(hit, through_flask.get(url, headers=headers))
    assert len(flask_calls) == 2
    same_answer(hit, first)
    if headers.get("X-Forwarded-Proto") == "https" or app.config["PREFERRED_URL_SCHEME"] == "https":
        assert "Strict-Transport-Security" in hit.headers


@pytest.mark.parametrize("url", [THREAD, COUNT])
@pytest.mark.parametrize("config_overrides", [{"CORS_ORIGINS": "https://blog.example"}], indirect=True)
def test_conditional_gets_answer_304_as_flask_does(app, client, post, flask_calls, through_flask, url):
    add_comments(app, post, 3)
    url = url.format(post)
    first = client.get(url)
    for validators in ({"If-None-Match": first.headers["ETag"]},
                       {"If-Modified-Since": first.headers["Last-Modified"]},
                       {"If-None-Match": first.headers["ETag"], "Origin": "https://blog.example"}):
        calls = len(flask_calls)
        fast = client.get(url, headers=validators)
        assert fast.status_code == 304 and len(flask_calls) == calls
        same_answer(fast, through_flask.get(url, headers=validators))
    stale = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_a_new_approved_comment_shows_at_once(app, client, post, flask_calls):
    add_comments(app, post, 3)
    first = client.get(THREAD.format(post))
    client.get(THREAD.format(post))
    writer = app.test_client()
    login(writer, "author@example.com")  # the post's author: approved at once
    assert post_comment(writer, post, comment="Fresh from the author").status_code == 303
    calls = len(flask_calls)
    again = client.get(THREAD.format(post), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["count"] == 4
    assert b"Fresh from the author" in again.data and again.headers["ETag"] != first.headers["ETag"]
    assert len(flask_calls) == calls + 1  # the new version was a miss, rendered by Flask
    assert client.get(COUNT.format(post)).get_json()["count"] == 4
    assert client.get(THREAD.format(post)).data == again.data
    assert len(flask_calls) == calls + 2  # and then a hit again (the count was a miss)


@pytest.mark.parametrize("method, url, headers, status", [
    ("HEAD", THREAD, {}, 200),
    ("OPTIONS", THREAD, {"Origin": "https://blog.example"}, 200),
    ("GET", "/api/v1/posts/{}/comments", {}, 200),  # the post's own per_page: Flask's
    ("GET", "/api/v1/posts/{}/comments?per_page=all&per_page=3", {}, 200),
    ("GET", "/api/v1/posts/{}/comments?per_page=%61ll", {}, 200),
    ("GET", "/api/v1/posts/{}/comments?per_page=all&utm_source=x", {}, 200),
    ("GET", "/api/v1/posts/{}/comments?per_page=0", {}, 400),
    ("GET", "/api/v1/posts/{}/comments?per_page=all&page=0", {}, 400),
    ("GET", "/api/v1/posts/{}/comments?per_page=2&page=9", {}, 404),
    ("GET", "/api/v1/posts/no-such-post/comments?per_page=all", {}, 404),
    ("GET", "/api/v1/posts/{}/count?x=1", {}, 200),
    ("GET", THREAD, {"Cookie": "blog_session=anything"}, 200),
    ("GET", THREAD, {"Cookie": "remember_token=anything"}, 200),
])
def test_anything_else_reaches_flask(app, client, post, flask_calls, method, url, headers, status):
    add_comments(app, post, 5)
    for u in (THREAD, PAGED, COUNT, url):  # whatever can be cached, is
        client.get(u.format(post))
        client.get(u.format(post))
    calls = len(flask_calls)
    headers = send_cookies(headers, client)
    res = client.open(url.format(post), method=method, headers=headers)
    assert res.status_code == status and len(flask_calls) == calls + 1


def test_a_signed_in_reader_is_answered_by_flask(app, client, post, make_user, flask_calls):
    make_user()
    login(client, "reader@example.com")
    add_comments(app, post, 2)
    client.get(THREAD.format(post))
    calls = len(flask_calls)
    assert client.get(THREAD.format(post)).get_json()["count"] == 2 and len(flask_calls) == calls + 1


@pytest.mark.parametrize("config_overrides", [{"PAGE_CACHE": False}], indirect=True)
def test_no_fast_path_without_a_cache(app, client, post):
    assert not isinstance(app.wsgi_app, FastPath)
    assert client.get(THREAD.format(post)).status_code == 200

