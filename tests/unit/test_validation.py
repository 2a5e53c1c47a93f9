"""validate_fields(): WordPress's limits, as a table. No database, no request."""
from types import SimpleNamespace

import pytest

from blog.comments.service import (MAX_COMMENT, MAX_EMAIL, MAX_NAME, MAX_URL, parse_id,
                                   validate_fields, website)

GOOD = {"author": "Ada", "email": "ada@example.org", "url": "", "comment": "Hello", "comment_parent": "0"}
SIGNED_IN = SimpleNamespace(is_authenticated=True, display_name="Sam", email="sam@example.com", id=7)


def email_of_length(n: int) -> str:
    """A valid-looking address of exactly n characters (n >= 70); no label over 63."""
    domain_length = n - len("a" * 30 + "@")
    return "a" * 30 + "@" + "b" * 30 + "." + "c" * (domain_length - 35) + ".org"


def check(**changes):
    return validate_fields({**GOOD, **changes}, None)


def test_a_good_guest_comment_has_no_errors():
    values, errors = check()
    assert errors == {}
    assert values == {"comment": "Hello", "parent": None, "author": "Ada", "email": "ada@example.org", "url": None}


@pytest.mark.parametrize("field, value", [
    ("author", ""), ("author", "   "), ("author", "x" * (MAX_NAME + 1)),
    ("email", ""), ("email", "  "), ("email", "not-an-address"), ("email", "a@"), ("email", "@example.org"),
    ("email", "a b@example.org"), ("email", "a@example"), ("email", email_of_length(MAX_EMAIL + 1)),
    ("comment", ""), ("comment", " \n\t \r\n "), ("comment", "x" * (MAX_COMMENT + 1)),
    ("url", "javascript:alert(1)"), ("url", "JavaScript:alert(document.cookie)"),
    ("url", "javascript://example.com/%0Aalert(1)"), ("url", "data:text/html,<script>alert(1)</script>"),
    ("url", "data:text.html,x"), ("url", "vbscript:msgbox(1)"), ("url", "ftp://example.com/"),
    ("url", "mailto:ada@example.org"), ("url", "file:///etc/passwd"), ("url", "http://"),
    ("url", "http://localhost/"), ("url", "https://exa mple.com/"), ("url", 'http://example.com/"onclick="x'),
    ("url", "http://example.com/<script>"), ("url", "http://bank.example@evil.example/"),
    ("url", "http://example.com:port/"), ("url", "//example.com"), ("url", "http:example.com"),
    ("url", "http://" + "a" * (MAX_URL - 10) + ".com"),  # 201 characters
    ("comment_parent", "abc"), ("comment_parent", "-1"), ("comment_parent", "1e9"),
    ("comment_parent", "9" * 40), ("comment_parent", "2147483648"), ("comment_parent", "²"),
    ("comment_parent", "١٢"), ("comment_parent", "0x1f"), ("comment_parent", "1.0"),
])
def test_refused_at_its_field(field, value):
    _, errors = check(**{field: value})
    assert list(errors) == [field] and errors[field]


@pytest.mark.parametrize("field", ["author", "email", "url", "comment"])
@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f"])
def test_control_characters_refused_in_every_field(field, char):
    value = {"author": "Ada{}", "email": "ada{}@example.org", "url": "http://example.com/{}",
             "comment": "Hello{}there"}[field].format(char)
    _, errors = check(**{field: value})
    assert field in errors


@pytest.mark.parametrize("field, value", [
    ("author", "Ada\nLovelace"), ("author", "Ada\rLovelace"), ("email", "ada@example.org\nBcc: x@example.org"),
    ("url", "http://example.com/\r\nSet-Cookie: x"),
])
def test_line_breaks_refused_in_single_line_fields(field, value):
    _, errors = check(**{field: value})
    assert field in errors


