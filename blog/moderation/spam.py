"""The comment form's spam signals: a signed "served at" stamp and a honeypot field."""
from __future__ import annotations

import time

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner

HONEYPOT_FIELD = "comment_hp"
STAMP_FIELD = "comment_ts"


def stamp_signer(secret_key: str | bytes, signer: type[TimestampSigner] = TimestampSigner) -> TimestampSigner:
    return signer(secret_key, salt="comment-form-served")


def _signer() -> TimestampSigner:
    return stamp_signer(current_app.config["SECRET_KEY"])


def form_stamp() -> str:
    """A value for the form's hidden stamp field: when it was served, signed."""
    return _signer().sign("comment-form").decode()


def form_age(stamp: str | None, now: float | None = None) -> float:
    """Seconds since the form was served; 0 for a missing or forged stamp (counts as too fast)."""
    if not stamp:
        return 0.0
    try:
        _, signed_at = _signer().unsign(stamp, return_timestamp=True)
    except BadSignature:
        return 0.0
    return max(0.0, (now or time.time()) - signed_at.timestamp())
