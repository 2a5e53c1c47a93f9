"""Outside identity providers, configured only from the environment (DESIGN.md).

``OAUTH_PROVIDERS=wordpress,github,myoidc`` and, per provider, ``OAUTH_<NAME>_CLIENT_ID`` and
``_CLIENT_SECRET``; then either ``_SERVER_METADATA_URL`` (OpenID Connect discovery) or
``_AUTHORIZE_URL``, ``_ACCESS_TOKEN_URL`` and ``_USERINFO_URL`` (plain OAuth 2); ``_SCOPE`` and
``_TITLE`` optionally. The presets below fill in all but the id and secret for known providers.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PROVIDER_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Profile:
    """Userinfo from any provider, in one shape."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    avatar: str | None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value, limit: int = 245) -> str | None:
    """A provider's free text, without control characters (names end up in comments and mail)."""
    if value is None:
        return None
    return _CONTROL.sub(" ", str(value)).strip()[:limit] or None


def _https_or_none(url) -> str | None:
    url = _text(url)
    return url if url and urlsplit(url).scheme in ("http", "https") and len(url) <= 500 else None


def oidc_profile(info: Mapping) -> Profile:
    return Profile(subject=str(info["sub"]), email=_text(info.get("email")),
                   email_verified=info.get("email_verified") is True,
                   name=_text(info.get("name") or info.get("preferred_username")),
                   avatar=_https_or_none(info.get("picture")))


def github_profile(info: Mapping) -> Profile:
    # GitHub's /user gives the public email only, and does not say it is verified.
    return Profile(subject=str(info["id"]), email=_text(info.get("email")), email_verified=False,
                   name=_text(info.get("name") or info.get("login")),
                   avatar=_https_or_none(info.get("avatar_url")))


def facebook_profile(info: Mapping) -> Profile:
    picture = ((info.get("picture") or {}).get("data") or {}).get("url")
    return Profile(subject=str(info["id"]), email=_text(info.get("email")),
                   email_verified=bool(info.get("email")), name=_text(info.get("name")),
                   avatar=_https_or_none(picture))


def wordpress_profile(info: Mapping) -> Profile:
    return Profile(subject=str(info["ID"]), email=_text(info.get("email")),
                   email_verified=info.get("email_verified") is True,
                   name=_text(info.get("display_name") or info.get("username")),
                   avatar=_https_or_none(info.get("avatar_URL")))


PRESETS: dict[str, dict] = {
    "google": {"title": "Google",
               "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
               "scope": "openid email profile"},
    "github": {"title": "GitHub", "authorize_url": "https://github.com/login/oauth/authorize",
               "access_token_url": "https://github.com/login/oauth/access_token",
               "userinfo_url": "https://api.github.com/user", "scope": "read:user user:email",
               "profile": github_profile},
    "facebook": {"title": "Facebook", "authorize_url": "https://www.facebook.com/v19.0/dialog/oauth",
                 "access_token_url": "https://graph.facebook.com/v19.0/oauth/access_token",
                 "userinfo_url": "https://graph.facebook.com/me?fields=id,name,email,picture",
                 "scope": "public_profile email", "profile": facebook_profile},
    "wordpress": {"title": "WordPress.com",
                  "authorize_url": "https://public-api.wordpress.com/oauth2/authorize",
                  "access_token_url": "https://public-api.wordpress.com/oauth2/token",
                  "userinfo_url": "https://public-api.wordpress.com/rest/v1/me",
                  "scope": "auth", "profile": wordpress_profile},
}


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    client_id: str
    client_secret: str
    scope: str
    server_metadata_url: str | None = None
    authorize_url: str | None = None
    access_token_url: str | None = None
    userinfo_url: str | None = None
    profile: Callable[[Mapping], Profile] = oidc_profile

    @property
    def is_oidc(self) -> bool:
        return bool(self.server_metadata_url) and "openid" in self.scope.split()

    @property
    def origins(self) -> set[str]:
        """Where the sign-in page lives: the comment form posts there through a redirect (CSP form-action)."""
        found = set()
        for url in (self.authorize_url, self.server_metadata_url):
            if url:
                parts = urlsplit(url)
                found.add(f"{parts.scheme}://{parts.netloc}")
        return found


class ProviderConfigError(RuntimeError):
    pass


def load_providers(environ: Mapping[str, str] | None = None) -> dict[str, Provider]:
    """Read OAUTH_* variables. :raise ProviderConfigError: a listed provider lacks what it needs."""
    environ = os.environ if environ is None else environ
    names = [n.strip().lower() for n in (environ.get("OAUTH_PROVIDERS") or "").split(",") if n.strip()]
    providers: dict[str, Provider] = {}
    for name in names:
        if not set(name) <= PROVIDER_NAME_CHARS:
            raise ProviderConfigError(f"OAUTH_PROVIDERS: {name!r} may use only a-z, 0-9 and _.")
        prefix = f"OAUTH_{name.upper()}_"
        preset = dict(PRESETS.get(name, {}))
        for key in ("client_id", "client_secret", "server_metadata_url", "authorize_url",
                    "access_token_url", "userinfo_url", "scope", "title"):
            if environ.get(prefix + key.upper()):
                preset[key] = environ[prefix + key.upper()]
        missing = [k for k in ("client_id", "client_secret") if not preset.get(k)]
        if not preset.get("server_metadata_url") and not all(
                preset.get(k) for k in ("authorize_url", "access_token_url", "userinfo_url")):
            missing.append("server_metadata_url (or authorize_url, access_token_url, userinfo_url)")
        if missing:
            raise ProviderConfigError(
                f"Provider {name!r} needs " + ", ".join(prefix + m.split(" ")[0].upper() for m in missing))
        preset.setdefault("title", name.replace("_", " ").title())
        preset.setdefault("scope", "openid email profile" if preset.get("server_metadata_url") else "")
        providers[name] = Provider(name=name, **preset)
    return providers
