"""Command-line interface: ``flask demo load``, ``flask users create``,
``flask comments resanitize|recount|purge``, ``flask mail worker``; ``flask posts``, ``flask subscriptions``
and ``flask privacy`` come from their own modules."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo
from markupsafe import escape
from sqlalchemy import select

from .extensions import db
from .models import Comment, Role

class MigrationCommands(click.Group):
    """``flask db ...``: Flask-Migrate's own command group, with Flask-Migrate set up on the
    app (and Alembic imported) only when it is used."""

    def make_context(self, info_name, args, parent=None, **extra):
        from flask_migrate.cli import db as commands

        from . import init_migrations

        init_migrations(parent.ensure_object(ScriptInfo).load_app())
        return commands.make_context(info_name, args, parent=parent, **extra)


migrations = MigrationCommands("db", help="Database migrations (Flask-Migrate).")
demo = AppGroup("demo", help="Demo content.")
users = AppGroup("users", help="User accounts.")
comments = AppGroup("comments", help="Stored comments.")


@demo.command("load")
def demo_load():
    """Load the demo post, its four comments and the author account (idempotent)."""
    from .demo import AUTHOR_EMAIL, load_demo

    post, password = load_demo()
    click.echo(f"Demo post: /{post.slug}/")
    if password:
        click.echo(f"Author login: {AUTHOR_EMAIL} / {password}  (shown once; set DEMO_AUTHOR_PASSWORD to choose it)")
    else:
        click.echo(f"Author account {AUTHOR_EMAIL} already exists; its password is unchanged.")


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.READER.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, name: str, role: str, password_stdin: bool):
    """Create a user; the password is prompted for, or read from stdin."""
    from .accounts.service import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, name, password, role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} {user.display_name} <{user.email}> (id {user.id}).")


@comments.command("resanitize")
def comments_resanitize():
    """Re-run the sanitiser over every stored comment (after the allowlist changes)."""
    from .sanitize import MarkupTooComplex, sanitize_comment

    changed = total = 0
    batch = db.session.scalars(select(Comment).execution_options(yield_per=500))
    for comment in batch:
        total += 1
        try:
            html = sanitize_comment(comment.body_raw)
        except MarkupTooComplex:
            html = f"<p>{escape(comment.body_raw)}</p>"  # refused today: kept as plain text
        if html != comment.body_html:
            comment.body_html = html
            changed += 1
    db.session.commit()
    click.echo(f"Resanitized {total} comments; {changed} changed.")


@comments.command("recount")
def comments_recount():
    """Count every post's comments again (after comments were changed in the database by hand)."""
    from .caching import bump
    from .models import Post

    post_ids = db.session.scalars(select(Post.id)).all()
    if post_ids:
        bump(db.session.connection(), post_ids)  # a new version too: cached pages show the old counts
    db.session.commit()
    click.echo(f"Recounted the comments of {len(post_ids):,} post{'' if len(post_ids) == 1 else 's'}.")


mail = AppGroup("mail", help="The outbox.")


@mail.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def mail_worker(once: bool):
    """Deliver queued mail over SMTP (MAIL_URL) or to the log, retrying with backoff."""
    from flask import current_app

    from .mail.delivery import run_worker

    try:
        run_worker(current_app._get_current_object(), once=once)
    except KeyboardInterrupt:
        click.echo("mail worker stopped")
@comments.command("purge")
@click.option("--days", type=int, default=None, help="Override the MODERATION_PURGE_DAYS setting (30).")
def comments_purge(days: int | None):
    """Delete spam and trash older than the purge setting (run daily, e.g. from cron)."""
    from .moderation.service import purge

    click.echo(f"Purged {purge(days=days)} spam and trashed comments.")


def init_app(app: Flask) -> None:
    from .demo_thread import thread_command

    demo.add_command(thread_command)
    for group in (migrations, demo, users, comments, mail):
        app.cli.add_command(group)
    from .privacy import privacy
    from .subscriptions.cli import posts, subscriptions

    for group in (posts, subscriptions, privacy):
        app.cli.add_command(group)
