"""The moderation rules as a table: facts and settings in, status and reasons out."""
from datetime import datetime, timedelta, timezone

import pytest

from blog.moderation.rules import Facts, Settings, closed_by_age, decide, parse_keys

KNOWN = dict(has_approved_comment=True, identity_proven=True)  # a signed-in commenter approved before
WP = Settings()  # WordPress's defaults

CASES = [
    # (id, facts, settings, status, reasons (substrings, in order), rule)
    ("known commenter, plain text", Facts("Nice post", "Ann", **KNOWN), WP, "approved", [], "default"),
    ("first comment", Facts("Nice post", "Ann"), WP, "pending", ["First comment from this commenter"],
     "previously_approved"),
    ("guest approved before, unverified", Facts("Hi", "Ann", "a@x.org", has_approved_comment=True), WP,
     "pending", ["email is not verified"], "previously_approved"),
    ("guest approved before, WordPress trust on", Facts("Hi", "Ann", "a@x.org", has_approved_comment=True),
     Settings(trust_unverified_email=True), "approved", [], "default"),
    ("previously-approved rule off", Facts("Hi", "Ann"), Settings(previously_approved=False), "approved", [],
     "default"),
    ("two links", Facts("a b", "Ann", link_count=2, **KNOWN), WP, "pending", ["Contains 2 links (hold at 2"],
     "max_links"),
    ("one link", Facts("a", "Ann", link_count=1, **KNOWN), WP, "approved", [], "default"),
    ("link limit off", Facts("a", "Ann", link_count=9, **KNOWN), Settings(max_links=0), "approved", [], "default"),
    ("manual approval", Facts("Hi", "Ann", **KNOWN), Settings(manual_approval=True), "pending",
     ["approved by hand"], "manual_approval"),
    ("moderation key in text, any case", Facts("Buy VIAGRA", "Ann", **KNOWN), Settings(moderation_keys=("viagra",)),
     "pending", ["moderation word: “viagra”"], "moderation_keys"),
    ("moderation key in email", Facts("Hi", "Ann", "x@spam.biz", **KNOWN), Settings(moderation_keys=("spam.biz",)),
     "pending", ["“spam.biz”"], "moderation_keys"),
    ("moderation key in user agent", Facts("Hi", "Ann", user_agent="EvilBot/1", **KNOWN),
     Settings(moderation_keys=("evilbot",)), "pending", ["“evilbot”"], "moderation_keys"),
    ("moderation key in IP", Facts("Hi", "Ann", ip="10.9.8.7", **KNOWN), Settings(moderation_keys=("10.9.8.",)),
     "pending", ["“10.9.8.”"], "moderation_keys"),
    ("disallowed key in URL trashes", Facts("Hi", "Ann", url="http://casino.example", **KNOWN),
     Settings(disallowed_keys=("casino",)), "trash", ["disallowed word: “casino”"], "disallowed_keys"),
    ("disallowed beats moderation keys", Facts("casino viagra", "Ann"),
     Settings(disallowed_keys=("casino",), moderation_keys=("viagra",)), "trash", ["“casino”"], "disallowed_keys"),
    ("all hold reasons kept, WordPress order", Facts("viagra", "Ann", link_count=3),
     Settings(manual_approval=True, moderation_keys=("viagra",)), "pending",
     ["approved by hand", "3 links", "“viagra”", "First comment"], "manual_approval"),
    ("honeypot filled", Facts("Hi", "Ann", honeypot="http://x", **KNOWN), WP, "spam", ["hidden field"], "honeypot"),
    ("sent too fast", Facts("Hi", "Ann", form_age=1.2, **KNOWN), WP, "spam", ["Sent 1.2 s after"], "too_fast"),
    ("sent after 3 s", Facts("Hi", "Ann", form_age=3.5, **KNOWN), WP, "approved", [], "default"),
    ("not from a form: no timing", Facts("Hi", "Ann", form_age=None, **KNOWN), WP, "approved", [], "default"),
    ("timing off", Facts("Hi", "Ann", form_age=0.1, **KNOWN), Settings(min_submit_seconds=0), "approved", [],
     "default"),
    ("blocked email goes to spam", Facts("Hi", "Ann", blocked="email", **KNOWN), WP, "spam",
     ["email is blocked"], "blocked"),
    ("blocked beats disallowed", Facts("casino", "Ann", blocked="ip"), Settings(disallowed_keys=("casino",)),
     "spam", ["ip is blocked"], "blocked"),
    ("moderator is approved whatever", Facts("casino", "Ann", link_count=9, honeypot="x", blocked="ip", is_moderator=True),
     Settings(manual_approval=True, disallowed_keys=("casino",)), "approved", ["moderator"], "moderator"),
]


@pytest.mark.parametrize("facts, settings, status, reasons, rule",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(facts, settings, status, reasons, rule):
    decision = decide(facts, settings)
    assert decision.status == status
    assert len(decision.reasons) == len(reasons)
    for got, want in zip(decision.reasons, reasons):
        assert want in got
    assert decision.rule == rule


def test_parse_keys_one_per_line():
    assert parse_keys(" viagra \n\n  cheap pills\r\n") == ("viagra", "cheap pills")


@pytest.mark.parametrize("age_days, close_after, closed", [(20, 14, True), (13, 14, False), (400, 0, False)])
def test_close_after_days(age_days, close_after, closed):
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert closed_by_age(now - timedelta(days=age_days), now, close_after) is closed
