"""``flask privacy``: what the blog holds about an email address, and erasing it.

One group for every privacy command (export, erase, and retention purges).

Commenters' IP addresses are kept for spam and flood checks and anonymised
after IP_RETENTION_DAYS by ``flask privacy purge`` (run it daily, e.g. from
cron): an address keeps its network and drops the part that names a host (the
last octet of IPv4, all but the first 48 bits of IPv6, as Google Analytics and
Matomo do). An address already anonymised is not touched again.
"""
from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timedelta, timezone

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import and_, delete, func, or_, select, update

from .avatars import avatar_key
from .extensions import db
from .models import Comment, OutboxMessage, Post, Subscriber, Subscription, SubscriptionNotice, User

privacy = AppGroup("privacy", help="Personal data: export and erase by email address.")

ANONYMOUS = "Anonymous"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _comments_of(email: str, user: User | None):
    by = [func.lower(Comment.author_email) == email]
    if user is not None:
        by.append(Comment.user_id == user.id)
    return select(Comment).where(or_(*by)).order_by(Comment.id)


def personal_data(email: str) -> dict:
    """Everything stored about ``email``: account, comments, subscriptions, mail."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email))
    data: dict = {"email": email, "account": None, "comments": [], "subscriptions": [], "notified": [], "mail": []}
    if user is not None:
        data["account"] = {"id": user.id, "display_name": user.display_name, "role": user.role,
                           "created_at": _iso(user.created_at)}
    for c in db.session.scalars(_comments_of(email, user)):
        data["comments"].append({
            "id": c.id, "post": c.post.slug, "parent_id": c.parent_id, "status": c.status,
            "author_name": c.author_name, "author_email": c.author_email, "author_url": c.author_url,
            "body": c.body_raw, "created_at": _iso(c.created_at), "edited_at": _iso(c.edited_at),
            "ip": c.ip, "user_agent": c.user_agent})
    if subscriber is not None:
        data["subscriber"] = {"confirmed_at": _iso(subscriber.confirmed_at), "created_at": _iso(subscriber.created_at)}
        for s in db.session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber.id)
                                    .order_by(Subscription.id)):
            data["subscriptions"].append({"kind": s.kind, "post": s.post.slug if s.post else None,
                                          "comment_id": s.comment_id, "created_at": _iso(s.created_at)})
        for n in db.session.scalars(select(SubscriptionNotice).where(SubscriptionNotice.subscriber_id == subscriber.id)
                                    .order_by(SubscriptionNotice.id)):
            post = db.session.get(Post, n.post_id) if n.post_id else None
            data["notified"].append({"comment_id": n.comment_id, "post": post.slug if post else None,
                                     "sent_at": _iso(n.sent_at)})
    for m in db.session.scalars(select(OutboxMessage).where(func.lower(OutboxMessage.to_addr) == email)
                                .order_by(OutboxMessage.id)):
        data["mail"].append({"subject": m.subject, "kind": m.kind, "status": m.status,
                             "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at)})
    return data


def erase(email: str) -> dict[str, int]:
    """Forget ``email``: subscriptions and what they were sent go; comments stay, anonymised as
    WordPress's eraser does (name "Anonymous", no email, website, IP or user agent). Commits.

    An account with this address is not deleted; its comments are detached from it.
    """
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    comments = 0
    for c in db.session.scalars(_comments_of(email, user)):
        c.author_name, c.author_email, c.author_url = ANONYMOUS, None, None
        c.ip = c.user_agent = None
        c.user_id = None
        c.avatar_key = avatar_key(None, f"{ANONYMOUS}-{c.id}")
        comments += 1
    subscribers = db.session.execute(delete(Subscriber).where(Subscriber.email == email)).rowcount
    mail = db.session.execute(delete(OutboxMessage).where(func.lower(OutboxMessage.to_addr) == email)).rowcount
    db.session.commit()
    return {"comments": comments, "subscribers": subscribers, "mail": mail}


@privacy.command("export")
@click.argument("email")
def privacy_export(email: str):
    """Print everything stored about EMAIL as JSON."""
    click.echo(json.dumps(personal_data(email.strip().lower()), indent=2, ensure_ascii=False))


@privacy.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_erase(email: str, yes: bool):
    """Erase EMAIL's subscriptions and mail, and anonymise its comments."""
    email = email.strip().lower()
    if not yes:
        click.confirm(f"Erase the personal data of {email}?", abort=True)
    done = erase(email)
    click.echo(f"Erased {email}: {done['comments']} comments anonymised, "
               f"{done['subscribers']} subscriber record(s) with their subscriptions, {done['mail']} mails.")


def anonymise_ip(ip: str) -> str | None:
    """The address with its host part zeroed; None for anything that is not an address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def purge_ips(now: datetime | None = None, retention_days: int | None = None) -> int:
    """Anonymise the IPs of comments older than the retention period; returns how many changed."""
    now = now or datetime.now(timezone.utc)
    days = current_app.config["IP_RETENTION_DAYS"] if retention_days is None else retention_days
    cutoff = now - timedelta(days=int(days))
    # Anonymised addresses end in ".0" (IPv4) or "::" (IPv6): skip them.
    rows = db.session.execute(select(Comment.id, Comment.ip).where(
        Comment.created_at < cutoff, Comment.ip.is_not(None),
        and_(Comment.ip.not_like("%.0"), Comment.ip.not_like("%::")),
    )).all()
    changed = 0
    for comment_id, ip in rows:
        anonymous = anonymise_ip(ip)
        if anonymous != ip:
            db.session.execute(update(Comment).where(Comment.id == comment_id).values(ip=anonymous))
            changed += 1
    db.session.commit()
    return changed


@privacy.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Keep full addresses this many days (default: IP_RETENTION_DAYS, 30).")
def privacy_purge(days: int | None):
    """Anonymise commenters' IP addresses older than the retention period."""
    changed = purge_ips(retention_days=days)
    kept = current_app.config["IP_RETENTION_DAYS"] if days is None else days
    click.echo(f"Anonymised {changed} IP addresses older than {kept} days.")
