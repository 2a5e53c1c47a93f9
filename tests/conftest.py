"""Shared fixtures: an app per test on a clean database, CSRF on, helpers that act as a user would.

The database comes from TEST_DATABASE_URL (a PostgreSQL URL in CI's second
run); without it, a SQLite file in a temporary folder. The schema is built
once per session by the real migrations, and every test starts from empty
tables.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, make_url, text

from blog import create_app, init_migrations
from blog.config import normalise_db_url
from blog.extensions import db

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.servers"]  # real SMTP and OpenID Connect servers on 127.0.0.1


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = normalise_db_url(os.environ.get("TEST_DATABASE_URL"))
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@contextmanager
def scratch_database(base_url: str | None, suffix: str, tmp_path: Path):
    """An empty database of the suite's kind, its URL: a SQLite file in tmp_path, or on
    PostgreSQL ``<test db>_<suffix>``, created here and dropped afterwards."""
    if not base_url or make_url(base_url).get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / (suffix + '.sqlite3')}"
        return
    url = make_url(base_url)
    scratch = url.set(database=f"{url.database}_{suffix}")
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)')
    with server.connect() as conn:
        conn.execute(drop)
        conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(drop)
        server.dispose()


@pytest.fixture(scope="session")
def migrated(database_url):
    """Build the schema from nothing with the migrations, once per session."""
    from flask_migrate import upgrade

    app = create_app({"SECRET_KEY": "session-setup", "SQLALCHEMY_DATABASE_URI": database_url})

    init_migrations(app)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return database_url


def test_config(database_url: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Flood control is tested on its own; elsewhere tests post back to back.
        "COMMENT_FLOOD_SECONDS": 0,
        # Likewise the "sent too fast" spam signal (tests send forms at once).
        "COMMENT_MIN_SUBMIT_SECONDS": 0,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": None,
        **extra,
    }


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def config_overrides(request) -> dict:
    """App settings for one test: @pytest.mark.parametrize("config_overrides", [{...}], indirect=True)."""
    return getattr(request, "param", {})


@pytest.fixture
def app(migrated, config_overrides):
    app = create_app(test_config(migrated, **config_overrides))
    with app.app_context():
        _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- data -----------------------------------------------------------------

@pytest.fixture
def make_user(app):
    from blog.accounts.service import create_user

    def make(email="reader@example.com", name="Reader", password="correct horse battery", role="reader"):
        with app.app_context():
            user = create_user(email, name, password, role)
            return user.id

    return make


@pytest.fixture
def post(app, make_user):
    """A published post by an author; returns its slug."""
    from blog.models import Post

    author_id = make_user("author@example.com", "Winifred", role="author")
    with app.app_context():
        p = Post(slug="hello-world", title="Hello “World”", body="<p>Body</p>", author_id=author_id)
        db.session.add(p)
        db.session.commit()
    return "hello-world"


@pytest.fixture
def demo(app):
    from blog.demo import load_demo

    with app.app_context():
        post, _ = load_demo()
        return post.slug


def add_comments(app, slug: str, n: int, *, replies_every: int = 3, status: str = "approved",
                 start=None) -> list[int]:
    """Insert n comments quickly (about a third replies), bypassing the form."""
    from datetime import datetime, timedelta, timezone

    from blog.models import Comment, Post
    from sqlalchemy import select

    start = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids: list[int] = []
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        by_id: dict[int, Comment] = {}
        for i in range(n):
            parent = by_id[ids[-1]] if ids and i % replies_every == replies_every - 1 and by_id[ids[-1]].depth < 5 else None
            c = Comment(post_id=post.id, parent_id=parent.id if parent else None,
                        root_id=parent.root_id if parent else None, depth=parent.depth + 1 if parent else 1,
                        author_name=f"Reader {i}", author_email=f"r{i}@example.org", avatar_key=f"k{i}",
                        body_raw=f"Comment {i}", body_html=f"<p>Comment {i}</p>", status=status,
                        created_at=start + timedelta(seconds=i))
            db.session.add(c)
            db.session.flush()
            c.root_id = c.root_id or c.id
            by_id[c.id] = c
            ids.append(c.id)
        db.session.commit()
    return ids


# --- acting as a user -----------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


def post_comment(client, slug: str, *, follow=False, **fields):
    """Open the post page, read its CSRF token, send the comment form as a browser would."""
    page = client.get(f"/{slug}/")
    assert page.status_code == 200
    data = {"author": "Guest Writer", "email": "guest@example.org", "url": "", "comment": "Hello there",
            "comment_parent": "0", "csrf_token": csrf_from(page.get_data(as_text=True))}
    data.update({k: v for k, v in fields.items() if v is not None})
    return client.post(f"/{slug}/comments", data=data, follow_redirects=follow)


def login(client, email: str, password: str = "correct horse battery"):
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})


@pytest.fixture
def count_queries(app):
    """Count SQL statements run inside the block: `with count_queries() as n: ...; n()`."""

    @contextmanager
    def counting():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield lambda: len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
