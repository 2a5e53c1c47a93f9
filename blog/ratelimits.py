"""Rate limits on the forms spammers and password guessers use (Flask-Limiter).

A limit counts POSTs per client address (behind TRUSTED_PROXIES, the address
ProxyFix found) and lives where RATELIMIT_STORAGE_URI says: process memory by
default, Redis when REDIS_URL is set, shared by every worker and host. Each
form has its own setting, ``RATELIMIT_<NAME>`` (e.g.
``BLOG_RATELIMIT_COMMENT="5 per minute;50 per hour"``). A request over the
limit gets errors.py's 429 page, which keeps what was typed.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from .extensions import limiter


def limited(name: str) -> Callable:
    """Decorate a view so its POSTs count against the limit ``RATELIMIT_<NAME>``.

    Views decorated with the same name share one budget per client.
    """
    setting = f"RATELIMIT_{name.upper()}"
    return limiter.shared_limit(lambda: current_app.config[setting], scope=name, methods=["POST"])
