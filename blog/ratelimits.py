"""Rate limits on the forms spammers and password guessers use (Flask-Limiter).

A limit counts POSTs per client address (behind TRUSTED_PROXIES, the address
ProxyFix found) and lives where RATELIMIT_STORAGE_URI says: process memory by
default, Redis when REDIS_URL is set, shared by every worker and host. Each
limit is a setting named ``<FORM>_LIMIT_PER_IP`` in Flask-Limiter's syntax
(e.g. ``BLOG_COMMENT_LIMIT_PER_IP="5/minute;50/hour"``). A request over the
limit gets errors.py's 429 page, which keeps what was typed.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from .extensions import limiter


def limited(setting: str) -> Callable:
    """Decorate a view so its POSTs count against the limit in the setting named.

    Views decorated with the same setting share one budget per client address.
    """
    return limiter.shared_limit(lambda: current_app.config[setting], scope=setting.lower(), methods=["POST"])
