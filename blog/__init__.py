"""A WordPress-grade comment system and moderation backend."""
from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, template_folder=str(root / "templates"), instance_path=str(root / "instance"))

    from . import config

    config.load(app, test_config)

    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(root / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from . import database, security

    database.init_app(app)
    security.init_app(app)

    from .accounts import bp as accounts_bp
    from .comments import bp as comments_bp
    from .moderation.views import bp as moderation_bp
    from .reading import bp as reading_bp

    app.register_blueprint(reading_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(moderation_bp)

    from . import subscriptions

    subscriptions.init_app(app)

    from . import errors, templating

    errors.init_app(app)
    templating.init_app(app)

    from . import cli

    cli.init_app(app)
    return app
