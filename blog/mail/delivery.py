"""Delivering the outbox: SMTP from MAIL_URL, retries with backoff, or the log when unset.

``MAIL_URL`` forms: ``smtp://user:pass@host:587?starttls=1`` (plain, upgraded with STARTTLS),
``smtps://user:pass@host:465`` (TLS from the first byte), ``smtp://host:25`` (no auth).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage
from . import COMPOSERS

log = logging.getLogger(__name__)

BATCH = 50


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    tls: bool  # smtps: TLS from the start
    starttls: bool
    username: str | None
    password: str | None


def parse_mail_url(url: str) -> SMTPSettings:
    """:raise ValueError: not an smtp:// or smtps:// URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("MAIL_URL must look like smtp://user:pass@host:587?starttls=1 or smtps://host:465")
    query = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    return SMTPSettings(
        host=parts.hostname, port=parts.port or (465 if tls else 25), tls=tls,
        starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    """Plain text first, HTML as the alternative; the row's headers (e.g. List-Unsubscribe) as given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_addr
    message["Subject"] = row.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    return message


def _send(settings: SMTPSettings, messages: list[EmailMessage]) -> list[Exception | None]:
    """One connection for a batch; per-message outcome (None when sent)."""
    context = ssl.create_default_context(cafile=current_app.config.get("MAIL_CA_FILE"))
    cls = smtplib.SMTP_SSL if settings.tls else smtplib.SMTP
    kwargs = {"context": context} if settings.tls else {}
    outcomes: list[Exception | None] = []
    with cls(settings.host, settings.port, timeout=current_app.config["MAIL_TIMEOUT"], **kwargs) as smtp:
        if settings.starttls:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        for message in messages:
            try:
                smtp.send_message(message)
                outcomes.append(None)
            except smtplib.SMTPException as exc:  # refused recipient or data: this message only
                outcomes.append(exc)
    return outcomes


def deliver_due(now: datetime | None = None) -> tuple[int, int]:
    """Send what is due; returns (sent, failed attempts). Commits once per batch."""
    now = now or datetime.now(timezone.utc)
    query = (select(OutboxMessage)
             .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(BATCH))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # several workers never send one row twice
    rows = db.session.scalars(query).all()
    if not rows:
        db.session.rollback()
        return 0, 0
    sender = current_app.config["MAIL_FROM"]
    url = current_app.config.get("MAIL_URL")
    for row in rows:
        if row.kind in COMPOSERS:
            COMPOSERS[row.kind](row)
    messages = [build_message(row, sender) for row in rows]
    if not url:
        for row, message in zip(rows, messages):
            log.info("mail (no MAIL_URL set, not sent):\n%s", message.as_string())
        outcomes: list[Exception | None] = [None] * len(rows)
    else:
        try:
            outcomes = _send(parse_mail_url(url), messages)
        except (OSError, smtplib.SMTPException, ValueError) as exc:  # server down, TLS, auth
            outcomes = [exc] * len(rows)
    sent = failed = 0
    for row, error in zip(rows, outcomes):
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
            sent += 1
            continue
        failed += 1
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.status = "failed"
            log.error("mail %s to %s failed for good after %d attempts: %s",
                      row.id, row.to_addr, row.attempts, row.last_error)
        else:
            delay = current_app.config["MAIL_BACKOFF_SECONDS"] * 2 ** (row.attempts - 1)
            row.next_attempt_at = now + timedelta(seconds=delay)
            log.warning("mail %s attempt %d failed, retrying in %ds: %s",
                        row.id, row.attempts, delay, row.last_error)
    db.session.commit()
    return sent, failed


def run_worker(app, once: bool = False, stop: threading.Event | None = None) -> None:
    """Poll the outbox until ``stop`` is set (or, with ``once``, for one pass)."""
    stop = stop or threading.Event()
    while True:
        with app.app_context():
            try:
                sent, failed = deliver_due()
                if sent or failed:
                    log.info("mail worker: %d sent, %d failed attempts", sent, failed)
            except Exception:  # a database hiccup must not end the worker
                log.exception("mail worker pass failed")
                db.session.rollback()
            finally:
                db.session.remove()
        if once or stop.wait(app.config["MAIL_WORKER_INTERVAL"]):
            return
