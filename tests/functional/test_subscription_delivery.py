"""Subscription mail over real SMTP (aiosmtpd on 127.0.0.1): an outage, retries, delivered exactly once."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from blog.mail.delivery import deliver_due
from tests.conftest import csrf_from, post_comment
from tests.functional.test_subscriptions import last_comment_id, moderate
from tests.servers import free_port, links_in


def deliver(app, minutes: int = 0) -> tuple[int, int]:
    with app.app_context():
        return deliver_due(datetime.now(timezone.utc) + timedelta(minutes=minutes))


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# Only the subscriber's mail here: the author's held-comment mail has its own tests.
@pytest.mark.parametrize("config_overrides", [{"MODERATION_NOTIFY_HELD": False}], indirect=True)
def test_subscription_mail_survives_an_smtp_outage_and_arrives_once(app, client, post, smtp_server):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there: the outage
    post_comment(client, post, author="Ann", email="ann@example.org", comment="My thoughts",
                 subscribe_replies="y")
    parent = last_comment_id(app)
    assert deliver(app) == (0, 1)
    app.config["MAIL_URL"] = smtp_server.url()
    assert deliver(app) == (0, 0)  # backing off: not due yet
    assert deliver(app, minutes=5) == (1, 0)
    assert deliver(app, minutes=60) == (0, 0)
    [confirmation] = smtp_server.wait_for(1)
    assert confirmation["To"] == "ann@example.org" and "List-Unsubscribe" not in confirmation

    # Ann follows the link in the mail she really received.
    [confirm_url] = [u for u in links_in(confirmation) if "/subscriptions/confirm/" in u]
    page = client.get(path_of(confirm_url))
    assert client.post(path_of(confirm_url), data={"csrf_token": csrf_from(page.get_data(as_text=True))}).status_code == 303

    moderate(app, parent, "approve")
    post_comment(app.test_client(), post, author="Bob", email="bob@example.org", comment_parent=str(parent),
                 comment="A <b>bold</b> reply")
    reply = last_comment_id(app)
    assert deliver(app, minutes=61) == (0, 0)  # held: nothing to send
    moderate(app, reply, "approve")
    assert deliver(app, minutes=62) == (1, 0)
    messages = smtp_server.wait_for(2)
    assert len(messages) == 2
    mail = messages[1]
    assert mail["To"] == "ann@example.org" and "Bob replied" in mail["Subject"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"#comment-{reply}" in mail.get_body(("plain",)).get_content()
    assert "<b>bold</b>" in mail.get_body(("html",)).get_content()

    # The mail client's one-click unsubscribe, then another reply: nothing more arrives.
    one_click = mail["List-Unsubscribe"].strip("<>")
    assert app.test_client().post(path_of(one_click), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    post_comment(app.test_client(), post, author="Cleo", email="cleo@example.org", comment_parent=str(parent),
                 comment="Another reply")
    moderate(app, last_comment_id(app), "approve")
    assert deliver(app, minutes=63) == (0, 0)
    assert len(smtp_server.messages) == 2
