"""The database down or locked: a 503 with Retry-After that keeps the comment as typed, never a 500."""
import re
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from blog import create_app
from blog.extensions import db
from blog.models import Comment
from tests import conftest
from tests.conftest import csrf_from, login

# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/blog?connect_timeout=2"
TYPED = {"comment": "Still here <i>after</i> the outage\nsecond line", "author": "Ann",
         "email": "ann@example.org", "url": "https://ann.example.org"}


def textarea(html: str) -> str:
    return re.search(r'<textarea id="comment"[^>]*>(.*?)</textarea>', html, re.S).group(1)


def assert_form_kept(res):
    assert res.status_code == 503
    assert res.headers["Retry-After"] == "30"
    html = res.get_data(as_text=True)
    assert "We could not save your comment just now" in html
    assert textarea(html) == "Still here &lt;i&gt;after&lt;/i&gt; the outage\nsecond line"
    assert 'value="Ann"' in html and 'value="ann@example.org"' in html and 'value="https://ann.example.org"' in html
    assert 'id="commentform"' in html and csrf_from(html)
    assert "Traceback" not in html and "OperationalError" not in html
    return html


@pytest.fixture
def down_client(app, client, migrated):
    """A client whose session (and CSRF token) came from the working site, now talking to one whose database is gone."""
    down = create_app(conftest.test_config(migrated, SQLALCHEMY_DATABASE_URI=UNREACHABLE))
    c = down.test_client()

    def carry_over():
        cookie = client.get_cookie("blog_session")
        if cookie is not None:
            c.set_cookie("blog_session", cookie.value)
        return c

    return carry_over


def test_database_down_while_writing_gives_503_with_the_comment_kept(client, post, down_client):
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    res = down_client().post(f"/{post}/comments", data={**TYPED, "csrf_token": token})
    html = assert_form_kept(res)
    # The form posts to the same place: sending it again once the database is back works.
    assert f'action="/{post}/comments' in html
    again = client.post(f"/{post}/comments", data={**TYPED, "csrf_token": csrf_from(html)})
    assert again.status_code == 303


def test_database_down_for_a_signed_in_reader_is_a_503_not_a_500(client, post, make_user, down_client):
    make_user("sam@example.com", "Sam")
    login(client, "sam@example.com")
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    res = down_client().post(f"/{post}/comments", data={"comment": "signed-in text", "csrf_token": token})
    assert res.status_code == 503 and "signed-in text" in res.get_data(as_text=True)


def test_database_down_on_any_page_gives_a_503_page(client, post, down_client):
    c = down_client()
    for url in ("/", f"/{post}/"):
        res = c.get(url)
        assert (res.status_code, res.headers.get("Retry-After")) == (503, "30"), url
        assert "The site is busy" in res.get_data(as_text=True)


def test_sign_in_with_database_down_keeps_the_email(client, down_client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    res = down_client().post("/login", data={"email": "sam@example.com", "password": "secret words",
                                             "csrf_token": token})
    html = res.get_data(as_text=True)
    assert res.status_code == 503 and 'value="sam@example.com"' in html and "secret words" not in html


@pytest.mark.parametrize("config_overrides", [{"DATABASE_LOCK_TIMEOUT_MS": 300}], indirect=True)
def test_database_locked_by_another_writer_gives_503_then_works(app, client, post, migrated):
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    release = threading.Event()
    locked = threading.Event()

    def hold_lock():
        if migrated.startswith("sqlite"):
            conn = sqlite3.connect(migrated.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(10)
            conn.execute("ROLLBACK")
            conn.close()
        else:
            engine = create_engine(migrated)
            with engine.connect() as conn:
                conn.execute(text("LOCK TABLE comments IN ACCESS EXCLUSIVE MODE"))
                locked.set()
                release.wait(10)
                conn.rollback()
            engine.dispose()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        res = client.post(f"/{post}/comments", data={**TYPED, "csrf_token": token})
        html = assert_form_kept(res)
    finally:
        release.set()
        holder.join()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
    assert client.post(f"/{post}/comments", data={**TYPED, "csrf_token": csrf_from(html)}).status_code == 303


def test_a_failing_side_effect_after_the_commit_does_not_fail_the_comment(app, client, post, caplog):
    from blog.signals import comment_changed

    def cache_purge_down(sender, **extra):
        raise OperationalError("UPDATE cache", {}, Exception("database is locked"))

    calls = []

    def notifier(sender, **extra):
        calls.append(extra["action"])

    comment_changed.connect(cache_purge_down)
    comment_changed.connect(notifier)
    try:
        token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
        res = client.post(f"/{post}/comments", data={**TYPED, "csrf_token": token})
    finally:
        comment_changed.disconnect(cache_purge_down)
        comment_changed.disconnect(notifier)
    assert res.status_code == 303
    assert calls == ["submit"]  # the other receivers still ran
    assert "a receiver of 'comment-changed' failed" in caplog.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 1


@pytest.mark.parametrize("config_overrides", [{"MAIL_URL": "smtp://127.0.0.1:1"}], indirect=True)
def test_mail_server_down_fails_neither_the_request_nor_the_mail(app, client):
    from datetime import datetime, timezone

    from blog.mail.delivery import deliver_due
    from blog.models import OutboxMessage

    page = client.get("/register")
    res = client.post("/register", data={"name": "Ann", "email": "ann@example.org", "password": "long enough secret",
                                         "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert res.status_code < 400  # the account is made; the confirmation waits in the outbox
    with app.app_context():
        assert deliver_due(datetime.now(timezone.utc)) == (0, 1)  # SMTP refused
        [row] = db.session.scalars(select(OutboxMessage)).all()
        assert (row.to_addr, row.status, row.attempts) == ("ann@example.org", "queued", 1)
        assert row.last_error and row.next_attempt_at > datetime.now(timezone.utc)  # kept for a retry
