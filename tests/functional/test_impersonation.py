"""Moderator impersonation: typing the author's name and email buys a guest nothing."""
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment
from tests.conftest import login, post_comment


def test_guest_using_the_authors_name_and_email_is_not_the_author(app, client, post):
    res = post_comment(client, post, author="Winifred", email="author@example.com", comment="Official: all approved")
    assert res.status_code == 303
    with app.app_context():
        comment = db.session.scalar(select(Comment))
        assert comment.user_id is None and comment.status == "pending"  # held like any first comment
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    li = html[html.index(f'id="comment-{comment.id}"') - 40:]
    li = li[:li.index("</article>")]
    assert "bypostauthor" not in li and "author-badge" not in li


def test_the_real_author_signed_in_is_approved_with_the_badge(app, client, post):
    login(client, "author@example.com")
    res = post_comment(client, post, comment="Signed in for real")
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "bypostauthor" in html and 'class="author-badge"' in html
