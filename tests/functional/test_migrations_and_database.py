"""The schema comes only from migrations, which go up and down cleanly on SQLite and PostgreSQL;
SQLite runs in WAL mode and waits for a busy writer instead of failing."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from blog import create_app, init_migrations
from blog.extensions import db
from tests.conftest import ROOT, csrf_from, scratch_database

MIGRATIONS = str(ROOT / "migrations")


@pytest.fixture
def scratch_url(migrated, tmp_path):
    """An empty database of the suite's kind: a SQLite file, or PostgreSQL ``<test db>_migrations``."""
    with scratch_database(migrated, "migrations", tmp_path) as url:
        yield url


def schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_upgrade_match_the_models_downgrade_to_nothing_and_upgrade_again(scratch_url):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_url})
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "posts", "comments", "moderation_events", "outbox", "alembic_version"} <= tables
    assert schema_differences(app) == []
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS)
    assert schema_differences(app) == []
    with app.app_context():
        db.engine.dispose()


def test_each_migration_steps_down_and_up_again(scratch_url):
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_url})
    init_migrations(app)
    revisions = list(ScriptDirectory(MIGRATIONS).walk_revisions())  # newest first

    def current():
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    with app.app_context():
        upgrade(directory=MIGRATIONS)
        for revision in revisions:
            assert current() == revision.revision
            downgrade(directory=MIGRATIONS, revision="-1")
            assert current() == revision.down_revision
            upgrade(directory=MIGRATIONS, revision=revision.revision)
            downgrade(directory=MIGRATIONS, revision="-1")
        assert current() is None
        db.engine.dispose()


def an_author_and_post(conn) -> None:
    """A user and a post written with SQL, as at an earlier revision (0010 on)."""
    conn.execute(text("INSERT INTO users (display_name, role, created_at) "
                      "VALUES ('Author', 'author', CURRENT_TIMESTAMP)"))
    conn.execute(text("INSERT INTO posts (slug, title, body, author_id, comments_open, settings, "
                      "comments_version, comment_count, top_level_count) "
                      "VALUES ('p', 'P', '', (SELECT id FROM users), true, '{}', 0, 0, 0)"))


def test_the_digest_migration_fills_in_earlier_comments(scratch_url):
    """0011 gives every stored comment the digest posting's duplicate check looks up."""
    from blog.models import digest_of

    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_url})
    init_migrations(app)
    texts = ["Older words", "Ünïcode — and\nlines", ""]
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0010")
        with db.engine.begin() as conn:
            an_author_and_post(conn)
            for body in texts:
                conn.execute(text("INSERT INTO comments (post_id, depth, author_name, avatar_key, body_raw, "
                                  "body_html, status, created_at) VALUES ((SELECT id FROM posts), 1, 'A', '', "
                                  ":body, '', 'approved', CURRENT_TIMESTAMP)"), {"body": body})
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT body_raw, body_digest FROM comments ORDER BY id")).all()
        db.engine.dispose()
    assert [(body, digest_of(body)) for body in texts] == [tuple(row) for row in stored]



def test_the_mail_join_migration_moves_waiting_mails_comments_to_their_rows(scratch_url):
    """0012: the comments listed in a waiting moderation mail's header join it with rows (those
    still there); a mail already sent keeps nothing to join."""
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_url})
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0011")
        with db.engine.begin() as conn:
            an_author_and_post(conn)
            for _ in range(3):
                conn.execute(text("INSERT INTO comments (post_id, depth, author_name, avatar_key, body_raw, "
                                  "body_html, status, created_at) VALUES ((SELECT id FROM posts), 1, 'A', '', "
                                  "'Words', '', 'pending', CURRENT_TIMESTAMP)"))
            ids = conn.execute(text("SELECT id FROM comments ORDER BY id")).scalars().all()
            for status, listed in (("queued", f"{ids[0]},{ids[2]},{ids[2] + 100}"), ("sent", str(ids[1]))):
                conn.execute(text(
                    "INSERT INTO outbox (to_addr, subject, body_text, headers, kind, status, attempts, created_at, "
                    "next_attempt_at) VALUES ('a@example.org', 's', 'b', :headers, 'moderation', :status, 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"headers": json.dumps({"X-Blog-Comment-Ids": listed}), "status": status})
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT o.status, j.comment_id FROM moderation_mail_comments j "
                                     "JOIN outbox o ON o.id = j.outbox_id ORDER BY j.comment_id")).all()
        db.engine.dispose()
    assert [tuple(row) for row in rows] == [("queued", ids[0]), ("queued", ids[2])]

def sqlite_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's journal and busy timeout")


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    sqlite_only(app)
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("config_overrides", [{"DATABASE_LOCK_TIMEOUT_MS": 5000}], indirect=True)
def test_sqlite_writer_waits_for_another_writer_instead_of_failing(app, client, post, migrated):
    sqlite_only(app)
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    locked = threading.Event()

    def hold_write_lock(seconds: float):
        conn = sqlite3.connect(migrated.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_write_lock, args=(0.5,))
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    res = client.post(f"/{post}/comments", data={"author": "A", "email": "a@example.org", "comment": "waited",
                                                 "csrf_token": token})
    holder.join()
    assert res.status_code == 303
    assert time.monotonic() - started >= 0.3  # it waited for the lock, then wrote


def test_readers_are_not_blocked_by_an_open_write_transaction(app, client, post, migrated):
    sqlite_only(app)
    conn = sqlite3.connect(migrated.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE posts SET title = 'changing'")
    try:
        res = client.get(f"/{post}/")
        assert res.status_code == 200 and "changing" not in res.get_data(as_text=True)
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_postgresql_waits_for_locks_only_as_long_as_configured(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's lock_timeout")
        assert db.session.execute(text("SHOW lock_timeout")).scalar() == "10s"
