"""Response headers, proxy trust and the ids routes accept."""
from __future__ import annotations

import ipaddress

from flask import Flask, current_app, g, request
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def client_address() -> str | None:
    """The client's IP address (behind TRUSTED_PROXIES, the one the proxy saw); None if not an address."""
    try:
        return str(ipaddress.ip_address((request.remote_addr or "").strip()))
    except ValueError:
        return None


def allow_source(directive: str, origin: str) -> None:
    """Widen one directive of this response's CSP (e.g. a reader's avatar from their provider)."""
    g.setdefault("csp_extra", {}).setdefault(directive, set()).add(origin)


def policy() -> str:
    """CSP, plus app-wide extra sources (CSP_EXTRA: directive → origins) and this request's."""
    return policy_with(current_app.config.get("CSP_EXTRA") or {}, g.get("csp_extra") or {})


def policy_with(*sources: dict) -> str:
    """CSP widened by each of ``sources`` (directive → origins)."""
    extra: dict[str, set[str]] = {}
    for source in sources:
        for directive, origins in source.items():
            extra.setdefault(directive, set()).update(origins)
    if not extra:
        return CSP
    parts = []
    for part in CSP.split("; "):
        directive = part.split(" ", 1)[0]
        parts.append(" ".join([part, *sorted(extra.get(directive, ()))]))
    return "; ".join(parts)


class _IdListsAsTheyAre(TaggedJSONSerializer):
    """Flask's session serializer, except that a list of ids (a guest's own and held comments)
    is written as it is: tagging it id by id was half the cost of saving the session after
    posting a comment. The JSON is the same; Flask's reads it back as before."""

    def tag(self, value):
        if type(value) is list and all(type(item) is int for item in value):
            return value
        return super().tag(value)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the serializer above."""

    serializer = _IdListsAsTheyAre()


def init_app(app: Flask) -> None:
    from .urls import IdConverter

    app.session_interface = CookieSessions()

    app.url_map.converters["int"] = IdConverter  # before any route is added

    if app.config["GRAVATAR"]:
        from .avatars import GRAVATAR_ORIGIN

        extra = app.config.setdefault("CSP_EXTRA", {})
        extra["img-src"] = {*extra.get("img-src", ()), GRAVATAR_ORIGIN}

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", policy())
        for name, value in fixed_headers(app, request.is_secure):
            response.headers[name] = value
        return response


def trust_proxies(app: Flask) -> None:
    """The outermost WSGI layer: every layer beneath sees the client's address and scheme."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def fixed_headers(app: Flask, secure: bool) -> list[tuple[str, str]]:
    """Every response's headers after the CSP (also sent by the API's fast path, fastpath.py)."""
    headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"),
               ("X-Frame-Options", "DENY")]
    # Served over TLS, or behind a TLS proxy by the operator's word (PREFERRED_URL_SCHEME).
    if secure or app.config["PREFERRED_URL_SCHEME"] == "https":
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers
