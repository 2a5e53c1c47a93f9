"""Named predicates: who moderates, who edits their own comment."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace as NS

import pytest

from blog.permissions import can_edit_own, can_moderate, can_use_desk

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
POST = NS(author_id=2)


def user(id, role):
    return NS(id=id, role=role, is_authenticated=True)


@pytest.mark.parametrize("who, allowed", [
    (None, False), (NS(is_authenticated=False), False), (user(5, "reader"), False),
    (user(3, "author"), False), (user(2, "author"), True), (user(9, "admin"), True),
    (user(2, "reader"), False),  # a demoted author loses the desk
])
def test_can_moderate(who, allowed):
    assert can_moderate(who, POST) is allowed


def test_only_authors_and_admins_have_a_desk():
    assert [can_use_desk(u) for u in (None, user(1, "reader"), user(1, "author"), user(1, "admin"))] == \
        [False, False, True, True]


def comment(**kw):
    base = dict(id=7, user_id=None, created_at=NOW - timedelta(minutes=5), deleted_at=None, status="approved")
    return NS(**{**base, **kw})


@pytest.mark.parametrize("who, c, owned, replies, minutes, allowed", [
    (None, comment(), [7], False, 15, True),  # the guest's signed cookie names it
    (None, comment(), [8], False, 15, False),  # another comment's cookie
    (None, comment(), [7], True, 15, False),  # someone replied
    (None, comment(created_at=NOW - timedelta(minutes=16)), [7], False, 15, False),  # window over
    (None, comment(), [7], False, 0, False),  # editing off
    (None, comment(status="spam"), [7], False, 15, False),
    (user(4, "reader"), comment(user_id=4), [], False, 15, True),  # by account
    (user(5, "reader"), comment(user_id=4), [7], False, 15, False),  # a cookie never beats an account
    (None, comment(user_id=4), [7], False, 15, False),
])
def test_can_edit_own(who, c, owned, replies, minutes, allowed):
    assert can_edit_own(who, c, NOW, minutes, owned, replies) is allowed
