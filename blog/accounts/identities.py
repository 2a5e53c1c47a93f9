"""One person, many identities: signing in, linking and unlinking outside accounts.

An outside identity is never merged into an account by its email address (that would let
whoever controls a provider account take over a local one): linking needs the user signed in.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Identity, Role, User
from .providers import Profile


class IdentityError(ValueError):
    pass


def _identity(provider: str, subject: str) -> Identity | None:
    return db.session.scalar(select(Identity).where(Identity.provider == provider, Identity.subject == subject))


def _refresh(identity: Identity, profile: Profile) -> None:
    identity.email, identity.email_verified = profile.email, profile.email_verified
    identity.name, identity.avatar_url = profile.name, profile.avatar


def sign_in_with(provider: str, title: str, profile: Profile) -> Identity:
    """The identity for this outside account, creating it and its user on first sign-in."""
    identity = _identity(provider, profile.subject)
    if identity is None:
        user = User(display_name=(profile.name or f"{title} user")[:245], email=None, role=Role.READER)
        identity = Identity(user=user, provider=provider, subject=profile.subject)
        db.session.add(identity)
    _refresh(identity, profile)
    try:
        db.session.commit()
    except IntegrityError:  # the same first sign-in in two tabs at once
        db.session.rollback()
        identity = _identity(provider, profile.subject)
        if identity is None:
            raise
    return identity


def link(user: User, provider: str, profile: Profile) -> Identity:
    """:raise IdentityError: this outside account already belongs to someone else."""
    identity = _identity(provider, profile.subject)
    if identity is not None and identity.user_id != user.id:
        raise IdentityError("That account is already linked to another user here. "
                            "Sign in with it and unlink it there first.")
    if identity is None:
        identity = Identity(user_id=user.id, provider=provider, subject=profile.subject,
                            linked_at=datetime.now(timezone.utc))
        db.session.add(identity)
    _refresh(identity, profile)
    db.session.commit()
    return identity


def identities_of(user: User) -> list[Identity]:
    return list(db.session.scalars(select(Identity).where(Identity.user_id == user.id).order_by(Identity.linked_at)))


def can_unlink(user: User, identity: Identity) -> bool:
    """Never the last way in: a password or another identity must remain."""
    if identity.user_id != user.id:
        return False
    others = db.session.scalar(select(func.count()).where(
        Identity.user_id == user.id, Identity.id != identity.id)) or 0
    return others > 0 or bool(user.password_hash and user.email)


def unlink(user: User, identity_id: int) -> Identity:
    """:raise IdentityError: not the user's, or their last way to sign in."""
    identity = db.session.get(Identity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise IdentityError("There is no such linked account.")
    if not can_unlink(user, identity):
        raise IdentityError("This is your only way to sign in; link another account or set a password first.")
    db.session.delete(identity)
    db.session.commit()
    return identity
