"""Constant cost: the same number of SQL statements for a thread of 10 and of 10,000 comments."""
import pytest

from blog.demo_thread import seed_thread
from blog.extensions import db
from blog.models import utcnow

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


def test_author_checks_read_no_more_than_they_ask_for(app, post):
    """Posting asks one query about the author (duplicate, flood, earlier approval, blocks). The
    duplicate check once read every comment of the post, then every comment of the author on
    it, and the approval check all of the author's comments: each part must now look up only
    what it asks (SQLite's plan), so a prolific author's next comment costs what a first does."""
    from sqlalchemy import text

    from blog.comments.service import _BY_ACCOUNT, _BY_EMAIL

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan")
        for checks, author, column in ((_BY_EMAIL, {"email": "a@example.org"}, "author_email"),
                                       (_BY_ACCOUNT, {"user_id": 1}, "user_id")):
            for statement in (checks.with_flood, checks.without_flood):
                statement = statement.params(**author, post_id=1, body="x", digest="2d711642b726b044",
                                             since=utcnow(), ip="192.0.2.1", block_user="1",
                                             block_email="a@example.org", block_ip="192.0.2.1")
                sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
                plan = [str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))]
                assert not any(line.startswith("SCAN comments") for line in plan), plan
                searches = [line for line in plan if line.startswith("SEARCH comments")]
                assert any("(post_id=? AND body_digest=?)" in line for line in searches), plan
                assert any(f"({column}=? AND status=?)" in line for line in searches), plan


def test_the_authors_mail_counts_waiting_comments_without_reading_the_rest(app, post):
    """A held comment's mail to the author says how many comments wait: counted post by post
    from the (post_id, status) index. Joined from the comments side, SQLite read every comment
    of the blog for each held one (0.37 ms at 3,000 comments, growing with the blog)."""
    from sqlalchemy import text

    from blog.moderation.notify import _LISTED_COMMENTS

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan")
        sql = str(_LISTED_COMMENTS.params(ids=[1, 2], author_id=1)
                  .compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = [str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))]
        assert not any(line.startswith("SCAN comments") for line in plan), plan
        assert any(line.startswith("SEARCH comments") and "(post_id=? AND status=?)" in line for line in plan), plan
