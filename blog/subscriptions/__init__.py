"""Email subscriptions: follow replies, a post's comments or new posts, with double opt-in."""
from flask import Blueprint, Flask

bp = Blueprint("subscriptions", __name__)


def init_app(app: Flask) -> None:
    # Views load here, not at import: the comment service imports this package's service.
    from ..signals import comment_changed
    from . import views  # noqa: F401  (routes register on bp)
    from .notify import on_comment_changed

    app.register_blueprint(bp)
    comment_changed.connect(on_comment_changed)
