"""Commenters' emails and IPs never appear in public output; IPs are anonymised after the retention period."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select, update

from blog.extensions import db
from blog.models import Comment
from blog.privacy import anonymise_ip
from tests.conftest import add_comments, post_comment

EMAILS = ["first.commenter@example.org", "second+tag@example.net"]
IPS = ["203.0.113.77", "2001:db8:85a3::8a2e:370:7334"]


def secrets_in(text: str, emails: list[str], ips: list[str]) -> list[str]:
    found = [e for e in emails if e.lower() in text.lower()]
    found += [ip for ip in ips if ip in text]
    for email in emails:  # the hashes Gravatar and the like would publish
        for digest in (hashlib.md5(email.encode()).hexdigest(), hashlib.sha256(email.encode()).hexdigest()):  # nosec B324
            if digest in text or digest[:24] in text:
                found.append(f"hash of {email}")
    return found


def crawl(client, start: list[str], limit: int = 200) -> dict[str, object]:
    """Every same-site page reachable by GET from the start URLs (links, images, scripts, styles)."""
    seen: dict[str, object] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        res = client.get(url)
        seen[url] = res
        if res.mimetype != "text/html":
            continue
        for ref in re.findall(r'(?:href|src|action)="([^"]+)"', res.get_data(as_text=True)):
            target = urljoin(url, ref.replace("&amp;", "&")).split("#")[0]
            parts = urlsplit(target)
            if parts.scheme in ("", "http") and parts.netloc in ("", "localhost") and target not in seen:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


@pytest.mark.parametrize("config_overrides", [{"COMMENTS_PER_PAGE": 3, "COMMENT_PREVIOUSLY_APPROVED": False}],
                         indirect=True)
def test_no_public_response_shows_a_commenters_email_or_ip(app, post):
    add_comments(app, post, 7)
    for email, ip in zip(EMAILS, IPS):
        writer = app.test_client()
        writer.environ_base["REMOTE_ADDR"] = ip
        assert post_comment(writer, post, email=email, author="Named Writer", url="https://writer.example.com",
                            comment="Visible, see http://example.com/x").status_code == 303
    with app.app_context():
        db.session.execute(update(Comment).values(ip=IPS[0]).where(Comment.author_email.like("r%")))
        db.session.commit()
        stored = db.session.scalars(select(Comment.author_email)).all()
    emails = EMAILS + [e for e in stored if e]
    pages = crawl(app.test_client(), ["/", f"/{post}/", "/no-such-page/"])
    assert len(pages) >= 8 and any("cpage=3" in u for u in pages)  # every page of the thread
    for url, res in pages.items():
        assert res.status_code < 500, url
        assert not secrets_in(res.get_data(as_text=True) + str(res.headers), emails, IPS), url


def test_a_held_comment_shown_to_its_writer_shows_no_address_either(app, client, post):
    client.environ_base["REMOTE_ADDR"] = IPS[0]
    res = post_comment(client, post, email=EMAILS[0], comment="held for now")
    html = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "awaiting moderation" in html
    assert not secrets_in(html, EMAILS, IPS)


@pytest.mark.parametrize("ip, anonymous", [
    ("203.0.113.77", "203.0.113.0"),
    ("10.1.2.3", "10.1.2.0"),
    ("2001:db8:85a3:1234:8a2e:370:7334:1", "2001:db8:85a3::"),
    ("::ffff:198.51.100.9", "198.51.100.0"),
    ("::1", "::"),
    ("not an address", None),
])
def test_anonymise_ip_keeps_the_network_only(ip, anonymous):
    assert anonymise_ip(ip) == anonymous
    if anonymous:
        assert anonymise_ip(anonymous) == anonymous


def test_privacy_purge_anonymises_ips_past_the_retention_period(app, runner, post):
    ids = add_comments(app, post, 4)
    now = datetime.now(timezone.utc)
    ages = {ids[0]: 31, ids[1]: 45, ids[2]: 29, ids[3]: 1}
    with app.app_context():
        for cid, days in ages.items():
            db.session.execute(update(Comment).where(Comment.id == cid).values(
                created_at=now - timedelta(days=days), ip="2001:db8:85a3::7334" if days == 45 else "203.0.113.77"))
        db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0 and "Anonymised 2 IP addresses older than 30 days." in result.output
    with app.app_context():
        ips = dict(db.session.execute(select(Comment.id, Comment.ip)).all())
    assert ips == {ids[0]: "203.0.113.0", ids[1]: "2001:db8:85a3::", ids[2]: "203.0.113.77", ids[3]: "203.0.113.77"}
    assert "Anonymised 0 IP" in runner.invoke(args=["privacy", "purge"]).output  # nothing twice
    assert "Anonymised 2 IP addresses older than 0 days." in runner.invoke(args=["privacy", "purge", "--days", "0"]).output


@pytest.mark.parametrize("config_overrides", [{"IP_RETENTION_DAYS": 7}], indirect=True)
def test_retention_period_is_a_setting(app, runner, post):
    [cid] = add_comments(app, post, 1)
    with app.app_context():
        db.session.execute(update(Comment).values(created_at=datetime.now(timezone.utc) - timedelta(days=8),
                                                  ip="198.51.100.23"))
        db.session.commit()
    assert "Anonymised 1 IP addresses older than 7 days." in runner.invoke(args=["privacy", "purge"]).output


def avatar_of(client, slug: str) -> str:
    return re.search(r'src="(/avatars/[^"]+\.svg)"', client.get(f"/{slug}/").get_data(as_text=True)).group(1)


def test_avatars_are_local_identicons_by_default(app, client, post):
    add_comments(app, post, 1)
    res = client.get(avatar_of(client, post))
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"
    assert "gravatar" not in res.headers["Content-Security-Policy"]


@pytest.mark.parametrize("config_overrides", [{"GRAVATAR": True}], indirect=True)
def test_gravatar_only_when_the_operator_turns_it_on(app, client, post):
    add_comments(app, post, 1)  # by r0@example.org
    page = client.get(f"/{post}/")
    assert "img-src 'self' https://www.gravatar.com;" in page.headers["Content-Security-Policy"]
    assert not secrets_in(page.get_data(as_text=True), ["r0@example.org"], [])  # the page itself: no hash
    res = client.get(avatar_of(client, post))
    digest = hashlib.sha256(b"r0@example.org").hexdigest()
    assert res.status_code == 302
    assert res.headers["Location"] == f"https://www.gravatar.com/avatar/{digest}?s=96&d=identicon&r=g"
    assert client.get("/avatars/unknownkey.svg").mimetype == "image/svg+xml"  # no such commenter: identicon
