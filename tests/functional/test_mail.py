"""The outbox delivered over real SMTP (aiosmtpd): parts, headers, retries with backoff, giving up, no MAIL_URL."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.mail import queue_mail, unsubscribe_headers
from blog.mail.delivery import deliver_due, parse_mail_url
from blog.models import OutboxMessage
from tests.servers import free_port


def queue(app, **kw):
    with app.app_context():
        message = queue_mail(kw.pop("to", "reader@example.org"), kw.pop("subject", "Hello"), "Plain body",
                             kw.pop("html", "<p>HTML body</p>"), **kw)
        db.session.commit()
        return message.id


def row(app, message_id):
    with app.app_context():
        return db.session.get(OutboxMessage, message_id)


@pytest.mark.parametrize("config_overrides", [{"MAIL_FROM": "Blog <blog@example.net>"}], indirect=True)
def test_delivers_text_and_html_with_list_unsubscribe(app, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url()
    mid = queue(app, headers=unsubscribe_headers("https://blog.example/unsubscribe/abc"), kind="reply")
    with app.app_context():
        assert deliver_due() == (1, 0)
    [mail] = smtp_server.wait_for(1)
    assert mail["From"] == "Blog <blog@example.net>" and mail["To"] == "reader@example.org"
    assert mail.get_body(("plain",)).get_content().strip() == "Plain body"
    assert mail.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"
    assert mail["List-Unsubscribe"] == "<https://blog.example/unsubscribe/abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sent = row(app, mid)
    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at is not None


def test_without_mail_url_mail_is_logged(app, caplog):
    mid = queue(app)
    with caplog.at_level(logging.INFO, logger="blog.mail.delivery"), app.app_context():
        assert deliver_due() == (1, 0)
    assert "Plain body" in caplog.text and "reader@example.org" in caplog.text
    assert row(app, mid).status == "sent"


def test_retries_with_backoff_then_fails_keeping_the_last_error(app, smtp_server):
    app.config.update(MAIL_URL=f"smtp://127.0.0.1:{free_port()}", MAIL_MAX_ATTEMPTS=3, MAIL_BACKOFF_SECONDS=60)
    mid = queue(app)
    now = datetime.now(timezone.utc)
    with app.app_context():
        assert deliver_due(now) == (0, 1)
        assert deliver_due(now) == (0, 0)  # not due yet
    first = row(app, mid)
    assert first.status == "queued" and first.attempts == 1
    assert first.next_attempt_at - now == timedelta(seconds=60)
    assert "ConnectionRefusedError" in first.last_error
    with app.app_context():
        deliver_due(now + timedelta(seconds=61))
    assert row(app, mid).next_attempt_at - (now + timedelta(seconds=61)) == timedelta(seconds=120)
    with app.app_context():
        deliver_due(now + timedelta(hours=1))
    failed = row(app, mid)
    assert failed.status == "failed" and failed.attempts == 3 and failed.last_error
    # The server comes back: a queued message goes out; the failed one stays failed.
    app.config["MAIL_URL"] = smtp_server.url()
    other = queue(app, subject="Later")
    with app.app_context():
        assert deliver_due(now + timedelta(hours=2)) == (1, 0)
    assert [m["Subject"] for m in smtp_server.wait_for(1)] == ["Later"]
    assert row(app, other).status == "sent" and row(app, mid).status == "failed"


def test_wrong_smtp_password_is_a_failed_attempt(app, smtp_server):
    app.config.update(MAIL_URL=f"smtp://mailer:wrong@127.0.0.1:{smtp_server.port}", MAIL_TIMEOUT=2)
    mid = queue(app)
    with app.app_context():
        assert deliver_due() == (0, 1)
    kept = row(app, mid)
    assert kept.status == "queued" and kept.last_error.startswith("SMTP")
    assert smtp_server.logins[0] == (b"mailer", False) and smtp_server.messages == []


def test_worker_command_once(app, runner, smtp_server):
    app.config["MAIL_URL"] = smtp_server.url(auth=False)
    queue(app, to="a@example.org")
    queue(app, to="b@example.org")
    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == ["a@example.org", "b@example.org"]
    with app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.status))) == {"sent"}


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://u:p%40ss@mail.example:587?starttls=1", ("mail.example", 587, False, True, "u", "p@ss")),
    ("smtps://mail.example", ("mail.example", 465, True, False, None, None)),
    ("smtp://localhost", ("localhost", 25, False, False, None, None)),
])
def test_parse_mail_url(url, expected):
    s = parse_mail_url(url)
    assert (s.host, s.port, s.tls, s.starttls, s.username, s.password) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_parse_mail_url_refuses_others(url):
    with pytest.raises(ValueError):
        parse_mail_url(url)


@pytest.mark.parametrize(("smtp_tls_server", "scheme", "query"), [
    ("starttls", "smtp", "?starttls=1"), ("smtps", "smtps", "")], indirect=["smtp_tls_server"])
def test_delivers_over_tls_with_auth(app, smtp_tls_server, tls_cert, scheme, query):
    app.config.update(MAIL_URL=f"{scheme}://mailer:s3cret@127.0.0.1:{smtp_tls_server.port}{query}",
                      MAIL_CA_FILE=tls_cert[0])
    mid = queue(app)
    with app.app_context():
        assert deliver_due() == (1, 0)
    assert smtp_tls_server.logins == [(b"mailer", True)]
    assert [m["Subject"] for m in smtp_tls_server.wait_for(1)] == ["Hello"]
    assert row(app, mid).status == "sent"


@pytest.mark.parametrize("smtp_tls_server", ["smtps"], indirect=True)
def test_an_untrusted_certificate_is_a_failed_attempt(app, smtp_tls_server):
    app.config.update(MAIL_URL=f"smtps://mailer:s3cret@127.0.0.1:{smtp_tls_server.port}", MAIL_TIMEOUT=3)
    mid = queue(app)
    with app.app_context():
        assert deliver_due() == (0, 1)
    assert "CERTIFICATE_VERIFY_FAILED" in row(app, mid).last_error
    assert smtp_tls_server.messages == []
