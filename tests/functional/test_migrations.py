"""`flask db upgrade` from nothing builds exactly the models' schema; downgrade and upgrade again work.

Runs on a scratch database of its own (the session's database is shared by
the other tests): a SQLite file, or on PostgreSQL a database named after
TEST_DATABASE_URL's with "_mig" appended, created and dropped here.
"""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from blog import create_app
from blog.extensions import db
from tests import conftest


@pytest.fixture
def scratch_url(database_url, tmp_path):
    with conftest.scratch_database(database_url, "mig", tmp_path) as url:
        yield url


@pytest.fixture
def scratch_app(scratch_url):
    app = create_app(conftest.test_config(scratch_url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def flask_db(app, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)}: {result.output}{result.exception!r}"


def differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def test_upgrade_from_nothing_matches_the_models(scratch_app):
    assert tables(scratch_app) == set()
    flask_db(scratch_app, "upgrade")
    assert tables(scratch_app) == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
    assert differences(scratch_app) == []


def test_downgrade_to_base_and_upgrade_again(scratch_app):
    flask_db(scratch_app, "upgrade")
    flask_db(scratch_app, "downgrade", "base")
    assert tables(scratch_app) <= {"alembic_version"}
    flask_db(scratch_app, "upgrade")
    assert differences(scratch_app) == []
    with scratch_app.app_context():
        heads = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert len(heads) == 1
