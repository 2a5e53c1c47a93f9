"""`next` redirects: same-site paths only."""
from __future__ import annotations

import pytest

from blog.urls import safe_next


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "https://evil.example", "http://evil.example/x", "\\\\evil.example",
    "///evil.example", "/\\/evil.example", "//evil.example/%2F..", "javascript:alert(1)", "evil.example",
    "", None, " /path", "/path\r\nLocation: https://evil.example", "/\tevil", "\x00/", "data:text/html,x",
    "/\x7f",
])
def test_rejects_other_sites(target):
    assert safe_next(target) == "/"


def test_percent_encoded_line_breaks_stay_in_the_path():
    # Encoded, they are part of a same-site path; Werkzeug never decodes them into a header.
    assert safe_next("/%0d%0aSet-Cookie:x") == "/%0d%0aSet-Cookie:x"


@pytest.mark.parametrize("target", ["/", "/hello-world/", "/hello-world/?cpage=2#comment-5", "/account"])
def test_keeps_same_site_paths(target):
    assert safe_next(target) == target


def test_default_is_used_when_refused():
    assert safe_next("//evil.example", default="/account") == "/account"
