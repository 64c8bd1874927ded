"""Delivering queued emails over SMTP, each once, with backoff when the server is away.

Emails are queued in `outbox_emails` in the same transaction as their cause (service.notify), so
an email exists if and only if the reminder happened. Delivery:

1. *Claim* a small batch in a short transaction: due rows (`sent_at IS NULL AND next_attempt_at
   <= now`, `FOR UPDATE SKIP LOCKED` on PostgreSQL) get `attempts + 1` and a lease
   (`next_attempt_at = now + LEASE`). Another scheduler skips them until the lease ends. No
   database lock is held while talking to the SMTP server (on SQLite that would block every
   writer for the length of an SMTP timeout).
2. *Send* them over one SMTP connection (SMTP_HOST, SMTP_PORT, SMTP_STARTTLS or SMTP_SSL,
   SMTP_USERNAME/SMTP_PASSWORD), each with a stable Message-ID.
3. *Record* each outcome in its own short transaction: `sent_at`, or `last_error` and a retry
   time with backoff (1, 2, 4 ... minutes, at most an hour).

Never sent twice: a row is only sent by the process holding its lease, and once `sent_at` is
committed it is never claimed again. The residual risk is a crash (or a lost database) *between*
the server accepting the message and the commit of `sent_at`: the row is sent again after the
lease. It is at-least-once on purpose (a lost reminder is worse than a repeated one), and the
repeat carries the same Message-ID, so mail systems and clients that de-duplicate drop it.

With no SMTP_HOST (the default for `make run`) nothing is sent: the emails stay in the outbox,
shown on the outbox page (`list_outbox`).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflows import clock

from .models import OutboxEmail
from .timers import backoff

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
BATCH = 20
MAX_BACKOFF = timedelta(hours=1)
_delivering = threading.Lock()


@dataclass(frozen=True)
class _Claimed:
    id: int
    to_address: str
    subject: str
    body: str
    created_at: datetime
    attempts: int


def message_id(config, email_id: int, created_at: datetime) -> str:
    domain = (config.get("MAIL_FROM") or "placements@localhost").rpartition("@")[2] or "localhost"
    return f"<outbox-{email_id}.{int(created_at.timestamp())}@{domain}>"


def deliver_outbox(app: Flask, limit: int = 200) -> int:
    """Send due emails; returns how many were sent. Does nothing without SMTP_HOST."""
    config = app.config
    if not config.get("SMTP_HOST"):
        return 0
    if not _delivering.acquire(blocking=False):  # one delivery run per process at a time
        return 0
    try:
        sessions = app.extensions["placements.sessions"]
        sent = 0
        while sent < limit:
            batch = _claim(sessions, min(BATCH, limit - sent))
            if not batch:
                break
            batch_sent, server_away = _send_batch(config, sessions, batch)
            sent += batch_sent
            if server_away:
                break  # the rest waits for its next attempt
        return sent
    finally:
        _delivering.release()


def _claim(sessions, size: int) -> list[_Claimed]:
    with sessions() as session:
        now = clock.now()
        stmt = (select(OutboxEmail).where(OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= now)
                .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id).limit(size))
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        claimed = []
        for email in rows:
            email.attempts += 1
            email.next_attempt_at = now + LEASE
            claimed.append(_Claimed(email.id, email.to_address, email.subject, email.body,
                                    email.created_at, email.attempts))
        session.commit()
        return claimed


def _send_batch(config, sessions, batch: list[_Claimed]) -> tuple[int, bool]:
    sent = 0
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as error:
        for email in batch:
            _failed(sessions, email, error)
        log.warning("SMTP server %s:%s unavailable: %s", config["SMTP_HOST"], config["SMTP_PORT"], error)
        return 0, True
    try:
        for index, email in enumerate(batch):
            try:
                smtp.send_message(_message(config, email))
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                _failed(sessions, email, error)  # this message only; carry on with the others
                continue
            except (OSError, smtplib.SMTPException) as error:
                for rest in batch[index:]:
                    _failed(sessions, rest, error)
                return sent, True
            _sent(sessions, email)
            sent += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return sent, False


def _connect(config) -> smtplib.SMTP:
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    timeout = float(config.get("SMTP_TIMEOUT", 10))
    if config.get("SMTP_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("SMTP_USERNAME"):
        smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD", ""))
    return smtp


def _message(config, email: _Claimed) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Message-ID"] = message_id(config, email.id, email.created_at)
    message["Date"] = format_datetime(email.created_at)
    message.set_content(email.body)
    return message


def _sent(sessions, email: _Claimed) -> None:
    with sessions() as session:
        session.execute(update(OutboxEmail).where(OutboxEmail.id == email.id, OutboxEmail.sent_at.is_(None))
                        .values(sent_at=clock.now(), last_error=None))
        session.commit()


def _failed(sessions, email: _Claimed, error: Exception) -> None:
    with sessions() as session:
        session.execute(update(OutboxEmail).where(OutboxEmail.id == email.id, OutboxEmail.sent_at.is_(None))
                        .values(last_error=f"{type(error).__name__}: {error}"[:1000],
                                next_attempt_at=clock.now() + backoff(email.attempts, MAX_BACKOFF)))
        session.commit()
    log.warning("email %s not sent (attempt %s): %s", email.id, email.attempts, error)


def list_outbox(session: Session, unsent_only: bool = False, limit: int = 200) -> list[OutboxEmail]:
    """The outbox for the admin page (newest first): with SMTP off, this is where emails are read."""
    stmt = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(limit)
    if unsent_only:
        stmt = stmt.where(OutboxEmail.sent_at.is_(None))
    return list(session.scalars(stmt))
