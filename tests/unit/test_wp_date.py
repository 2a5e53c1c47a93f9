"""The comment date as WordPress's default format writes it."""
from datetime import datetime, timezone

import pytest

from blog.templating import wp_date


@pytest.mark.parametrize("at, shown", [
    (datetime(2026, 11, 25, 19, 3, tzinfo=timezone.utc), "November 25, 2026 at 7:03 pm"),
    (datetime(2026, 1, 5, 0, 0, tzinfo=timezone.utc), "January 5, 2026 at 12:00 am"),
    (datetime(2026, 5, 31, 12, 59), "May 31, 2026 at 12:59 pm"),
    (datetime(2026, 12, 1, 11, 7), "December 1, 2026 at 11:07 am"),
])
def test_wp_date(at, shown):
    assert wp_date(at) == shown
