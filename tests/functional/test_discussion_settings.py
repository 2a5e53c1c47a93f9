"""The Discussion settings page: site-wide (admins) in the database, per-post overrides, the dry run."""
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, Post, SiteSetting
from tests.conftest import add_comments, post_comment
from tests.functional.moderation_helpers import signed_in, snapshot, token_of, world  # noqa: F401

BASE = {"COMMENT_PREVIOUSLY_APPROVED": "y", "COMMENT_MAX_LINKS": "2", "COMMENT_CLOSE_AFTER_DAYS": "0",
        "COMMENT_THREAD_DEPTH": "5", "COMMENTS_PER_PAGE": "50", "COMMENT_EDIT_MINUTES": "15",
        "COMMENT_FLOOD_SECONDS": "0", "COMMENT_MIN_SUBMIT_SECONDS": "0", "MODERATION_NOTIFY_HELD": "y",
        "MODERATION_PURGE_DAYS": "30", "MODERATION_KEYS": "", "DISALLOWED_KEYS": ""}


def save(client, url, **changes):
    data = {**BASE, **changes, "do": "save", "csrf_token": token_of(client, "/moderation/")}
    return client.post(url, data={k: v for k, v in data.items() if v is not None})


def test_page_shows_wordpress_defaults(app, world):
    html = signed_in(app, "admin@example.com").get("/moderation/settings").get_data(as_text=True)
    assert 'id="COMMENT_MODERATION" name="COMMENT_MODERATION" value="y">' in html  # unchecked
    assert 'id="COMMENT_PREVIOUSLY_APPROVED" name="COMMENT_PREVIOUSLY_APPROVED" value="y" checked>' in html
    for name, value in [("COMMENT_MAX_LINKS", 2), ("COMMENT_THREAD_DEPTH", 5), ("COMMENTS_PER_PAGE", 50),
                        ("COMMENT_EDIT_MINUTES", 15), ("COMMENT_CLOSE_AFTER_DAYS", 0)]:
        assert f'id="{name}" name="{name}" value="{value}"' in html


def test_site_wide_settings_are_stored_and_applied(app, world):
    admin = signed_in(app, "admin@example.com")
    res = save(admin, "/moderation/settings", DISALLOWED_KEYS="casino\nroulette", COMMENT_MODERATION="y")
    assert res.status_code == 303
    with app.app_context():
        stored = dict(db.session.execute(select(SiteSetting.name, SiteSetting.value)).all())
    assert stored == {"DISALLOWED_KEYS": "casino\nroulette", "COMMENT_MODERATION": True}
    post_comment(app.test_client(), world.slug, author="R", email="r@example.org", comment="Roulette tips")
    with app.app_context():
        assert db.session.scalars(select(Comment).order_by(Comment.id.desc())).first().status == "trash"
    html = admin.get("/moderation/settings").get_data(as_text=True)
    assert "casino\nroulette</textarea>" in html


def test_per_post_override_applies_to_that_post_only(app, world):
    author = signed_in(app, "author@example.com")
    assert save(author, f"/moderation/settings?post={world.post_id}", MODERATION_KEYS="words").status_code == 303
    with app.app_context():
        settings = db.session.get(Post, world.post_id).settings
        others = db.session.scalar(select(Post).where(Post.slug == "others-post")).settings
    assert settings == {"MODERATION_KEYS": "words"} and not others
    html = author.get(f"/moderation/settings?post={world.post_id}").get_data(as_text=True)
    assert "words</textarea>" in html and "MODERATION_PURGE_DAYS" not in html


def test_invalid_values_keep_what_was_typed(app, world):
    admin = signed_in(app, "admin@example.com")
    before = snapshot(app)
    res = save(admin, "/moderation/settings", COMMENTS_PER_PAGE="0", MODERATION_KEYS="kept words")
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "kept words" in html and 'aria-invalid="true"' in html
    assert snapshot(app) == before


def test_dry_run_shows_what_would_change_and_saves_nothing(app, world):
    ids = add_comments(app, world.slug, 4, replies_every=10**6)
    with app.app_context():
        db.session.get(Comment, ids[1]).body_raw = "Visit my CASINO"
        db.session.get(Comment, ids[2]).body_raw = "cheap pills here"
        db.session.commit()
    author = signed_in(app, "author@example.com")
    before = snapshot(app)
    res = author.post(f"/moderation/settings?post={world.post_id}", data={
        **BASE, "DISALLOWED_KEYS": "casino", "MODERATION_KEYS": "pills", "COMMENT_PREVIOUSLY_APPROVED": None,
        "dry_run_limit": "3", "do": "dry_run", "csrf_token": token_of(author, "/moderation/")})
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Dry run: nothing was saved" in html
    # The last three: "Second words" (now), "Held words" (now) and Comment 3 — none matches.
    assert "Of the last 3 comments" in html
    res = author.post(f"/moderation/settings?post={world.post_id}", data={
        **BASE, "DISALLOWED_KEYS": "casino", "MODERATION_KEYS": "pills", "COMMENT_PREVIOUSLY_APPROVED": None,
        "dry_run_limit": "10", "do": "dry_run", "csrf_token": token_of(author, "/moderation/")})
    html = res.get_data(as_text=True)
    assert "would have held 1, marked 0 as spam and trashed 1" in html
    assert f'id="dry-{ids[1]}" class="would-trash"' in html and "“casino”" in html
    assert f'id="dry-{ids[2]}" class="would-pending"' in html and "“pills”" in html
    assert snapshot(app) == before


def test_dry_run_with_defaults_explains_first_comments(app, world):
    author = signed_in(app, "author@example.com")
    res = author.post(f"/moderation/settings?post={world.post_id}", data={
        **BASE, "dry_run_limit": "50", "do": "dry_run", "csrf_token": token_of(author, "/moderation/")})
    html = res.get_data(as_text=True)
    # Neither of Gus's comments came after an approved one of his: both would be held.
    assert f'id="dry-{world.comment_id}" class="would-pending"' in html
    assert f'id="dry-{world.approved_id}" class="would-pending"' in html
    assert "First comment from this commenter" in html
