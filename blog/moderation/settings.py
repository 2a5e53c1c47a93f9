"""Discussion settings: defaults from configuration, site-wide values saved on the
settings page (table site_settings), and per-post overrides (post.settings), in that order.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, has_request_context
from sqlalchemy import select

from ..extensions import db
from ..models import Post, SiteSetting
from .rules import Settings, parse_keys

# Every setting the page edits: name (the config key) → type. Order is the page's.
FIELDS: dict[str, type] = {
    "COMMENT_MODERATION": bool,
    "COMMENT_PREVIOUSLY_APPROVED": bool,
    "COMMENT_TRUST_UNVERIFIED_EMAIL": bool,
    "COMMENT_MAX_LINKS": int,
    "MODERATION_KEYS": str,
    "DISALLOWED_KEYS": str,
    "COMMENT_REGISTRATION": bool,
    "COMMENT_CLOSE_AFTER_DAYS": int,
    "COMMENT_THREAD_DEPTH": int,
    "COMMENTS_PER_PAGE": int,
    "COMMENT_EDIT_MINUTES": int,
    "COMMENT_FLOOD_SECONDS": int,
    "COMMENT_MIN_SUBMIT_SECONDS": int,
    "MODERATION_NOTIFY_HELD": bool,
    "MODERATION_NOTIFY_PUBLISHED": bool,
    "MODERATION_PURGE_DAYS": int,
}
# Settings that only make sense for the whole site.
SITE_ONLY = {"MODERATION_PURGE_DAYS"}


@dataclass(frozen=True)
class Discussion:
    thread_depth: int
    per_page: int
    flood_seconds: int
    edit_minutes: int
    sign_in_required: bool
    close_after_days: int
    notify_held: bool
    notify_published: bool
    purge_days: int
    rules: Settings


_SITE_SETTINGS = select(SiteSetting.name, SiteSetting.value)


def site_values() -> dict:
    """Configuration defaults with the saved site-wide values on top (one query, once a request)."""
    if has_request_context() and "site_values" in g:
        return dict(g.site_values)
    config = current_app.config
    values = {name: config[name] for name in FIELDS}
    db.session.flush()  # settings being saved count (as session.execute would flush them)
    # On the session's connection: through the ORM this read was a third of posting's setup.
    values.update({name: value for name, value in db.session.connection().execute(_SITE_SETTINGS)
                   if name in FIELDS})
    if has_request_context():
        g.site_values = values
    return dict(values)


def forget_site_values() -> None:
    """After saving them: the rest of the request reads them again."""
    g.pop("site_values", None)


def values_for(post: Post | None = None, site: dict | None = None) -> dict:
    values = dict(site if site is not None else site_values())
    if post is not None and post.settings:
        values.update({k: v for k, v in post.settings.items() if k in FIELDS and k not in SITE_ONLY})
    return values


def discussion_for(post: Post | None = None, values: dict | None = None) -> Discussion:
    values = values if values is not None else values_for(post)
    return Discussion(
        thread_depth=max(1, int(values["COMMENT_THREAD_DEPTH"])),
        per_page=max(1, int(values["COMMENTS_PER_PAGE"])),
        flood_seconds=int(values["COMMENT_FLOOD_SECONDS"]),
        edit_minutes=int(values["COMMENT_EDIT_MINUTES"]),
        sign_in_required=as_bool(values["COMMENT_REGISTRATION"]),
        close_after_days=max(0, int(values["COMMENT_CLOSE_AFTER_DAYS"])),
        notify_held=as_bool(values["MODERATION_NOTIFY_HELD"]),
        notify_published=as_bool(values["MODERATION_NOTIFY_PUBLISHED"]),
        purge_days=max(1, int(values["MODERATION_PURGE_DAYS"])),
        rules=Settings(
            manual_approval=as_bool(values["COMMENT_MODERATION"]),
            previously_approved=as_bool(values["COMMENT_PREVIOUSLY_APPROVED"]),
            trust_unverified_email=as_bool(values["COMMENT_TRUST_UNVERIFIED_EMAIL"]),
            max_links=int(values["COMMENT_MAX_LINKS"]),
            moderation_keys=parse_keys(str(values["MODERATION_KEYS"])),
            disallowed_keys=parse_keys(str(values["DISALLOWED_KEYS"])),
            min_submit_seconds=float(values["COMMENT_MIN_SUBMIT_SECONDS"]),
        ),
    )


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
