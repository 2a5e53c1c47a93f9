"""Moderation rules: pure functions from facts about a comment to a status and reasons.

No Flask, no database: the service gathers the facts, these decide. The order
is WordPress's (wp_allow_comment() then check_comment() in wp-includes/comment.php):
a moderator's own comment is approved; disallowed keywords trash; then manual
approval, the link limit, moderation keywords and the previously-approved rule
hold. Every reason that applies is kept, so the desk can show them all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Status


@dataclass(frozen=True)
class Settings:
    manual_approval: bool = False
    previously_approved: bool = True
    max_links: int = 2
    moderation_keys: tuple[str, ...] = ()
    disallowed_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    text: str
    name: str
    email: str = ""
    url: str = ""
    ip: str = ""
    user_agent: str = ""
    link_count: int = 0
    is_moderator: bool = False
    has_approved_comment: bool = False


@dataclass(frozen=True)
class Decision:
    status: Status
    reasons: tuple[str, ...] = field(default=())


def parse_keys(text: str) -> tuple[str, ...]:
    """One keyword or phrase per line, as WordPress's settings take them."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def matched_key(keys: tuple[str, ...], facts: Facts) -> str | None:
    """First key found, case-insensitively, in text, name, email, URL, IP or user agent."""
    haystacks = [h.lower() for h in (facts.text, facts.name, facts.email, facts.url,
                                     facts.ip, facts.user_agent) if h]
    for key in keys:
        needle = key.lower()
        if any(needle in h for h in haystacks):
            return key
    return None


def decide(facts: Facts, settings: Settings) -> Decision:
    if facts.is_moderator:
        return Decision(Status.APPROVED, ("Written by a moderator of this post",))
    disallowed = matched_key(settings.disallowed_keys, facts)
    if disallowed:
        return Decision(Status.TRASH, (f"Contains a disallowed word: “{disallowed}”",))

    reasons: list[str] = []
    if settings.manual_approval:
        reasons.append("Every comment must be approved by hand")
    if settings.max_links and facts.link_count >= settings.max_links:
        reasons.append(f"Contains {facts.link_count} links (hold at {settings.max_links} or more)")
    key = matched_key(settings.moderation_keys, facts)
    if key:
        reasons.append(f"Contains a moderation word: “{key}”")
    if settings.previously_approved and not facts.has_approved_comment:
        reasons.append("First comment from this commenter")
    if reasons:
        return Decision(Status.PENDING, tuple(reasons))
    return Decision(Status.APPROVED)
