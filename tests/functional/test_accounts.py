"""Local accounts: registration, verification and reset mails received over real SMTP, links
working once and only once, answers that do not reveal who has an account, throttling."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.mail.delivery import deliver_due
from blog.models import OutboxMessage, User
from tests.conftest import csrf_from, login
from tests.servers import links_in


@pytest.fixture
def config_overrides(smtp_server, request):
    return {"MAIL_URL": smtp_server.url(), **getattr(request, "param", {})}


def deliver(app, smtp_server, count: int):
    with app.app_context():
        deliver_due()
    return smtp_server.wait_for(count)


def form_post(client, path, **data):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def register(client, email="new@example.com", name="Newcomer", password="a long passphrase"):
    return form_post(client, "/register", name=name, email=email, password=password)


def test_register_mails_a_link_that_verifies_once(app, client, smtp_server):
    response = register(client)
    assert response.status_code == 200
    assert "We have sent a message to new@example.com" in response.get_data(as_text=True)
    [mail] = deliver(app, smtp_server, 1)
    assert mail["To"] == "new@example.com" and mail["Subject"] == "Confirm your email address"
    assert mail.get_body(("html",)) is not None  # plain text and HTML parts
    assert smtp_server.logins == [(b"mailer", True)]
    [link] = links_in(mail)
    first = client.get(path_of(link))
    assert first.status_code == 303
    assert "Thanks, your email address is confirmed." in client.get(first.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "new@example.com")).email_verified_at is not None
    again = client.get(path_of(link))
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_a_new_confirmation_link_can_be_asked_for(app, client, smtp_server):
    register(client)
    login(client, "new@example.com", "a long passphrase")
    page = client.get("/account").get_data(as_text=True)
    assert "not confirmed yet" in page
    response = client.post("/account/verify", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "We have sent a new confirmation link" in response.get_data(as_text=True)
    mails = deliver(app, smtp_server, 2)
    [first], [second] = links_in(mails[0]), links_in(mails[1])
    assert client.get(path_of(second)).status_code == 303
    assert client.get(path_of(first)).status_code == 410  # confirmed once: every link is spent
    assert "(confirmed)" in client.get("/account").get_data(as_text=True)


def test_registration_answer_is_the_same_for_a_known_address(app, client, smtp_server, make_user):
    make_user("taken@example.com", "Owner")
    known = register(client, email="taken@example.com").get_data(as_text=True)
    unknown = register(client, email="free@example.com").get_data(as_text=True)
    assert known.replace("taken@", "X@").split('name="csrf_token"')[0] == unknown.replace("free@", "X@").split('name="csrf_token"')[0]
    mails = deliver(app, smtp_server, 2)
    by_to = {m["To"]: m for m in mails}
    assert by_to["taken@example.com"]["Subject"] == "You already have an account"
    assert by_to["free@example.com"]["Subject"] == "Confirm your email address"
    with app.app_context():
        assert db.session.scalar(select(User.display_name).where(User.email == "taken@example.com")) == "Owner"


@pytest.mark.parametrize(("fields", "error"), [
    ({"name": ""}, "Please enter your name."),
    ({"email": "not-an-address"}, "Please enter a valid email address."),
    ({"password": "short"}, "at least 8 characters"),
])
def test_registration_refuses_bad_fields_and_keeps_them(client, fields, error):
    data = {"name": "Newcomer", "email": "new@example.com", "password": "a long passphrase", **fields}
    response = form_post(client, "/register", **data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error in page
    if data["name"]:
        assert 'value="Newcomer"' in page


def test_password_reset_link_works_once(app, client, smtp_server, make_user):
    make_user("reader@example.com", "Reader")
    response = form_post(client, "/reset", email="reader@example.com")
    assert "If an account exists for reader@example.com" in response.get_data(as_text=True)
    [mail] = deliver(app, smtp_server, 1)
    [link] = links_in(mail)
    assert client.get(path_of(link)).status_code == 200
    done = client.post(path_of(link), data={"csrf_token": csrf_from(client.get(path_of(link)).get_data(as_text=True)),
                                             "password": "a brand new secret"})
    assert done.status_code == 303
    assert login(client, "reader@example.com", "a brand new secret").status_code == 303
    assert login(client, "reader@example.com").status_code == 422  # the old password is gone
    again = client.get(path_of(link))
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_reset_answer_is_the_same_for_an_unknown_address(app, client, make_user):
    make_user("reader@example.com", "Reader")
    known = form_post(client, "/reset", email="reader@example.com")
    unknown = form_post(client, "/reset", email="nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert (known.get_data(as_text=True).replace("reader@", "X@")
            == unknown.get_data(as_text=True).replace("nobody@", "X@"))
    with app.app_context():
        assert [m.to_addr for m in db.session.scalars(select(OutboxMessage))] == ["reader@example.com"]


def test_a_forged_or_expired_reset_link_is_refused(app, client, make_user):
    from blog.accounts.service import reset_token

    uid = make_user("reader@example.com", "Reader")
    assert client.get("/reset/forged-token").status_code == 410
    with app.app_context():
        app.config["PASSWORD_RESET_MAX_AGE"] = -1
        token = reset_token(db.session.get(User, uid))
    assert client.get(f"/reset/{token}").status_code == 410


def test_sign_in_answer_is_the_same_for_unknown_and_wrong_password(client, make_user):
    make_user("reader@example.com", "Reader")
    wrong = login(client, "reader@example.com", "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 422
    assert "The email address or password is incorrect." in wrong.get_data(as_text=True)
    assert (wrong.get_data(as_text=True).replace("reader@", "X@").split("csrf_token")[0]
            == unknown.get_data(as_text=True).replace("nobody@", "X@").split("csrf_token")[0])


def test_sign_in_rotates_the_session_and_remember_me_sets_a_cookie(client, make_user):
    make_user("reader@example.com", "Reader")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    page = client.get("/login")
    response = client.post("/login", data={"email": "reader@example.com", "password": "correct horse battery",
                                           "remember": "y", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"]
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_logout_is_post_only_with_csrf(client, make_user):
    make_user("reader@example.com", "Reader")
    login(client, "reader@example.com")
    assert client.get("/logout", follow_redirects=True).status_code in (404, 405)
    assert client.post("/logout", data={}).status_code == 400
    page = client.get("/account")
    assert page.status_code == 200  # still signed in
    client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert client.get("/account").status_code == 302


def test_change_password_on_the_account_page(client, make_user):
    make_user("reader@example.com", "Reader")
    login(client, "reader@example.com")
    wrong = form_post(client, "/account", current_password="nope", new_password="another long one")
    assert wrong.status_code == 422 and "current password is not correct" in wrong.get_data(as_text=True)
    ok = form_post(client, "/account", current_password="correct horse battery", new_password="another long one")
    assert ok.status_code == 303
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
    assert login(client, "reader@example.com", "another long one").status_code == 303


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_ENABLED": True}], indirect=True)
def test_sign_in_is_throttled_per_account(client, make_user):
    make_user("reader@example.com", "Reader")
    codes = [login(client, "reader@example.com", f"guess {i}").status_code for i in range(6)]
    assert codes == [422] * 5 + [429]
    # The right password is refused too while the account is throttled; another account is not.
    assert login(client, "reader@example.com").status_code == 429
    assert login(client, "other@example.com", "guess").status_code == 422


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_ENABLED": True, "LOGIN_LIMIT_PER_ACCOUNT": "100/minute",
                                               "LOGIN_LIMIT_PER_IP": "3/minute"}], indirect=True)
def test_sign_in_is_throttled_per_address(client):
    codes = [login(client, f"user{i}@example.com", "guess").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_ENABLED": True}], indirect=True)
def test_reset_is_throttled_per_account(client, make_user):
    make_user("reader@example.com", "Reader")
    codes = [form_post(client, "/reset", email="reader@example.com").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_throttling_is_shared_across_workers_through_redis(migrated, make_user):
    """Two app instances (two gunicorn workers) count failed sign-ins in one Redis."""
    import os
    import uuid

    from blog import create_app
    from tests.conftest import test_config

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15; .ci/run does) to test shared limits")
    make_user("reader@example.com", "Reader")
    shared = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url,
              "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", "LOGIN_LIMIT_PER_ACCOUNT": "3/minute"}
    apps = [create_app(test_config(migrated, **shared)) for _ in range(2)]
    workers = [a.test_client() for a in apps]
    codes = [login(workers[i % 2], "reader@example.com", "wrong password").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]
    for a in apps:
        with a.app_context():
            db.engine.dispose()
