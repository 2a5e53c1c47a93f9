"""Email subscriptions: follow replies, a post's comments or new posts, with double opt-in."""
from flask import Blueprint, Flask

bp = Blueprint("subscriptions", __name__)

from . import views  # noqa: E402,F401  (routes register on bp)


def init_app(app: Flask) -> None:
    from ..signals import comment_changed
    from .notify import on_comment_changed

    app.register_blueprint(bp)
    comment_changed.connect(on_comment_changed)
