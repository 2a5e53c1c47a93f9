"""Authlib's Flask client, one registered app per configured provider.

Authorization code with state, PKCE (S256) and, for OpenID Connect, a nonce and a validated
ID token. Providers are slow or down sometimes: every call has a timeout (Authlib ignores
``client_kwargs={'timeout': ...}``; ``default_timeout`` is what reaches requests).
"""
from __future__ import annotations

from flask import Flask, current_app

from .providers import Profile, Provider, load_providers


def init_app(app: Flask) -> None:
    providers = load_providers(app.config)
    app.extensions["blog_providers"] = providers
    if not providers:  # Authlib (and requests) cost a worker ~15 MB: only where someone signs in with them
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    for provider in providers.values():
        kwargs = {"code_challenge_method": "S256", "default_timeout": app.config["OAUTH_TIMEOUT"]}
        if provider.scope:
            kwargs["scope"] = provider.scope
        if provider.name == "github":
            kwargs["token_endpoint_auth_method"] = "client_secret_post"
        oauth.register(
            provider.name, client_id=provider.client_id, client_secret=provider.client_secret,
            server_metadata_url=provider.server_metadata_url, authorize_url=provider.authorize_url,
            access_token_url=provider.access_token_url, client_kwargs=kwargs,
        )
    # The comment form's provider buttons post here and are redirected on: allow it (CSP form-action).
    origins = set().union(*(p.origins for p in providers.values()))
    if origins:
        app.config.setdefault("CSP_EXTRA", {}).setdefault("form-action", set()).update(origins)
    app.extensions["blog_oauth"] = oauth


def providers() -> dict[str, Provider]:
    return current_app.extensions["blog_providers"]


def client(name: str):
    return current_app.extensions["blog_oauth"].create_client(name)


def fetch_profile(provider: Provider, token: dict) -> Profile:
    """The signed-in person from the provider, in one shape.

    For OpenID Connect the ID token (already validated) gives the subject; email and name come
    from userinfo, since many providers put only ``sub`` in the ID token.
    :raise KeyError, ValueError: an answer without what we need; requests errors when down.
    """
    app_client = client(provider.name)
    if provider.is_oidc:
        claims = token.get("userinfo")
        if not claims or not claims.get("sub"):
            raise ValueError("no validated ID token in the token response")
        info = dict(app_client.userinfo(token=token))
        if str(info.get("sub")) != str(claims["sub"]):
            raise ValueError("userinfo is about someone else than the ID token")
        return provider.profile({**claims, **info})
    response = app_client.get(provider.userinfo_url, token=token)
    response.raise_for_status()
    info = response.json()
    if not isinstance(info, dict):
        raise ValueError("userinfo is not an object")
    return provider.profile(info)
