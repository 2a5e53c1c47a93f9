"""Template filters and globals."""
from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_login import current_user

from .permissions import can_moderate, is_post_author_comment


# English whatever the process's locale (strftime's %B follows it), and a tenth of its cost:
# a page formats a date per comment.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def wp_date(value: datetime) -> str:
    """WordPress's default "F j, Y \\a\\t g:i a": November 25, 2026 at 7:03 pm."""
    hour = value.hour % 12 or 12
    return (f"{MONTHS[value.month - 1]} {value.day}, {value.year} at {hour}:{value.minute:02d} "
            f"{'am' if value.hour < 12 else 'pm'}")


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
