"""Local accounts: creating users and checking passwords."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Role, User

MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


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


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.check_password(password):
        return None
    return user
