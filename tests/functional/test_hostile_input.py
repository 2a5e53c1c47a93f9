"""Hostile input on every route: clear 4xx answers, never a 500, and a refused form keeps its text.

Routes come from the app's URL map, so routes added later are covered too.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Comment, Post
from tests.conftest import add_comments, csrf_from, post_comment

HOSTILE_VALUES = ["no-such-thing", "0", "-1", "9" * 30, "%00", "%ff%fe", "a" * 3000, "..%2f..%2fapp.py",
                  "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "%E2%80%AE", "1%0d%0aSet-Cookie:x=1", "1.5", "1e9"]
MALFORMED_QUERIES = ["?a=%ff%fe&b=%&c=%zz", "?&&&=&==", "?cpage=-1&replytocom=-5", "?cpage=99999999999999999999",
                     "?replytocom=99999999999999999999999&cpage=abc", "?cpage[]=1&cpage=2", "?next=//evil.example",
                     "?per_page=all&page=-1", "?per_page=1000000000&page=1000000000", "?status=%00", "?" + "x=1&" * 500]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def urls_for(rule, slug: str, values: list[str] = ()) -> list[str]:
    """The rule's path with each argument replaced by each value (others by something real);
    without values, one path with every argument real."""
    real = {"slug": slug, "key": "abc123", "name": "github", "token": "x"}
    for spec, name in re.findall(r"<(?:([^:<>]+):)?([^:<>]+)>", rule.rule):
        if spec.startswith("any("):  # one of the listed words
            real[name] = spec[4:].split(",")[0].strip()
    out = []
    for arg in (rule.arguments if values else None) or [None]:
        for value in values if arg else [""]:
            path = rule.rule
            for other in rule.arguments:
                path = re.sub(rf"<(?:[^:<>]+:)?{other}>", value if other == arg else real.get(other, "1"), path)
            out.append(path)
    return out


def test_every_route_answers_hostile_path_values_without_a_500(app, client, post):
    add_comments(app, post, 2)
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    checked = 0
    for rule in rules(app):
        for url in urls_for(rule, post, HOSTILE_VALUES):
            for method in sorted(rule.methods & {"GET", "POST"}):
                res = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
                assert res.status_code < 500, (method, url, res.status_code)
                assert "Traceback" not in res.get_data(as_text=True)
                checked += 1
    assert checked > 30


def test_every_route_refuses_wrong_methods_with_405(app, client, post):
    allowed: dict[str, set[str]] = {}
    for rule in rules(app):  # several rules may share a path, each with its methods
        allowed.setdefault(rule.rule, set()).update(rule.methods)
    for rule in rules(app):
        url = urls_for(rule, post)[0]
        for method in set(METHODS) - allowed[rule.rule]:
            res = client.open(url, method=method)
            if res.status_code == 308 and res.headers["Location"].endswith(url + "/"):
                continue  # "/logout" by GET is the post page's URL without its slash
            assert res.status_code == 405, (method, url, res.status_code)
            assert "That method is not allowed here." in res.get_data(as_text=True)
            assert set(res.headers["Allow"].split(", ")) >= (allowed[rule.rule] & set(METHODS)), url


def test_every_get_route_survives_malformed_query_strings(app, client, post):
    add_comments(app, post, 3)
    for rule in rules(app):
        if "GET" not in rule.methods:
            continue
        url = urls_for(rule, post)[0]
        for query in MALFORMED_QUERIES:
            res = client.get(url + query)
            assert res.status_code < 500, (url + query, res.status_code)
            if res.status_code in (301, 302, 303):
                assert not res.headers["Location"].startswith(("//", "http://evil", "https://evil"))


def test_every_post_route_without_csrf_gets_400_and_keeps_the_text(app, client, post):
    for rule in rules(app):
        if "POST" not in rule.methods:
            continue
        url = urls_for(rule, post)[0]
        for token in (None, "wrong-token", "a" * 5000):
            data = {"comment": "my words, kept", "email": "kept@example.org"}
            if token:
                data["csrf_token"] = token
            res = client.post(url, data=data)
            html = res.get_data(as_text=True)
            assert res.status_code in (400, 404), (url, res.status_code)
            if res.status_code == 400 and "Your session expired" in html:  # the CSRF refusal, not a bad link
                assert "my words, kept" in html and "kept@example.org" in html, url
                assert csrf_from(html)  # a fresh token: sending again works


def test_comment_refused_for_missing_csrf_can_be_sent_again(app, client, post):
    client.get(f"/{post}/")
    res = client.post(f"/{post}/comments", data={"comment": "second try", "author": "Ann", "email": "ann@example.org"})
    assert res.status_code == 400 and "Your session expired" in res.get_data(as_text=True)
    again = client.post(f"/{post}/comments", data={"comment": "second try", "author": "Ann", "email": "ann@example.org",
                                                 "csrf_token": csrf_from(res.get_data(as_text=True))})
    assert again.status_code == 303


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


@pytest.mark.parametrize("fields, field, message", [
    ({"author": "Ann\r\nBcc: victim@example.com"}, "author", "control characters or line breaks"),
    ({"email": "ann@example.org\r\nBcc: victim@example.com"}, "email", "control characters or line breaks"),
    ({"email": "ann@example.org\nSubject: hi"}, "email", "control characters or line breaks"),
    ({"url": "http://a.example\r\nLocation: http://evil"}, "url", "control characters or line breaks"),
    ({"email": "ann@example.org%0d%0aBcc:x@y.z"}, "email", "valid email address"),
    ({"author": "Ann\x00"}, "author", "control characters"),
    ({"comment": "nul\x00byte"}, "comment", "control characters"),
    ({"comment": "bell\x07"}, "comment", "control characters"),
    ({"author": "A" * 246}, "author", "too long"),
    ({"email": "a" * 95 + "@example.org"}, "email", "too long"),
    ({"url": "http://example.com/" + "a" * 200}, "url", "too long"),
    ({"url": "javascript:alert(1)"}, "url", "http://"),
    ({"comment": "x" * 65526}, "comment", "too long"),
    ({"comment": " \n\t "}, "comment", "Please type your comment."),
    ({"comment_parent": "-1"}, "comment_parent", "does not exist"),
    ({"comment_parent": "99999999999999999999999"}, "comment_parent", "does not exist"),
    ({"comment_parent": "1; DROP TABLE comments"}, "comment_parent", "does not exist"),
])
def test_hostile_fields_get_a_clear_422_and_nothing_is_stored(app, client, post, fields, field, message):
    res = post_comment(client, post, **fields)
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', html), html[-3000:]
    assert stored(app) == 0
    assert "Set-Cookie: x" not in str(res.headers) and "Bcc" not in str(res.headers)


def test_body_over_the_limit_gets_a_413_page(app, client, post):
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    res = client.post(f"/{post}/comments", data={"comment": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                                                 "csrf_token": token})
    assert res.status_code == 413 and "What you sent is too large." in res.get_data(as_text=True)
    too_many_parts = {f"f{i}": "x" for i in range(app.config["MAX_FORM_PARTS"] + 10)}
    res = client.post(f"/{post}/comments", data={**too_many_parts, "csrf_token": token},
                      content_type="multipart/form-data")
    assert res.status_code == 413
    assert stored(app) == 0


def test_invalid_utf8_gets_a_clear_400(app, client, post):
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    body = b"comment=caf\xe9+\xff\xfe&author=A&email=a%40example.org&csrf_token=" + token.encode()
    res = client.post(f"/{post}/comments", data=body, content_type="application/x-www-form-urlencoded")
    assert res.status_code == 400 and "not valid form data" in res.get_data(as_text=True)
    # Percent-encoded invalid bytes are kept as typed, not guessed at.
    body = b"comment=caf%e9&author=A&email=a%40example.org&csrf_token=" + token.encode()
    res = client.post(f"/{post}/comments", data=body, content_type="application/x-www-form-urlencoded")
    assert res.status_code in (303, 422)
    assert stored(app) <= 1


def test_non_form_bodies_are_refused_cleanly(app, client, post):
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    for body, ctype in [(b'{"comment": "json"}', "application/json"), (b"<x/>", "application/xml"),
                        (b"--b\r\nbroken", "multipart/form-data; boundary=b"), (b"\x00" * 100, "application/octet-stream")]:
        res = client.post(f"/{post}/comments?csrf_token={token}", data=body, content_type=ctype,
                          headers={"X-CSRFToken": token})
        assert 400 <= res.status_code < 500, (ctype, res.status_code)
    assert stored(app) == 0


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXIES": 1}], indirect=True)
@pytest.mark.parametrize("forwarded", ["not-an-ip", "x" * 300, "1.2.3.4, " + "f" * 80, "<script>", "::ffff:1.2.3.4"])
def test_odd_forwarded_addresses_are_no_500(app, client, post, forwarded):
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    assert post_comment(client, post, comment=f"from {forwarded[:20]}").status_code == 303
    with app.app_context():
        ip = db.session.scalar(select(Comment.ip))
    assert ip is None or len(ip) <= 45


def test_closed_post_and_unpublished_post_refuse_comments_clearly(app, client, post):
    token = csrf_from(client.get(f"/{post}/").get_data(as_text=True))
    with app.app_context():
        db.session.execute(Post.__table__.update().values(comments_open=False))
        db.session.commit()
    res = client.post(f"/{post}/comments", data={"comment": "late", "author": "A", "email": "a@example.org",
                                                 "csrf_token": token})
    assert res.status_code == 403 and "Comments are closed" in res.get_data(as_text=True)
    with app.app_context():
        db.session.execute(Post.__table__.update().values(published_at=None))
        db.session.commit()
    res = client.post(f"/{post}/comments", data={"comment": "hidden", "author": "A", "email": "a@example.org",
                                                 "csrf_token": token})
    assert res.status_code == 404
    assert stored(app) == 0


def test_nul_bytes_anywhere_are_a_clear_4xx(app, client, post, make_user):
    make_user("sam@example.com")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    res = client.post("/login", data={"email": "sam\x00@example.com", "password": "pw\x00", "csrf_token": token})
    assert 400 <= res.status_code < 500
    for url in (f"/{post}\x00/", "/avatars/ab\x00.svg"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/{post}/?cpage=1\x00&replytocom=\x00").status_code == 200  # ignored, as any bad number


def test_huge_ids_in_forms_are_a_4xx(app, client, post, make_user):
    from tests.conftest import login

    make_user("admin@example.com", "Admin", role="admin")
    login(client, "admin@example.com")
    page = client.get("/moderation/").get_data(as_text=True)
    token = csrf_from(page)
    for ids in (["9" * 30], ["-1"], ["abc"], ["1e9"], [str(2**63)]):
        res = client.post("/moderation/bulk", data={"csrf_token": token, "action": "approve", "ids": ids,
                                                    "comment_ids": ids, "comment": ids})
        assert res.status_code < 500, (ids, res.status_code)
