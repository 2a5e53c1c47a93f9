"""Local accounts: registration, verification, sign-in, password changes and resets.

Answers never tell whether an address has an account: the views show the same
message either way, and the mail goes to the address's owner.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..mail import queue_mail
from ..models import Role, User

MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_NAME = 245
VERIFY_SALT, RESET_SALT = "verify-email", "password-reset"


@cache
def _dummy_hash() -> str:
    """Compared against when the address is unknown, so both answers take as long. Made on
    first use, not at import: scrypt briefly takes 32 MB, which every worker that never
    checks a password would otherwise count in its peak memory."""
    return generate_password_hash("not a password", method="scrypt")


class AccountError(ValueError):
    pass


@dataclass
class FormRefused(Exception):
    """Fields to correct: field name → message."""

    errors: dict[str, str] = field(default_factory=dict)


def create_user(email: str, name: str, password: str | None, role: str = Role.READER) -> User:
    """:raise AccountError: unknown role, short password or an email already taken."""
    if role not in set(Role):
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(Role)}.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must have at least {MIN_PASSWORD} characters.")
    user = User(email=email.strip().lower(), display_name=name.strip(), role=role)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(f"An account with the email {email} already exists.") from None
    return user


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    user = user_by_email(email)
    if user is None or not user.password_hash:
        User(password_hash=_dummy_hash()).check_password(password)  # same time as a real check
        return None
    return user if user.check_password(password) else None


def _check_password(password: str, errors: dict[str, str], name: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        errors[name] = f"Please choose a password of at least {MIN_PASSWORD} characters."
    elif len(password) > MAX_PASSWORD:
        errors[name] = f"That password is too long; the limit is {MAX_PASSWORD} characters."


def normalise_email(email: str) -> str:
    """:raise FormRefused: not an address."""
    email = (email or "").strip()
    if not email or len(email) > 254:
        raise FormRefused({"email": "Please enter a valid email address."})
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise FormRefused({"email": "Please enter a valid email address."}) from None


# --- signed links ---------------------------------------------------------

def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Changes with every new password, so a reset link works once only.
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


def verify_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps({"u": user.id, "e": user.email})


def reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"u": user.id, "p": _password_fingerprint(user)})


def _load(salt: str, token: str, max_age: int) -> dict | None:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        return None
    return data if isinstance(data, dict) else None


def _queue(to: str, subject: str, template: str, kind: str, **context) -> None:
    text = render_template(f"accounts/mail/{template}.txt", **context)
    html = render_template(f"accounts/mail/{template}.html", **context)
    queue_mail(to, subject, text, html, kind=kind)


# --- services ---------------------------------------------------------------

def register(email: str, name: str, password: str) -> User | None:
    """Create an unverified account and mail its confirmation link.

    For an address that already has an account, nothing is created: its owner gets a
    mail saying so (with a reset link). Returns the new user, or None.
    :raise FormRefused: fields to correct (never "address taken").
    """
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Please enter your name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"Your name is too long; the limit is {MAX_NAME} characters."
    try:
        email = normalise_email(email)
    except FormRefused as refused:
        errors.update(refused.errors)
    _check_password(password or "", errors)
    if errors:
        raise FormRefused(errors)

    existing = user_by_email(email)
    if existing is not None:
        generate_password_hash(password, method="scrypt")  # the same work as a new account
        _queue(existing.email, "You already have an account", "already_registered", "account-exists",
               user=existing, reset_url=url_for("accounts.reset_request", _external=True))
        db.session.commit()
        return None
    user = User(email=email, display_name=name, role=Role.READER)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # registered a moment ago by a concurrent request
        db.session.rollback()
        return None
    _queue(user.email, "Confirm your email address", "verify", "verify", user=user,
           url=url_for("accounts.verify", token=verify_token(user), _external=True))
    db.session.commit()
    return user


def resend_verification(user: User) -> bool:
    """Mail a new confirmation link; False when there is nothing to confirm."""
    if not user.email or user.email_verified_at is not None:
        return False
    _queue(user.email, "Confirm your email address", "verify", "verify", user=user,
           url=url_for("accounts.verify", token=verify_token(user), _external=True))
    db.session.commit()
    return True


def confirm_email(token: str, now: datetime | None = None) -> User | None:
    """Mark the address verified; None when the link is bad, expired or already used."""
    data = _load(VERIFY_SALT, token, current_app.config["VERIFY_EMAIL_MAX_AGE"])
    user = db.session.get(User, data.get("u")) if data and isinstance(data.get("u"), int) else None
    if user is None or user.email != data.get("e") or user.email_verified_at is not None:
        return None
    user.email_verified_at = now or datetime.now(timezone.utc)
    db.session.commit()
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an account; silently nothing otherwise."""
    try:
        email = normalise_email(email)
    except FormRefused:
        return
    user = user_by_email(email)
    if user is None:
        return
    _queue(user.email, "Reset your password", "reset", "reset", user=user,
           url=url_for("accounts.reset", token=reset_token(user), _external=True))
    db.session.commit()


def user_for_reset(token: str) -> User | None:
    data = _load(RESET_SALT, token, current_app.config["PASSWORD_RESET_MAX_AGE"])
    user = db.session.get(User, data.get("u")) if data and isinstance(data.get("u"), int) else None
    if user is None or data.get("p") != _password_fingerprint(user):
        return None
    return user


def reset_password(token: str, password: str) -> User | None:
    """Set a new password from a reset link (once: the link dies with the old password).

    Returns None when the link is bad, expired or used. :raise FormRefused: weak password.
    """
    user = user_for_reset(token)
    if user is None:
        return None
    errors: dict[str, str] = {}
    _check_password(password or "", errors)
    if errors:
        raise FormRefused(errors)
    user.set_password(password)
    if user.email_verified_at is None:  # the link proved the inbox
        user.email_verified_at = datetime.now(timezone.utc)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """:raise FormRefused: wrong current password (when there is one) or a weak new one."""
    errors: dict[str, str] = {}
    if user.password_hash and not user.check_password(current or ""):
        errors["current_password"] = "Your current password is not correct."
    _check_password(new or "", errors, "new_password")
    if errors:
        raise FormRefused(errors)
    user.set_password(new)
    db.session.commit()
