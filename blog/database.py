"""Per-connection database settings.

DATABASE_LOCK_TIMEOUT_MS bounds how long a request waits for a lock held by
another writer (SQLite's busy timeout, PostgreSQL's lock_timeout); past it the
request gets the 503 page with its form kept (errors.py), instead of hanging.
"""
from __future__ import annotations

from functools import partial

from flask import Flask
from sqlalchemy import event

from .extensions import db


def _sqlite_pragmas(timeout_ms: int, dbapi_connection, _record) -> None:
    # WAL lets readers work while one writer commits; the busy timeout makes
    # concurrent writers wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={timeout_ms:d}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_settings(timeout_ms: int, dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {timeout_ms:d}")
    dbapi_connection.commit()


def init_app(app: Flask) -> None:
    timeout_ms = int(app.config["DATABASE_LOCK_TIMEOUT_MS"])
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", partial(_sqlite_pragmas, timeout_ms))
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", partial(_postgresql_settings, timeout_ms))
