"""Cached JSON threads, counts and first visits to pages are answered in front of Flask
(blog/fastpath.py), exactly as the Flask views answer them: same status, body and headers,
304s, CORS, a session and CSRF token of the reader's own, and a new comment shows at once.
Anything else still reaches Flask.
"""
import re

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from blog.extensions import db
from blog.fastpath import FastPath
from blog.models import Post
from blog.moderation.spam import _signer
from tests.conftest import add_comments, csrf_from, login, post_comment

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


def test_a_lost_connection_sends_one_request_to_flask_then_is_replaced(app, client, post, flask_calls):
    """The fast path keeps a connection of its own per thread: when the server drops it, that
    request is Flask's (through the pool, which tests its connections) and the next connects again."""
    from sqlalchemy import text

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL ends a connection on request")
    add_comments(app, post, 2)
    url = THREAD.format(post)
    client.get(url)
    assert client.get(url).status_code == 200 and len(flask_calls) == 1
    fast = app.wsgi_app.app if isinstance(app.wsgi_app, ProxyFix) else app.wsgi_app
    pid = fast.reads.local.connection.dbapi_connection.info.backend_pid
    with app.app_context():
        assert db.session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        db.session.commit()
    assert client.get(url).get_json()["count"] == 2 and len(flask_calls) == 2
    assert client.get(url).get_json()["count"] == 2 and len(flask_calls) == 2
    assert fast.reads.local.connection.dbapi_connection.info.backend_pid != pid


@pytest.mark.parametrize("config_overrides", [{"PAGE_CACHE": False}], indirect=True)
def test_no_fast_path_without_a_cache(app, client, post):
    assert not isinstance(app.wsgi_app, FastPath)
    assert client.get(THREAD.format(post)).status_code == 200



# --- pages ----------------------------------------------------------------

PAGE = "/{}/"
STAMP = re.compile(r'name="comment_ts" value="([^"]+)"')
COOKIE = re.compile(r"blog_session=([^;]+)")


def first_visit(app, url, headers=None):
    """A reader with no cookie of ours yet (a new client each time)."""
    client = app.test_client()
    return client, client.get(url, headers=send_cookies(headers or {}, client))


def mine(app, res) -> tuple[str, str, str]:
    """(the session's raw CSRF token, the page's signed token, its stamp), checked as Flask checks them."""
    cookie = COOKIE.search(res.headers["Set-Cookie"])[1]
    with app.test_request_context():
        session = app.session_interface.get_signing_serializer(app).loads(cookie)
        html = res.get_data(as_text=True)
        token, stamp = csrf_from(html), STAMP.search(html)[1]
        _signer().unsign(stamp, max_age=60)
    assert session == {"csrf_token": session.get("csrf_token")}  # nothing else in a first visit's session
    return session["csrf_token"], token, stamp


def same_page(app, fast, slow):
    """The same answer but for what is the reader's own: token, stamp, cookie and the ETag tied to them."""
    assert fast.status == slow.status
    values = [mine(app, res) for res in (fast, slow)]
    assert values[0][0] != values[1][0]
    bodies = [res.data for res in (fast, slow)]
    for i, (raw, token, stamp) in enumerate(values):
        bodies[i] = bodies[i].replace(token.encode(), b"TOKEN").replace(stamp.encode(), b"STAMP")
    assert bodies[0] == bodies[1]

    def headers(res):
        return [(name, COOKIE.sub("blog_session=X", value) if name == "Set-Cookie" else value)
                for name, value in res.headers.to_wsgi_list() if name != "ETag"]

    assert headers(fast) == headers(slow)