@pytest.mark.parametrize("changes, field, expected", [
    ({"author": "x" * MAX_NAME}, "author", "x" * MAX_NAME),
    ({"author": "  Ada  "}, "author", "Ada"),
    ({"email": email_of_length(MAX_EMAIL)}, "email", email_of_length(MAX_EMAIL)),
    ({"email": "Ada@Example.ORG"}, "email", "ada@example.org"),
    ({"comment": "x" * MAX_COMMENT}, "comment", "x" * MAX_COMMENT),
    ({"comment": "tabs\tand\r\nnewlines\nare fine"}, "comment", "tabs\tand\r\nnewlines\nare fine"),
    ({"comment": "\u00e9\u4e2d\U0001f600 unicode"}, "comment", "\u00e9\u4e2d\U0001f600 unicode"),
    ({"url": "example.com"}, "url", "http://example.com"),  # a bare domain gets http://
    ({"url": "www.example.com/me"}, "url", "http://www.example.com/me"),
    ({"url": "example.com:8080/me"}, "url", "http://example.com:8080/me"),
    ({"url": "https://example.com/a?b=1#c"}, "url", "https://example.com/a?b=1#c"),
    ({"url": "HTTPS://EXAMPLE.COM"}, "url", "HTTPS://EXAMPLE.COM"),
    ({"url": "http://xn--mnchen-3ya.example/"}, "url", "http://xn--mnchen-3ya.example/"),
    ({"url": "http://" + "a" * (MAX_URL - 11) + ".com"}, "url", "http://" + "a" * (MAX_URL - 11) + ".com"),
    ({"url": "a" * (MAX_URL - 11) + ".com"}, "url", "http://" + "a" * (MAX_URL - 11) + ".com"),
    ({"url": "  "}, "url", None),
    ({"comment_parent": ""}, "parent", None),
    ({"comment_parent": "0"}, "parent", None),
    ({"comment_parent": " 12 "}, "parent", 12),
    ({"comment_parent": "2147483647"}, "parent", 2147483647),
])
def test_accepted_and_cleaned(changes, field, expected):
    values, errors = check(**changes)
    assert errors == {}
    assert values[field] == expected


def test_limits_are_wordpress_limits():
    assert (MAX_NAME, MAX_EMAIL, MAX_URL, MAX_COMMENT) == (245, 100, 200, 65525)
    assert len(email_of_length(MAX_EMAIL)) == MAX_EMAIL and len(email_of_length(MAX_EMAIL + 1)) == MAX_EMAIL + 1


def test_every_bad_field_is_reported_at_once():
    _, errors = check(author="", email="nope", url="javascript:x", comment="", comment_parent="x")
    assert set(errors) == {"author", "email", "url", "comment", "comment_parent"}


def test_signed_in_user_needs_no_name_or_email_and_cannot_spoof_them():
    values, errors = validate_fields({"author": "Someone Else", "email": "other@example.org",
                                      "url": "javascript:alert(1)", "comment": "Hi"}, SIGNED_IN)
    assert errors == {}
    assert (values["author"], values["email"], values["url"]) == ("Sam", "sam@example.com", None)


def test_only_named_fields_are_read():
    values, errors = validate_fields({**GOOD, "status": "approved", "user_id": "1", "body_html": "<script>"}, None)
    assert errors == {} and set(values) == {"comment", "parent", "author", "email", "url"}


def test_missing_and_non_string_fields_count_as_empty():
    _, errors = validate_fields({}, None)
    assert set(errors) == {"author", "email", "comment"}
    _, errors = validate_fields({"author": None, "email": 3, "comment": ["x"], "comment_parent": 5}, None)
    assert set(errors) == {"author", "email", "comment"}


@pytest.mark.parametrize("value, expected", [
    ("1", 1), ("007", 7), (" 42 ", 42), ("2147483647", 2147483647), ("2147483648", None), ("0", None),
    ("", None), ("-1", None), ("+1", None), ("1e3", None), ("²", None), ("١", None), ("9" * 100, None),
    (None, None), (12, None),
])
def test_parse_id_never_raises(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("typed, stored", [
    ("example.com", "http://example.com"), ("http://example.com", "http://example.com"),
    ("javascript:alert(1)", None), ("javascript:1.1", None), ("localhost:8080", None),
])
def test_website(typed, stored):
    assert website(typed) == stored
