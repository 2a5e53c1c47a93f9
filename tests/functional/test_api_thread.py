"""The JSON thread API as a page's script or another site's widget reads it."""
import pytest

from tests.conftest import add_comments, post_comment

API = "/api/v1/posts/{}/comments"


def walk(comments):
    for c in comments:
        yield c
        yield from walk(c["replies"])


def test_demo_thread_is_nested_with_public_fields_only(client, demo):
    res = client.get(API.format(demo))
    assert res.status_code == 200 and res.mimetype == "application/json"
    data = res.get_json()
    assert data["count"] == 4 and data["page"] == 1 and data["pages"] == 1 and data["per_page"] == 50
    first = data["comments"][0]
    assert first["parent"] is None and first["depth"] == 1
    reply = first["replies"][0]
    assert reply["parent"] == first["id"] and reply["depth"] == 2
    assert reply["is_post_author"] is True and first["is_post_author"] is False
    assert "You’re welcome!" in reply["body_html"]
    assert set(first) == {"id", "parent", "depth", "author", "author_url", "avatar_url", "body_html",
                          "created", "edited", "is_post_author", "replies", "deleted"}
    assert first["avatar_url"].startswith("/avatars/") and first["avatar_url"].endswith(".svg")
    assert client.get(first["avatar_url"]).status_code == 200
    body = res.get_data(as_text=True)
    assert "@example" not in body and "127.0.0.1" not in body and "user_agent" not in body


def test_paginates_by_top_level_comment(app, client, post):
    ids = add_comments(app, post, 120, replies_every=2)  # 60 top-level, each with a reply
    page1 = client.get(API.format(post)).get_json()
    assert page1["pages"] == 2 and page1["count"] == 120 and page1["top_level"] == 60
    assert len(page1["comments"]) == 50
    assert all(len(c["replies"]) == 1 for c in page1["comments"])
    page2 = client.get(API.format(post) + "?page=2").get_json()
    assert [c["id"] for c in page2["comments"]] == ids[100::2]
    small = client.get(API.format(post) + "?per_page=7&page=3").get_json()
    assert [c["id"] for c in small["comments"]] == ids[28:42:2] and small["pages"] == 9
    everything = client.get(API.format(post) + "?per_page=all").get_json()
    assert everything["per_page"] == "all" and len(everything["comments"]) == 60
    assert sorted(c["id"] for c in walk(everything["comments"])) == ids


def test_only_approved_comments_even_for_their_writer(app, client, post):
    res = post_comment(client, post, comment="Held for moderation")  # a first comment is held
    assert res.status_code == 303
    add_comments(app, post, 1, status="spam")
    data = client.get(API.format(post) + "?per_page=all").get_json()
    assert data["comments"] == [] and data["count"] == 0
    assert client.get(f"/api/v1/posts/{post}/count").get_json() == {"slug": post, "count": 0}


def test_count(app, client, post):
    add_comments(app, post, 7)
    assert client.get(f"/api/v1/posts/{post}/count").get_json() == {"slug": post, "count": 7}


@pytest.mark.parametrize("query, message", [
    ("page=0", "page must be"), ("page=abc", "page must be"), ("page=-1", "page must be"),
    ("page=99999999999999", "page must be"), ("per_page=0", "per_page must be"),
    ("per_page=501", "per_page must be"), ("per_page=ALL", "per_page must be"),
])
def test_bad_parameters_are_clear_400s(client, post, query, message):
    res = client.get(API.format(post) + "?" + query)
    assert res.status_code == 400 and res.mimetype == "application/json"
    assert message in res.get_json()["error"]["message"]


def test_unknown_post_page_or_path_is_json_404(app, client, post):
    add_comments(app, post, 3)
    for path in (API.format("no-such-post"), "/api/v1/posts/no-such-post/count",
                 API.format(post) + "?page=2", "/api/v1/nothing-here"):
        res = client.get(path)
        assert res.status_code == 404 and res.mimetype == "application/json", path
        assert res.get_json()["error"]["message"]
    res = client.post(API.format(post))
    assert res.status_code == 405 and res.get_json()["error"]["status"] == 405


@pytest.mark.parametrize("config_overrides", [{"CORS_ORIGINS": "https://blog.example, https://www.blog.example"}],
                         indirect=True)
def test_cors_for_configured_origins_only(client, post):
    ok = client.get(API.format(post), headers={"Origin": "https://www.blog.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://www.blog.example"
    assert "ETag" in ok.headers["Access-Control-Expose-Headers"]
    assert "Origin" in ok.headers["Vary"]
    other = client.get(API.format(post), headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(API.format(post), headers={
        "Origin": "https://blog.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def test_no_cors_by_default(client, post):
    res = client.get(API.format(post), headers={"Origin": "https://blog.example"})
    assert "Access-Control-Allow-Origin" not in res.headers


def test_conditional_get_answers_304_until_a_comment_changes(app, client, post):
    add_comments(app, post, 3)
    first = client.get(API.format(post))
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(API.format(post), headers={"If-None-Match": etag}).status_code == 304
    assert client.get(API.format(post), headers={"If-Modified-Since": modified}).status_code == 304
    count = client.get(f"/api/v1/posts/{post}/count")
    assert client.get(f"/api/v1/posts/{post}/count",
                      headers={"If-None-Match": count.headers["ETag"]}).status_code == 304
    add_comments(app, post, 1)
    again = client.get(API.format(post), headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.get_json()["count"] == 4
    assert again.headers["ETag"] != etag


def test_times_are_rfc3339_in_utc_and_match_the_stored_ones(app, client, demo):
    from datetime import datetime, timezone

    from sqlalchemy import select

    from blog.extensions import db
    from blog.models import Comment

    with app.app_context():
        stored = dict(db.session.execute(select(Comment.id, Comment.created_at)).all())
    for per_page in ("all", "50"):  # the whole thread and a page come from different code
        for c in walk(client.get(API.format(demo) + f"?per_page={per_page}").get_json()["comments"]):
            created = datetime.fromisoformat(c["created"])
            assert created.utcoffset() is not None and created == stored[c["id"]]
            assert created.astimezone(timezone.utc) == stored[c["id"]]
