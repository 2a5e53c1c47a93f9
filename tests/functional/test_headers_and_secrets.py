"""Security headers on every kind of response, HSTS over HTTPS, SECRET_KEY never a default,
and error pages that never show a traceback."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest
from flask import Flask

from blog import config, create_app
from tests import conftest
from tests.conftest import ROOT, csrf_from, post_comment

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/blog?connect_timeout=2"


def assert_secure_headers(res, what: str) -> None:
    csp = res.headers.get("Content-Security-Policy", "")
    directives = dict((d.split(" ", 1) + [""])[:2] for d in (p.strip() for p in csp.split(";")) if d)
    assert directives.get("default-src") == "'self'", (what, csp)
    assert directives.get("frame-ancestors") == "'none'", (what, csp)
    assert directives.get("object-src") == "'none'", (what, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
    assert not re.search(r"https?:|\*|data:", csp), (what, csp)  # no third-party origin
    assert res.headers.get("X-Content-Type-Options") == "nosniff", what
    assert res.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", what
    assert res.headers.get("X-Frame-Options") == "DENY", what


def assert_no_inline_script(html: str, what: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), what
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), what
    assert not re.search(r"\sstyle\s*=", html, re.I), what
    assert "javascript:" not in html.lower(), what


@pytest.fixture
def responses(app, client, demo, migrated):
    """One response of every kind the site sends, by name."""
    page = client.get(f"/{demo}/")
    token = csrf_from(page.get_data(as_text=True))
    avatar = re.search(r'src="(/avatars/[^"]+\.svg)"', page.get_data(as_text=True)).group(1)
    down = create_app(conftest.test_config(migrated, SQLALCHEMY_DATABASE_URI=UNREACHABLE))
    limited = create_app(conftest.test_config(migrated, RATELIMIT_ENABLED=True, COMMENT_LIMIT_PER_IP="0/minute"))
    limited_client = limited.test_client()
    limited_token = csrf_from(limited_client.get(f"/{demo}/").get_data(as_text=True))
    return {
        "index": client.get("/"),
        "post page": page,
        "login page": client.get("/login"),
        "register page": client.get("/register"),
        "reset page": client.get("/reset"),
        "account page (redirect to sign in)": client.get("/account"),
        "comment accepted (redirect)": post_comment(client, demo, comment="headers"),
        "comment refused (422)": client.post(f"/{demo}/comments", data={"csrf_token": token}),
        "csrf refused (400)": client.post(f"/{demo}/comments", data={"comment": "x"}),
        "not found (404)": client.get("/no-such-post/"),
        "wrong method (405)": client.put(f"/{demo}/"),
        "too large (413)": client.post(f"/{demo}/comments", data={
            "comment": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1), "csrf_token": token}),
        "rate limited (429)": limited_client.post(f"/{demo}/comments", data={"comment": "x", "csrf_token": limited_token}),
        "database down (503)": down.test_client().get("/"),
        "stylesheet": client.get("/static/style.css"),
        "script": client.get("/static/comment-reply.js"),
        "avatar": client.get(avatar),
        "logout (redirect)": client.post("/logout", data={"csrf_token": token}),
    }


def test_every_kind_of_response_carries_the_security_headers(responses):
    expected = {"comment accepted (redirect)": 303, "comment refused (422)": 422, "csrf refused (400)": 400,
                "not found (404)": 404, "wrong method (405)": 405, "too large (413)": 413,
                "rate limited (429)": 429, "database down (503)": 503, "logout (redirect)": 303,
                "account page (redirect to sign in)": 302}
    for what, res in responses.items():
        assert res.status_code == expected.get(what, 200), what
        assert_secure_headers(res, what)
        assert "Strict-Transport-Security" not in res.headers, what  # plain HTTP
        if res.mimetype == "text/html":
            assert_no_inline_script(res.get_data(as_text=True), what)
    assert responses["avatar"].mimetype == "image/svg+xml"
    assert "<script" not in responses["avatar"].get_data(as_text=True)


def test_error_pages_never_show_a_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    res = client.get("/boom")
    html = res.get_data(as_text=True)
    assert res.status_code == 500 and "Something went wrong on our side" in html
    assert "Traceback" not in html and "secret internals" not in html and "RuntimeError" not in html
    assert_secure_headers(res, "500")


def test_hsts_over_https_only(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    res = client.get("/", base_url="https://blog.example.com")
    assert res.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # Without a trusted proxy, a forwarded scheme is not believed.
    assert "Strict-Transport-Security" not in client.get("/", headers={"X-Forwarded-Proto": "https"}).headers


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_hsts_behind_a_trusted_tls_proxy(client):
    res = client.get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "max-age=31536000" in res.headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.mark.parametrize("config_overrides", [{"PREFERRED_URL_SCHEME": "https"}], indirect=True)
def test_https_by_configuration_sends_hsts_and_secure_cookies(client, post):
    res = client.get(f"/{post}/")
    assert "max-age=31536000" in res.headers["Strict-Transport-Security"]
    cookie = res.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def bare_app(tmp_path) -> Flask:
    return Flask("probe", instance_path=str(tmp_path / "instance"))


def test_development_secret_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("BLOG_ENV", "development")
    first = bare_app(tmp_path)
    config.load(first, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = tmp_path / "instance" / "secret_key"
    assert len(first.config["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = bare_app(tmp_path)
    config.load(second, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"] == key_file.read_text().strip()
    elsewhere = tmp_path / "other"
    third = Flask("probe", instance_path=str(elsewhere))
    config.load(third, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert third.config["SECRET_KEY"] != first.config["SECRET_KEY"]


def test_production_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("BLOG_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        config.load(bare_app(tmp_path), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize("argv0, env, production", [
    ("/srv/.venv/bin/gunicorn", None, True),
    ("/srv/.venv/bin/gunicorn", "development", False),
    ("/srv/.venv/bin/flask", None, False),
    ("/srv/.venv/bin/flask", "production", True),
])
def test_gunicorn_means_production_unless_blog_env_says_otherwise(monkeypatch, argv0, env, production):
    monkeypatch.setattr(sys, "argv", [argv0])
    if env:
        monkeypatch.setenv("BLOG_ENV", env)
    else:
        monkeypatch.delenv("BLOG_ENV", raising=False)
    assert config.is_production() is production


def test_the_real_entry_point_refuses_to_start_in_production_without_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY",) and not k.startswith("BLOG_")}
    env.update(BLOG_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr
