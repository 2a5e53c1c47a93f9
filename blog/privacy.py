"""Commenters' IP addresses: kept for spam and flood checks, anonymised after IP_RETENTION_DAYS.

``flask privacy purge`` (run it daily, e.g. from cron) keeps an address's
network and drops the part that names a host: the last octet of IPv4, all but
the first 48 bits of IPv6 (what Google Analytics and Matomo do). An address
already anonymised is not touched again.
"""
from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import and_, select, update

from .extensions import db
from .models import Comment

privacy = AppGroup("privacy", help="Personal data kept about commenters.")


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
