"""Local accounts and outside identities (OAuth 2 / OpenID Connect)."""
from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.record_once
def _setup(state) -> None:
    from . import oauth, templating

    oauth.init_app(state.app)
    templating.init_app(state.app)


from . import oauth_views, views  # noqa: E402,F401  (routes register on bp)