@pytest.mark.parametrize("url", [PAGE, PAGE + "?cpage=2"])
@pytest.mark.parametrize("config_overrides, headers", [
    ({}, {}),
    ({"RATELIMIT_ENABLED": True}, {}),
    ({"SESSION_COOKIE_SECURE": True, "PREFERRED_URL_SCHEME": "https", "GRAVATAR": True}, {"Cookie": "theme=dark"}),
    ({"TRUSTED_PROXIES": 1}, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "blog.example",
                              "X-Forwarded-For": "203.0.113.9"}),
], indirect=["config_overrides"])
def test_a_first_visit_to_a_cached_page_is_answered_as_flask_does(app, post, flask_calls, through_flask, url,
                                                                   headers, config_overrides):
    app.config["COMMENTS_PER_PAGE"] = 3
    add_comments(app, post, 7)
    url = url.format(post)
    _, miss = first_visit(app, url, headers)  # Flask renders the shared page into the cache
    assert miss.status_code == 200 and len(flask_calls) == 1
    reader, hit = first_visit(app, url, headers)
    assert len(flask_calls) == 1, "the hit reached Flask"
    # As Flask's test client does, the scheme is PREFERRED_URL_SCHEME's.
    slow = through_flask.get(url, headers=send_cookies(headers, through_flask),
                             base_url=f"{app.config['PREFERRED_URL_SCHEME']}://localhost")
    assert len(flask_calls) == 2
    same_page(app, hit, slow)
    same_page(app, hit, miss)
    if "X-Forwarded-Host" in headers:
        assert "https%3A//blog.example/" in hit.get_data(as_text=True)  # share links: the forwarded host
    # The ETag is the one Flask gives this reader's session: their next visit is a 304.
    again = reader.get(url, headers={**send_cookies(headers, reader), "If-None-Match": hit.headers["ETag"]})
    assert again.status_code == 304 and len(flask_calls) == 3
    # And their token and stamp post a comment.
    _, token, stamp = mine(app, hit)
    form = {"author": "Reader", "email": "reader@example.org", "comment": "From a first visit",
            "comment_parent": "0", "csrf_token": token, "comment_ts": stamp}
    origin = "https://blog.example" if "X-Forwarded-Host" in headers else f"{app.config['PREFERRED_URL_SCHEME']}://localhost"
    sent = {**send_cookies(headers, reader), "Referer": f"{origin}/{post}/"}  # Flask-WTF wants it over https
    assert reader.post(f"/{post}/comments", data=form, headers=sent).status_code == 303


def test_each_first_visit_gets_its_own_session_and_a_fresh_stamp(app, post, flask_calls):
    add_comments(app, post, 2)
    first_visit(app, PAGE.format(post))
    (one, first), (two, second) = first_visit(app, PAGE.format(post)), first_visit(app, PAGE.format(post))
    assert len(flask_calls) == 1
    (raw1, token1, _), (raw2, token2, _) = mine(app, first), mine(app, second)
    assert raw1 != raw2 and token1 != token2 and b"slot" not in second.data
    form = {"author": "Reader", "email": "reader@example.org", "comment": "Whose token?", "comment_parent": "0"}
    assert two.post(f"/{post}/comments", data={**form, "csrf_token": token1}).status_code == 400
    assert two.post(f"/{post}/comments", data={**form, "csrf_token": token2}).status_code == 303


def test_a_page_never_shows_an_old_thread_or_old_settings(app, post, flask_calls):
    add_comments(app, post, 2)
    first_visit(app, PAGE.format(post))
    writer = app.test_client()
    login(writer, "author@example.com")
    assert post_comment(writer, post, comment="Fresh from the author").status_code == 303
    assert b"Fresh from the author" in first_visit(app, PAGE.format(post))[1].data
    # A setting saved for the site changes the page at once: sign-in required hides the form.
    from blog.models import SiteSetting

    with app.app_context():
        db.session.add(SiteSetting(name="COMMENT_REGISTRATION", value=True))
        db.session.commit()
    calls = len(flask_calls)
    page = first_visit(app, PAGE.format(post))[1].get_data(as_text=True)
    assert len(flask_calls) == calls + 1  # a miss: another key
    assert 'name="comment"' not in page and 'name="comment"' not in first_visit(app, PAGE.format(post))[1].get_data(
        as_text=True)
    assert len(flask_calls) == calls + 1


@pytest.mark.parametrize("url, headers, status", [
    (PAGE, {"Cookie": "blog_session=anything"}, 200),
    (PAGE, {"Cookie": "remember_token=anything"}, 200),
    (PAGE + "?replytocom=1", {}, 200),
    (PAGE + "?cpage=x", {}, 200),
    (PAGE + "?cpage=2&utm_source=x", {}, 200),
    (PAGE + "?cpage=%32", {}, 200),
    ("/no-such-post/", {}, 404),
    ("/{}", {}, 308),
])
def test_anything_else_on_a_page_reaches_flask(app, post, flask_calls, url, headers, status):
    app.config["COMMENTS_PER_PAGE"] = 3
    add_comments(app, post, 5)
    for u in (PAGE, PAGE + "?cpage=2"):
        first_visit(app, u.format(post))
    calls = len(flask_calls)
    res = first_visit(app, url.format(post), headers)[1]
    assert res.status_code == status and len(flask_calls) == calls + 1


def test_a_post_named_like_a_route_is_not_served_there(app, post, flask_calls):
    with app.app_context():
        db.session.get(Post, 1).slug = "moderation"
        db.session.commit()
    add_comments(app, "moderation", 1)
    first_visit(app, "/moderation/")
    res = first_visit(app, "/moderation/")[1]
    assert res.status_code in (302, 401, 403) and len(flask_calls) == 2
