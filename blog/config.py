"""Configuration: defaults in code, secrets only from the environment.

Every option and its default is listed here and in docs/configuration.md.
Environment variables named in DESIGN.md are read directly; any other option
can be set as ``BLOG_<NAME>`` (e.g. ``BLOG_COMMENTS_PER_PAGE=20``).
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from flask import Flask

DEFAULTS = {
    # Discussion settings, WordPress's defaults.
    "COMMENT_THREAD_DEPTH": 5,
    "COMMENTS_PER_PAGE": 50,
    "COMMENT_MODERATION": False,  # "Comment must be manually approved"
    "COMMENT_PREVIOUSLY_APPROVED": True,  # "Comment author must have a previously approved comment"
    "COMMENT_MAX_LINKS": 2,  # hold a comment with this many links or more
    "MODERATION_KEYS": "",  # one per line: hold
    "DISALLOWED_KEYS": "",  # one per line: trash
    "COMMENT_FLOOD_SECONDS": 15,
    "COMMENT_EDIT_MINUTES": 15,
    # Trust a guest's earlier approval by name+email alone, as WordPress does (unverified).
    "COMMENT_TRUST_UNVERIFIED_EMAIL": False,
    "COMMENT_REGISTRATION": False,  # "Users must be registered and logged in to comment"
    "COMMENT_CLOSE_AFTER_DAYS": 0,  # close comments on posts older than N days (0: never)
    "COMMENT_MIN_SUBMIT_SECONDS": 3,  # a form sent sooner after it was served is spam
    "MODERATION_NOTIFY_HELD": True,  # mail the post's author when a comment is held
    "MODERATION_NOTIFY_PUBLISHED": False,  # ... and when one is published
    "MODERATION_MAIL_INTERVAL_MINUTES": 10,  # at most one moderation mail per recipient this often
    "MODERATION_LINK_DAYS": 3,  # one-click links in moderation mail expire after this
    "MODERATION_PURGE_DAYS": 30,  # spam and trash older than this go with `flask comments purge`
    # Request limits: the largest comment (65,525 characters, up to 12 bytes each
    # once UTF-8 is percent-encoded: 786,300) plus the other fields fits inside.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    "MAX_FORM_PARTS": 100,
    # Cookies.
    "SESSION_COOKIE_NAME": "blog_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # tied to the session, not a clock: a slow writer loses nothing
    "DATABASE_LOCK_TIMEOUT_MS": 10000,  # wait this long for another writer's lock, then 503
    # Rate limits per client address on POSTs (blog/ratelimits.py); Retry-After on a 429.
    "RATELIMIT_HEADERS_ENABLED": True,
    "COMMENT_LIMIT_PER_IP": "10/minute;100/hour",
    # Redis unreachable: count in process memory instead of failing the request.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "TRUSTED_PROXIES": 0,
    "IP_RETENTION_DAYS": 30,  # then `flask privacy purge` anonymises commenters' IPs
    "GRAVATAR": False,  # avatars from Gravatar (publishes each email's hash) instead of local identicons
    # Mail (MAIL_URL from the environment; none: messages are logged, not sent).
    "MAIL_FROM": "Blog <noreply@localhost>",
    "MAIL_MAX_ATTEMPTS": 5,  # then the message is marked failed, its last error kept
    "MAIL_BACKOFF_SECONDS": 60,  # doubled after each failed attempt
    "MAIL_WORKER_INTERVAL": 5,  # seconds between outbox polls
    "MAIL_TIMEOUT": 20,  # seconds for each SMTP step
    # Local accounts.
    "VERIFY_EMAIL_MAX_AGE": 3 * 24 * 3600,
    "PASSWORD_RESET_MAX_AGE": 3600,
    "LOGIN_LIMIT_PER_IP": "20/minute;200/hour",
    "LOGIN_LIMIT_PER_ACCOUNT": "5/minute;30/hour",
    "RESET_LIMIT_PER_IP": "10/hour",
    "RESET_LIMIT_PER_ACCOUNT": "3/hour",
    "REGISTER_LIMIT_PER_IP": "10/hour",
    # Outside identities: seconds to wait for a provider before giving up.
    "OAUTH_TIMEOUT": 10,
    "PREFERRED_URL_SCHEME": "http",
    # Email subscriptions (blog/subscriptions/).
    "SUBSCRIPTION_DIGEST": False,  # gather comment notifications into `flask subscriptions digest` (hourly)
    "SUBSCRIPTION_CONFIRM_PER_DAY": 3,  # confirmation mails to one address per 24 hours (mail-bomb guard)
    "SUBSCRIBE_LIMIT_PER_IP": "10/hour",  # sign-ups under the post
    # Thread cache (blog/caching.py): per process, and in Redis too when REDIS_URL is set.
    "PAGE_CACHE": True,
    "PAGE_CACHE_LOCAL_BYTES": 16 * 1024 * 1024,  # per worker; counts towards its memory
    "PAGE_CACHE_TTL": 24 * 3600,  # seconds an old version lingers in Redis
    "PAGE_CACHE_PREFIX": "blog:thread:",  # Redis key prefix: one per site sharing a Redis
    # JSON API: origins allowed to read it from a browser (comma list, or "*").
    "CORS_ORIGINS": "",
}

# Read from the environment under their own names (DESIGN.md's table).
ENV_NAMES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MAIL_URL", "OAUTH_PROVIDERS",
             "PREFERRED_URL_SCHEME", "TRUSTED_PROXIES")


def is_production() -> bool:
    """``BLOG_ENV=production`` says so; gunicorn implies it unless BLOG_ENV says otherwise."""
    env = os.environ.get("BLOG_ENV")
    if env:
        return env == "production"
    return Path(sys.argv[0]).name.startswith("gunicorn")


def load(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    for name in ENV_NAMES:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("OAUTH_") and v})
    app.config.from_prefixed_env("BLOG")
    if test_config:
        app.config.from_mapping(test_config)

    app.config["TRUSTED_PROXIES"] = int(app.config["TRUSTED_PROXIES"])
    if app.config["PREFERRED_URL_SCHEME"] == "https":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    if not app.config.get("DATABASE_URL") and "SQLALCHEMY_DATABASE_URI" not in app.config:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        normalise_db_url(app.config.get("DATABASE_URL"))
        or f"sqlite:///{Path(app.instance_path) / 'blog.sqlite3'}",
    )
    # A server's connections can drop (restart, failover): test each one as it leaves the pool.
    # An SQLite file cannot drop, so it skips the extra round trip.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "pool_pre_ping": not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")})
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret(app)


def normalise_db_url(url: str | None) -> str | None:
    """Accept the common ``postgres://`` spellings and use psycopg 3."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _development_secret(app: Flask) -> str:
    if is_production():
        raise RuntimeError("SECRET_KEY must be set in production (BLOG_ENV=production or gunicorn).")
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole, then linked into place: concurrent workers agree on one key.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
