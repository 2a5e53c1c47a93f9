"""The one place comment HTML is made safe (on write; see DESIGN.md "Sanitising").

WordPress's comment allowlist, http/https/mailto links only, plain-text
paragraphs and line breaks turned into <p>/<br>, bare URLs linked, and every
link marked rel="nofollow ugc". Disallowed tags are stripped, their text kept,
as WordPress's kses does.
"""
from __future__ import annotations

import re
import threading
from functools import partial

import bleach
from bleach.html5lib_shim import Filter
from bleach.linkifier import LinkifyFilter

ALLOWED_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "cite", "code", "del", "em", "i",
    "q", "s", "strike", "strong",
})
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
    "abbr": ["title"],
    "acronym": ["title"],
    "blockquote": ["cite"],
    "del": ["datetime"],
    "q": ["cite"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

# html5lib spends ~20 µs on each "<", "&" or link and grows steeply with
# nesting; inside a tag (outside quoted values) it reads one character at a
# time, at up to ~6 µs each for runs of "/", "=" or "-"; and block elements side by
# side cost more each the more there are (html5lib's tree walker looks each one up
# among its siblings: 1,500 paragraphs took 120-150 ms). Bound all of it before
# it runs so no comment costs a worker more than ~100 ms
# (tests/unit/test_sanitize_cost.py builds the worst inputs). No honest
# comment comes near these limits.
MAX_NESTING = 20
MAX_MARKUP = 800
MAX_TAG_TEXT = 5000
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
# Void elements never hold others; a new <p> or <li> closes the open one.
_NO_NESTING = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "li", "link",
                         "meta", "p", "param", "source", "track", "wbr"})
_TAG_BODY = re.compile(r"<[a-zA-Z][^>]*")
# What html5lib reads in its tag states: tags and end tags outside quoted
# values (those it reads in bulk), and comments, doctypes and the like whole.
_TAG_SPAN = re.compile(r"<[a-zA-Z/][^>]*")
_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'')
_DECLARATION = re.compile(r"<[!?][^>]*")
# One whitespace then a name character: each attribute once, in linear time.
_ATTRIBUTE = re.compile(r"\s[^\s=/>]")
# What the linkifier turns into a link (see _BARE_URL below).
_LINK_START = re.compile(r"(?:https?|mailto):|www\.", re.I)
# bleach's serialiser reads the digits after "&#" in quadratic time.
MAX_REF_DIGITS = 1000
_LONG_NUMERIC_REF = re.compile(r"&#[xX]?[0-9a-fA-F]{%d}" % (MAX_REF_DIGITS + 1))


class MarkupTooComplex(ValueError):
    """Markup the sanitiser refuses to parse; the message is for the commenter."""


def _rel(attrs, new=False):
    attrs[(None, "rel")] = "nofollow ugc"
    return attrs


class _TypedParagraphs(Filter):
    """A <p> the commenter typed becomes a blank line, so autop() makes every
    paragraph once (never a <p> inside a <p>). Inside inline markup it is
    dropped, its text kept, so no paragraph splits a link or a quote."""

    def __iter__(self):
        inline = 0
        for token in super().__iter__():
            kind, name = token["type"], token.get("name")
            if name == "p" and kind in ("StartTag", "EndTag"):
                if not inline:
                    yield {"type": "SpaceCharacters", "data": "\n\n"}
                continue
            if name not in ("blockquote", "br"):
                inline += (kind == "StartTag") - (kind == "EndTag")
            yield token


# Bare URLs as WordPress's make_clickable() finds them: any host after http://
# or https://, or one starting "www.". bleach's default pattern knows only some
# TLDs and links more schemes (ftp:, data:, irc:, ...) than the allowlist has,
# unchecked, since linkifying runs after sanitising.
_BARE_URL = re.compile(r"""
    (?<![\w@./:-])  # no leading \(* as bleach has: on a run of "(" it is quadratic
    (?:https?://\w[\w-]*(?:\.[\w-]+)*|www\.[\w-]+(?:\.[\w-]+)+)
    (?::[0-9]+)?
    (?:[/?\#][^\s{}|\\^`<>"]*)?
""", re.IGNORECASE | re.VERBOSE)

