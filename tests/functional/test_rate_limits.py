"""Rate limits (Flask-Limiter) on posting comments and signing in: a clear 429 that keeps what was typed."""
import re

import pytest
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Comment
from tests.conftest import csrf_from, post_comment

LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
           "COMMENT_LIMIT_PER_IP": "2/minute", "LOGIN_LIMIT_PER_IP": "2/minute"}


@pytest.fixture
def config_overrides(request) -> dict:
    return {**LIMITED, **getattr(request, "param", {})}


def textarea(html: str) -> str:
    return re.search(r'<textarea id="comment"[^>]*>(.*?)</textarea>', html, re.S).group(1)


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


def test_comment_over_the_limit_gets_429_with_the_text_kept(app, client, post):
    assert post_comment(client, post, comment="one").status_code == 303
    assert post_comment(client, post, comment="two").status_code == 303
    res = post_comment(client, post, comment="three <b>keeps</b> & every\nline", author="Ann", email="ann@example.org")
    assert res.status_code == 429
    assert int(res.headers["Retry-After"]) > 0
    html = res.get_data(as_text=True)
    assert "You are sending this form too often" in html
    assert textarea(html) == "three &lt;b&gt;keeps&lt;/b&gt; &amp; every\nline"
    assert 'value="Ann"' in html and 'value="ann@example.org"' in html
    assert 'id="commentform"' in html and csrf_from(html)
    assert count(app) == 2


def test_limit_counts_posts_only_and_per_client_address(app, client, post):
    for _ in range(5):
        assert client.get(f"/{post}/").status_code == 200
    post_comment(client, post, comment="one")
    post_comment(client, post, comment="two")
    assert post_comment(client, post, comment="three").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert post_comment(other, post, comment="from elsewhere", email="other@example.org").status_code == 303


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_behind_a_trusted_proxy_the_forwarded_address_counts(app, post):
    clients = []
    for addr in ("198.51.100.1", "198.51.100.2"):
        c = app.test_client()
        c.environ_base["HTTP_X_FORWARDED_FOR"] = addr
        clients.append(c)
    for i in range(2):
        for n, c in enumerate(clients):
            assert post_comment(c, post, comment=f"c{n} {i}", email=f"c{n}@example.org").status_code == 303
    assert post_comment(clients[0], post, comment="c0 again", email="c0@example.org").status_code == 429


def test_sign_in_over_the_limit_gets_429_keeping_the_email_not_the_password(app, client, make_user):
    make_user("sam@example.com")
    for _ in range(2):
        page = client.get("/login")
        res = client.post("/login", data={"email": "sam@example.com", "password": "wrong password",
                                          "csrf_token": csrf_from(page.get_data(as_text=True))})
        assert res.status_code == 422
    page = client.get("/login")
    res = client.post("/login", data={"email": "sam@example.com", "password": "correct horse battery",
                                      "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert res.status_code == 429 and "Retry-After" in res.headers
    html = res.get_data(as_text=True)
    assert 'value="sam@example.com"' in html and "correct horse battery" not in html
    assert 'action="/login"' in html and csrf_from(html)
    assert "Signed in as" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}], indirect=True)
def test_redis_unreachable_falls_back_to_counting_in_memory(app, client, post):
    assert post_comment(client, post, comment="one").status_code == 303
    assert post_comment(client, post, comment="two").status_code == 303
    assert post_comment(client, post, comment="three").status_code == 429


def form_post(client, path, **data):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


@pytest.mark.parametrize("config_overrides", [{"REGISTER_LIMIT_PER_IP": "1/minute"}], indirect=True)
def test_registration_over_the_limit_gets_429_keeping_name_and_email_not_the_password(client):
    first = form_post(client, "/register", name="Ann", email="ann@example.org", password="long enough secret")
    assert first.status_code < 400
    res = form_post(client, "/register", name="Bea “B” <b>", email="bea@example.org", password="another secret one")
    html = res.get_data(as_text=True)
    assert res.status_code == 429 and int(res.headers["Retry-After"]) > 0
    assert 'value="Bea “B” &lt;b&gt;"' in html and 'value="bea@example.org"' in html
    assert "another secret one" not in html and 'action="/register"' in html


@pytest.mark.parametrize("config_overrides", [{"RESET_LIMIT_PER_IP": "1/minute"}], indirect=True)
def test_password_reset_over_the_limit_gets_429_keeping_the_email(client):
    assert form_post(client, "/reset", email="ann@example.org").status_code == 200
    res = form_post(client, "/reset", email="bea@example.org")
    assert res.status_code == 429 and 'value="bea@example.org"' in res.get_data(as_text=True)
