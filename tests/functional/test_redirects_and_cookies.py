"""`next` through the real routes, cookie flags, and ProxyFix only when TRUSTED_PROXIES says so."""
from __future__ import annotations

import pytest

from tests.conftest import csrf_from

HOSTILE = ["//evil.example", "/\\evil.example", "https://evil.example", "http://evil.example/", "/\\/evil.example"]


@pytest.mark.parametrize("target", HOSTILE)
def test_login_next_refuses_other_sites(client, make_user, target):
    make_user("reader@example.com", "Reader")
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert "evil.example" not in page
    # Even when posted directly, the hidden field is checked again.
    response = client.post("/login", data={"email": "reader@example.com", "password": "correct horse battery",
                                           "next": target, "csrf_token": csrf_from(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE)
def test_logout_next_refuses_other_sites(client, make_user, target):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/logout", data={"next": target, "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/"


def test_login_next_keeps_a_same_site_path(client, make_user):
    make_user("reader@example.com", "Reader")
    page = client.get("/login", query_string={"next": "/hello-world/#respond"}).get_data(as_text=True)
    response = client.post("/login", data={"email": "reader@example.com", "password": "correct horse battery",
                                           "next": "/hello-world/#respond", "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/hello-world/#respond"


def test_cookies_are_httponly_lax_and_not_secure_over_http(client, make_user):
    make_user("reader@example.com", "Reader")
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": "reader@example.com", "password": "correct horse battery",
                                "remember": "y", "csrf_token": csrf_from(page)})
    for name in ("blog_session", "remember_token"):
        cookie = client.get_cookie(name)
        assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure, name


@pytest.mark.parametrize("config_overrides", [{"PREFERRED_URL_SCHEME": "https"}], indirect=True)
def test_cookies_are_secure_when_served_over_https(client, make_user):
    make_user("reader@example.com", "Reader")
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"}, data={
        "email": "reader@example.com", "password": "correct horse battery", "remember": "y",
        "csrf_token": csrf_from(page)})
    assert response.status_code == 303
    for name in ("blog_session", "remember_token"):
        cookie = client.get_cookie(name)
        assert cookie.secure and cookie.http_only and cookie.same_site == "Lax", name


def _seen_address(app, client, headers):
    @app.get("/_test/ip")
    def ip():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    return client.get("/_test/ip", headers=headers, environ_base={"REMOTE_ADDR": "10.9.9.9"}).get_data(as_text=True)


def test_forwarded_headers_are_ignored_without_trusted_proxies(app, client):
    seen = _seen_address(app, client, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == "10.9.9.9 http"


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_forwarded_headers_are_used_with_one_trusted_proxy(app, client):
    seen = _seen_address(app, client, {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == "203.0.113.7 https"  # only the last hop, added by our proxy, is believed
