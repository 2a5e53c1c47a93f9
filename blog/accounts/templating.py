"""What templates know about the signed-in reader: the identity they commented with, the providers."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, g, session
from flask_login import current_user

from ..extensions import db
from ..models import Identity
from ..security import allow_source
from .oauth import providers

IDENTITY_KEY = "identity_id"


def current_identity() -> Identity | None:
    """The outside identity the current user signed in with this session (one query, cached)."""
    if "current_identity" not in g:
        identity = None
        identity_id = session.get(IDENTITY_KEY)
        if isinstance(identity_id, int) and current_user.is_authenticated:
            identity = db.session.get(Identity, identity_id)
            if identity is not None and identity.user_id != current_user.id:
                identity = None
        g.current_identity = identity
    return g.current_identity


def external_image(url: str | None) -> str | None:
    """Allow one outside image (the reader's own avatar) in this page's CSP."""
    if not url:
        return None
    parts = urlsplit(url)
    allow_source("img-src", f"{parts.scheme}://{parts.netloc}")
    return url


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(current_identity=current_identity, oauth_providers=providers,
                                 external_image=external_image)
