"""Constant cost: the same number of SQL statements for a thread of 10 and of 10,000 comments."""
import pytest

from blog.demo_thread import seed_thread
from blog.extensions import db

PATHS = ("/big/", "/big/?cpage=2", "/api/v1/posts/big/comments",
         "/api/v1/posts/big/comments?per_page=all", "/api/v1/posts/big/count")


def statements(app, client, count_queries, n):
    with app.app_context():
        seed_thread("big", n)
    counts = {}
    for path in PATHS:
        with count_queries() as miss:
            assert client.get(path).status_code == 200
        with count_queries() as hit:
            assert client.get(path).status_code == 200
        counts[path] = (miss(), hit())
    return counts


@pytest.mark.parametrize("config_overrides", [{"PAGE_CACHE": True}, {"PAGE_CACHE": False}], indirect=True)
def test_same_queries_at_10_and_10000_comments(app, client, post, count_queries, config_overrides):
    small = statements(app, client, count_queries, 10)
    large = statements(app, client, count_queries, 10_000)
    assert small == large
    page, json_all = large["/big/"], large["/api/v1/posts/big/comments?per_page=all"]
    # A page: the post's head row, site settings, the post itself, counts, comments.
    assert page[0] <= 5 and json_all[0] <= 4
    if config_overrides["PAGE_CACHE"]:
        assert page[1] < page[0] and json_all[1] < json_all[0]  # a hit reads no comments
    html = client.get("/big/").get_data(as_text=True)
    assert "10,000 thoughts on" in html
    data = client.get("/api/v1/posts/big/comments?per_page=all").get_json()
    assert data["count"] == 10_000


def test_seeded_thread_has_the_benchmark_shape(app, post):
    from sqlalchemy import func, select

    from blog.models import Comment

    with app.app_context():
        seed_thread("big", 2000)
        replies = db.session.scalar(select(func.count()).where(Comment.parent_id.is_not(None)))
        deepest = db.session.scalar(select(func.max(Comment.depth)))
        length = db.session.scalar(select(func.avg(func.length(Comment.body_raw))))
    assert 0.2 < replies / 2000 < 0.35 and deepest == 5 and 290 < length < 320


def test_duplicate_check_reads_only_the_authors_comments_on_the_post(app, post):
    """By post_id alone it read every comment of the post for each new one (SQLite's plan)."""
    from sqlalchemy import text

    from blog.comments.service import _BY_ACCOUNT, _BY_EMAIL

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan")
        for checks, author in ((_BY_EMAIL, {"email": "a@example.org"}), (_BY_ACCOUNT, {"user_id": 1})):
            statement = checks.duplicate.params(**author, post_id=1, body="x")
            sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "post_id=?" in plan and ("author_email=?" in plan or "user_id=?" in plan), plan
