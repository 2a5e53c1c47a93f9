"""Moderation rules: pure functions from facts about a comment to a status and reasons.

No Flask, no database: the service gathers the facts, these decide. The order
is WordPress's (wp_allow_comment() then check_comment() in wp-includes/comment.php):
a moderator's own comment is approved; a blocked commenter and disallowed
keywords go first (spam, trash); then our spam signals (honeypot, a form sent
too fast); then manual approval, the link limit, moderation keywords and the
previously-approved rule hold. Every hold reason that applies is kept, so the
desk can show them all.

Each reason is a (rule, text) pair: the rule name is what the audit log stores
as "which rule", the text is what a person reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..models import Status


@dataclass(frozen=True)
class Settings:
    manual_approval: bool = False
    previously_approved: bool = True
    # WordPress trusts a bare name+email that was approved before; we only do when asked.
    trust_unverified_email: bool = False
    max_links: int = 2
    moderation_keys: tuple[str, ...] = ()
    disallowed_keys: tuple[str, ...] = ()
    min_submit_seconds: float = 3.0


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
    # The earlier approval belongs to a proven identity: an account, a verified email, an outside identity.
    identity_proven: bool = False
    blocked: str = ""  # what matched a block: "user", "email" or "ip"
    honeypot: str = ""
    form_age: float | None = None  # seconds between serving and sending the form; None: not a form


@dataclass(frozen=True)
class Decision:
    status: Status
    reasons: tuple[str, ...] = field(default=())
    rules: tuple[str, ...] = field(default=())

    @property
    def rule(self) -> str:
        """The rule that set the status, for the audit log."""
        return self.rules[0] if self.rules else "default"


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


def _decision(status: Status, found: list[tuple[str, str]]) -> Decision:
    return Decision(status, tuple(text for _, text in found), tuple(rule for rule, _ in found))


def decide(facts: Facts, settings: Settings) -> Decision:
    if facts.is_moderator:
        return _decision(Status.APPROVED, [("moderator", "Written by a moderator of this post")])
    if facts.blocked:
        return _decision(Status.SPAM, [("blocked", f"The commenter’s {facts.blocked} is blocked")])
    disallowed = matched_key(settings.disallowed_keys, facts)
    if disallowed:
        return _decision(Status.TRASH, [("disallowed_keys", f"Contains a disallowed word: “{disallowed}”")])
    if facts.honeypot:
        return _decision(Status.SPAM, [("honeypot", "Filled in the hidden field that only robots see")])
    if (facts.form_age is not None and settings.min_submit_seconds > 0
            and facts.form_age < settings.min_submit_seconds):
        return _decision(Status.SPAM, [("too_fast", f"Sent {max(facts.form_age, 0):.1f} s after the form was "
                                                    f"served (less than {settings.min_submit_seconds:g} s)")])

    found: list[tuple[str, str]] = []
    if settings.manual_approval:
        found.append(("manual_approval", "Every comment must be approved by hand"))
    if settings.max_links and facts.link_count >= settings.max_links:
        found.append(("max_links", f"Contains {facts.link_count} links (hold at {settings.max_links} or more)"))
    key = matched_key(settings.moderation_keys, facts)
    if key:
        found.append(("moderation_keys", f"Contains a moderation word: “{key}”"))
    if settings.previously_approved:
        if not facts.has_approved_comment:
            found.append(("previously_approved", "First comment from this commenter"))
        elif not (facts.identity_proven or settings.trust_unverified_email):
            found.append(("previously_approved", "An earlier comment under this name and email was approved, "
                                                 "but the email is not verified"))
    if found:
        return _decision(Status.PENDING, found)
    return Decision(Status.APPROVED)


def closed_by_age(published_at: datetime | None, now: datetime, close_after_days: int) -> bool:
    """WordPress's "Automatically close comments on posts older than N days" (0: never)."""
    return bool(close_after_days and published_at and now - published_at > timedelta(days=close_after_days))

