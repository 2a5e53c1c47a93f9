"""Signing in through a real OpenID Connect provider (oidc-provider on 127.0.0.1), with the test client.

The reader's side at the provider (login and consent pages) is driven with plain HTTP.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, Identity, User
from tests.conftest import csrf_from, login, post_comment
from tests.servers import drive_provider

CALLBACK = "http://localhost/auth/oidc/callback"


@pytest.fixture
def config_overrides(oidc_provider, request):
    return oidc_provider.config(**getattr(request, "param", {}))


def start(client, slug: str | None, **fields):
    """Click the provider button under the comment form (a POST carrying what was typed)."""
    page = client.get(f"/{slug}/" if slug else "/login")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), **fields}
    if slug:
        data["post"] = slug
    response = client.post("/auth/oidc/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def finish(client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, slug, login_name="alice", **fields):
    authorize = start(client, slug, **fields)
    return finish(client, drive_provider(authorize, CALLBACK, login=login_name))


def test_authorize_request_uses_pkce_s256_state_and_nonce(client, post):
    query = parse_qs(urlsplit(start(client, post)).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [CALLBACK]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}


def test_first_sign_in_creates_a_user_and_keeps_the_comment(app, client, post):
    response = sign_in(client, post, comment="Typed before signing in", comment_parent="0")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/{post}/#respond"
    page = client.get(f"/{post}/").get_data(as_text=True)
    assert "You are commenting using your Test OpenID account." in page
    assert "Alice Tester" in page
    assert "Typed before signing in</textarea>" in page
    assert 'name="author"' not in page  # guest fields hidden
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert (identity.provider, identity.subject, identity.email) == ("oidc", "alice", "alice@oidc.example")
        assert identity.email_verified is True and identity.avatar_url.endswith("/avatar/alice.svg")
        assert identity.user.display_name == "Alice Tester"
        assert identity.user.email is None  # never merged by address


def test_the_comment_records_user_and_identity(app, client, post):
    sign_in(client, post)
    response = post_comment(client, post, comment="Signed in through the provider", author=None, email=None)
    assert response.status_code == 303
    with app.app_context():
        comment = db.session.scalar(select(Comment))
        identity = db.session.scalar(select(Identity))
        assert comment.identity_id == identity.id and comment.user_id == identity.user_id
        assert comment.author_name == "Alice Tester"


def test_second_sign_in_finds_the_same_user(app, client, post):
    sign_in(client, post)
    client.post("/logout", data={"csrf_token": csrf_from(client.get(f"/{post}/").get_data(as_text=True))})
    sign_in(client, post)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User).where(User.role == "reader")) == 1
        assert db.session.scalar(select(db.func.count()).select_from(Identity)) == 1


def test_an_identity_with_a_known_email_is_not_merged(app, client, post, make_user):
    make_user("alice@oidc.example", "Local Alice")
    sign_in(client, post)
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert identity.user.email is None and identity.user.display_name == "Alice Tester"


def test_link_and_unlink_on_the_account_page(app, client, post, make_user):
    make_user("local@example.com", "Local")
    login(client, "local@example.com")
    page = client.get("/account").get_data(as_text=True)
    assert "Link Test OpenID" in page
    authorize = client.post("/auth/oidc/login", data={"csrf_token": csrf_from(page), "link": "1"}).headers["Location"]
    response = finish(client, drive_provider(authorize, CALLBACK, login="bob"))
    assert response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "Your Test OpenID account is linked." in page and "Bob Tester" in page
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert identity.user.email == "local@example.com"
        identity_id = identity.id
    response = client.post(f"/account/identities/{identity_id}/unlink", data={"csrf_token": csrf_from(page)},
                           follow_redirects=True)
    assert "is unlinked" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Identity)) is None


def test_the_last_way_in_cannot_be_unlinked(app, client, post):
    sign_in(client, post)
    page = client.get("/account").get_data(as_text=True)
    assert "your only way to sign in" in page
    with app.app_context():
        identity_id = db.session.scalar(select(Identity.id))
    response = client.post(f"/account/identities/{identity_id}/unlink", data={"csrf_token": csrf_from(page)},
                           follow_redirects=True)
    assert "This is your only way to sign in" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Identity, identity_id) is not None


def test_linking_an_identity_owned_by_someone_else_is_refused(app, client, post, make_user):
    sign_in(client, post, login_name="carol")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
    make_user("local@example.com", "Local")
    login(client, "local@example.com")
    page = client.get("/account").get_data(as_text=True)
    authorize = client.post("/auth/oidc/login", data={"csrf_token": csrf_from(page), "link": "1"}).headers["Location"]
    response = finish(client, drive_provider(authorize, CALLBACK, login="carol"))
    assert "already linked to another user" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_denied_consent_returns_to_the_post_with_the_text(app, client, post, caplog):
    authorize = start(client, post, comment="Keep me please", author="Guest", email="g@example.org")
    with caplog.at_level(logging.INFO, logger="blog.accounts.oauth_views"):
        response = finish(client, drive_provider(authorize, CALLBACK, consent=False))
    assert response.status_code == 303 and response.headers["Location"] == f"/{post}/#respond"
    page = client.get(f"/{post}/").get_data(as_text=True)
    assert "You did not allow signing in with Test OpenID." in page
    assert "Keep me please</textarea>" in page and 'value="Guest"' in page
    assert "declined" in caplog.text
    with app.app_context():
        assert db.session.scalar(select(Identity)) is None


def test_tampered_state_is_refused_and_the_text_kept(app, client, post, caplog):
    authorize = start(client, post, comment="Still here")
    callback = drive_provider(authorize, CALLBACK)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with caplog.at_level(logging.WARNING):
        response = finish(client, callback.replace(f"state={state}", "state=forged" + state[6:]))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "did not complete" in page and "Still here</textarea>" in page
    assert "state missing or mismatched" in caplog.text
    with app.app_context():
        assert db.session.scalar(select(Identity)) is None


def test_a_replayed_callback_is_refused(app, client, post):
    authorize = start(client, post)
    callback = drive_provider(authorize, CALLBACK)
    finish(client, callback)
    response = finish(client, callback)
    assert response.status_code == 303
    assert "did not complete" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_an_expired_flow_is_refused(app, client, post):
    authorize = start(client, post, comment="Slow reader")
    callback = drive_provider(authorize, CALLBACK)
    with client.session_transaction() as session:  # what a session that lost its flow looks like
        for key in [k for k in session if k.startswith("_state_")]:
            del session[key]
    response = finish(client, callback)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "the sign-in expired" in page and "Slow reader</textarea>" in page


def test_unknown_provider_is_404(client):
    assert client.get("/auth/nope/login").status_code == 404
    assert client.get("/auth/nope/callback?code=x&state=y").status_code == 404


def test_a_reply_comes_back_as_a_reply(app, client, post):
    from tests.conftest import add_comments

    [parent] = add_comments(app, post, 1)
    response = sign_in(client, post, comment="My reply", comment_parent=str(parent))
    assert response.headers["Location"] == f"/{post}/?replytocom={parent}#respond"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Reply to Reader 0" in page and f'name="comment_parent" id="comment_parent" value="{parent}"' in page
    assert "My reply</textarea>" in page


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example"])
def test_next_of_the_provider_login_stays_on_site(client, post, target):
    authorize = client.get("/auth/oidc/login", query_string={"next": target}).headers["Location"]
    response = finish(client, drive_provider(authorize, CALLBACK))
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_stale_csrf_token_on_the_provider_button_keeps_the_text(app, client, post):
    client.get(f"/{post}/")
    response = client.post("/auth/oidc/login", data={"csrf_token": "stale", "post": post, "comment": "Do not lose me"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Do not lose me</textarea>" in page and "session expired" in page


def test_the_post_page_allows_the_provider_in_form_action(client, post, oidc_provider):
    csp = client.get(f"/{post}/").headers["Content-Security-Policy"]
    assert f"form-action 'self' {oidc_provider.issuer}" in csp


def test_a_long_comment_survives_the_round_trip(client, post):
    text = "Long thought. " * 4600  # about 64 KB: more than a cookie could carry
    sign_in(client, post, comment=text.strip())
    assert f"{text.strip()}</textarea>" in client.get(f"/{post}/").get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?code=x", "?state=", "?code=x&state=y", "?error=access_denied",
                                   "?error=server_error&error_description=%3Cscript%3E", "?code[]=x&state[]=y"])
def test_hostile_callbacks_go_back_with_a_message(client, query):
    response = client.get(f"/auth/oidc/callback{query}")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Test OpenID" in page and "<script>" not in page
