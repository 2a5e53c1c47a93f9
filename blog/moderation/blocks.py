"""Blocked commenters: by account, email or IP address their next comments go to spam."""
from __future__ import annotations

from sqlalchemy import and_, bindparam, or_, select

from ..extensions import db
from ..models import Block, BlockKind


# Built once; a value that is None matches nothing (``value = NULL`` is never true).
_MATCHING = select(Block.kind).where(or_(*(
    and_(Block.kind == kind, Block.value == bindparam(kind.value))
    for kind in (BlockKind.USER, BlockKind.EMAIL, BlockKind.IP))))


def blocked_as(user_id: int | None, email: str | None, ip: str | None) -> str:
    """The kind of the first block that matches ("user", "email", "ip"), or "" (one query)."""
    wanted = {BlockKind.USER: str(user_id) if user_id else None, BlockKind.EMAIL: (email or "").lower() or None,
              BlockKind.IP: ip or None}
    if not any(wanted.values()):
        return ""
    kinds = set(db.session.scalars(_MATCHING, {kind.value: value for kind, value in wanted.items()}))
    return next((kind.value for kind in wanted if kind in kinds), "")
