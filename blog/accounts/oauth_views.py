"""Signing in through an outside provider: /auth/<name>/login and /auth/<name>/callback.

Whatever goes wrong on the way (consent denied, state mismatch, expired flow, provider down or
hanging, a bad token) sends the reader back where they started with a clear message and the
comment they were writing, and is logged for the operator.
"""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, request, session, url_for
from flask_login import current_user
from joserfc.errors import JoseError
from sqlalchemy import select

from ..extensions import db
from ..models import Post
from ..urls import safe_next
from . import bp
from .drafts import save_draft
from .identities import IdentityError, link, sign_in_with
from .oauth import client, fetch_profile, providers
from .providers import Provider
from .templating import IDENTITY_KEY
from .views import start_session

log = logging.getLogger(__name__)

NEXT_KEY, LINK_KEY = "oauth_next", "oauth_link"


def _provider(name: str) -> Provider:
    """:raise 404: no such provider configured."""
    provider = providers().get(name)
    if provider is None:
        abort(404)
    return provider


def _back(message: str):
    """To where the flow started; on a post page the message sits by the comment form."""
    next_url = session.pop(NEXT_KEY, None) or "/"
    flash(message, "respond" if next_url.endswith("#respond") else "message")
    return redirect(next_url, code=303)


@bp.route("/auth/<name>/login", methods=["GET", "POST"])
def oauth_login(name: str):
    """Start the flow. A POST from the comment form (CSRF-checked) keeps what was typed."""
    provider = _provider(name)
    import requests  # here, not at the top: only a configured provider needs them (see oauth.py)
    from authlib.common.errors import AuthlibBaseError

    back = safe_next(request.values.get("next"))
    slug = request.form.get("post") if request.method == "POST" else None
    if slug:
        post = db.session.scalar(select(Post).where(Post.slug == slug))
        if post is not None:
            save_draft(post, request.form)
            parent = request.form.get("comment_parent", "")
            back = url_for("reading.post", slug=post.slug, _anchor="respond",
                           replytocom=parent if parent.isdigit() and parent != "0" and len(parent) < 18 else None)
    session[NEXT_KEY] = back
    session[LINK_KEY] = bool(request.method == "POST" and request.form.get("link") and current_user.is_authenticated)
    try:
        return client(name).authorize_redirect(url_for("accounts.oauth_callback", name=name, _external=True))
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        log.warning("oauth %s: could not start sign-in: %s: %s", name, type(exc).__name__, exc)
        return _back(f"{provider.title} is not answering just now, so you could not sign in with it. "
                     "Please try again later.")


@bp.get("/auth/<name>/callback")
def oauth_callback(name: str):
    provider = _provider(name)
    import requests
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.base_client import MismatchingStateError, OAuthError

    try:
        token = client(name).authorize_access_token()
        profile = fetch_profile(provider, token)
    except MismatchingStateError:
        log.warning("oauth %s: state missing or mismatched (expired flow or forged callback)", name)
        return _back(f"Signing in with {provider.title} did not complete: the sign-in expired or did not "
                     "start here. Please try again.")
    except OAuthError as exc:
        if exc.error == "access_denied":
            log.info("oauth %s: the reader declined", name)
            return _back(f"You did not allow signing in with {provider.title}. You can still comment "
                         "as a guest or try again.")
        log.warning("oauth %s: provider error %s: %s", name, exc.error, exc.description)
        return _back(f"{provider.title} refused the sign-in ({exc.error}). Please try again.")
    except requests.Timeout:
        log.warning("oauth %s: provider timed out", name)
        return _back(f"{provider.title} took too long to answer. Please try again later.")
    except requests.RequestException as exc:
        log.warning("oauth %s: provider unreachable or failing: %s", name, exc)
        return _back(f"{provider.title} is not answering just now. Please try again later.")
    except (AuthlibBaseError, JoseError, KeyError, ValueError, TypeError) as exc:  # JoseError: ID token checks
        log.warning("oauth %s: unusable answer: %s: %s", name, type(exc).__name__, exc)
        return _back(f"{provider.title} sent an answer we could not verify, so you are not signed in. "
                     "Please try again.")

    next_url = session.pop(NEXT_KEY, None) or "/"
    if session.pop(LINK_KEY, False) and current_user.is_authenticated:
        try:
            link(current_user, provider.name, profile)
        except IdentityError as exc:
            flash(str(exc))
            return redirect(url_for("accounts.account"), code=303)
        flash(f"Your {provider.title} account is linked.")
        return redirect(url_for("accounts.account"), code=303)

    identity = sign_in_with(provider.name, provider.title, profile)
    start_session(identity.user, keep=("draft",))
    session[IDENTITY_KEY] = identity.id
    log.info("oauth %s: user %s signed in", name, identity.user_id)
    return redirect(next_url, code=303)
