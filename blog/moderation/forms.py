"""Moderation forms. CSRF is checked on every POST by CSRFProtect; these parse and validate."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, NumberRange, Optional

from .settings import FIELDS

LABELS = {
    "COMMENT_MODERATION": "Comment must be manually approved",
    "COMMENT_PREVIOUSLY_APPROVED": "Comment author must have a previously approved comment",
    "COMMENT_TRUST_UNVERIFIED_EMAIL": "Count an earlier approval for a guest’s name and email even though the "
                                      "email is not verified (WordPress’s behaviour)",
    "COMMENT_MAX_LINKS": "Hold a comment in the queue if it contains this many links or more (0: off)",
    "MODERATION_KEYS": "Comment moderation: hold a comment containing any of these words (one per line)",
    "DISALLOWED_KEYS": "Disallowed comment keys: put a comment containing any of these words in the trash "
                       "(one per line)",
    "COMMENT_REGISTRATION": "Users must be registered and logged in to comment",
    "COMMENT_CLOSE_AFTER_DAYS": "Automatically close comments on posts older than this many days (0: never; "
                                "WordPress suggests 14)",
    "COMMENT_THREAD_DEPTH": "Nested comments: levels deep",
    "COMMENTS_PER_PAGE": "Top-level comments per page",
    "COMMENT_EDIT_MINUTES": "Minutes a commenter may edit or delete their comment",
    "COMMENT_FLOOD_SECONDS": "Seconds between two comments from one commenter or address",
    "COMMENT_MIN_SUBMIT_SECONDS": "A comment sent sooner than this many seconds after the form was served is spam",
    "MODERATION_NOTIFY_HELD": "Email me when a comment is held for moderation",
    "MODERATION_NOTIFY_PUBLISHED": "Email me when a comment is published",
    "MODERATION_PURGE_DAYS": "Empty spam and trash after this many days",
}
LIMITS = {"COMMENT_THREAD_DEPTH": (1, 10), "COMMENTS_PER_PAGE": (1, 500), "MODERATION_PURGE_DAYS": (1, 3650)}


class SettingsForm(FlaskForm):
    """Built from settings.FIELDS so a new setting needs one line there and one label here."""

    dry_run_limit = IntegerField("Try on the last", default=50, validators=[Optional(), NumberRange(1, 500)])


for _name, _kind in FIELDS.items():
    if _kind is bool:
        _field = BooleanField(LABELS[_name])
    elif _kind is int:
        low, high = LIMITS.get(_name, (0, 100000))
        _field = IntegerField(LABELS[_name], validators=[DataRequired() if low else Optional(),
                                                         NumberRange(low, high)])
    else:
        _field = TextAreaField(LABELS[_name])
    setattr(SettingsForm, _name, _field)


def settings_values(form: SettingsForm) -> dict:
    values = {}
    for name, kind in FIELDS.items():
        data = form[name].data
        values[name] = bool(data) if kind is bool else int(data or 0) if kind is int else (data or "").strip()
    return values


class ReplyForm(FlaskForm):
    comment = TextAreaField("Reply")


class QuickEditForm(FlaskForm):
    author = StringField("Name")
    email = EmailField("Email")
    url = URLField("URL")
    comment = TextAreaField("Comment")


class OwnEditForm(FlaskForm):
    comment = TextAreaField("Comment")
