"""Discussion settings: site-wide from configuration, overridable per post."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from ..models import Post
from .rules import Settings, parse_keys


@dataclass(frozen=True)
class Discussion:
    thread_depth: int
    per_page: int
    flood_seconds: int
    edit_minutes: int
    rules: Settings


def discussion_for(post: Post | None = None) -> Discussion:
    config = current_app.config
    values = {
        "COMMENT_THREAD_DEPTH": config["COMMENT_THREAD_DEPTH"],
        "COMMENTS_PER_PAGE": config["COMMENTS_PER_PAGE"],
        "COMMENT_FLOOD_SECONDS": config["COMMENT_FLOOD_SECONDS"],
        "COMMENT_EDIT_MINUTES": config["COMMENT_EDIT_MINUTES"],
        "COMMENT_MODERATION": config["COMMENT_MODERATION"],
        "COMMENT_PREVIOUSLY_APPROVED": config["COMMENT_PREVIOUSLY_APPROVED"],
        "COMMENT_MAX_LINKS": config["COMMENT_MAX_LINKS"],
        "MODERATION_KEYS": config["MODERATION_KEYS"],
        "DISALLOWED_KEYS": config["DISALLOWED_KEYS"],
    }
    if post is not None and post.settings:
        values.update({k: v for k, v in post.settings.items() if k in values})
    return Discussion(
        thread_depth=max(1, int(values["COMMENT_THREAD_DEPTH"])),
        per_page=max(1, int(values["COMMENTS_PER_PAGE"])),
        flood_seconds=int(values["COMMENT_FLOOD_SECONDS"]),
        edit_minutes=int(values["COMMENT_EDIT_MINUTES"]),
        rules=Settings(
            manual_approval=_bool(values["COMMENT_MODERATION"]),
            previously_approved=_bool(values["COMMENT_PREVIOUSLY_APPROVED"]),
            max_links=int(values["COMMENT_MAX_LINKS"]),
            moderation_keys=parse_keys(str(values["MODERATION_KEYS"])),
            disallowed_keys=parse_keys(str(values["DISALLOWED_KEYS"])),
        ),
    )


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
