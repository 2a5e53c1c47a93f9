"""Blocked commenters: by account, email or IP address their next comments go to spam."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import Block, BlockKind


def blocked_as(user_id: int | None, email: str | None, ip: str | None) -> str:
    """The kind of the first block that matches ("user", "email", "ip"), or "" (one query)."""
    wanted = [(BlockKind.USER, str(user_id) if user_id else None), (BlockKind.EMAIL, (email or "").lower() or None),
              (BlockKind.IP, ip)]
    clauses = [and_(Block.kind == kind, Block.value == value) for kind, value in wanted if value]
    if not clauses:
        return ""
    kinds = set(db.session.scalars(select(Block.kind).where(or_(*clauses))))
    return next((kind.value for kind, _ in wanted if kind in kinds), "")
