"""Blocked commenters: by account, email or IP address their next comments go to spam."""
from __future__ import annotations

from sqlalchemy import bindparam, exists, select

from ..extensions import db
from ..models import Block, BlockKind

ORDER = (BlockKind.USER, BlockKind.EMAIL, BlockKind.IP)  # the first that matches names the reason

# One labelled EXISTS per kind, for a query that asks other things too (posting asks them with
# its author checks); a value that is None matches nothing (``value = NULL`` is never true).
MATCHES = tuple(exists().where(Block.kind == kind, Block.value == bindparam(f"block_{kind.value}"))
                .label(kind.value) for kind in ORDER)
_MATCHING = select(*MATCHES)  # built once


def block_params(user_id: int | None, email: str | None, ip: str | None) -> dict[str, str | None]:
    """The values MATCHES compares, as blocks store them."""
    return {"block_user": str(user_id) if user_id else None, "block_email": (email or "").lower() or None,
            "block_ip": ip or None}


def first_block(row) -> str:
    """The kind of the first block a row with MATCHES' columns found ("user", "email", "ip"), or ""."""
    return next((kind.value for kind in ORDER if getattr(row, kind.value)), "")


def blocked_as(user_id: int | None, email: str | None, ip: str | None) -> str:
    """The kind of the first block that matches, or "" (one query)."""
    params = block_params(user_id, email, ip)
    if not any(params.values()):
        return ""
    return first_block(db.session.execute(_MATCHING, params).one())
