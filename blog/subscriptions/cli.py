"""``flask posts publish SLUG`` and ``flask subscriptions digest``."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Post

posts = AppGroup("posts", help="Posts.")
subscriptions = AppGroup("subscriptions", help="Email subscriptions.")


def _require_server_name() -> None:
    # Outside a request, links in mail can only come from the configured site address.
    if not current_app.config.get("SERVER_NAME"):
        raise click.ClickException("Set BLOG_SERVER_NAME (e.g. blog.example.com) and PREFERRED_URL_SCHEME "
                                   "so that links in the mail point at the site.")


@posts.command("publish")
@click.argument("slug")
def posts_publish(slug: str):
    """Publish a post (if it is a draft) and mail it to subscribers who have not had it."""
    from .notify import publish_post

    _require_server_name()
    post = db.session.scalar(select(Post).where(Post.slug == slug))
    if post is None:
        raise click.ClickException(f"No post with the slug {slug!r}.")
    sent = publish_post(post)
    click.echo(f"Published /{post.slug}/; {sent} subscriber{'s' if sent != 1 else ''} mailed.")


@subscriptions.command("digest")
def subscriptions_digest():
    """Send the gathered comment notifications, one mail per subscriber (run hourly in digest mode)."""
    from .notify import send_digests

    _require_server_name()
    sent = send_digests()
    click.echo(f"Queued {sent} digest mail{'s' if sent != 1 else ''}.")
