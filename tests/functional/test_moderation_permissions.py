"""Every moderation route and action, tried by each kind of visitor.

Only the post's author and an admin succeed; an anonymous visitor is sent to sign in,
a reader and the author of another post get 403, and nothing changes for them.
"""
import pytest

from tests.functional.moderation_helpers import snapshot, signed_in, status_of, token_of, world  # noqa: F401

REFUSED = [(None, 302), ("reader@example.com", 403), ("other@example.com", 403)]
ALLOWED = ["author@example.com", "admin@example.com"]


def routes(w):
    c = w.comment_id
    return [
        ("post", f"/moderation/comments/{c}/approve", {}),
        ("post", f"/moderation/comments/{w.approved_id}/unapprove", {}),
        ("post", f"/moderation/comments/{c}/spam", {}),
        ("post", f"/moderation/comments/{c}/trash", {}),
        ("post", f"/moderation/comments/{c}/delete", {}),
        ("post", "/moderation/bulk", {"action": "approve", "comment_ids": [str(c)]}),
        ("get", f"/moderation/comments/{c}/reply", None),
        ("post", f"/moderation/comments/{c}/reply", {"comment": "Thanks!"}),
        ("get", f"/moderation/comments/{c}/edit", None),
        ("post", f"/moderation/comments/{c}/edit", {"author": "X", "email": "x@example.org", "url": "",
                                                   "comment": "rewritten"}),
        ("post", f"/moderation/comments/{c}/block", {"kind": "email"}),
        ("get", f"/moderation/settings?post={w.post_id}", None),
        ("post", f"/moderation/settings?post={w.post_id}", {"COMMENT_MODERATION": "y", "COMMENT_MAX_LINKS": "2",
                                                           "COMMENT_THREAD_DEPTH": "5", "COMMENTS_PER_PAGE": "50",
                                                           "do": "save"}),
    ]


@pytest.mark.parametrize("email, expected", REFUSED, ids=["anonymous", "reader", "other-author"])
def test_refused_everywhere_and_nothing_changes(app, world, email, expected):
    client = signed_in(app, email)
    before = snapshot(app)
    for method, url, data in routes(world):
        if method == "get":
            res = client.get(url)
        else:
            res = client.post(url, data={**data, "csrf_token": token_of(client)})
        assert res.status_code == expected, (method, url, res.status_code)
        if expected == 302:
            assert "/login?next=" in res.headers["Location"]
    assert snapshot(app) == before


@pytest.mark.parametrize("email", ALLOWED, ids=["post-author", "admin"])
@pytest.mark.parametrize("action, start, end", [
    ("approve", "pending", "approved"), ("spam", "pending", "spam"), ("trash", "pending", "trash"),
])
def test_post_author_and_admin_may_act(app, world, email, action, start, end):
    client = signed_in(app, email)
    assert status_of(app, world.comment_id) == start
    res = client.post(f"/moderation/comments/{world.comment_id}/{action}",
                      data={"csrf_token": token_of(client, "/moderation/")})
    assert res.status_code == 303
    assert status_of(app, world.comment_id) == end


def test_desk_itself(app, world):
    assert signed_in(app, None).get("/moderation/").status_code == 302
    assert signed_in(app, "reader@example.com").get("/moderation/").status_code == 403
    other = signed_in(app, "other@example.com").get("/moderation/?status=pending")
    assert other.status_code == 200 and "Held words" not in other.get_data(as_text=True)
    for email in ALLOWED:
        page = signed_in(app, email).get("/moderation/?status=pending")
        assert page.status_code == 200 and "Held words, first time" in page.get_data(as_text=True)


def test_site_wide_settings_are_for_admins(app, world):
    assert signed_in(app, "author@example.com").get("/moderation/settings").status_code == 403
    assert signed_in(app, "reader@example.com").get("/moderation/settings").status_code == 403
    assert signed_in(app, "admin@example.com").get("/moderation/settings").status_code == 200


def test_blocks_pages(app, world):
    author = signed_in(app, "author@example.com")
    author.post(f"/moderation/comments/{world.comment_id}/block",
                data={"kind": "ip", "csrf_token": token_of(author, "/moderation/")})
    from blog.extensions import db
    from blog.models import Block

    with app.app_context():
        block_id = db.session.scalar(db.select(Block.id))
    assert signed_in(app, "reader@example.com").get("/moderation/blocks").status_code == 403
    before = snapshot(app)
    for email, code in [(None, 302), ("reader@example.com", 403), ("other@example.com", 403)]:
        client = signed_in(app, email)
        res = client.post(f"/moderation/blocks/{block_id}/delete", data={"csrf_token": token_of(client)})
        assert res.status_code == code
    assert snapshot(app) == before
    res = author.post(f"/moderation/blocks/{block_id}/delete", data={"csrf_token": token_of(author, "/moderation/")})
    assert res.status_code == 303 and snapshot(app) != before


def test_actions_need_csrf(app, world):
    client = signed_in(app, "author@example.com")
    res = client.post(f"/moderation/comments/{world.comment_id}/approve")
    assert res.status_code == 400 and status_of(app, world.comment_id) == "pending"


def test_get_never_moderates(app, world):
    client = signed_in(app, "author@example.com")
    assert client.get(f"/moderation/comments/{world.comment_id}/approve").status_code == 405
    assert status_of(app, world.comment_id) == "pending"
