"""Response headers and proxy trust."""
from __future__ import annotations

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def allow_source(directive: str, origin: str) -> None:
    """Widen one directive of this response's CSP (e.g. a reader's avatar from their provider)."""
    g.setdefault("csp_extra", {}).setdefault(directive, set()).add(origin)


def policy() -> str:
    """CSP, plus app-wide extra sources (CSP_EXTRA: directive → origins) and this request's."""
    extra: dict[str, set[str]] = {}
    for source in (current_app.config.get("CSP_EXTRA") or {}, g.get("csp_extra") or {}):
        for directive, origins in source.items():
            extra.setdefault(directive, set()).update(origins)
    if not extra:
        return CSP
    parts = []
    for part in CSP.split("; "):
        directive = part.split(" ", 1)[0]
        parts.append(" ".join([part, *sorted(extra.get(directive, ()))]))
    return "; ".join(parts)


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", policy())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response
