"""Reading: the blog index, the post page and its threaded comments, as a reader sees them."""
import re

import pytest

from tests.conftest import add_comments


def test_index_links_each_post_by_title(client, demo):
    html = client.get("/").get_data(as_text=True)
    assert f'href="/{demo}/"' in html
    assert "What Can I Do If My Partner Won’t Go To Couples Therapy?" in html


def test_demo_post_shows_article_and_threaded_comments(client, demo):
    res = client.get(f"/{demo}/")
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert "<h1 class=\"entry-title\">What Can I Do If My Partner Won’t Go To Couples Therapy?</h1>" in html
    assert "There’s no getting around it." in html
    assert "Sign up to have next Sunday’s post delivered straight to your inbox." in html
    assert "4 thoughts on “What Can I Do If My Partner Won’t Go To Couples Therapy?”" in html
    # The author's reply sits in ol.children inside the first comment, with the badge.
    first = re.search(r'<li id="comment-(\d+)" class="comment depth-1">', html)
    assert first
    nested = html[first.end():html.index("</ol></li>", first.end())]
    assert 'class="children"' in nested and "bypostauthor" in nested and ">Author</span>" in nested
    assert "You’re welcome!" in nested
    # Each comment has a permalink, a reply link, an avatar served by us.
    for cid in re.findall(r'<li id="comment-(\d+)"', html):
        assert re.search(rf'href="[^"]*#comment-{cid}"', html)
    assert html.count('class="comment-reply-link"') == 4
    assert 'src="/avatars/' in html and "gravatar" not in html


def test_no_email_address_in_public_page(client, demo):
    html = client.get(f"/{demo}/").get_data(as_text=True)
    assert "@example" not in html


def test_unknown_post_is_404_page(client, demo):
    res = client.get("/no-such-post/")
    assert res.status_code == 404
    assert "There is nothing here." in res.get_data(as_text=True)


@pytest.mark.parametrize("n, heading", [(0, None), (1, "One thought on “Hello “World””"),
                                        (2, "2 thoughts on “Hello “World””")])
def test_heading_singular_plural_none(app, client, post, n, heading):
    add_comments(app, post, n)
    html = client.get(f"/{post}/").get_data(as_text=True)
    if heading is None:
        assert 'class="comments-title"' not in html
        assert "Leave a Reply" in html
    else:
        assert heading in html


def test_top_level_comments_paginate_oldest_first(app, client, post):
    ids = add_comments(app, post, 60, replies_every=10**6)  # 60 top-level comments
    page1 = client.get(f"/{post}/").get_data(as_text=True)
    page2 = client.get(f"/{post}/?cpage=2").get_data(as_text=True)
    assert f'id="comment-{ids[0]}"' in page1 and f'id="comment-{ids[49]}"' in page1
    assert f'id="comment-{ids[50]}"' not in page1
    assert f'id="comment-{ids[50]}"' in page2 and f'id="comment-{ids[59]}"' in page2
    assert "Newer comments" in page1 and "Older comments" in page2
    # A permalink on page 2 points at page 2.
    assert f'?cpage=2#comment-{ids[55]}"' in page2


def test_bad_page_numbers_fall_back(app, client, post):
    add_comments(app, post, 3)
    for q in ("cpage=0", "cpage=-1", "cpage=abc", "cpage=99999999999999999999", "cpage=500"):
        assert client.get(f"/{post}/?{q}").status_code == 200


def test_pending_spam_trash_are_hidden_from_readers(app, client, post):
    for status in ("pending", "spam", "trash"):
        add_comments(app, post, 1, status=status)
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert "Comment 0" not in html
    assert 'class="comments-title"' not in html


def test_reply_to_hidden_comment_is_not_shown(app, client, post):
    from blog.extensions import db
    from blog.models import Comment

    ids = add_comments(app, post, 3, replies_every=2)  # second is a reply to the first
    with app.app_context():
        db.session.get(Comment, ids[0]).status = "spam"
        db.session.commit()
    html = client.get(f"/{post}/").get_data(as_text=True)
    assert f'id="comment-{ids[0]}"' not in html and f'id="comment-{ids[1]}"' not in html
    assert f'id="comment-{ids[2]}"' in html


def test_replytocom_without_javascript(client, demo):
    html = client.get(f"/{demo}/").get_data(as_text=True)
    first = re.search(r'<li id="comment-(\d+)"', html).group(1)
    reply = client.get(f"/{demo}/?replytocom={first}").get_data(as_text=True)
    assert "Reply to Carol Whitfield" in reply
    assert re.search(r'<a rel="nofollow" id="cancel-comment-reply-link" href="[^"]+#respond">', reply)
    assert f'name="comment_parent" id="comment_parent" value="{first}"' in reply


def test_replytocom_unknown_is_plain_form(client, demo):
    html = client.get(f"/{demo}/?replytocom=999999").get_data(as_text=True)
    assert "Leave a Reply" in html
    assert 'id="cancel-comment-reply-link" href' in html and "hidden>Cancel reply" in html


@pytest.mark.parametrize("config_overrides", [{"PAGE_CACHE": False}], indirect=True)  # every GET renders
def test_post_page_queries_do_not_grow_with_comments(app, client, post, count_queries):
    add_comments(app, post, 10)
    client.get(f"/{post}/")
    with count_queries() as small:
        assert client.get(f"/{post}/").status_code == 200
    add_comments(app, post, 990)
    with count_queries() as large:
        html = client.get(f"/{post}/").get_data(as_text=True)
    assert "1,000 thoughts on" in html
    assert small() == large()
    assert large() <= 5  # the post's head row, site settings, the post itself, counts, comments


def test_security_headers_on_every_page(client, demo):
    for path in ("/", f"/{demo}/", "/login", "/nope/"):
        res = client.get(path)
        csp = res.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert res.headers["X-Content-Type-Options"] == "nosniff"
        assert "Referrer-Policy" in res.headers


def test_no_inline_script_in_pages(client, demo):
    html = client.get(f"/{demo}/").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " onclick=" not in html and "style=" not in html


def test_avatar_is_svg_identicon(client, demo):
    html = client.get(f"/{demo}/").get_data(as_text=True)
    src = re.search(r'src="(/avatars/[0-9a-f]+\.svg)"', html).group(1)
    res = client.get(src)
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"
    assert res.get_data(as_text=True).startswith("<svg")
    assert client.get("/avatars/..%2f..svg").status_code == 404
