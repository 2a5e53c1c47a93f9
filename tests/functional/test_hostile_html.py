"""Hostile comments through the real form (CSRF on), then the page parsed as a browser would.

Each input is posted by a guest, the post page is fetched again by that guest
(who sees their own held comment) and parsed with html5lib, the HTML5 parsing
algorithm browsers use. Nothing executable may reach the page, and the
allowed markup must survive where it was used.
"""
from __future__ import annotations

import re

import html5lib
import pytest
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment
from blog.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from tests.conftest import post_comment

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "cite", "background", "poster", "data",
                  "xlink:href", "srcset", "ping", "longdesc", "lowsrc", "dynsrc"}
SAFE_SCHEMES = {None, "http", "https", "mailto"}
CONTENT_TAGS = set(ALLOWED_TAGS) | {"p", "br"}
# What the sanitiser must never let into a comment, whatever the namespace.
FORBIDDEN = {"script", "style", "svg", "math", "iframe", "frame", "object", "embed", "form", "input",
             "button", "textarea", "select", "img", "video", "audio", "source", "link", "meta", "base",
             "template", "noscript", "applet", "isindex", "xmp", "plaintext", "foreignObject"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")  # what browsers skip or trim in a URL

# (id, typed, what must survive: (tag, text) pairs found in the comment, "" text = any)
HOSTILE = [
    # <script> in many forms
    ("script", "<script>alert(1)</script>", []),
    ("script-upper", "<SCRIPT>alert(1)</SCRIPT>", []),
    ("script-src", '<script src="http://evil.example/x.js"></script>', []),
    ("script-attrs", "<script type=text/javascript defer>alert(1)</script>", []),
    ("script-unclosed", "<script>alert(1)", []),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>", []),
    ("script-nested", "<<script>script>alert(1)<</script>/script>", []),
    ("script-in-b", "<b><script>alert(1)</script>bold</b>", [("b", "bold")]),
    ("script-slash", "<script/src=//evil.example/x.js></script>", []),
    ("script-newline", "<script\n>alert(1)</script\n>", []),
    ("script-entity-text", "&lt;script&gt;alert(1)&lt;/script&gt;", []),
    # event handlers, on allowed and disallowed tags
    ("onclick-b", '<b onclick="alert(1)">b</b>', [("b", "b")]),
    ("onmouseover-a", '<a href="http://example.com" onmouseover="alert(1)">a</a>', [("a", "a")]),
    ("onfocus-abbr", '<abbr title="t" onfocus="alert(1)" tabindex=0 autofocus>x</abbr>', [("abbr", "x")]),
    ("onerror-img", "<img src=x onerror=alert(1)>", []),
    ("onload-body", "<body onload=alert(1)>text", []),
    ("onerror-video", "<video><source onerror=alert(1)></video>text", []),
    ("ontoggle-details", "<details open ontoggle=alert(1)>x</details>", []),
    ("onanimation", '<i style="animation-name:x" onanimationstart="alert(1)">i</i>', [("i", "i")]),
    ("on-unquoted", "<em onclick=alert(1)//>em</em>", [("em", "em")]),
    ("on-slash-sep", "<strong/onclick=alert(1)>s</strong>", [("strong", "s")]),
    ("on-upper", '<q ONCLICK="alert(1)">q</q>', [("q", "q")]),
    ("on-blockquote", '<blockquote onmouseenter="alert(1)">quote</blockquote>', [("blockquote", "quote")]),
    ("on-code", '<code onclick="alert(1)">c</code>', [("code", "c")]),
    ("on-del", '<del onclick="alert(1)" datetime="2020-01-01">d</del>', [("del", "d")]),
    ("on-marquee", "<marquee onstart=alert(1)>m</marquee>", []),
    # javascript:, data:, vbscript: URLs with encoding, whitespace and case tricks
    ("js-href", '<a href="javascript:alert(1)">x</a>', [("a", "x")]),
    ("js-case", '<a href="JaVaScRiPt:alert(1)">x</a>', [("a", "x")]),
    ("js-leading-space", '<a href="  javascript:alert(1)">x</a>', [("a", "x")]),
    ("js-tab", '<a href="java\tscript:alert(1)">x</a>', [("a", "x")]),
    ("js-newline", '<a href="java\nscript:alert(1)">x</a>', [("a", "x")]),
    ("js-entity-tab", '<a href="jav&#x09;ascript:alert(1)">x</a>', [("a", "x")]),
    ("js-entity-dec", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>', [("a", "x")]),
    ("js-entity-hex-nosemi", '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">x</a>', [("a", "x")]),
    ("js-entity-colon", '<a href="javascript&colon;alert(1)">x</a>', [("a", "x")]),
    ("js-zero-padded", '<a href="&#0000106avascript:alert(1)">x</a>', [("a", "x")]),
    ("js-control", '<a href="\x01javascript:alert(1)">x</a>', []),  # refused: control character
    ("js-unquoted", "<a href=javascript:alert(1)>x</a>", [("a", "x")]),
    ("js-backtick", "<a href=`javascript:alert(1)`>x</a>", [("a", "x")]),
    ("data-html", '<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">x</a>', [("a", "x")]),
    ("data-base64", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', [("a", "x")]),
    ("data-case", '<a href="DaTa:text/html,x">x</a>', [("a", "x")]),
    ("vbscript", '<a href="vbscript:msgbox(1)">x</a>', [("a", "x")]),
    ("vbscript-upper", '<a href="VBSCRIPT:msgbox(1)">x</a>', [("a", "x")]),
    ("js-cite-blockquote", '<blockquote cite="javascript:alert(1)">q</blockquote>', [("blockquote", "q")]),
    ("js-cite-q", '<q cite="javascript:alert(1)">q</q>', [("q", "q")]),
    ("js-bare-text", "javascript:alert(1)", []),
    ("js-double-slash", "javascript://example.com/%0Aalert(1)", []),
    ("js-bare-www", "www.javascript:alert(1)", []),
    ("ftp-link", '<a href="ftp://example.com/">x</a>', [("a", "x")]),
    ("file-link", '<a href="file:///etc/passwd">x</a>', [("a", "x")]),
    ("bare-ftp", "ftp://example.com/file and data://example.com/x", []),
    # svg / math namespace confusion
    ("svg-onload", "<svg onload=alert(1)>", []),
    ("svg-script", "<svg><script>alert(1)</script></svg>", []),
    ("svg-a-xlink", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', []),
    ("svg-animate", '<svg><animate attributeName="href" values="javascript:alert(1)"/></svg>', []),
    ("svg-foreign", "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>", []),
    ("svg-style-img", "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">", []),
    ("math-mglyph", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", []),
    ("math-href", '<math href="javascript:alert(1)">x</math>', []),
    ("math-maction", '<math><maction actiontype="statusline#http://evil" xlink:href="javascript:alert(1)">x</maction></math>', []),
    ("noscript-breakout", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', []),
    ("template", "<template><script>alert(1)</script></template>x", []),
    # style attributes and elements
    ("style-attr", '<b style="background:url(javascript:alert(1))">b</b>', [("b", "b")]),
    ("style-expression", '<i style="width:expression(alert(1))">i</i>', [("i", "i")]),
    ("style-element", "<style>@import 'http://evil.example/x.css';</style>text", []),
    ("style-position", '<a href="http://example.com" style="position:fixed;top:0;left:0;width:100%;height:100%">x</a>', [("a", "x")]),
    ("link-stylesheet", '<link rel=stylesheet href="http://evil.example/x.css">text', []),
    # breaking out of the allowed attributes
    ("title-breakout", '<abbr title="x" onmouseover="alert(1)">a</abbr>', [("abbr", "a")]),
    ("title-quote", '<abbr title="&quot; onmouseover=alert(1) x=&quot;">a</abbr>', [("abbr", "a")]),
    ("title-tag", '<abbr title="\'><script>alert(1)</script>">a</abbr>', [("abbr", "a")]),
    ("title-unquoted", "<abbr title=x onmouseover=alert(1)>a</abbr>", [("abbr", "a")]),
    ("cite-breakout", '<q cite="http://x.example/"onmouseover="alert(1)">q</q>', [("q", "q")]),
    ("cite-gt", '<blockquote cite="http://x.example/a>b<script>alert(1)</script>">q</blockquote>', [("blockquote", "q")]),
    ("href-quote", '<a href="http://x.example/&quot; onclick=&quot;alert(1)">x</a>', [("a", "x")]),
    ("href-single", "<a href='http://x.example/' onclick='alert(1)'>x</a>", [("a", "x")]),
    ("datetime-breakout", '<del datetime="2020"><script>alert(1)</script>">d</del>', [("del", "")]),
    ("duplicate-attr", '<a href="http://ok.example/" href="javascript:alert(1)">x</a>', [("a", "x")]),
    # unclosed and malformed markup
    ("unclosed-b", "<b>bold to the end", [("b", "bold to the end")]),
    ("unclosed-a", '<a href="http://example.com">open link', [("a", "open link")]),
    ("unclosed-tag", '<b onclick="alert(1)"', []),
    ("unclosed-attr", '<a href="http://example.com/ onclick=alert(1)>x', []),
    ("stray-end-tags", "</div></li></ol></section></body></html>after", []),
    ("misnested", "<b><i>bi</b>i</i>", [("b", ""), ("i", "")]),
    ("half-tag", "<b", []),
    ("lt-gt-text", "1 < 2 > 0 <<>> <3", []),
    ("nested-a", '<a href="http://a.example/"><a href="javascript:alert(1)">in</a></a>', [("a", "in")]),
    ("closing-context", "</textarea><script>alert(1)</script>", []),
    ("iframe", '<iframe src="javascript:alert(1)"></iframe>text', []),
    ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', []),
    ("object", '<object data="javascript:alert(1)"></object>text', []),
    ("embed", '<embed src="data:image/svg+xml,<svg onload=alert(1)>">text', []),
    ("form-formaction", '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>', []),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">text', []),
    ("base-href", '<base href="javascript:alert(1)//">text', []),
    # comments, CDATA and other parser tricks
    ("comment-script", "<!--<script>alert(1)</script>-->visible", []),
    ("comment-breakout", "<!-- --!><script>alert(1)</script> -->", []),
    ("comment-conditional", "<!--[if IE]><script>alert(1)</script><![endif]-->ok", []),
    ("cdata", "<![CDATA[<script>alert(1)</script>]]>", []),
    ("processing-instruction", "<?xml-stylesheet href=\"javascript:alert(1)\"?>text", []),
    ("bogus-comment", "</ script><script>alert(1)</script>", []),
    ("doctype", "<!DOCTYPE html><script>alert(1)</script>", []),
    # links inside code, text that looks like templates
    ("a-in-code", '<code><a href="http://example.com/">link</a> http://example.org/</code>', [("code", ""), ("a", "link")]),
    ("js-a-in-code", '<code><a href="javascript:alert(1)">link</a></code>', [("code", ""), ("a", "link")]),
    ("jinja-text", "{{ config }} {{ 7*7 }} {% for x in y %}", []),
    ("jinja-attr", '<abbr title="{{ config.SECRET_KEY }}">t</abbr>', [("abbr", "t")]),
    ("js-template", "${alert(1)} #{alert(1)} <%= 7*7 %>", []),
    ("unicode-bidi", "\u202eevil\u202c and \u200b zero width", []),
    ("allowed-mix", '<b>bold</b> <em>em</em> <a href="https://example.com/" title="t">link</a> '
                    "<code>code</code> <blockquote cite=\"https://example.com/\">quote</blockquote>",
     [("b", "bold"), ("em", "em"), ("a", "link"), ("code", "code"), ("blockquote", "quote")]),
]

# Text that must come through as text, not as markup or evaluated templates.
TEXT_KEPT = {
    "script-entity-text": "<script>alert(1)</script>",
    "lt-gt-text": "1 < 2 > 0 <<>> <3",
    "jinja-text": "{{ config }} {{ 7*7 }} {% for x in y %}",
    "js-template": "${alert(1)} #{alert(1)} <%= 7*7 %>",
}


def test_the_table_is_big_enough():
    assert len(HOSTILE) >= 60 and len({case[0] for case in HOSTILE}) == len(HOSTILE)


def parse(html: str):
    return html5lib.parse(html, namespaceHTMLElements=False)


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def scheme_of(url: str) -> str | None:
    match = _SCHEME.match(_IGNORED_IN_URLS.sub("", url).lower())
    return match.group(1) if match else None


def text_of(element) -> str:
    return "".join(element.itertext())


def assert_nothing_executable(document) -> None:
    """For the whole page: only first-party script files, no handlers, no dangerous URLs."""
    for el in document.iter():
        tag = local(el.tag)
        if tag == "script":
            assert el.get("src", "").startswith("/static/") and not text_of(el).strip(), "inline or foreign script"
        for name, value in el.attrib.items():
            name = local(name).lower()
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            if name in URL_ATTRIBUTES:
                assert scheme_of(value) in SAFE_SCHEMES, f"{name}={value!r} on <{tag}>"
        if tag == "meta":
            assert "http-equiv" not in el.attrib


def assert_clean_comment(li) -> None:
    """Inside a comment: nothing but the allowlist, every link nofollow ugc."""
    # The writer's own Edit/Delete controls are our markup, not the comment's.
    ours = {id(el) for box in li.iter() if box.get("class") == "comment-own-actions" for el in box.iter()}
    for el in li.iter():
        if id(el) in ours:
            continue
        assert local(el.tag) not in FORBIDDEN or el.get("class") == "avatar avatar-48", f"<{el.tag}> in a comment"
        assert "style" not in el.attrib, "style attribute in a comment"
    [content] = [el for el in li.iter() if el.get("class") == "comment-content"]
    for el in content.iter():
        if el is content:
            continue
        tag = el.tag
        assert tag in CONTENT_TAGS, f"<{tag}> in .comment-content"
        allowed = set(ALLOWED_ATTRIBUTES.get(tag, ()))
        assert set(el.attrib) <= allowed, f"<{tag} {sorted(el.attrib)}>"
        if tag == "a":
            assert el.get("rel") == "nofollow ugc"


def find_comment(document, comment_id: int):
    matches = [el for el in document.iter() if el.get("id") == f"comment-{comment_id}"]
    assert len(matches) == 1, "the comment is not on its writer's page"
    return matches[0]


@pytest.mark.parametrize("typed, keeps", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_comment_through_the_form(app, client, post, request, typed, keeps):
    res = post_comment(client, post, comment=typed)
    with app.app_context():
        stored = db.session.scalars(select(Comment)).all()

    if res.status_code == 422:
        # Refused (control characters, or nothing left once stripped): what was typed comes back intact.
        assert stored == []
        document = parse(res.get_data(as_text=True))
        assert_nothing_executable(document)
        [textarea] = [el for el in document.iter() if el.tag == "textarea" and el.get("name") == "comment"]
        assert (textarea.text or "") == typed.replace("\r\n", "\n") or (textarea.text or "") == typed
        assert "comment-error" in textarea.get("aria-describedby", "").split()
        assert not keeps
        return

    assert res.status_code == 303, res.get_data(as_text=True)[:500]
    [comment] = stored
    assert comment.body_raw == typed  # stored exactly as typed
    page = client.get(res.headers["Location"])
    assert page.status_code == 200
    document = parse(page.get_data(as_text=True))
    assert_nothing_executable(document)
    li = find_comment(document, comment.id)
    assert_clean_comment(li)
    [content] = [el for el in li.iter() if el.get("class") == "comment-content"]
    for tag, text in keeps:
        assert any(el.tag == tag and text in text_of(el) for el in content.iter()), f"<{tag}>{text} lost"
    case_id = request.node.callspec.id
    if case_id in TEXT_KEPT:
        assert TEXT_KEPT[case_id] in text_of(content)


@pytest.mark.parametrize("field, value", [
    ("author", '"><script>alert(1)</script>'),
    ("author", "<img src=x onerror=alert(1)>"),
    ("author", "{{ config }}"),
    ("author", "</textarea></form><form action=javascript:alert(1)><button>x"),
    ("author", "Ada' onmouseover='alert(1)"),
    ("url", 'http://example.com/"onmouseover="alert(1)'),
    ("url", "http://example.com/<script>alert(1)</script>"),
    ("url", "https://example.com/?q='><svg/onload=alert(1)>"),
])
def test_hostile_name_and_website_are_text_or_refused(app, client, post, field, value):
    res = post_comment(client, post, **{field: value})
    html = (client.get(res.headers["Location"]) if res.status_code == 303 else res).get_data(as_text=True)
    assert res.status_code in (303, 422)
    document = parse(html)
    assert_nothing_executable(document)
    if res.status_code == 303:
        with app.app_context():
            [comment] = db.session.scalars(select(Comment)).all()
        li = find_comment(document, comment.id)
        assert_clean_comment(li)
        if field == "author":
            [fn] = [el for el in li.iter() if el.get("class") == "fn"]
            assert text_of(fn) == value  # shown as text, exactly
        # Approved, it gets a Reply link carrying the name in attributes, and a "Reply to" heading.
        with app.app_context():
            db.session.execute(Comment.__table__.update().values(status="approved"))
            db.session.commit()
        page = app.test_client().get(f"/{post}/?replytocom={comment.id}")
        document = parse(page.get_data(as_text=True))
        assert_nothing_executable(document)
        assert_clean_comment(find_comment(document, comment.id))
        if field == "author":
            [link] = [el for el in document.iter() if el.get("class") == "comment-reply-link"]
            assert link.get("data-replyto") == link.get("aria-label") == f"Reply to {value}"
            [title] = [el for el in document.iter() if el.get("id") == "reply-title-text"]
            assert text_of(title) == f"Reply to {value}"
    else:
        [field_el] = [el for el in document.iter() if el.get("name") == field and el.tag == "input"]
        assert field_el.get("value") == value  # kept as typed, as an attribute value only


@pytest.mark.parametrize("typed", [
    "</textarea><script>alert(1)</script>",
    "</TEXTAREA ><img src=x onerror=alert(1)>",
    "<!--</textarea>--><script>alert(1)</script>",
    '"><svg onload=alert(1)>',
])
def test_hostile_text_comes_back_inert_in_a_refused_form(app, client, post, typed):
    res = post_comment(client, post, comment=typed, author=typed, url=typed, email="")
    assert res.status_code == 422
    document = parse(res.get_data(as_text=True))
    assert_nothing_executable(document)
    [textarea] = [el for el in document.iter() if el.tag == "textarea"]
    assert textarea.text == typed and len(list(textarea)) == 0
    [author] = [el for el in document.iter() if el.get("id") == "author"]
    assert author.get("value") == typed
    assert not [el for el in document.iter() if local(el.tag) in {"svg", "img"}]
