"""Commenters edit or delete their own comment inside the edit window, never after a reply."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, ModerationEvent
from tests.conftest import csrf_from, login, post_comment

TRUSTING = {"COMMENT_PREVIOUSLY_APPROVED": False}  # comments publish at once, so edits can hold them


def newest(app):
    with app.app_context():
        c = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
        db.session.expunge_all()
        return c


def edit(client, comment_id, text):
    page = client.get(f"/comments/{comment_id}/edit")
    token = csrf_from(page.get_data(as_text=True)) if page.status_code == 200 else \
        csrf_from(client.get("/hello-world/").get_data(as_text=True))
    return client.post(f"/comments/{comment_id}/edit", data={"comment": text, "csrf_token": token})


@pytest.mark.parametrize("config_overrides", [TRUSTING], indirect=True)
def test_guest_edits_own_comment_with_sanitising_and_rules(app, client, post):
    post_comment(client, post, comment="Frist!")
    c = newest(app)
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert f'href="/comments/{c.id}/edit"' in html and "comment-delete-link" in html
    assert f"/comments/{c.id}/edit" not in app.test_client().get(f"/{post}/").get_data(as_text=True)
    app.config["MODERATION_KEYS"] = "viagra"
    res = edit(client, c.id, "First! <script>x</script> cheap Viagra")
    assert res.status_code == 303
    c = newest(app)
    assert c.body_raw.startswith("First!") and "<script>" not in c.body_html and c.edited_at is not None
    assert c.status == "pending"  # the rules ran again
    with app.app_context():
        events = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == c.id)
                                    .order_by(ModerationEvent.id)).all()
    assert events[-1].to_status == "pending" and "“viagra”" in events[-1].reasons[0]


@pytest.mark.parametrize("config_overrides", [TRUSTING], indirect=True)
def test_someone_elses_browser_cannot_edit_or_delete(app, client, post):
    post_comment(client, post, comment="mine")
    c = newest(app)
    stranger = app.test_client()
    assert stranger.get(f"/comments/{c.id}/edit").status_code == 403
    assert edit(stranger, c.id, "hijacked").status_code == 403
    token = csrf_from(stranger.get(f"/{post}/").get_data(as_text=True))
    assert stranger.post(f"/comments/{c.id}/delete", data={"csrf_token": token}).status_code == 403
    assert newest(app).body_raw == "mine"


@pytest.mark.parametrize("config_overrides", [TRUSTING], indirect=True)
def test_no_edit_after_the_window(app, client, post):
    post_comment(client, post, comment="mine")
    c = newest(app)
    with app.app_context():
        db.session.get(Comment, c.id).created_at = datetime.now(timezone.utc) - timedelta(minutes=16)
        db.session.commit()
    assert f"/comments/{c.id}/edit" not in client.get(f"/{post}/").get_data(as_text=True)
    assert edit(client, c.id, "too late").status_code == 403
    assert newest(app).body_raw == "mine"


@pytest.mark.parametrize("config_overrides", [TRUSTING], indirect=True)
def test_no_edit_or_delete_after_a_reply(app, client, post):
    post_comment(client, post, comment="mine")
    c = newest(app)
    post_comment(app.test_client(), post, author="Other", email="o@example.org", comment="a reply",
                 comment_parent=str(c.id))
    assert f"/comments/{c.id}/edit" not in client.get(f"/{post}/").get_data(as_text=True)
    assert edit(client, c.id, "changed my mind").status_code == 403
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    assert client.post(f"/comments/{c.id}/delete", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("config_overrides", [TRUSTING], indirect=True)
def test_guest_deletes_own_comment(app, client, post):
    post_comment(client, post, comment="regrettable")
    c = newest(app)
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    res = client.post(f"/comments/{c.id}/delete", data={"csrf_token": token})
    assert res.status_code == 303 and newest(app) is None
    assert "regrettable" not in client.get(f"/{post}/").get_data(as_text=True)


def test_signed_in_commenter_edits_by_account_from_any_browser(app, post, make_user):
    make_user("sam@example.com", "Sam")
    first = app.test_client()
    login(first, "sam@example.com")
    post_comment(first, post, author=None, email=None, comment="typo teh")
    c = newest(app)
    second = app.test_client()
    login(second, "sam@example.com")
    assert edit(second, c.id, "typo the").status_code == 303
    c = newest(app)
    assert c.body_raw == "typo the" and c.edited_by_id == c.user_id


def test_empty_edit_keeps_the_form(app, client, post):
    post_comment(client, post, comment="mine")
    c = newest(app)
    res = edit(client, c.id, "   ")
    assert res.status_code == 422 and "Please type your comment." in res.get_data(as_text=True)


def test_edit_link_for_unknown_comment_is_404(client, post):
    assert client.get("/comments/999/edit").status_code == 404


@pytest.mark.parametrize("config_overrides", [TRUSTING], indirect=True)
def test_the_duplicate_check_knows_the_edited_text(app, client, post):
    """The check finds the same text by a digest kept with it: an edit moves the digest along."""
    post_comment(client, post, comment="First words")
    assert edit(client, newest(app).id, "Second words").status_code == 303
    assert post_comment(client, post, comment="Second words").status_code == 409
    assert post_comment(client, post, comment="First words").status_code == 303