# A Cleaner keeps its parser's state while it works ("not thread-safe", says bleach):
# one shared by a threaded worker's requests mixed their comments up. One per thread.
_cleaners = threading.local()


def _cleaner() -> bleach.Cleaner:
    cleaner = getattr(_cleaners, "cleaner", None)
    if cleaner is None:
        cleaner = _cleaners.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS | {"p", "br"}, attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True,
            filters=[_TypedParagraphs, partial(LinkifyFilter, callbacks=[_rel], skip_tags={"code"},
                                               parse_email=False, url_re=_BARE_URL)],
        )
    return cleaner


def check_complexity(text: str) -> None:
    """Count markup and open-tag depth cheaply, without building a tree.

    :raise MarkupTooComplex: past MAX_MARKUP "<", "&", attributes and links in
        all, past MAX_TAG_TEXT characters inside tags (quoted values aside),
        past MAX_REF_DIGITS digits in a numeric reference, or past MAX_NESTING levels.
    """
    markup = text.count("<") + text.count("&")
    if markup <= MAX_MARKUP:
        markup += len(_LINK_START.findall(text))
    if markup <= MAX_MARKUP:
        markup += sum(len(_ATTRIBUTE.findall(tag)) for tag in _TAG_BODY.findall(text))
    if markup > MAX_MARKUP:
        raise MarkupTooComplex(
            f"Too much markup: a comment may have at most {MAX_MARKUP} tags, "
            "entities, attributes and links in all.")
    tag_text = sum(len(_QUOTED.sub("", span)) for span in _TAG_SPAN.findall(text))
    tag_text += sum(len(span) for span in _DECLARATION.findall(text))
    if tag_text > MAX_TAG_TEXT:
        raise MarkupTooComplex(
            f"Too much text inside tags (between “<” and “>”): at most {MAX_TAG_TEXT:,} "
            "characters. A “<” that starts no tag can be written as &lt;")
    if _LONG_NUMERIC_REF.search(text):
        raise MarkupTooComplex(f"A character reference (&#…;) may have at most {MAX_REF_DIGITS:,} digits.")
    depth = 0
    for closing, name in _TAG.findall(text):
        if name.lower() in _NO_NESTING:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        if depth > MAX_NESTING:
            raise MarkupTooComplex(f"Formatting may nest at most {MAX_NESTING} levels deep.")


def autop(text: str) -> str:
    """WordPress's wpautop, reduced to what comments need.

    Blank lines make paragraphs, single newlines <br>; a blockquote is a block
    of its own and holds its own paragraphs.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _BLOCK_OPEN.sub(r"\n\n\1", text)
    text = _BLOCK_CLOSE.sub(r"\1\n\n", text)
    html = "".join(
        "<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>\n"
        for chunk in re.split(r"\n\s*\n", text) if chunk.strip()
    )
    html = _P_BLOCK_OPEN.sub(r"\1<p>", html)
    html = html.replace("</blockquote></p>", "</p></blockquote>")
    return _EMPTY_P.sub("", html)


_BLOCK_OPEN = re.compile(r"(<blockquote[\s>])", re.I)
_BLOCK_CLOSE = re.compile(r"(</blockquote>)", re.I)
# The whole tag: a cite may hold ">" (bleach escapes only "<" in attributes).
_P_BLOCK_OPEN = re.compile(r'<p>(<blockquote\b[^<>"]*(?:"[^"]*"[^<>"]*)*>)', re.I)
_EMPTY_P = re.compile(r"<p>\s*</p>\n?")


# A tag as bleach serialises it: attribute values always double-quoted.
_SERIALISED_TAG = re.compile(r'<[^<>"]*(?:"[^"]*"[^<>"]*)*>')


def sanitize_comment(text: str) -> str:
    """Return the safe HTML for a comment as typed.

    One html5lib pass over the user's text, then paragraphs added to its safe
    output (newlines inside tags become &#10; first, so no <p> lands in an
    attribute).

    :raise MarkupTooComplex: see check_complexity().
    """
    check_complexity(text)
    html = _cleaner().clean(text)
    html = _SERIALISED_TAG.sub(lambda m: m.group(0).replace("\n", "&#10;"), html)
    return autop(html).strip()
