"""Template filters and globals."""
from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_login import current_user

from .permissions import can_moderate, is_post_author_comment


def wp_date(value: datetime) -> str:
    """WordPress's default "F j, Y \\a\\t g:i a": November 25, 2026 at 7:03 pm."""
    hour = value.hour % 12 or 12
    return f"{value:%B} {value.day}, {value.year} at {hour}:{value:%M} {'am' if value.hour < 12 else 'pm'}"


def thoughts_heading(count: int, title: str) -> str:
    if count == 1:
        return f"One thought on “{title}”"
    return f"{count:,} thoughts on “{title}”"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["wp_date"] = wp_date
    app.jinja_env.globals.update(
        thoughts_heading=thoughts_heading, can_moderate=can_moderate,
        is_post_author_comment=is_post_author_comment, current_user=current_user,
    )
