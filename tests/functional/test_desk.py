"""The moderation desk: views and counts, filters, every action, bulk, reply, quick edit, blocks, purge."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, ModerationEvent
from blog.signals import comment_changed
from tests.conftest import add_comments, post_comment
from tests.functional.moderation_helpers import signed_in, status_of, token_of, world  # noqa: F401


@pytest.fixture
def author(app, world):
    return signed_in(app, "author@example.com")


def act(client, comment_id, action, **data):
    return client.post(f"/moderation/comments/{comment_id}/{action}",
                       data={"csrf_token": token_of(client, "/moderation/"), **data})


def counts(html):
    return {name: int(n) for name, n in re.findall(r'>(All|Pending|Approved|Spam|Trash) <span class="count[^"]*">\((\d+)\)', html)}


def test_views_and_counts_follow_status_changes(app, world, author):
    html = author.get("/moderation/").get_data(as_text=True)
    assert counts(html) == {"All": 2, "Pending": 1, "Approved": 1, "Spam": 0, "Trash": 0}
    act(author, world.comment_id, "spam")
    html = author.get("/moderation/?status=spam").get_data(as_text=True)
    assert counts(html) == {"All": 1, "Pending": 0, "Approved": 1, "Spam": 1, "Trash": 0}
    assert "Held words" in html and "Second words" not in html
    act(author, world.approved_id, "trash")
    html = author.get("/moderation/?status=trash").get_data(as_text=True)
    assert counts(html) == {"All": 0, "Pending": 0, "Approved": 0, "Spam": 1, "Trash": 1}
    assert "Second words" in html


def test_row_shows_who_where_and_why(app, world, author):
    html = author.get("/moderation/?status=pending").get_data(as_text=True)
    row = html[html.index(f'id="comment-row-{world.comment_id}"'):]
    row = row[:row.index("</tr>")]
    for part in ("Gus Guest", "gus@example.org", "127.0.0.1", "Hello “World”", "First comment from this commenter",
                 'class="avatar"', "Approve", "Spam", "Trash", "Reply", "Quick edit"):
        assert part in row, part


def test_filter_by_post_search_and_newest_first(app, world, author, make_user):
    add_comments(app, "others-post", 3, replies_every=10**6)
    admin = signed_in(app, "admin@example.com")
    html = admin.get("/moderation/?status=approved").get_data(as_text=True)
    assert html.index("Comment 2") < html.index("Comment 1") < html.index("Comment 0")
    assert "Second words" in html
    with app.app_context():
        from blog.models import Post
        other_id = db.session.scalar(select(Post.id).where(Post.slug == "others-post"))
    html = admin.get(f"/moderation/?status=approved&post={other_id}").get_data(as_text=True)
    assert "Comment 0" in html and "Second words" not in html
    for term in ("second", "GUS@example", "127.0.0", "Gus G"):
        html = admin.get(f"/moderation/?s={term}").get_data(as_text=True)
        assert "Second words" in html and "Comment 0" not in html, term
    # LIKE wildcards are taken literally.
    assert "No comments found." in admin.get("/moderation/?s=%25").get_data(as_text=True)


def test_paginated(app, world, author):
    add_comments(app, world.slug, 45, replies_every=10**6)
    page1 = author.get("/moderation/?status=approved").get_data(as_text=True)
    assert "Page 1 of 3" in page1 and "Second words" in page1 and "Comment 44" in page1
    assert "Comment 25" not in page1
    page3 = author.get("/moderation/?status=approved&paged=3").get_data(as_text=True)
    assert "Comment 0" in page3 and "Comment 6" not in page3 and "Second words" not in page3


def test_desk_query_count_is_constant(app, world, author, count_queries):
    add_comments(app, world.slug, 5)
    with count_queries() as few:
        author.get("/moderation/")
    add_comments(app, world.slug, 30)
    with count_queries() as many:
        author.get("/moderation/")
    assert few() == many()


def test_every_action_is_idempotent_and_audited(app, world, author):
    received = []

    def listener(sender, comment, post_id, action):
        received.append((comment.id, action))

    comment_changed.connect(listener)
    try:
        c = world.comment_id
        for action, status in [("approve", "approved"), ("approve", "approved"), ("unapprove", "pending"),
                               ("spam", "spam"), ("spam", "spam"), ("unspam", "pending"), ("trash", "trash"),
                               ("restore", "pending"), ("approve", "approved"), ("trash", "trash"),
                               ("restore", "approved")]:
            assert act(author, c, action).status_code == 303
            assert status_of(app, c) == status, action
    finally:
        comment_changed.disconnect(listener)
    with app.app_context():
        events = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == c)
                                    .order_by(ModerationEvent.id)).all()
    # One arrival event, then one per real change: repeats changed nothing.
    assert [(e.from_status, e.to_status) for e in events[1:]] == [
        ("pending", "approved"), ("approved", "pending"), ("pending", "spam"), ("spam", "pending"),
        ("pending", "trash"), ("trash", "pending"), ("pending", "approved"), ("approved", "trash"),
        ("trash", "approved")]
    assert all(e.actor_id is not None and e.rule is None for e in events[1:])
    assert len(received) == 9


def test_delete_permanently_twice(app, world, author):
    act(author, world.comment_id, "trash")
    assert act(author, world.comment_id, "delete").status_code == 303
    assert status_of(app, world.comment_id) is None
    again = act(author, world.comment_id, "delete")
    assert again.status_code == 303
    assert "already deleted" in author.get(again.headers["Location"]).get_data(as_text=True)


def test_deleting_a_comment_with_replies_keeps_the_thread(app, world, author):
    [parent, reply] = add_comments(app, world.slug, 2, replies_every=2)
    assert act(author, parent, "delete").status_code == 303
    html = app.test_client().get(f"/{world.slug}/").get_data(as_text=True)
    li = html[html.index(f'id="comment-{parent}"'):]
    assert "This comment was deleted." in li[:li.index(f'id="comment-{reply}"')]
    assert "Comment 0" not in html and "Comment 1" in html
    # Counted: the guest's approved comment and the reply; not the placeholder.
    assert "2 thoughts on" in html


def test_bulk(app, world, author):
    ids = add_comments(app, world.slug, 3, status="pending", replies_every=10**6)
    res = author.post("/moderation/bulk", data={"action": "approve", "comment_ids": [str(i) for i in ids],
                                                "csrf_token": token_of(author, "/moderation/")})
    assert res.status_code == 303
    assert [status_of(app, i) for i in ids] == ["approved"] * 3
    assert "3 comments changed." in author.get(res.headers["Location"]).get_data(as_text=True)
    # Nothing selected, or no action: a clear message, nothing changes.
    res = author.post("/moderation/bulk", data={"action": "spam", "csrf_token": token_of(author, "/moderation/")},
                      follow_redirects=True)
    assert "Select at least one comment." in res.get_data(as_text=True)


def test_bulk_with_one_foreign_comment_changes_nothing(app, world):
    [foreign] = add_comments(app, "others-post", 1, status="pending")
    other = signed_in(app, "other@example.com")
    res = other.post("/moderation/bulk", data={"action": "spam", "comment_ids": [str(foreign), str(world.comment_id)],
                                               "csrf_token": token_of(other, "/moderation/")})
    assert res.status_code == 403
    assert status_of(app, foreign) == "pending" and status_of(app, world.comment_id) == "pending"


def test_reply_from_the_desk_approves_the_held_comment(app, world, author):
    page = author.get(f"/moderation/comments/{world.comment_id}/reply")
    assert "Approve and Reply" in page.get_data(as_text=True)
    res = author.post(f"/moderation/comments/{world.comment_id}/reply",
                      data={"comment": "Welcome, <b>Gus</b>!", "csrf_token": token_of(author, "/moderation/")})
    assert res.status_code == 303
    assert status_of(app, world.comment_id) == "approved"
    with app.app_context():
        reply = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
        assert (reply.parent_id, reply.status, reply.body_html) == (world.comment_id, "approved",
                                                                   "<p>Welcome, <b>Gus</b>!</p>")
        reasons = db.session.scalars(select(ModerationEvent.reasons).where(
            ModerationEvent.comment_id == world.comment_id, ModerationEvent.to_status == "approved")).one()
        assert reasons == ["Approved by replying to it"]
    html = app.test_client().get(f"/{world.slug}/").get_data(as_text=True)
    assert re.search(rf'<li id="comment-{reply.id}" class="comment depth-2 bypostauthor', html)
    assert "Held words, first time" in html


def test_empty_reply_keeps_the_form(app, world, author):
    res = author.post(f"/moderation/comments/{world.comment_id}/reply",
                      data={"comment": "  ", "csrf_token": token_of(author, "/moderation/")})
    assert res.status_code == 422 and "Please type your comment." in res.get_data(as_text=True)
    assert status_of(app, world.comment_id) == "pending"


def test_reply_from_the_post_page_is_approved_with_badge(app, world, author):
    res = post_comment(author, world.slug, comment="Author here", comment_parent=str(world.approved_id))
    assert res.status_code == 303
    with app.app_context():
        reply = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
    assert reply.status == "approved" and reply.parent_id == world.approved_id
    html = app.test_client().get(f"/{world.slug}/").get_data(as_text=True)
    assert re.search(rf'<li id="comment-{reply.id}" class="comment depth-2 bypostauthor', html)


def test_quick_edit_resanitises_and_records_the_editor(app, world, author):
    form = author.get(f"/moderation/comments/{world.comment_id}/edit").get_data(as_text=True)
    assert "Held words, first time" in form and 'value="gus@example.org"' in form
    res = author.post(f"/moderation/comments/{world.comment_id}/edit", data={
        "author": "Gus G.", "email": "gus@example.org", "url": "",
        "comment": 'Fixed <script>alert(1)</script><a href="javascript:x">link</a>',
        "csrf_token": token_of(author, "/moderation/")})
    assert res.status_code == 303
    with app.app_context():
        c = db.session.get(Comment, world.comment_id)
        assert "<script>" not in c.body_html and "javascript:" not in c.body_html
        assert c.author_name == "Gus G." and c.edited_at is not None
        assert c.edited_by_id is not None and c.status == "pending"


def test_quick_edit_with_bad_fields_keeps_the_text(app, world, author):
    res = author.post(f"/moderation/comments/{world.comment_id}/edit", data={
        "author": "", "email": "not-an-email", "url": "", "comment": "kept words",
        "csrf_token": token_of(author, "/moderation/")})
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "kept words" in html and "Please enter your name." in html


@pytest.mark.parametrize("kind", ["email", "ip"])
def test_blocked_commenter_goes_to_spam_until_unblocked(app, world, author, kind):
    res = act(author, world.comment_id, "block", kind=kind)
    assert res.status_code == 303
    act(author, world.comment_id, "block", kind=kind)  # idempotent
    guest = app.test_client()
    post_comment(guest, world.slug, author="Gus Guest", email="gus@example.org", comment="I am back")
    with app.app_context():
        c = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
        event = db.session.scalars(select(ModerationEvent).where(ModerationEvent.comment_id == c.id)).one()
    assert c.status == "spam" and event.rule == "blocked" and f"{kind} is blocked" in event.reasons[0]
    blocks = author.get("/moderation/blocks").get_data(as_text=True)
    block_id = re.search(r'action="/moderation/blocks/(\d+)/delete"', blocks).group(1)
    author.post(f"/moderation/blocks/{block_id}/delete", data={"csrf_token": token_of(author, "/moderation/")})
    assert "Nobody is blocked." in author.get("/moderation/blocks").get_data(as_text=True)
    post_comment(guest, world.slug, author="Gus Guest", email="gus@example.org", comment="Back again")
    with app.app_context():
        assert db.session.scalars(select(Comment).order_by(Comment.id.desc())).first().status == "pending"


def test_purge_empties_old_spam_and_trash(app, world, author, runner):
    old = datetime.now(timezone.utc) - timedelta(days=31)
    ids = add_comments(app, world.slug, 3, status="spam", replies_every=10**6, start=old)
    act(author, ids[2], "unspam")  # recent change: kept
    act(author, world.approved_id, "trash")  # trashed just now: kept
    result = runner.invoke(args=["comments", "purge"])
    assert result.exit_code == 0 and "Purged 2 " in result.output
    assert [status_of(app, i) for i in ids] == [None, None, "pending"]
    assert status_of(app, world.approved_id) == "trash"
    html = author.get("/moderation/").get_data(as_text=True)
    assert counts(html)["Spam"] == 0 and counts(html)["Trash"] == 1


def test_author_replies_to_a_held_comment_from_the_post_page(app, world, author):
    html = author.get(f"/{world.slug}/").get_data(as_text=True)
    assert "Held words, first time" in html and "This comment is awaiting moderation." in html
    assert f"replytocom={world.comment_id}" in html
    reader = app.test_client().get(f"/{world.slug}/").get_data(as_text=True)
    assert "Held words" not in reader and f"replytocom={world.comment_id}" not in reader
    form = author.get(f"/{world.slug}/?replytocom={world.comment_id}").get_data(as_text=True)
    assert "Reply to Gus Guest" in form
    res = post_comment(author, world.slug, comment="Welcome!", comment_parent=str(world.comment_id))
    assert res.status_code == 303 and status_of(app, world.comment_id) == "approved"
    html = app.test_client().get(f"/{world.slug}/").get_data(as_text=True)
    assert "Held words, first time" in html and "Welcome!" in html


def test_reader_cannot_reply_to_a_held_comment(app, world):
    res = post_comment(app.test_client(), world.slug, comment="sneaky", comment_parent=str(world.comment_id))
    assert res.status_code == 422 and status_of(app, world.comment_id) == "pending"
    assert "sneaky" in res.get_data(as_text=True)


def test_desk_says_who_changed_a_status(app, world, author):
    act(author, world.approved_id, "unapprove")
    html = author.get("/moderation/?status=pending").get_data(as_text=True)
    row = html[html.index(f'id="comment-row-{world.approved_id}"'):]
    assert "Unapproved by Winifred" in row[:row.index("</tr>")]


def test_quick_edit_of_an_account_comment_keeps_the_account_name(app, world, author):
    reader = signed_in(app, "reader@example.com")
    post_comment(reader, world.slug, author=None, email=None, comment="Reader words")
    with app.app_context():
        c = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
    form = author.get(f"/moderation/comments/{c.id}/edit").get_data(as_text=True)
    assert 'name="email"' not in form
    res = author.post(f"/moderation/comments/{c.id}/edit", data={
        "comment": "Reader words, tidied", "author": "Someone Else", "csrf_token": token_of(author, "/moderation/")})
    assert res.status_code == 303
    with app.app_context():
        c = db.session.get(Comment, c.id)
        assert (c.body_raw, c.author_name, c.author_email) == ("Reader words, tidied", "Rita Reader",
                                                               "reader@example.com")
