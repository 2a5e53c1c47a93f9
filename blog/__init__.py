"""A WordPress-grade comment system and moderation backend."""
from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, template_folder=str(root / "templates"), instance_path=str(root / "instance"))

    from . import config

    config.load(app, test_config)

    from .extensions import csrf, db, limiter, login_manager

    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from . import caching, database, security

    database.init_app(app)
    security.init_app(app)
    caching.init_app(app)

    from .accounts import bp as accounts_bp
    from .comments import bp as comments_bp
    from .moderation.views import bp as moderation_bp
    from .reading import bp as reading_bp
    from .api import bp as api_bp  # after comments: reading and comments import each other

    app.register_blueprint(reading_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(moderation_bp)

    from . import fastpath

    fastpath.init_app(app)

    from . import subscriptions

    subscriptions.init_app(app)

    from . import errors, templating

    errors.init_app(app)
    templating.init_app(app)

    from . import cli

    cli.init_app(app)
    security.trust_proxies(app)  # last: in front of every other layer
    return app


def init_migrations(app: Flask) -> None:
    """Flask-Migrate on ``app``, for ``flask db`` and the tests that migrate a database.

    Not part of create_app: Flask-Migrate brings Alembic, about 10 MB in every web worker
    that never migrates anything (``flask db`` loads it on use, see cli.py).
    """
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        from .extensions import db

        Migrate(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
