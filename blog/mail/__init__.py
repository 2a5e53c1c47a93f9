"""Mail: written to the outbox in the caller's transaction, delivered later by a worker."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage


# Kinds of mail written again just before each attempt to send, from what gathered since
# they were queued (moderation digests): kind -> function that rewrites the row.
COMPOSERS: dict[str, Callable[[OutboxMessage], None]] = {}


def composer(kind: str):
    """Register the function that writes mail of ``kind`` as it goes out."""
    def register(compose: Callable[[OutboxMessage], None]) -> Callable[[OutboxMessage], None]:
        COMPOSERS[kind] = compose
        return compose
    return register


def queue_mail(to: str, subject: str, text: str, html: str | None = None,
               headers: dict[str, str] | None = None, kind: str = "") -> OutboxMessage:
    """Add a message to the outbox in the current session. The caller commits."""
    message = OutboxMessage(to_addr=to, subject=subject, body_text=text, body_html=html,
                            headers=headers or {}, kind=kind)
    db.session.add(message)
    return message


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe, for mail a reader subscribed to (not for account mail)."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def failed_mail(limit: int = 20) -> list[OutboxMessage]:
    """Mail the worker gave up on, newest first, for the desk to show with its reason."""
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def masked(address: str) -> str:
    """w…@example.com: enough for the author to recognise a reader, not to copy the address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"
