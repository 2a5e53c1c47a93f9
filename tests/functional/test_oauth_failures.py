"""A provider that is down, hangs or answers with a bad token: back to the post, text kept, never a 500."""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Identity
from tests.conftest import csrf_from
from tests.servers import CLIENT_ID, CLIENT_SECRET, free_port

TITLE = "Flaky ID"


def plain_oauth(token_base: str, **extra) -> dict:
    return {"OAUTH_PROVIDERS": "other", "OAUTH_OTHER_CLIENT_ID": CLIENT_ID, "OAUTH_OTHER_CLIENT_SECRET": CLIENT_SECRET,
            "OAUTH_OTHER_AUTHORIZE_URL": "https://id.invalid/authorize",
            "OAUTH_OTHER_ACCESS_TOKEN_URL": f"{token_base}/token",
            "OAUTH_OTHER_USERINFO_URL": f"{token_base}/userinfo", "OAUTH_OTHER_TITLE": TITLE,
            "OAUTH_TIMEOUT": 1, **extra}


def oidc(metadata_base: str) -> dict:
    return {"OAUTH_PROVIDERS": "other", "OAUTH_OTHER_CLIENT_ID": CLIENT_ID, "OAUTH_OTHER_CLIENT_SECRET": CLIENT_SECRET,
            "OAUTH_OTHER_SERVER_METADATA_URL": f"{metadata_base}/.well-known/openid-configuration",
            "OAUTH_OTHER_TITLE": TITLE, "OAUTH_TIMEOUT": 1}


@pytest.fixture
def make_client(migrated):
    from blog import create_app
    from tests.conftest import _empty_tables, test_config

    apps = []

    def make(config: dict):
        app = create_app(test_config(migrated, **config))
        with app.app_context():
            _empty_tables()
        apps.append(app)
        return app, app.test_client()

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def click_provider(client, slug, text="Words I typed"):
    page = client.get(f"/{slug}/")
    return client.post("/auth/other/login", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "post": slug, "comment": text,
        "author": "Guest", "email": "guest@example.org"})


def assert_back_with_text(client, response, message, text="Words I typed"):
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"].endswith("#respond")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in page
    assert f"{text}</textarea>" in page


def _post(app):
    from blog.accounts.service import create_user
    from blog.models import Post

    with app.app_context():
        author = create_user("author@example.com", "Winifred", "correct horse battery", "author")
        db.session.add(Post(slug="hello-world", title="Hello", body="<p>Body</p>", author_id=author.id))
        db.session.commit()


def test_provider_down_at_the_start(make_client, caplog):
    app, client = make_client(oidc(f"http://127.0.0.1:{free_port()}"))
    _post(app)
    with caplog.at_level(logging.WARNING):
        response = click_provider(client, "hello-world")
    assert_back_with_text(client, response, f"{TITLE} is not answering just now")
    assert "could not start sign-in: ConnectionError" in caplog.text


def test_provider_hanging_at_the_start_times_out(make_client, silent_server, caplog):
    app, client = make_client(oidc(silent_server))
    _post(app)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING):
        response = click_provider(client, "hello-world")
    assert time.monotonic() - began < 5
    assert_back_with_text(client, response, f"{TITLE} is not answering just now")
    assert "Timeout" in caplog.text


def callback_with_state(client, start_response, code="abc"):
    state = parse_qs(urlsplit(start_response.headers["Location"]).query)["state"][0]
    return client.get(f"/auth/other/callback?code={code}&state={state}")


def test_provider_down_at_the_callback(make_client, caplog):
    app, client = make_client(plain_oauth(f"http://127.0.0.1:{free_port()}"))
    _post(app)
    started = click_provider(client, "hello-world")
    assert started.status_code == 302 and started.headers["Location"].startswith("https://id.invalid/authorize?")
    with caplog.at_level(logging.WARNING):
        response = callback_with_state(client, started)
    assert_back_with_text(client, response, f"{TITLE} is not answering just now")
    assert "unreachable or failing" in caplog.text


def test_provider_hanging_at_the_callback_times_out(make_client, silent_server, caplog):
    app, client = make_client(plain_oauth(silent_server))
    _post(app)
    started = click_provider(client, "hello-world")
    began = time.monotonic()
    with caplog.at_level(logging.WARNING):
        response = callback_with_state(client, started)
    assert time.monotonic() - began < 5
    assert_back_with_text(client, response, f"{TITLE} took too long to answer")
    assert "timed out" in caplog.text


class BadTokenProvider(BaseHTTPRequestHandler):
    """Discovery and a token endpoint whose ID token is unsigned (alg none): must be refused."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_port}"
        body = {"/.well-known/openid-configuration": {
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"]},
            "/jwks": {"keys": []}, "/userinfo": {"sub": "mallory"}}.get(self.path)
        self._json(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json({"access_token": "at", "token_type": "Bearer",
                    "id_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0."} if self.path == "/token" else None)

    def _json(self, body):
        data = json.dumps(body).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def bad_token_provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), BadTokenProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_bad_id_token_is_refused(make_client, bad_token_provider, caplog):
    app, client = make_client(oidc(bad_token_provider))
    _post(app)
    started = click_provider(client, "hello-world")
    with caplog.at_level(logging.WARNING):
        response = callback_with_state(client, started)
    assert_back_with_text(client, response, "could not verify")
    assert "unusable answer" in caplog.text
    with app.app_context():
        assert db.session.scalar(select(Identity)) is None
