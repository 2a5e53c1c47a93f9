"""Property-based: arbitrary text and field combinations at the comment endpoint.

Whatever is sent: no 5xx, nothing executable in what comes back (the refused
form, or the page the accepted comment lands on), and a comment is stored
exactly when it was accepted (303).
"""
from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import Comment
from tests.conftest import csrf_from

HOSTILE = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=' jav&#x09;ascript:alert(1)'>x</a>", "<svg/onload=alert(1)>", "<iframe src=//evil.example>",
    "\"><script>alert(1)</script>", "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
    "<style>body{}</style>", "<b onmouseover=alert(1)>b</b>", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<script>-->", "<a title='\"><script>x</script>'>t</a>", "javascript:alert(1)", "http://a.example/\"onmouseover=\"x",
    "&lt;script&gt;", "<base href=//evil.example>", "<meta http-equiv=refresh content=0;url=//evil>", "\u202e", "\x00",
    "\r\nBcc: victim@example.com", "www.example.com/<script>", "<blockquote cite=javascript:x>q</blockquote>",
]
FIELDS = ["comment", "author", "email", "url", "comment_parent", "subscribe_replies", "status", "user_id", "ip"]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "cite", "data", "poster", "background", "xlink:href"}
EXECUTABLE_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "base", "meta", "link", "frame",
                   "frameset", "applet", "template"}

text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
    st.sampled_from(HOSTILE),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)), max_size=5).map("".join),
)
VALID = {"author": "Guest", "email": "guest@example.org", "comment": "Hello", "comment_parent": "0"}
# Half the time a valid form with some fields replaced, so acceptance is exercised as much as refusal.
fields = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), text, max_size=len(FIELDS)),
    st.tuples(st.dictionaries(st.sampled_from(FIELDS), text, max_size=2), st.uuids()).map(
        lambda pair: {**VALID, "comment": f"Hello {pair[1]}", **pair[0]}),
    st.tuples(text, st.uuids()).map(lambda pair: {**VALID, "comment": f"{pair[0]} {pair[1]}"}),
)


class ExecutableFinder(HTMLParser):
    """Collects whatever in a page could run script: tags, event handlers, script URLs, inline style."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        ours = (tag in ("script", "link") and (attributes.get("src") or attributes.get("href") or "").startswith("/static/")
                or tag == "meta" and "http-equiv" not in attributes)
        if tag in EXECUTABLE_TAGS and not ours:
            self.found.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            squashed = "".join(ch for ch in (value or "") if ch > " ").lower()
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag}[{name}]")
            if name in URL_ATTRIBUTES and squashed.startswith(("javascript:", "data:", "vbscript:", "//")):
                self.found.append(f"{tag}[{name}={value!r}]")


def executable_parts(html: str) -> list[str]:
    finder = ExecutableFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Comment))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=fields, csrf=st.sampled_from(["valid", "valid", "valid", "missing", "forged"]))
def test_arbitrary_fields_never_break_the_endpoint_or_inject_script(app, client, post, data, csrf):
    page = client.get(f"/{post}/").get_data(as_text=True)
    assert not executable_parts(page)
    if csrf == "valid":
        data = {**data, "csrf_token": csrf_from(page)}
    elif csrf == "forged":
        data = {**data, "csrf_token": "forged" + csrf_from(page)[6:]}
    before = count(app)
    res = client.post(f"/{post}/comments", data=data)
    after = count(app)
    event(f"status {res.status_code}")
    assert res.status_code in (303, 400, 409, 422), res.status_code
    if res.status_code == 303:
        assert csrf == "valid" and after == before + 1
        html = client.get(res.headers["Location"]).get_data(as_text=True)
    else:
        assert after == before, "a refused comment was stored"
        html = res.get_data(as_text=True)
    assert not executable_parts(html), executable_parts(html)
