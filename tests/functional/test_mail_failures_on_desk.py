"""Mail the worker gave up on is shown on the moderation desk with its reason."""
from blog.extensions import db
from blog.mail import queue_mail
from tests.conftest import login


def fail(app, to: str, subject: str, error: str) -> None:
    with app.app_context():
        message = queue_mail(to, subject, "body", kind="reply")
        message.status, message.attempts, message.last_error = "failed", 5, error
        db.session.commit()


def test_author_sees_failed_mail_with_reason_and_masked_address(app, client, post):
    fail(app, "dora.reader@example.org", "New reply to your comment", "550 mailbox unavailable")
    login(client, "author@example.com")
    html = client.get("/moderation/").get_data(as_text=True)
    assert "Mail that could not be delivered (1)" in html
    assert "New reply to your comment" in html and "550 mailbox unavailable" in html
    assert "gave up after 5 tries" in html
    assert "dora.reader@example.org" not in html and "d…@example.org" in html


def test_admin_sees_the_full_address(app, client, post, make_user):
    make_user("admin@example.com", "Admin", role="admin")
    fail(app, "dora.reader@example.org", "Confirm your subscription", "timed out")
    login(client, "admin@example.com")
    assert "dora.reader@example.org" in client.get("/moderation/").get_data(as_text=True)


def test_no_box_when_everything_was_delivered(app, client, post):
    with app.app_context():
        queue_mail("x@example.org", "Queued, not failed", "body")
        db.session.commit()
    login(client, "author@example.com")
    html = client.get("/moderation/").get_data(as_text=True)
    assert "could not be delivered" not in html and "Queued, not failed" not in html


def test_readers_never_see_it(app, client, post, make_user):
    fail(app, "dora.reader@example.org", "Secret subject", "550")
    make_user()
    login(client, "reader@example.com")
    res = client.get("/moderation/")
    assert res.status_code == 403 and "Secret subject" not in res.get_data(as_text=True)
